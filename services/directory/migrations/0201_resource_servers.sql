-- Resource servers and their custom scopes. Portable SQL: the same file runs on SQLite and Postgres.

CREATE TABLE resource_servers (
    user_pool_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    -- Cognito's ResourceServerType as AWS JSON (wire names).
    server_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, identifier)
);
