-- Failed sign-in attempts per user, for Cognito's lockout. Kept in SQL so every replica counts
-- the same attempts and a cache flush can't lift a lock.
CREATE TABLE lockouts (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    failures BIGINT NOT NULL,
    -- Unix milliseconds.
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, sub)
);
