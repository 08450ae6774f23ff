-- The credential vendor's tables. Portable SQL: the same file runs on SQLite and Postgres.

CREATE TABLE identity_pools (
    identity_pool_id TEXT PRIMARY KEY,
    -- Cognito's IdentityPool as AWS JSON (wire names), the id included.
    pool_json TEXT NOT NULL,
    -- Unix milliseconds; pools list in creation order.
    created_at BIGINT NOT NULL
);

CREATE INDEX identity_pools_by_creation ON identity_pools (created_at, identity_pool_id);

CREATE TABLE identities (
    identity_id TEXT PRIMARY KEY,
    identity_pool_id TEXT NOT NULL,
    -- JSON array of the login providers linked to the identity; `[]` for unauthenticated ones.
    logins_json TEXT NOT NULL,
    -- Unix milliseconds.
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX identities_by_pool ON identities (identity_pool_id, created_at, identity_id);
