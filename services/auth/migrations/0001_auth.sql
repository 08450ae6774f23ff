-- The token issuer's tables. Portable SQL: the same file runs on SQLite and Postgres.

-- RS256 signing keys, one for ID tokens and one for access tokens per pool (as Cognito does).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    -- `id` or `access`.
    purpose TEXT NOT NULL,
    -- PKCS#8 DER, base64.
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_pool_id, purpose)
);

-- Refresh tokens, stored only as SHA-256 hashes.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- Shared by every ID and access token derived from this refresh token.
    origin_jti TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_pool_id, sub);
