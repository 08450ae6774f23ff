-- Self-service account flows: one-time codes and the dev outbox. Portable SQL.

-- One live code per user and purpose; a new code replaces the old one. Only a hash is kept.
CREATE TABLE user_codes (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- SIGN_UP, RESET or VERIFY:<attribute>.
    purpose TEXT NOT NULL,
    -- base64 SHA-256 of `pool|sub|purpose|code`.
    code_hash TEXT NOT NULL,
    -- The attribute the code went to (email or phone_number) and its value then; empty if none.
    attribute_name TEXT NOT NULL,
    attribute_value TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    used BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, sub, purpose)
);

-- Messages recorded instead of sent, in development mode only.
CREATE TABLE dev_outbox (
    id TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    destination TEXT NOT NULL,
    -- EMAIL or SMS.
    channel TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX dev_outbox_by_user ON dev_outbox (user_pool_id, username, created_at);
