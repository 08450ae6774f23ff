-- The user attribute index: one row per searchable attribute value (Cognito's searchable
-- attributes and every `custom:` one), so that ListUsers' `=` and `^=` filters are range scans
-- rather than a scan of the pool. Portable SQL: the same file runs on SQLite and Postgres.
--
-- `value_key` is the lower-case hex of the value's first 256 bytes: hex strings order like the
-- bytes they encode under any collation, and a prefix of the value is a prefix of its key, so
-- `^= "ab"` is the range `value_key >= hex("ab") AND value_key < hex("ab") || 'g'` on both
-- backends. Longer values are compared in full after the range scan.
CREATE TABLE user_attribute_index (
    user_pool_id TEXT NOT NULL,
    attribute_name TEXT NOT NULL,
    value_key TEXT NOT NULL,
    username_key TEXT NOT NULL,
    sub TEXT NOT NULL,
    PRIMARY KEY (user_pool_id, attribute_name, value_key, username_key)
);

CREATE INDEX user_attribute_index_by_sub ON user_attribute_index (user_pool_id, sub);

-- ListUsers filtered on `cognito:user_status` or `status`, in username order.
CREATE INDEX users_by_status ON users (user_pool_id, status, username_key);
CREATE INDEX users_by_enabled ON users (user_pool_id, enabled, username_key);

-- One-off data migrations done by the directory at start-up; a row marks one as complete.
CREATE TABLE directory_backfills (
    name TEXT PRIMARY KEY,
    completed_at BIGINT NOT NULL
);
