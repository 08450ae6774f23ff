-- User import jobs (CreateUserImportJob and friends) and the CSV file uploaded to each job's
-- pre-signed URL. Portable SQL: the same file runs on SQLite and Postgres.

CREATE TABLE user_import_jobs (
    job_id TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    job_name TEXT NOT NULL,
    -- The secret in the job's pre-signed URL.
    upload_token TEXT NOT NULL,
    cloud_watch_logs_role_arn TEXT NOT NULL,
    status TEXT NOT NULL,
    csv TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    imported_users BIGINT NOT NULL DEFAULT 0,
    skipped_users BIGINT NOT NULL DEFAULT 0,
    failed_users BIGINT NOT NULL DEFAULT 0,
    completion_message TEXT
);

CREATE INDEX user_import_jobs_by_pool ON user_import_jobs (user_pool_id, created_at, job_id);
