-- Refresh-token rotation (GetTokensFromRefreshToken): when a token was replaced by its
-- successor, in unix milliseconds; 0 while it is current. A replaced token still works for the
-- client's RetryGracePeriodSeconds.
ALTER TABLE refresh_tokens ADD COLUMN rotated_at BIGINT NOT NULL DEFAULT 0;
