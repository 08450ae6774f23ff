-- The directory's tables. Portable SQL: the same file runs on SQLite and Postgres.

CREATE TABLE user_pools (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Cognito's UserPoolType as AWS JSON (wire names), without the user count.
    pool_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX user_pools_by_creation ON user_pools (created_at, id);

CREATE TABLE app_clients (
    client_id TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    -- Cognito's UserPoolClientType as AWS JSON, the secret included.
    client_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX app_clients_by_pool ON app_clients (user_pool_id, created_at, client_id);

CREATE TABLE users (
    user_pool_id TEXT NOT NULL,
    -- The username as compared: lower-cased in case-insensitive pools.
    username_key TEXT NOT NULL,
    username TEXT NOT NULL,
    sub TEXT NOT NULL,
    status TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    -- Ordered list of {"Name", "Value"}, `sub` first.
    attributes_json TEXT NOT NULL,
    -- PHC string (argon2id); empty when the user has no password.
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, username_key)
);

CREATE UNIQUE INDEX users_by_sub ON users (user_pool_id, sub);

-- Sign-in names other than the username: verified alias attributes and username attributes.
-- The primary key is what makes an alias belong to one user only, under any concurrency.
CREATE TABLE user_aliases (
    user_pool_id TEXT NOT NULL,
    -- `<attribute>:<normalised value>`, e.g. `email:jane@example.com`.
    alias_key TEXT NOT NULL,
    sub TEXT NOT NULL,
    PRIMARY KEY (user_pool_id, alias_key)
);

CREATE INDEX user_aliases_by_sub ON user_aliases (user_pool_id, sub);
