-- Password failures and one-time-code failures are counted apart (a correct password must not
-- end the code failures), and each check now takes its turn under a lock instead of counting
-- itself as a failure up front, so `last_attempt` is gone.
CREATE TABLE lockouts_by_factor (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- `password` or `code`.
    factor TEXT NOT NULL,
    failures BIGINT NOT NULL,
    -- Unix milliseconds.
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, sub, factor)
);
INSERT INTO lockouts_by_factor (user_pool_id, sub, factor, failures, last_failure, locked_until)
    SELECT user_pool_id, sub, 'password', failures, last_failure, locked_until FROM lockouts;
DROP TABLE lockouts;
ALTER TABLE lockouts_by_factor RENAME TO lockouts;
