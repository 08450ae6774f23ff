-- User pool domains. Portable SQL: the same file runs on SQLite and Postgres.

-- A name belongs to one pool (the primary key), and a pool has at most one prefix domain and one
-- custom domain (the unique index), whatever the concurrency.
CREATE TABLE user_pool_domains (
    domain TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    -- PREFIX or CUSTOM.
    kind TEXT NOT NULL,
    -- Cognito's DomainDescriptionType as AWS JSON.
    domain_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX user_pool_domains_one_per_kind ON user_pool_domains (user_pool_id, kind);
