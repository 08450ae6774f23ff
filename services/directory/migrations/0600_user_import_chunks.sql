-- An import job's CSV file is stored in pieces as it is uploaded, so an upload never holds the
-- whole file in memory. Pieces of an upload in progress carry its own upload_id; the job's
-- upload_id names the upload that is its file once that upload is complete. Portable SQL: the
-- same file runs on SQLite and Postgres.

CREATE TABLE user_import_chunks (
    job_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, upload_id, seq)
);

ALTER TABLE user_import_jobs ADD COLUMN upload_id TEXT;

-- A file uploaded before this migration becomes its job's one piece.
INSERT INTO user_import_chunks (job_id, upload_id, seq, data)
    SELECT job_id, job_id, 0, csv FROM user_import_jobs WHERE csv IS NOT NULL;
UPDATE user_import_jobs SET upload_id = job_id WHERE csv IS NOT NULL;

ALTER TABLE user_import_jobs DROP COLUMN csv;
