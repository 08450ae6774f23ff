-- User pool groups and their members. Portable SQL: the same file runs on SQLite and Postgres.

CREATE TABLE user_groups (
    user_pool_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    -- Cognito's GroupType as AWS JSON (wire names).
    group_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, group_name)
);

-- Members by `sub`, which never changes, so renaming attributes or aliases leaves them alone.
CREATE TABLE group_members (
    user_pool_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    sub TEXT NOT NULL,
    PRIMARY KEY (user_pool_id, group_name, sub)
);

CREATE INDEX group_members_by_sub ON group_members (user_pool_id, sub, group_name);
