-- Signing keys rotate: a pool has a generation of keys per purpose, numbered from 0. The unique
-- (pool, purpose, generation) lets replicas race to create the next one and keeps a single key.
CREATE TABLE signing_keys_rotating (
    kid TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    -- `id` or `access`.
    purpose TEXT NOT NULL,
    generation BIGINT NOT NULL,
    -- PKCS#8 DER, base64.
    private_key TEXT NOT NULL,
    -- Unix milliseconds: published from then, signing an hour later (at once for generation 0).
    created_at BIGINT NOT NULL,
    UNIQUE (user_pool_id, purpose, generation)
);

INSERT INTO signing_keys_rotating (kid, user_pool_id, purpose, generation, private_key, created_at)
SELECT kid, user_pool_id, purpose, 0, private_key, created_at FROM signing_keys;

DROP TABLE signing_keys;

ALTER TABLE signing_keys_rotating RENAME TO signing_keys;
