-- A pool may sign with ES256 (ECDSA P-256) instead of RS256; each key keeps its own algorithm,
-- so a pool that changes its choice rotates to keys of the new one.
ALTER TABLE signing_keys ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'RS256';
