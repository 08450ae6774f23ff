-- The id of the last attempt the lockout counted, so an attempt knows whether it was counted or
-- refused (a lock's own attempts and the ones it refuses can share a millisecond).
ALTER TABLE lockouts ADD COLUMN last_attempt TEXT NOT NULL DEFAULT '';
