-- A secret handed out by AssociateSoftwareToken waits here until VerifySoftwareToken proves the
-- authenticator has it; only then does it replace the working one.
ALTER TABLE software_tokens ADD COLUMN pending_secret TEXT NOT NULL DEFAULT '';
