-- The device a refresh token's sign-in used or was handed ('' for none): refreshed access
-- tokens carry it as `device_key`, as the first one did.
ALTER TABLE refresh_tokens ADD COLUMN device_key TEXT NOT NULL DEFAULT '';
