-- TOTP authenticators (SOFTWARE_TOKEN_MFA), one per user.
CREATE TABLE software_tokens (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- Base32, as handed to the authenticator app. A TOTP secret must be readable to check codes.
    secret TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 0,
    preferred BIGINT NOT NULL DEFAULT 0,
    -- The last 30-second step whose code was accepted: each code is good once.
    last_step BIGINT NOT NULL DEFAULT 0,
    friendly_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_pool_id, sub)
);
