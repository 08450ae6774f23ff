//! The real `cognate` binary's `import` and `export` on SQLite: an export file from another
//! system (a bcrypt hash, a row it must refuse) goes in, and what comes out again is the same.

use std::process::Command;

use cognate_common::testing::ScratchDir;

const BCRYPT_HASH: &str = "$2b$04$EtKr6cHwqCCkg0ERHMLpI.VGfVVyHobhtHc8D0p9lQaP3G2tknzlO";

fn cognate(data_dir: &ScratchDir, arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cognate"))
        .args(arguments)
        .arg("--data-dir")
        .arg(&data_dir.0)
        .env_remove("COGNATE_DATABASE_URL")
        .env_remove("COGNATE_CONFIG")
        .output()
        .expect("cognate runs")
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
        "auth": {}
    })
}

#[test]
fn import_then_export_round_trips_and_reports_refused_users() {
    let data_dir = ScratchDir::new();
    std::fs::create_dir_all(&data_dir.0).expect("data dir");
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

    let imported = cognate(&data_dir, &["import", input.to_str().expect("utf-8 path")]);
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
    assert_eq!(written[0], lines[0]);
    assert_eq!(
        written[2]["directory"]["users"][0]["password_hash"],
        BCRYPT_HASH
    );
    assert_eq!(written[2]["directory"]["users"][0]["enabled"], 1);

    let twice = cognate(&data_dir, &["import", input.to_str().expect("utf-8 path")]);
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("already exists"),
        "the pool is there"
    );
}
