//! User import jobs: GetCSVHeader, Create/Start/Stop/Describe/ListUserImportJobs, and the
//! processing of Cognito's CSV format. The job's pre-signed URL points at the edge
//! (`PUT /_import/<job id>?token=...`), which hands the file to `upload_csv`. Imported users
//! have no password and are RESET_REQUIRED, as in Cognito; each is stored in one transaction
//! with their sign-in aliases, so a failing row leaves nothing behind.

use futures::{Stream, StreamExt};
use serde_json::{Value as Json, json};

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode, ServiceKind};

use crate::Directory;
use crate::pools::{decode_token, encode_token, string_list};
use crate::users::{Naming, RESET_REQUIRED, User, check_attributes, check_required};

const CREATED: &str = "Created";
const PENDING: &str = "Pending";
const IN_PROGRESS: &str = "InProgress";
const STOPPING: &str = "Stopping";
const STOPPED: &str = "Stopped";
const FAILED: &str = "Failed";
const SUCCEEDED: &str = "Succeeded";

/// How many rows pass between progress writes (and checks for a stop request).
const PROGRESS_EVERY: usize = 50;

fn no_job() -> CognitoError {
    CognitoError::not_found("Import job does not exist.")
}

fn not_met(message: &str) -> CognitoError {
    CognitoError::new(ErrorCode::PreconditionNotMetException, message)
}

fn upload_refused() -> CognitoError {
    CognitoError::not_authorized("The upload URL is not valid.")
}

/// S3's answer to a PUT above its limit, as the pre-signed URL's uploader expects.
fn too_large() -> CognitoError {
    CognitoError::new(
        ErrorCode::EntityTooLarge,
        format!(
            "The file is larger than {} MB.",
            cognate_common::MAX_IMPORT_CSV_BYTES / (1024 * 1024)
        ),
    )
}

fn not_utf8(cause: std::str::Utf8Error) -> CognitoError {
    CognitoError::invalid_parameter(format!("The file is not UTF-8 text ({cause})."))
}

/// How much of an uploaded file is stored per row: a 100 MB file is 400 rows, and an upload
/// holds a few times this much in memory (the piece, its copy bound to the statement).
const STORED_PIECE_BYTES: usize = 256 * 1024;

/// A piece of an uploaded file as it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPiece {
    pub data: Vec<u8>,
    /// The file's end: pieces that stop without it were cut short.
    pub last: bool,
}

/// Takes the longest prefix of `buffer` that is whole UTF-8 text, leaving a last character cut
/// between two pieces for the next one; an error for bytes that are not UTF-8 at all.
fn take_text(buffer: &mut Vec<u8>) -> CognitoResult<String> {
    let end = match std::str::from_utf8(buffer) {
        Ok(text) => text.len(),
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Err(error) => return Err(not_utf8(error)),
    };
    let text = std::str::from_utf8(&buffer[..end])
        .map_err(not_utf8)?
        .to_owned();
    // Copied out rather than split off, so the buffer keeps its one allocation for the whole
    // upload instead of growing a new one for every piece.
    buffer.drain(..end);
    Ok(text)
}

/// An upload's stored pieces until it is kept as the job's file: dropped unkept (an error, a
/// refused commit, or the call abandoned midway), it deletes them.
struct PendingUpload {
    directory: Directory,
    job_id: String,
    upload_id: String,
    kept: bool,
}

impl PendingUpload {
    async fn store(&self, sequence: i64, text: &str) -> CognitoResult<()> {
        sqlx::query(
            "INSERT INTO user_import_chunks (job_id, upload_id, seq, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(&self.job_id)
        .bind(&self.upload_id)
        .bind(sequence)
        .bind(text)
        .execute(&self.directory.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Makes this upload the job's file if the job still takes one, and forgets the file it
    /// replaces; both or neither.
    async fn keep(mut self) -> CognitoResult<()> {
        let mut transaction = self.directory.db.begin().await.map_err(store_error)?;
        let changed = sqlx::query(
            "UPDATE user_import_jobs SET upload_id = $1 WHERE job_id = $2 AND status = $3",
        )
        .bind(&self.upload_id)
        .bind(&self.job_id)
        .bind(CREATED)
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?
        .rows_affected();
        if changed == 0 {
            return Err(upload_refused());
        }
        sqlx::query("DELETE FROM user_import_chunks WHERE job_id = $1 AND upload_id <> $2")
            .bind(&self.job_id)
            .bind(&self.upload_id)
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // Drop cannot wait, so the pieces are deleted beside the call that gave up on them.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(job_id = %self.job_id, "an abandoned upload's pieces stay stored: no runtime");
            return;
        };
        let db = self.directory.db.clone();
        let (job_id, upload_id) = (
            std::mem::take(&mut self.job_id),
            std::mem::take(&mut self.upload_id),
        );
        runtime.spawn(async move {
            let deleted =
                sqlx::query("DELETE FROM user_import_chunks WHERE job_id = $1 AND upload_id = $2")
                    .bind(&job_id)
                    .bind(&upload_id)
                    .execute(&db)
                    .await;
            if let Err(error) = deleted {
                tracing::warn!(%job_id, %error, "an abandoned upload's pieces were not deleted");
            }
        });
    }
}

/// GetCSVHeader's columns: the schema's attributes but `sub`, then Cognito's two own columns.
pub fn csv_header(pool: &Json) -> Vec<String> {
    pool["SchemaAttributes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["Name"].as_str())
        .filter(|name| *name != "sub")
        .map(str::to_owned)
        .chain([
            "cognito:mfa_enabled".to_owned(),
            "cognito:username".to_owned(),
        ])
        .collect()
}

/// RFC 4180 records (the `csv` crate): commas, double-quoted fields with `""` for a quote, CRLF
/// or LF line ends, rows of any length (a row that doesn't fit the header fails on its own).
/// Blank lines are left out. A quote left open takes the rest of the file into its field, and
/// that row then fails as any malformed row does.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .into_records()
        // The input is text, so every record is.
        .filter_map(Result::ok)
        .map(|record| record.iter().map(str::to_owned).collect())
        .collect()
}

/// The file's records, header first, when the pool and the header allow an import; otherwise
/// the job's completion message.
fn usable_records(pool: &Json, csv: &str) -> Result<Vec<Vec<String>>, String> {
    if string_list(pool.get("AutoVerifiedAttributes")).is_empty() {
        return Err("The user pool has no auto-verified attributes.".into());
    }
    let records = parse_csv(csv);
    if let Some(header) = records.first() {
        let mut expected = csv_header(pool);
        let mut given = header.clone();
        expected.sort();
        given.sort();
        if given != expected {
            return Err("The CSV header does not match the user pool's GetCSVHeader.".into());
        }
    }
    Ok(records)
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Imported,
    /// The username is taken.
    Skipped,
    Failed,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    imported: i64,
    skipped: i64,
    failed: i64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Imported => self.imported += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
        }
    }

    fn message(self) -> String {
        if self.skipped == 0 && self.failed == 0 {
            return "Import Job Completed Successfully.".to_owned();
        }
        format!(
            "Import Job Completed. {} users imported, {} failed, {} skipped.",
            self.imported, self.failed, self.skipped
        )
    }
}

/// A row of the file as the user it imports.
#[derive(Debug, Clone, PartialEq)]
struct ImportRow {
    username: String,
    attributes: Vec<Json>,
    /// `cognito:mfa_enabled`: SMS MFA is turned on for the user.
    sms_mfa: bool,
}

/// A row as the user it imports; `Err` says why the row fails.
fn row_attributes(pool: &Json, header: &[String], row: &[String]) -> Result<ImportRow, String> {
    if row.len() != header.len() {
        return Err(format!(
            "the row has {} columns, the header {}",
            row.len(),
            header.len()
        ));
    }
    let value = |name: &str| {
        header
            .iter()
            .position(|column| column == name)
            .map(|index| row[index].as_str())
            .unwrap_or_default()
    };
    let username = value("cognito:username");
    if username.is_empty() {
        return Err("cognito:username is required".into());
    }
    let sms_mfa = match value("cognito:mfa_enabled").to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => return Err("cognito:mfa_enabled must be true or false".into()),
    };
    if sms_mfa && value("phone_number").is_empty() {
        return Err("cognito:mfa_enabled is true without phone_number".into());
    }
    let verified =
        |attribute: &str| value(&format!("{attribute}_verified")).eq_ignore_ascii_case("true");
    let auto_verified = string_list(pool.get("AutoVerifiedAttributes"));
    if !auto_verified.iter().any(|attribute| verified(attribute)) {
        return Err("no auto-verified attribute is verified".into());
    }
    for attribute in ["email", "phone_number"] {
        if verified(attribute) && value(attribute).is_empty() {
            return Err(format!("{attribute}_verified is true without {attribute}"));
        }
    }
    let attributes = header
        .iter()
        .zip(row)
        .filter(|(name, value)| !name.starts_with("cognito:") && !value.is_empty())
        .map(|(name, value)| {
            let value = if name.ends_with("_verified") {
                value.to_ascii_lowercase()
            } else {
                value.clone()
            };
            json!({"Name": name, "Value": value})
        })
        .collect();
    Ok(ImportRow {
        username: username.to_owned(),
        attributes,
        sms_mfa,
    })
}

impl Directory {
    fn job_json(&self, row: &sqlx::any::AnyRow) -> CognitoResult<Json> {
        let job_id: String = row.read("job_id")?;
        let token: String = row.read("upload_token")?;
        let date = |column: &str| -> CognitoResult<Option<Json>> {
            Ok(row
                .read::<Option<i64>>(column)?
                .map(|millis| json!(epoch_seconds(millis))))
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", &token)
            .finish();
        let mut job = json!({
            "JobName": row.read::<String>("job_name")?,
            "JobId": job_id,
            "UserPoolId": row.read::<String>("user_pool_id")?,
            "PreSignedUrl": format!("{}/_import/{job_id}?{query}", self.config.public_url()),
            "CreationDate": date("created_at")?,
            "Status": row.read::<String>("status")?,
            "CloudWatchLogsRoleArn": row.read::<String>("cloud_watch_logs_role_arn")?,
            "ImportedUsers": row.read::<i64>("imported_users")?,
            "SkippedUsers": row.read::<i64>("skipped_users")?,
            "FailedUsers": row.read::<i64>("failed_users")?,
        });
        for (member, value) in [
            ("StartDate", date("started_at")?),
            ("CompletionDate", date("completed_at")?),
            (
                "CompletionMessage",
                row.read::<Option<String>>("completion_message")?
                    .map(Json::String),
            ),
        ] {
            if let Some(value) = value {
                job[member] = value;
            }
        }
        Ok(job)
    }

    async fn load_job(&self, pool_id: &str, job_id: &str) -> CognitoResult<Json> {
        self.load_pool(pool_id).await?;
        let row = sqlx::query(
            "SELECT job_id, user_pool_id, job_name, upload_token, cloud_watch_logs_role_arn, status, \
             created_at, started_at, completed_at, imported_users, skipped_users, failed_users, \
             completion_message FROM user_import_jobs WHERE user_pool_id = $1 AND job_id = $2",
        )
        .bind(pool_id)
        .bind(job_id)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?
        .ok_or_else(no_job)?;
        self.job_json(&row)
    }

    pub async fn get_csv_header(&self, pool_id: &str) -> CognitoResult<Vec<String>> {
        Ok(csv_header(&*self.load_pool(pool_id).await?))
    }

    /// CreateUserImportJob. `CloudWatchLogsRoleArn` is kept and shown but not used: Cognate has
    /// no CloudWatch Logs; the job's counts and completion message are its report.
    pub async fn create_user_import_job(
        &self,
        pool_id: &str,
        job_name: &str,
        role_arn: &str,
    ) -> CognitoResult<Json> {
        self.load_pool(pool_id).await?;
        let name_ok = (1..=128).contains(&job_name.chars().count())
            && job_name.chars().all(|c| {
                c.is_alphanumeric() || c == '_' || c.is_whitespace() || "+=,.@-".contains(c)
            });
        if !name_ok {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+",
            ));
        }
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret)
            .map_err(|error| cognate_common::error::internal("random token", error))?;
        let token = encode_token_bytes(&secret);
        let mut id = [0u8; 12];
        aws_lc_rs::rand::fill(&mut id)
            .map_err(|error| cognate_common::error::internal("random job id", error))?;
        let job_id = format!("import-{}", encode_token_bytes(&id).replace('_', "-"));
        sqlx::query(
            "INSERT INTO user_import_jobs (job_id, user_pool_id, job_name, upload_token, \
             cloud_watch_logs_role_arn, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&job_id)
        .bind(pool_id)
        .bind(job_name)
        .bind(&token)
        .bind(role_arn)
        .bind(CREATED)
        .bind(unix_millis(self.clock.now()))
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        self.load_job(pool_id, &job_id).await
    }

    pub async fn describe_user_import_job(
        &self,
        pool_id: &str,
        job_id: &str,
    ) -> CognitoResult<Json> {
        self.load_job(pool_id, job_id).await
    }

    /// ListUserImportJobs, oldest first, `max_results` (1 to 60) a page.
    pub async fn list_user_import_jobs(
        &self,
        pool_id: &str,
        max_results: i64,
        pagination_token: Option<&str>,
    ) -> CognitoResult<(Vec<Json>, Option<String>)> {
        if !(1..=60).contains(&max_results) {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60 and greater than or equal to 1",
            ));
        }
        self.load_pool(pool_id).await?;
        // The token is the last job's creation time and id, so pages hold still as jobs come.
        let after = decode_token(pagination_token)?;
        let (after_time, after_id) = match after.as_deref().map(|key| key.split_once(':')) {
            None => (i64::MIN, String::new()),
            Some(Some((time, id))) => (
                time.parse::<i64>()
                    .map_err(|_| CognitoError::invalid_parameter("Invalid pagination token."))?,
                id.to_owned(),
            ),
            Some(None) => return Err(CognitoError::invalid_parameter("Invalid pagination token.")),
        };
        let rows = sqlx::query(
            "SELECT job_id, user_pool_id, job_name, upload_token, cloud_watch_logs_role_arn, status, \
             created_at, started_at, completed_at, imported_users, skipped_users, failed_users, \
             completion_message FROM user_import_jobs \
             WHERE user_pool_id = $1 AND (created_at > $2 OR (created_at = $2 AND job_id > $3)) \
             ORDER BY created_at, job_id LIMIT $4",
        )
        .bind(pool_id)
        .bind(after_time)
        .bind(&after_id)
        .bind(max_results + 1)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        let page = usize::try_from(max_results).unwrap_or(60);
        let next = rows
            .get(page - 1)
            .filter(|_| rows.len() > page)
            .map(|row| {
                Ok::<_, CognitoError>(encode_token(&format!(
                    "{}:{}",
                    row.read::<i64>("created_at")?,
                    row.read::<String>("job_id")?
                )))
            })
            .transpose()?;
        let jobs = rows
            .iter()
            .take(page)
            .map(|row| self.job_json(row))
            .collect::<CognitoResult<_>>()?;
        Ok((jobs, next))
    }

    /// Whether `token` lets a file be uploaded to the job now: the job's own token, compared in
    /// constant time, while the job has not started. The edge asks before reading the upload.
    pub async fn authorize_user_import_upload(
        &self,
        job_id: &str,
        token: &str,
    ) -> CognitoResult<()> {
        let stored: Option<(String, String)> =
            sqlx::query_as("SELECT upload_token, status FROM user_import_jobs WHERE job_id = $1")
                .bind(job_id)
                .fetch_optional(&self.db)
                .await
                .map_err(store_error)?;
        let Some((expected, status)) = stored else {
            return Err(upload_refused());
        };
        let matches = aws_lc_rs::constant_time::verify_slices_are_equal(
            expected.as_bytes(),
            token.as_bytes(),
        )
        .is_ok();
        if !matches || status != CREATED {
            return Err(upload_refused());
        }
        Ok(())
    }

    /// The file uploaded to a job's pre-signed URL, taken while the job has not started. It is
    /// stored in pieces of about 256 KiB as it arrives, so an upload holds a piece or two in
    /// memory, not the file; it replaces the job's earlier file only once its last piece is in.
    pub async fn upload_user_import_csv(
        &self,
        job_id: &str,
        token: &str,
        pieces: impl Stream<Item = CognitoResult<UploadPiece>>,
    ) -> CognitoResult<()> {
        self.authorize_user_import_upload(job_id, token).await?;
        let upload = PendingUpload {
            directory: self.clone(),
            job_id: job_id.to_owned(),
            upload_id: uuid::Uuid::new_v4().to_string(),
            kept: false,
        };
        let mut pieces = std::pin::pin!(pieces);
        let mut buffer = Vec::with_capacity(2 * STORED_PIECE_BYTES);
        let (mut received, mut stored) = (0_usize, 0_i64);
        let mut complete = false;
        while let Some(piece) = pieces.next().await {
            let piece = piece?;
            received += piece.data.len();
            if received > cognate_common::MAX_IMPORT_CSV_BYTES {
                return Err(too_large());
            }
            buffer.extend_from_slice(&piece.data);
            if buffer.len() >= STORED_PIECE_BYTES {
                let text = take_text(&mut buffer)?;
                upload.store(stored, &text).await?;
                stored += 1;
            }
            if piece.last {
                complete = true;
                break;
            }
        }
        if !complete {
            return Err(CognitoError::invalid_parameter(
                "The upload ended before the end of the file.",
            ));
        }
        let rest = String::from_utf8(buffer).map_err(|error| not_utf8(error.utf8_error()))?;
        if !rest.is_empty() {
            upload.store(stored, &rest).await?;
        }
        upload.keep().await
    }

    /// StartUserImportJob: Created → Pending (once, whoever asks), then the rows are imported
    /// in the background.
    pub async fn start_user_import_job(&self, pool_id: &str, job_id: &str) -> CognitoResult<Json> {
        let job = self.load_job(pool_id, job_id).await?;
        let uploaded: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM user_import_jobs WHERE job_id = $1 AND upload_id IS NOT NULL",
        )
        .bind(job_id)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?;
        if job["Status"] != CREATED {
            return Err(not_met("The import job has already been started."));
        }
        if uploaded.is_none() {
            return Err(not_met(
                "No CSV file has been uploaded to the import job's pre-signed URL.",
            ));
        }
        if !self.transition(job_id, &[CREATED], PENDING).await? {
            return Err(not_met("The import job has already been started."));
        }
        sqlx::query("UPDATE user_import_jobs SET started_at = $1 WHERE job_id = $2")
            .bind(unix_millis(self.clock.now()))
            .bind(job_id)
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        let directory = self.clone();
        let (pool_id_owned, job_id_owned) = (pool_id.to_owned(), job_id.to_owned());
        tokio::spawn(async move {
            if let Err(error) = directory.run_import(&pool_id_owned, &job_id_owned).await {
                tracing::warn!(job_id = %job_id_owned, error = %error.message, "user import failed");
                let _ = directory
                    .finish(
                        &job_id_owned,
                        FAILED,
                        Counts::default(),
                        "The import job failed.",
                    )
                    .await;
            }
        });
        self.load_job(pool_id, job_id).await
    }

    /// StopUserImportJob: a Pending or InProgress job stops after the row it is on.
    pub async fn stop_user_import_job(&self, pool_id: &str, job_id: &str) -> CognitoResult<Json> {
        self.load_job(pool_id, job_id).await?;
        if !self
            .transition(job_id, &[PENDING, IN_PROGRESS], STOPPING)
            .await?
        {
            return Err(not_met("The import job is not running."));
        }
        self.load_job(pool_id, job_id).await
    }

    /// Moves the job to `to` if its status is one of `from`; whether it moved. Conditional, so of
    /// two concurrent moves only one wins.
    async fn transition(&self, job_id: &str, from: &[&str], to: &str) -> CognitoResult<bool> {
        let placeholders: Vec<String> = (0..from.len())
            .map(|index| format!("${}", index + 3))
            .collect();
        let statement = format!(
            "UPDATE user_import_jobs SET status = $1 WHERE job_id = $2 AND status IN ({})",
            placeholders.join(", ")
        );
        // Only placeholders are formatted in; the statuses are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(to)
            .bind(job_id);
        for status in from {
            query = query.bind(*status);
        }
        let changed = query
            .execute(&self.db)
            .await
            .map_err(store_error)?
            .rows_affected();
        Ok(changed == 1)
    }

    /// Writes the counts; `false` when the job was asked to stop.
    async fn progress(&self, job_id: &str, counts: Counts) -> CognitoResult<bool> {
        let changed = sqlx::query(
            "UPDATE user_import_jobs SET imported_users = $1, skipped_users = $2, failed_users = $3 \
             WHERE job_id = $4 AND status = $5",
        )
        .bind(counts.imported)
        .bind(counts.skipped)
        .bind(counts.failed)
        .bind(job_id)
        .bind(IN_PROGRESS)
        .execute(&self.db)
        .await
        .map_err(store_error)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn finish(
        &self,
        job_id: &str,
        status: &str,
        counts: Counts,
        message: &str,
    ) -> CognitoResult<()> {
        sqlx::query(
            "UPDATE user_import_jobs SET status = $1, completed_at = $2, imported_users = $3, \
             skipped_users = $4, failed_users = $5, completion_message = $6 WHERE job_id = $7",
        )
        .bind(status)
        .bind(unix_millis(self.clock.now()))
        .bind(counts.imported)
        .bind(counts.skipped)
        .bind(counts.failed)
        .bind(message)
        .bind(job_id)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        // A job that has ended takes no file and never reads its own again.
        sqlx::query("DELETE FROM user_import_chunks WHERE job_id = $1")
            .bind(job_id)
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// The job's file, its stored pieces in order.
    async fn uploaded_file(&self, job_id: &str) -> CognitoResult<String> {
        let mut pieces = sqlx::query_scalar::<_, String>(
            "SELECT c.data FROM user_import_chunks c JOIN user_import_jobs j \
             ON j.job_id = c.job_id AND j.upload_id = c.upload_id \
             WHERE c.job_id = $1 ORDER BY c.seq",
        )
        .bind(job_id)
        .fetch(&self.db);
        let mut csv = String::new();
        while let Some(piece) = pieces.next().await {
            csv.push_str(&piece.map_err(store_error)?);
        }
        Ok(csv)
    }

    async fn run_import(&self, pool_id: &str, job_id: &str) -> CognitoResult<()> {
        // A job stopped while pending stays stopping; the first progress check ends it.
        self.transition(job_id, &[PENDING], IN_PROGRESS).await?;
        let csv = self.uploaded_file(job_id).await?;
        let pool = self.load_pool(pool_id).await?;
        let records = match usable_records(&pool, &csv) {
            Ok(records) => records,
            Err(message) => {
                return self
                    .finish(job_id, FAILED, Counts::default(), &message)
                    .await;
            }
        };
        let Some((header, rows)) = records.split_first() else {
            return self
                .finish(job_id, FAILED, Counts::default(), "The CSV file is empty.")
                .await;
        };
        let mut counts = Counts::default();
        for (index, row) in rows.iter().enumerate() {
            if index % PROGRESS_EVERY == 0 && !self.progress(job_id, counts).await? {
                return self
                    .finish(job_id, STOPPED, counts, "Import Job Stopped.")
                    .await;
            }
            counts.add(self.import_row(pool_id, &pool, header, row).await?);
        }
        if !self.progress(job_id, counts).await? {
            return self
                .finish(job_id, STOPPED, counts, "Import Job Stopped.")
                .await;
        }
        self.finish(job_id, SUCCEEDED, counts, &counts.message())
            .await
    }

    /// Imports one row; a store failure other than a taken name ends the job.
    async fn import_row(
        &self,
        pool_id: &str,
        pool: &Json,
        header: &[String],
        row: &[String],
    ) -> CognitoResult<Outcome> {
        let ImportRow {
            username: given_name,
            mut attributes,
            sms_mfa,
        } = match row_attributes(pool, header, row) {
            Ok(parsed) => parsed,
            Err(reason) => {
                tracing::info!(pool_id, reason = %reason, "import row failed");
                return Ok(Outcome::Failed);
            }
        };
        let schema = pool["SchemaAttributes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let naming = Naming::of(pool);
        let sub = uuid::Uuid::new_v4().to_string();
        let checked = check_attributes(&schema, &attributes)
            .and_then(|()| naming.username_for(&given_name, &mut attributes, &sub))
            .and_then(|username| check_required(&schema, &attributes).map(|()| username));
        let username = match checked {
            Ok(username) => username,
            Err(error) => {
                tracing::info!(pool_id, reason = %error.message, "import row failed");
                return Ok(Outcome::Failed);
            }
        };
        attributes.insert(0, json!({"Name": "sub", "Value": sub}));
        let now = unix_millis(self.clock.now());
        let user = User {
            username,
            sub,
            status: RESET_REQUIRED.to_owned(),
            enabled: true,
            attributes,
            password_hash: String::new(),
            created_at: now,
            updated_at: now,
        };
        match self
            .insert_user(pool_id, &naming, &user, "User account already exists")
            .await
        {
            Ok(()) => {}
            Err(error) if error.code == ErrorCode::UsernameExistsException => {
                return Ok(Outcome::Skipped);
            }
            Err(error) if error.code == ErrorCode::AliasExistsException => {
                return Ok(Outcome::Failed);
            }
            Err(error) => return Err(error),
        }
        // The auth service keeps MFA settings; a user it refuses them for is taken back out,
        // so the row leaves nothing behind.
        if sms_mfa && let Err(error) = self.enable_sms_mfa(pool_id, &user.username).await {
            tracing::info!(pool_id, reason = %error.message, "import row failed");
            self.admin_delete_user(pool_id, &user.username).await?;
            return Ok(Outcome::Failed);
        }
        Ok(Outcome::Imported)
    }

    async fn enable_sms_mfa(&self, pool_id: &str, username: &str) -> CognitoResult<()> {
        let Some(peers) = self.peers.as_ref() else {
            return Err(cognate_common::error::internal(
                "sms mfa",
                "the directory has no channel to the auth service",
            ));
        };
        cognate_proto::idp::v1::auth_client::AuthClient::new(peers.channel(ServiceKind::Auth))
            .admin_set_user_mfa_preference(
                cognate_proto::idp::v1::AdminSetUserMfaPreferenceRequest {
                    user_pool_id: Some(pool_id.to_owned()),
                    username: Some(username.to_owned()),
                    sms_mfa_settings: Some(cognate_proto::idp::v1::SmsMfaSettingsType {
                        enabled: Some(true),
                        preferred_mfa: None,
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(CognitoError::from)?;
        Ok(())
    }
}

fn encode_token_bytes(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job stopped while pending or importing ends Stopped at its next progress check, with
    /// the rows done so far; a stop has nothing to act on once the job has ended.
    async fn a_stopped_job_ends_stopped(db: &sqlx::AnyPool) {
        use std::sync::Arc;
        let directory = Directory::new(
            db.clone(),
            Arc::new(cognate_common::clock::SystemClock),
            Arc::new(cognate_common::Config::default()),
            cognate_common::testing::sealer(),
        );
        let request = json!({"PoolName": "p", "AutoVerifiedAttributes": ["email"]});
        let pool = directory
            .create_user_pool(request.as_object().cloned().unwrap_or_default())
            .await
            .expect("pool");
        let pool_id = pool["Id"].as_str().expect("id");
        let job = directory
            .create_user_import_job(pool_id, "stopped", "arn:aws:iam::1:role/r")
            .await
            .expect("job");
        let job_id = job["JobId"].as_str().expect("id");
        let token = job["PreSignedUrl"]
            .as_str()
            .and_then(|url| url.split_once("token="))
            .map(|(_, token)| token)
            .expect("token");
        let header = csv_header(&pool).join(",");
        let file = UploadPiece {
            data: format!("{header}\n").into_bytes(),
            last: true,
        };
        directory
            .upload_user_import_csv(job_id, token, futures::stream::iter([Ok(file)]))
            .await
            .expect("uploaded");
        assert!(
            directory
                .transition(job_id, &[CREATED], PENDING)
                .await
                .expect("pending")
        );
        let stopping = directory
            .stop_user_import_job(pool_id, job_id)
            .await
            .expect("stopping");
        assert_eq!(stopping["Status"], STOPPING);
        directory.run_import(pool_id, job_id).await.expect("ran");
        let stopped = directory
            .describe_user_import_job(pool_id, job_id)
            .await
            .expect("job");
        assert_eq!(stopped["Status"], STOPPED);
        assert_eq!(stopped["CompletionMessage"], "Import Job Stopped.");
        assert_eq!(stopped["ImportedUsers"], 0);
        let again = directory
            .stop_user_import_job(pool_id, job_id)
            .await
            .expect_err("nothing to stop");
        assert_eq!(again.code, ErrorCode::PreconditionNotMetException);
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Directory, crate::MIGRATOR;
        a_stopped_job_ends_stopped,
    );

    #[test]
    fn stored_pieces_are_whole_utf8_text() {
        // "é" is two bytes: a piece that cuts it keeps its first byte for the next one.
        let mut buffer = "abé".as_bytes()[..3].to_vec();
        assert_eq!(take_text(&mut buffer).expect("text"), "ab");
        assert_eq!(buffer, [0xc3]);
        buffer.extend_from_slice(&"é!".as_bytes()[1..]);
        assert_eq!(take_text(&mut buffer).expect("text"), "é!");
        assert!(buffer.is_empty());
        let mut not_text = vec![b'a', 0xff, b'b'];
        assert_eq!(
            take_text(&mut not_text).map_err(|error| error.code),
            Err(ErrorCode::InvalidParameterException)
        );
    }

    #[test]
    fn csv_fields_quote_commas_quotes_and_line_breaks() {
        let text = "\u{feff}a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n,,\nlast,,\n";
        assert_eq!(
            parse_csv(text),
            [
                vec!["a", "b", "c"],
                vec!["x, y", "say \"hi\"", "two\nlines"],
                vec!["", "", ""],
                vec!["last", "", ""],
            ]
        );
        assert_eq!(
            parse_csv("a,\"open\nb,c\n"),
            [vec!["a", "open\nb,c\n"]],
            "an open quote runs to the end"
        );
    }

    #[test]
    fn rows_need_a_username_mfa_flag_and_a_verified_auto_verified_attribute() {
        let pool = json!({"AutoVerifiedAttributes": ["email"]});
        let header: Vec<String> = [
            "cognito:username",
            "cognito:mfa_enabled",
            "email",
            "email_verified",
            "name",
        ]
        .map(str::to_owned)
        .to_vec();
        let row = |values: [&str; 5]| values.map(str::to_owned).to_vec();
        let imported = row_attributes(
            &pool,
            &header,
            &row(["jane", "false", "j@example.com", "TRUE", ""]),
        )
        .expect("imported");
        assert_eq!(
            imported,
            ImportRow {
                username: "jane".into(),
                attributes: vec![
                    json!({"Name": "email", "Value": "j@example.com"}),
                    json!({"Name": "email_verified", "Value": "true"}),
                ],
                sms_mfa: false,
            }
        );
        for bad in [
            row(["", "false", "j@example.com", "true", ""]),
            row(["jane", "maybe", "j@example.com", "true", ""]),
            row(["jane", "false", "j@example.com", "false", ""]),
            row(["jane", "false", "", "true", ""]),
            // SMS MFA needs a phone number.
            row(["jane", "true", "j@example.com", "true", ""]),
        ] {
            assert!(row_attributes(&pool, &header, &bad).is_err(), "{bad:?}");
        }
        assert!(row_attributes(&pool, &header, &row(["a", "b", "c", "d", "e"])[..4]).is_err());
    }

    /// Property tests (`fuzz_*`; README, "Fuzzing") of the uploaded file's parsing.
    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        /// Fields with the characters that matter to CSV, and some that do not.
        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => "[a-z0-9@.+ ]{0,8}",
                1 => "[a-z\",\r\n ]{0,8}",
                1 => ".{0,6}",
            ]
        }

        /// Records the parser keeps: blank records (one empty field) are left out by design.
        fn records() -> impl Strategy<Value = Vec<Vec<String>>> {
            prop::collection::vec(
                prop::collection::vec(field(), 1..6).prop_filter("not blank", |record| {
                    record.len() > 1 || record.iter().any(|value| !value.is_empty())
                }),
                0..6,
            )
        }

        /// RFC 4180 as a spreadsheet writes it: quotes where a field needs them.
        fn write_csv(records: &[Vec<String>], line_end: &str, quote_all: bool) -> String {
            records
                .iter()
                .map(|record| {
                    record
                        .iter()
                        .map(|value| {
                            let special = value.contains(['"', ',', '\r', '\n'])
                                || value.starts_with('\u{feff}');
                            if quote_all || special {
                                format!("\"{}\"", value.replace('"', "\"\""))
                            } else {
                                value.clone()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .map(|line| format!("{line}{line_end}"))
                .collect()
        }

        fn pool() -> Json {
            json!({
                "AutoVerifiedAttributes": ["email"],
                "SchemaAttributes": [
                    {"Name": "sub"}, {"Name": "email"}, {"Name": "email_verified"},
                    {"Name": "phone_number"}, {"Name": "phone_number_verified"}, {"Name": "name"},
                ],
            })
        }

        proptest! {
            #![proptest_config(cognate_common::fuzzing::config())]

            /// Any text is records, none of them empty.
            #[test]
            fn fuzz_any_text_parses_as_csv(
                text in prop_oneof![".{0,200}", "[a\",\r\n\u{feff}]{0,40}"],
            ) {
                prop_assert!(parse_csv(&text).iter().all(|record| !record.is_empty()));
            }

            /// Records written out as CSV read back unchanged.
            #[test]
            fn fuzz_records_round_trip_through_csv(
                records in records(),
                line_end in prop::sample::select(vec!["\n", "\r\n"]),
                quote_all in any::<bool>(),
                bom in any::<bool>(),
            ) {
                let text = write_csv(&records, line_end, quote_all);
                let text = if bom { format!("\u{feff}{text}") } else { text };
                prop_assert_eq!(parse_csv(&text), records);
            }

            /// Any rows under any header are users or a reason, never a panic; a user always
            /// has a name and a verified auto-verified attribute.
            #[test]
            fn fuzz_any_rows_import_or_fail_with_a_reason(
                header in prop::collection::vec(
                    prop_oneof![
                        prop::sample::select(vec![
                            "cognito:username", "cognito:mfa_enabled", "email",
                            "email_verified", "phone_number", "phone_number_verified", "name",
                        ]).prop_map(str::to_owned),
                        ".{0,6}",
                    ],
                    0..8,
                ),
                rows in prop::collection::vec(
                    prop::collection::vec(
                        prop_oneof![
                            prop::sample::select(vec![
                                "", "true", "TRUE", "false", "jane", "+15550100",
                            ])
                            .prop_map(str::to_owned),
                            ".{0,6}",
                        ],
                        0..8,
                    ),
                    0..4,
                ),
            ) {
                let pool = pool();
                for row in &rows {
                    if let Ok(imported) = row_attributes(&pool, &header, row) {
                        prop_assert!(!imported.username.is_empty());
                        let verified = json!({"Name": "email_verified", "Value": "true"});
                        prop_assert!(imported.attributes.contains(&verified), "{:?}", imported);
                    }
                }
                let mut lines = vec![header];
                lines.extend(rows);
                let text = write_csv(&lines, "\n", false);
                match usable_records(&pool, &text) {
                    Ok(records) => prop_assert!(!records.is_empty() || text.trim().is_empty()),
                    Err(reason) => prop_assert_eq!(
                        reason,
                        "The CSV header does not match the user pool's GetCSVHeader."
                    ),
                }
            }
        }
    }
}
