-- Global sign-out: tokens issued to a user at or before this instant are refused.
CREATE TABLE user_sign_outs (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- Unix seconds.
    signed_out_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, sub)
);

CREATE INDEX refresh_tokens_by_origin ON refresh_tokens (origin_jti);
