-- One-time-code MFA factors a user has enabled: SMS_MFA (to phone_number) and EMAIL_OTP (to
-- email). TOTP authenticators live in software_tokens. Portable SQL.
CREATE TABLE otp_factors (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- SMS_MFA or EMAIL_OTP
    factor TEXT NOT NULL,
    preferred BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_pool_id, sub, factor)
);
