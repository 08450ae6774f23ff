-- How many codes of a purpose a user was sent in the current window, for the per-user send
-- limit (a reissued code replaces the row, so the count lives beside the code).
ALTER TABLE user_codes ADD COLUMN sends BIGINT NOT NULL DEFAULT 0;
-- Unix milliseconds: when the current send window began.
ALTER TABLE user_codes ADD COLUMN sends_since BIGINT NOT NULL DEFAULT 0;
