//! The real `cognate` binary's `import` and `export` on SQLite: an export file from another
//! system (a bcrypt hash, a row it must refuse) goes in, and what comes out again is the same,
//! with the TOTP secret sealed. Without a master key nothing starts; with another one, a sealed
//! secret is refused naming the key it needs.

use std::process::Command;

use cognate_common::testing::ScratchDir;

const BCRYPT_HASH: &str = "$2b$04$EtKr6cHwqCCkg0ERHMLpI.VGfVVyHobhtHc8D0p9lQaP3G2tknzlO";

const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";

/// A master key file in the data directory (the directory is created).
fn key_file(data_dir: &ScratchDir, seed: u8) -> std::path::PathBuf {
    use base64::Engine;
    std::fs::create_dir_all(&data_dir.0).expect("data dir");
    let path = data_dir.0.join(format!("key-{seed}"));
    let key = base64::engine::general_purpose::STANDARD.encode([seed; 32]);
    std::fs::write(&path, format!("# the master key\n{key}\n")).expect("key written");
    path
}

fn cognate(
    data_dir: &ScratchDir,
    key: Option<&std::path::Path>,
    arguments: &[&str],
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cognate"));
    command
        .args(arguments)
        .arg("--data-dir")
        .arg(&data_dir.0)
        .env_remove("COGNATE_DATABASE_URL")
        .env_remove("COGNATE_CONFIG")
        .env_remove("COGNATE_DEV")
        .env_remove("COGNATE_MASTER_KEY")
        .env_remove("COGNATE_PREVIOUS_MASTER_KEYS")
        .env_remove("COGNATE_MASTER_KEY_FILE");
    if let Some(key) = key {
        command.arg("--master-key-file").arg(key);
    }
    command.output().expect("cognate runs")
}

fn user_line(sub: &str, username: &str, password_hash: &str) -> serde_json::Value {
    serde_json::json!({
        "sub": sub,
        "directory": {"users": [{
            "user_pool_id": "us-east-1_cli",
            "username_key": username,
            "username": username,
            "sub": sub,
            "status": "CONFIRMED",
            "enabled": 1,
            "attributes_json": format!("[{{\"Name\":\"sub\",\"Value\":\"{sub}\"}}]"),
            "password_hash": password_hash,
            "created_at": 1,
            "updated_at": 1
        }]},
        "auth": {"software_tokens": [{
            "user_pool_id": "us-east-1_cli",
            "sub": sub,
            // As in an export from before sealing: plaintext.
            "secret": TOTP_SECRET,
            "verified": 1,
            "enabled": 1
        }]}
    })
}

#[test]
fn import_then_export_round_trips_and_reports_refused_users() {
    let data_dir = ScratchDir::new();
    let key = key_file(&data_dir, 1);
    let lines = [
        serde_json::json!({"format": "cognate-user-pool-export", "version": 1, "user_pool_id": "us-east-1_cli"}),
        serde_json::json!({"directory": {"user_pools": [{
            "id": "us-east-1_cli", "name": "cli", "pool_json": "{\"Id\":\"us-east-1_cli\",\"Name\":\"cli\"}", "created_at": 1
        }]}}),
        user_line("sub-1", "ann", BCRYPT_HASH),
        user_line("sub-2", "eve", "md5$not-accepted"),
    ];
    let text: Vec<String> = lines.iter().map(serde_json::Value::to_string).collect();
    let input = data_dir.0.join("in.jsonl");
    std::fs::write(&input, text.join("\n")).expect("written");

    let imported = cognate(
        &data_dir,
        Some(&key),
        &["import", input.to_str().expect("utf-8 path")],
    );
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert_eq!(imported.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("rejected line 4"), "{stderr}");
    assert!(
        stderr.contains("unsupported password hash format"),
        "{stderr}"
    );
    assert!(stderr.contains("with 1 users"), "{stderr}");

    let output = data_dir.0.join("out.jsonl");
    let exported = cognate(
        &data_dir,
        Some(&key),
        &[
            "export",
            "--pool-id",
            "us-east-1_cli",
            "-o",
            output.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let written = std::fs::read_to_string(&output).expect("export file");
    let written: Vec<serde_json::Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect();
    assert_eq!(written.len(), 3, "header, pool, ann");
    let mut header = lines[0].clone();
    header["sealed"] = serde_json::json!([
        "auth.software_tokens.secret",
        "auth.software_tokens.pending_secret"
    ]);
    assert_eq!(written[0], header, "the header names the sealed fields");
    let sealed = written[2]["auth"]["software_tokens"][0]["secret"]
        .as_str()
        .expect("a secret");
    assert!(
        sealed.starts_with("sealed:v1:") && !sealed.contains(TOTP_SECRET),
        "imported plaintext is sealed: {sealed}"
    );
    assert_eq!(
        written[2]["directory"]["users"][0]["password_hash"],
        BCRYPT_HASH
    );
    assert_eq!(written[2]["directory"]["users"][0]["enabled"], 1);

    let twice = cognate(
        &data_dir,
        Some(&key),
        &["import", input.to_str().expect("utf-8 path")],
    );
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("already exists"),
        "the pool is there"
    );

    // Another installation with another key cannot open the sealed secret, and says which key
    // it needs.
    let elsewhere = ScratchDir::new();
    let other_key = key_file(&elsewhere, 2);
    let moved = cognate(
        &elsewhere,
        Some(&other_key),
        &["import", output.to_str().expect("utf-8 path")],
    );
    let stderr = String::from_utf8_lossy(&moved.stderr);
    assert_eq!(moved.status.code(), Some(1), "{stderr}");
    let needed = sealed.split(':').nth(2).expect("a key id");
    assert!(
        stderr.contains(&format!(
            "rejected line 3: software_tokens.secret: a value was sealed with master key {needed}, which this process does not have"
        )),
        "{stderr}"
    );
    // With the source's key as a previous one it goes in (and is sealed with the new key).
    let both = elsewhere.0.join("both");
    let keys = |path: &std::path::Path| std::fs::read_to_string(path).expect("key file");
    std::fs::write(&both, keys(&other_key) + &keys(&key)).expect("written");
    let fresh = ScratchDir::new();
    let moved = cognate(
        &fresh,
        Some(&both),
        &["import", output.to_str().expect("utf-8 path")],
    );
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let rewrapped = cognate(&fresh, Some(&both), &["rewrap"]);
    let stderr = String::from_utf8_lossy(&rewrapped.stderr);
    assert!(rewrapped.status.success(), "{stderr}");
    assert!(
        stderr.contains("re-sealed 0 rows"),
        "already current: {stderr}"
    );
}

#[test]
fn without_a_master_key_nothing_starts() {
    let data_dir = ScratchDir::new();
    for arguments in [&["import", "nowhere.jsonl"][..], &["rewrap"], &["run"]] {
        let refused = cognate(&data_dir, None, arguments);
        assert_eq!(
            refused.status.code(),
            Some(64),
            "{arguments:?} is a configuration error"
        );
        assert_eq!(
            String::from_utf8_lossy(&refused.stderr).trim_end(),
            "cognate: configuration: the auth and directory services seal their secrets at rest with a master key, and none is configured; set COGNATE_MASTER_KEY to 32 random bytes in base64 (`openssl rand -base64 32`) or --master-key-file to a file holding one, or pass --dev to have one generated in the data directory"
        );
    }
    let placeholder = Command::new(env!("CARGO_BIN_EXE_cognate"))
        .args(["rewrap", "--data-dir"])
        .arg(&data_dir.0)
        .env("COGNATE_MASTER_KEY", "replace-me")
        .env_remove("COGNATE_MASTER_KEY_FILE")
        .env_remove("COGNATE_DATABASE_URL")
        .env_remove("COGNATE_CONFIG")
        .output()
        .expect("cognate runs");
    assert_eq!(placeholder.status.code(), Some(64));
    assert_eq!(
        String::from_utf8_lossy(&placeholder.stderr).trim_end(),
        "cognate: configuration: COGNATE_MASTER_KEY: a master key is 32 random bytes in base64 (generate one with `openssl rand -base64 32`); this one is not base64"
    );
    let missing = data_dir.0.join("no-such-key");
    let refused = cognate(&data_dir, Some(&missing), &["rewrap"]);
    assert_eq!(refused.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&refused.stderr).starts_with(&format!(
            "cognate: configuration: master key file {}: ",
            missing.display()
        )),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
