//! User import jobs through the AWS SDK for Rust in both topologies: GetCSVHeader, the CSV file
//! uploaded by HTTP PUT to the job's pre-signed URL (served by Cognate, authorised by the token
//! in it), Start/Stop/Describe/ListUserImportJobs, Cognito's CSV rules counted per row, and
//! imported users in RESET_REQUIRED until they reset their password with a code.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, SchemaAttributeType, UserImportJobStatusType, UserImportJobType,
    UserStatusType, VerifiedAttributeType,
};
use cognate_tests::{Sandbox, both_topologies, error_code};

const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImport";

async fn create_job(idp: &Client, pool_id: &str, name: &str) -> UserImportJobType {
    idp.create_user_import_job()
        .user_pool_id(pool_id)
        .job_name(name)
        .cloud_watch_logs_role_arn(ROLE)
        .send()
        .await
        .expect("job created")
        .user_import_job
        .expect("job")
}

/// `curl -X PUT --upload-file`: the status code of the upload.
async fn upload(url: &str, csv: &str) -> u16 {
    reqwest::Client::new()
        .put(url)
        .body(csv.to_owned())
        .send()
        .await
        .expect("upload answers")
        .status()
        .as_u16()
}

async fn describe(idp: &Client, pool_id: &str, job_id: &str) -> UserImportJobType {
    idp.describe_user_import_job()
        .user_pool_id(pool_id)
        .job_id(job_id)
        .send()
        .await
        .expect("described")
        .user_import_job
        .expect("job")
}

/// Polls DescribeUserImportJob until the job is no longer Pending or InProgress.
async fn finished(idp: &Client, pool_id: &str, job_id: &str) -> UserImportJobType {
    for _ in 0..200 {
        let job = describe(idp, pool_id, job_id).await;
        if !matches!(
            job.status(),
            Some(UserImportJobStatusType::Pending | UserImportJobStatusType::InProgress)
        ) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import job did not finish");
}

/// A CSV file in the pool's GetCSVHeader order with `rows` of (column, value) pairs.
fn csv(header: &[String], rows: &[&[(&str, &str)]]) -> String {
    let quote = |value: &str| {
        if value.contains([',', '"', '\n']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_owned()
        }
    };
    let mut text = header.join(",") + "\r\n";
    for row in rows {
        let values: Vec<String> = header
            .iter()
            .map(|column| {
                row.iter()
                    .find(|(name, _)| name == column)
                    .map(|(_, value)| quote(value))
                    .unwrap_or_default()
            })
            .collect();
        text += &(values.join(",") + "\r\n");
    }
    text
}

async fn users_are_imported_from_csv(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("imports")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .schema(
                SchemaAttributeType::builder()
                    .name("tier")
                    .attribute_data_type(AttributeDataType::String)
                    .build(),
            ),
    )
    .await;
    let client_id = cognate_tests::password_auth_client(&idp, &pool_id).await;

    let header = idp
        .get_csv_header()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("header")
        .csv_header
        .expect("columns");
    assert_eq!(header.first().map(String::as_str), Some("name"));
    assert_eq!(
        header[header.len() - 3..],
        ["custom:tier", "cognito:mfa_enabled", "cognito:username"]
    );
    assert!(!header.iter().any(|column| column == "sub"));
    for column in [
        "email",
        "email_verified",
        "phone_number_verified",
        "updated_at",
    ] {
        assert!(header.iter().any(|given| given == column), "{column}");
    }

    cognate_tests::confirmed_user(&idp, &pool_id, "existing", "Correct-Horse-1").await;
    let job = create_job(&idp, &pool_id, "first import").await;
    let job_id = job.job_id().expect("id").to_owned();
    assert!(job_id.starts_with("import-"), "{job_id}");
    assert_eq!(job.status(), Some(&UserImportJobStatusType::Created));
    assert_eq!(job.cloud_watch_logs_role_arn(), Some(ROLE));
    assert!(job.creation_date().is_some());
    let url = job.pre_signed_url().expect("upload URL").to_owned();
    assert!(url.starts_with(&sandbox.endpoint), "{url}");

    let early = idp
        .start_user_import_job()
        .user_pool_id(&pool_id)
        .job_id(&job_id)
        .send()
        .await
        .expect_err("nothing uploaded yet");
    assert_eq!(error_code(&early), "PreconditionNotMetException");

    let file = csv(
        &header,
        &[
            &[
                ("cognito:username", "jane"),
                ("cognito:mfa_enabled", "false"),
                ("email", "jane@example.com"),
                ("email_verified", "true"),
                ("name", "Doe, Jane \"JD\""),
                ("custom:tier", "gold"),
            ],
            &[
                ("cognito:username", "john"),
                ("cognito:mfa_enabled", "FALSE"),
                ("email", "john@example.com"),
                ("email_verified", "TRUE"),
            ],
            &[
                ("cognito:username", "mfa"),
                ("cognito:mfa_enabled", "true"),
                ("email", "mfa@example.com"),
                ("email_verified", "true"),
                ("phone_number", "+15550100"),
            ],
            // Taken usernames are skipped.
            &[
                ("cognito:username", "existing"),
                ("cognito:mfa_enabled", "false"),
                ("email", "existing@example.com"),
                ("email_verified", "true"),
            ],
            &[
                ("cognito:username", "jane"),
                ("cognito:mfa_enabled", "false"),
                ("email", "jane2@example.com"),
                ("email_verified", "true"),
            ],
            // No verified auto-verified attribute; no MFA flag; an alias already taken.
            &[
                ("cognito:username", "unverified"),
                ("cognito:mfa_enabled", "false"),
                ("email", "unverified@example.com"),
                ("email_verified", "false"),
            ],
            &[
                ("cognito:username", "mfa-without-phone"),
                ("cognito:mfa_enabled", "true"),
                ("email", "mfa-without-phone@example.com"),
                ("email_verified", "true"),
            ],
            &[
                ("cognito:username", "noflag"),
                ("email", "noflag@example.com"),
                ("email_verified", "true"),
            ],
            &[
                ("cognito:username", "unknown-attribute-value"),
                ("cognito:mfa_enabled", "false"),
                ("email", "x@example.com"),
                ("email_verified", "yes"),
            ],
        ],
    );
    let forged = url.replace("token=", "token=x");
    assert_eq!(upload(&forged, &file).await, 403);
    assert_eq!(upload(&url, &file).await, 200);

    let started = idp
        .start_user_import_job()
        .user_pool_id(&pool_id)
        .job_id(&job_id)
        .send()
        .await
        .expect("started")
        .user_import_job
        .expect("job");
    assert!(started.start_date().is_some());
    assert_ne!(started.status(), Some(&UserImportJobStatusType::Created));
    assert_eq!(
        upload(&url, &file).await,
        403,
        "a started job takes no file"
    );
    let done = finished(&idp, &pool_id, &job_id).await;
    assert_eq!(done.status(), Some(&UserImportJobStatusType::Succeeded));
    assert_eq!(
        (done.imported_users, done.skipped_users, done.failed_users),
        (3, 2, 4)
    );
    assert_eq!(
        done.completion_message(),
        Some("Import Job Completed. 3 users imported, 4 failed, 2 skipped.")
    );
    assert!(done.completion_date().is_some());
    let again = idp
        .start_user_import_job()
        .user_pool_id(&pool_id)
        .job_id(&job_id)
        .send()
        .await
        .expect_err("started once");
    assert_eq!(error_code(&again), "PreconditionNotMetException");
    let stop = idp
        .stop_user_import_job()
        .user_pool_id(&pool_id)
        .job_id(&job_id)
        .send()
        .await
        .expect_err("nothing to stop");
    assert_eq!(error_code(&stop), "PreconditionNotMetException");

    let jane = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("imported");
    assert_eq!(jane.user_status(), Some(&UserStatusType::ResetRequired));
    let value = |name: &str| {
        jane.user_attributes()
            .iter()
            .find(|attribute| attribute.name() == name)
            .and_then(|attribute| attribute.value().map(str::to_owned))
    };
    assert_eq!(value("name").as_deref(), Some("Doe, Jane \"JD\""));
    assert_eq!(value("custom:tier").as_deref(), Some("gold"));
    assert_eq!(value("email_verified").as_deref(), Some("true"));
    assert!(value("sub").is_some());
    let mfa = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("mfa")
        .send()
        .await
        .expect("imported");
    assert_eq!(mfa.user_mfa_setting_list(), ["SMS_MFA"]);
    for missing in [
        "unverified",
        "mfa-without-phone",
        "noflag",
        "unknown-attribute-value",
    ] {
        let absent = idp
            .admin_get_user()
            .user_pool_id(&pool_id)
            .username(missing)
            .send()
            .await
            .expect_err("a failed row stores nothing");
        assert_eq!(error_code(&absent), "UserNotFoundException");
    }

    assert_eq!(
        cognate_tests::password_sign_in(&idp, &client_id, "jane", "Any-Password-1").await,
        Err("PasswordResetRequiredException".to_owned())
    );
    idp.forgot_password()
        .client_id(&client_id)
        .username("jane")
        .send()
        .await
        .expect("code sent");
    let code = sandbox.latest_code(&pool_id, "jane").await;
    idp.confirm_forgot_password()
        .client_id(&client_id)
        .username("jane")
        .confirmation_code(code)
        .password("New-Password-2")
        .send()
        .await
        .expect("password set");
    assert!(
        cognate_tests::password_sign_in(&idp, &client_id, "jane", "New-Password-2")
            .await
            .is_ok()
    );

    // A file whose header is not the pool's fails the job; jobs list in pages.
    let wrong = create_job(&idp, &pool_id, "wrong header").await;
    let wrong_id = wrong.job_id().expect("id");
    assert_eq!(
        upload(
            wrong.pre_signed_url().expect("url"),
            "username,email\njane,jane@example.com\n"
        )
        .await,
        200
    );
    idp.start_user_import_job()
        .user_pool_id(&pool_id)
        .job_id(wrong_id)
        .send()
        .await
        .expect("started");
    let failed = finished(&idp, &pool_id, wrong_id).await;
    assert_eq!(failed.status(), Some(&UserImportJobStatusType::Failed));
    assert_eq!(
        failed.completion_message(),
        Some("The CSV header does not match the user pool's GetCSVHeader.")
    );
    let third = create_job(&idp, &pool_id, "third").await;
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = idp
            .list_user_import_jobs()
            .user_pool_id(&pool_id)
            .max_results(2)
            .set_pagination_token(token.clone())
            .send()
            .await
            .expect("listed");
        assert!(page.user_import_jobs().len() <= 2);
        listed.extend(
            page.user_import_jobs()
                .iter()
                .filter_map(|job| job.job_id().map(str::to_owned)),
        );
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        listed,
        [job_id.as_str(), wrong_id, third.job_id().expect("id")]
    );
    let too_many = idp
        .list_user_import_jobs()
        .user_pool_id(&pool_id)
        .max_results(61)
        .send()
        .await
        .expect_err("at most 60");
    assert_eq!(error_code(&too_many), "InvalidParameterException");
    let unknown = idp
        .describe_user_import_job()
        .user_pool_id(&pool_id)
        .job_id("import-doesnotexist")
        .send()
        .await
        .expect_err("unknown job");
    assert_eq!(error_code(&unknown), "ResourceNotFoundException");
}

both_topologies!(
    users_are_imported_from_csv_tests,
    users_are_imported_from_csv,
    start_dev
);

/// `/proc/self/status`'s `field` (`VmRSS`, `VmHWM`) in bytes.
fn memory(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with(&format!("{field}:")))
        .expect("the field");
    let kilobytes: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .expect("a size in kB");
    kilobytes * 1024
}

/// How much the process's resident memory peaks above where it is now while `work` runs. The
/// peak, not the memory after: a large buffer freed goes back to the system at once, and the
/// memory after would not show it. (Writing 5 to clear_refs resets the peak to the present.)
async fn peak_growth<T>(work: impl Future<Output = T>) -> (T, u64) {
    std::fs::write("/proc/self/clear_refs", "5").expect("peak reset");
    let before = memory("VmRSS");
    let outcome = work.await;
    let peak = memory("VmHWM");
    (outcome, peak.saturating_sub(before))
}

/// `PUT` of `pieces` as a chunked body made as it is sent, so the test never holds the file;
/// the answer's status, which may come before the body is all sent (a refusal), ending the
/// exchange.
async fn put_lazily(url: &str, pieces: impl Iterator<Item = Vec<u8>>) -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (address, path) = rest.split_at(rest.find('/').expect("a path"));
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let (reader, mut writer) = stream.into_split();
    let head =
        format!("PUT {path} HTTP/1.1\r\nhost: {address}\r\ntransfer-encoding: chunked\r\n\r\n");
    writer.write_all(head.as_bytes()).await.expect("head sent");
    let send = async move {
        let sent: std::io::Result<()> = async {
            for piece in pieces {
                let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                chunk.extend_from_slice(&piece);
                chunk.extend_from_slice(b"\r\n");
                writer.write_all(&chunk).await?;
            }
            writer.write_all(b"0\r\n\r\n").await
        }
        .await;
        // A server that has answered may close before taking it all; the answer says why.
        if let Err(error) = sent {
            eprintln!("the body was not all sent: {error}");
        }
        // The connection stays open for the answer, which ends the exchange.
        std::future::pending::<()>().await
    };
    let answer = async move {
        let mut status_line = String::new();
        tokio::io::BufReader::new(reader)
            .read_line(&mut status_line)
            .await
            .expect("an answer");
        status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {status_line:?}"))
    };
    tokio::select! {
        status = answer => status,
        () = send => unreachable!("sending never ends by itself"),
    }
}

/// `count` pieces of 64 KiB of `a`.
fn filler(count: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..count).map(|_| vec![b'a'; 64 * 1024])
}

async fn pool_with_job(sandbox: &Sandbox) -> (String, UserImportJobType) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("uploads")
            .auto_verified_attributes(VerifiedAttributeType::Email),
    )
    .await;
    let job = create_job(&idp, &pool_id, "upload").await;
    (pool_id, job)
}

/// An upload with a wrong token is refused before its body is read: 200 MB sent (made as they
/// go) against a process whose memory does not grow with them.
async fn a_wrong_token_is_refused_before_the_body_is_read(sandbox: &Sandbox) {
    let (_, job) = pool_with_job(sandbox).await;
    let url = job.pre_signed_url().expect("url");
    let (base, _) = url.split_once("?token=").expect("a token");
    let wrong = format!("{base}?token=not-the-token");
    let (status, growth) = peak_growth(put_lazily(&wrong, filler(3200))).await;
    assert_eq!(status, 403);
    eprintln!("peak resident memory growth: {} kB", growth / 1024);
    assert!(growth < 20 * 1024 * 1024, "grew by {growth} bytes");
    // No token at all is the same refusal.
    assert_eq!(put_lazily(base, filler(3200)).await, 403);
}

both_topologies!(
    a_wrong_token_is_refused_before_the_body_is_read_tests,
    a_wrong_token_is_refused_before_the_body_is_read
);

/// Cognito's 100 MB limit holds while the file streams: a file without a declared length is cut
/// off at the limit with 413, and neither the edge nor the directory held it whole; the job
/// still takes a file afterwards.
async fn a_file_past_the_limit_is_cut_off_while_it_streams(sandbox: &Sandbox) {
    let (_, job) = pool_with_job(sandbox).await;
    let url = job.pre_signed_url().expect("url");
    // 101 MiB.
    let (status, growth) = peak_growth(put_lazily(url, filler(1616))).await;
    assert_eq!(status, 413);
    eprintln!("peak resident memory growth: {} kB", growth / 1024);
    assert!(growth < 20 * 1024 * 1024, "grew by {growth} bytes");
    assert_eq!(upload(url, "name\n").await, 200);
}

both_topologies!(
    a_file_past_the_limit_is_cut_off_while_it_streams_tests,
    a_file_past_the_limit_is_cut_off_while_it_streams
);

/// Opens a `PUT` of `url` and sends a first chunk, then holds the connection with the body
/// unfinished until the returned task is aborted.
async fn held_upload(url: &str) -> tokio::task::JoinHandle<()> {
    use tokio::io::AsyncWriteExt;
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (address, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {address}\r\ntransfer-encoding: chunked\r\n\r\n5\r\nname\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    tokio::spawn(async move {
        let _open = stream;
        std::future::pending::<()>().await
    })
}

/// Polls `/metrics` until the uploads in progress are `count`.
async fn uploads_in_progress(endpoint: &str, count: u32) {
    let line = format!("cognate_import_uploads_in_progress {count}");
    for _ in 0..200 {
        let metrics = reqwest::get(format!("{endpoint}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if metrics.lines().any(|shown| shown == line) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("never {line}");
}

/// At most four uploads stream through the edge at once: with four bodies held open, a fifth
/// is answered 503 with Retry-After before its body is read, and once they end, it is taken.
async fn uploads_past_the_cap_are_turned_away(sandbox: &Sandbox) {
    let (_, job) = pool_with_job(sandbox).await;
    let url = job.pre_signed_url().expect("url");
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(held_upload(url).await);
    }
    uploads_in_progress(&sandbox.endpoint, 4).await;
    let refused = reqwest::Client::new()
        .put(url)
        .body("name\n")
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .map(|value| value.as_bytes()),
        Some(&b"1"[..])
    );
    for upload in held {
        upload.abort();
    }
    uploads_in_progress(&sandbox.endpoint, 0).await;
    assert_eq!(upload(url, "name\n").await, 200);
}

both_topologies!(
    uploads_past_the_cap_are_turned_away_tests,
    uploads_past_the_cap_are_turned_away
);

/// A file of a few megabytes, stored in several pieces whose bounds fall inside multi-byte
/// characters, imports every user with their attributes intact.
async fn a_large_file_streams_in_and_imports(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, job) = pool_with_job(sandbox).await;
    let job_id = job.job_id().expect("id");
    let header = idp
        .get_csv_header()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("header")
        .csv_header
        .expect("columns");
    // Two-, three- and four-byte characters, so a piece's end cuts one of them somewhere.
    let name = "Zoë 名前 🦀 ".repeat(120);
    let usernames: Vec<String> = (0..1100).map(|index| format!("user-{index:04}")).collect();
    let emails: Vec<String> = usernames
        .iter()
        .map(|username| format!("{username}@example.com"))
        .collect();
    let rows: Vec<Vec<(&str, &str)>> = usernames
        .iter()
        .zip(&emails)
        .map(|(username, email)| {
            vec![
                ("cognito:username", username.as_str()),
                ("cognito:mfa_enabled", "false"),
                ("email", email.as_str()),
                ("email_verified", "true"),
                ("name", name.as_str()),
            ]
        })
        .collect();
    let row_slices: Vec<&[(&str, &str)]> = rows.iter().map(Vec::as_slice).collect();
    let file = csv(&header, &row_slices);
    assert!(file.len() > 2 * 1024 * 1024, "{} bytes", file.len());
    // Sent in odd-sized pieces, as a network would cut it.
    let pieces: Vec<Vec<u8>> = file.as_bytes().chunks(99_999).map(<[u8]>::to_vec).collect();
    assert_eq!(
        put_lazily(job.pre_signed_url().expect("url"), pieces.into_iter()).await,
        200
    );
    idp.start_user_import_job()
        .user_pool_id(&pool_id)
        .job_id(job_id)
        .send()
        .await
        .expect("started");
    let done = finished(&idp, &pool_id, job_id).await;
    assert_eq!(done.status(), Some(&UserImportJobStatusType::Succeeded));
    assert_eq!(done.imported_users(), 1100);
    assert_eq!(done.failed_users(), 0);
    for username in ["user-0000", "user-0611", "user-1099"] {
        let user = idp
            .admin_get_user()
            .user_pool_id(&pool_id)
            .username(username)
            .send()
            .await
            .expect("imported");
        let stored = user
            .user_attributes()
            .iter()
            .find(|attribute| attribute.name() == "name")
            .and_then(|attribute| attribute.value());
        assert_eq!(stored, Some(name.as_str()), "{username}");
        assert_eq!(user.user_status(), Some(&UserStatusType::ResetRequired));
    }
}

both_topologies!(
    a_large_file_streams_in_and_imports_tests,
    a_large_file_streams_in_and_imports
);
