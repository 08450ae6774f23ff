//! `cognate export` / `cognate import` (beyond Cognito) through the AWS SDK for Rust: a pool
//! with clients, groups and users (one with TOTP MFA) moves from SQLite to Postgres and its users
//! sign in there with their old passwords; users imported with bcrypt, argon2id, scrypt and
//! PBKDF2 hashes sign in with USER_PASSWORD_AUTH, which upgrades them to SRP.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, UserPoolMfaType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use cognate_common::srp;
use cognate_tests::{
    Sandbox, Topology, attribute, error_code, password_sign_in, totp_code, totp_step,
};

const PASSWORD: &str = "Correct-horse-1";

async fn pool_with_client(idp: &Client) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("moving")
            .mfa_configuration(UserPoolMfaType::Optional),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    (pool_id, client_id)
}

/// USER_SRP_AUTH to the end; the error code otherwise.
async fn srp_sign_in(
    idp: &Client,
    client_id: &str,
    pool_id: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let pool_name = pool_id.split_once('_').map_or(pool_id, |(_, name)| name);
    let client = srp::client::Client::new(pool_name, username, password);
    let challenge = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserSrpAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("SRP_A", client.big_a())
        .send()
        .await
        .map_err(|error| error_code(&error))?;
    let parameters = challenge.challenge_parameters().expect("parameters");
    let answer =
        cognate_tests::answer_password_verifier(idp, client_id, &client, parameters).await?;
    assert!(answer.authentication_result().is_some(), "tokens");
    Ok(())
}

async fn export(sandbox: &Sandbox, pool_id: &str) -> Vec<u8> {
    let mut file = Vec::new();
    cognate::transfer::export(&sandbox.store_config(), pool_id, &mut file)
        .await
        .expect("exported");
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_moves_from_sqlite_to_postgres() {
    let source = Sandbox::start(Topology::AllInOne)
        .await
        .expect("sandbox starts");
    let idp = source.idp();
    let (pool_id, client_id) = pool_with_client(&idp).await;
    idp.create_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .precedence(1)
        .send()
        .await
        .expect("group");
    cognate_tests::user_with_attributes(
        &idp,
        &pool_id,
        "jane",
        vec![attribute("email", "jane@example.com")],
        PASSWORD,
    )
    .await;
    cognate_tests::confirmed_user(&idp, &pool_id, "bob", PASSWORD).await;
    idp.admin_add_user_to_group()
        .user_pool_id(&pool_id)
        .username("jane")
        .group_name("admins")
        .send()
        .await
        .expect("member");
    let tokens = password_sign_in(&idp, &client_id, "jane", PASSWORD)
        .await
        .expect("signed in");
    let access_token = tokens.access_token().expect("access token");
    let secret = idp
        .associate_software_token()
        .access_token(access_token)
        .send()
        .await
        .expect("associated")
        .secret_code
        .expect("secret");
    let step = totp_step();
    idp.verify_software_token()
        .access_token(access_token)
        .user_code(totp_code(&secret, step))
        .send()
        .await
        .expect("verified");
    idp.set_user_mfa_preference()
        .access_token(access_token)
        .software_token_mfa_settings(
            aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .expect("preferred");

    let file = export(&source, &pool_id).await;
    assert_eq!(
        String::from_utf8_lossy(&file).lines().count(),
        4,
        "header, pool, two users"
    );

    let target = Sandbox::start(Topology::Split)
        .await
        .expect("sandbox starts");
    let summary = cognate::transfer::import(&target.store_config(), &file[..])
        .await
        .expect("imported");
    assert_eq!(summary.imported, 2);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    let again = cognate::transfer::import(&target.store_config(), &file[..])
        .await
        .expect_err("the pool exists now");
    assert!(again.to_string().contains("already exists"), "{again}");

    let idp = target.idp();
    password_sign_in(&idp, &client_id, "bob", PASSWORD)
        .await
        .expect("bob's password moved");
    srp_sign_in(&idp, &client_id, &pool_id, "bob", PASSWORD)
        .await
        .expect("bob's verifier moved");
    assert_eq!(
        password_sign_in(&idp, &client_id, "bob", "Wrong-horse-1")
            .await
            .err(),
        Some("NotAuthorizedException".to_owned())
    );
    let challenge = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("jane's password moved");
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::SoftwareTokenMfa)
    );
    let done = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::SoftwareTokenMfa)
        .session(challenge.session().expect("session"))
        .challenge_responses("USERNAME", "jane")
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", totp_code(&secret, step + 1))
        .send()
        .await
        .expect("the authenticator moved");
    assert!(done.authentication_result().is_some());
    let groups = idp
        .admin_list_groups_for_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("groups");
    let names: Vec<_> = groups
        .groups()
        .iter()
        .filter_map(|group| group.group_name())
        .collect();
    assert_eq!(names, ["admins"]);
    let jane = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("jane");
    assert!(
        jane.user_attributes()
            .iter()
            .any(|attribute| attribute.name() == "email"
                && attribute.value() == Some("jane@example.com"))
    );
    assert_eq!(jane.user_mfa_setting_list(), ["SOFTWARE_TOKEN_MFA"]);
    // The attribute index moved too: a filter finds her.
    let found = idp
        .list_users()
        .user_pool_id(&pool_id)
        .filter("email ^= \"jane@\"")
        .send()
        .await
        .expect("filtered");
    let names: Vec<_> = found
        .users()
        .iter()
        .filter_map(|user| user.username())
        .collect();
    assert_eq!(names, ["jane"]);
    let client = idp
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("the client moved");
    assert_eq!(
        client
            .user_pool_client()
            .and_then(|client| client.client_name()),
        Some("app")
    );
}

/// A password hash per algorithm, at a low cost, of `password`.
fn legacy_hashes(password: &str) -> Vec<(&'static str, String)> {
    let phc = |bytes: &[u8]| STANDARD_NO_PAD.encode(bytes);
    let salt = b"sixteen byte salt";
    let mut argon = [0u8; 32];
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 2, 1, Some(32)).expect("params"),
    )
    .hash_password_into(password.as_bytes(), salt, &mut argon)
    .expect("argon2");
    let mut scrypt_hash = [0u8; 32];
    scrypt::scrypt(
        password.as_bytes(),
        salt,
        &scrypt::Params::new(10, 8, 1).expect("params"),
        &mut scrypt_hash,
    )
    .expect("scrypt");
    let mut pbkdf = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, 10_000, &mut pbkdf);
    vec![
        ("u-bcrypt", bcrypt::hash(password, 6).expect("bcrypt")),
        (
            "u-argon2",
            format!(
                "$argon2id$v=19$m=4096,t=2,p=1${}${}",
                phc(salt),
                phc(&argon)
            ),
        ),
        (
            "u-scrypt",
            format!("$scrypt$ln=10,r=8,p=1${}${}", phc(salt), phc(&scrypt_hash)),
        ),
        (
            "u-pbkdf2",
            format!("$pbkdf2-sha256$i=10000,l=32${}${}", phc(salt), phc(&pbkdf)),
        ),
        (
            "u-costly",
            format!(
                "$argon2id$v=19$m=1048576,t=2,p=1${}${}",
                phc(salt),
                phc(&argon)
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_with_legacy_hashes_sign_in_and_move_to_srp() {
    let source = Sandbox::start(Topology::AllInOne)
        .await
        .expect("sandbox starts");
    let idp = source.idp();
    let (pool_id, client_id) = pool_with_client(&idp).await;
    let hashes = legacy_hashes(PASSWORD);
    for (username, _) in &hashes {
        cognate_tests::confirmed_user(&idp, &pool_id, username, "Placeholder-1").await;
    }
    // The export of another system: the same users, with their hashes instead of verifiers.
    let exported = String::from_utf8(export(&source, &pool_id).await).expect("text");
    let mut lines = Vec::new();
    for line in exported.lines() {
        let mut value: serde_json::Value = serde_json::from_str(line).expect("json");
        if let Some(user) = value.pointer_mut("/directory/users/0") {
            let username = user["username"].as_str().expect("username").to_owned();
            let (_, hash) = hashes
                .iter()
                .find(|(name, _)| *name == username)
                .expect("a hash");
            user["password_hash"] = serde_json::Value::from(hash.clone());
        }
        lines.push(value.to_string());
    }
    let file = lines.join("\n");

    let target = Sandbox::start(Topology::AllInOne)
        .await
        .expect("sandbox starts");
    let summary = cognate::transfer::import(&target.store_config(), file.as_bytes())
        .await
        .expect("imported");
    assert_eq!(summary.imported, 4);
    assert_eq!(summary.rejected.len(), 1, "{:?}", summary.rejected);
    assert!(
        summary.rejected[0].contains("costs more than this server accepts"),
        "{:?}",
        summary.rejected
    );

    let idp = target.idp();
    for (username, _) in hashes.iter().filter(|(name, _)| *name != "u-costly") {
        // SRP needs a verifier: until a plaintext sign-in upgrades the hash, it is refused.
        assert_eq!(
            srp_sign_in(&idp, &client_id, &pool_id, username, PASSWORD).await,
            Err("NotAuthorizedException".to_owned()),
            "{username}"
        );
        assert_eq!(
            password_sign_in(&idp, &client_id, username, "Wrong-horse-1")
                .await
                .err(),
            Some("NotAuthorizedException".to_owned()),
            "{username}"
        );
        password_sign_in(&idp, &client_id, username, PASSWORD)
            .await
            .unwrap_or_else(|error| panic!("{username}: {error}"));
        srp_sign_in(&idp, &client_id, &pool_id, username, PASSWORD)
            .await
            .unwrap_or_else(|error| panic!("{username} upgraded: {error}"));
    }
    assert_eq!(
        password_sign_in(&idp, &client_id, "u-costly", PASSWORD)
            .await
            .err(),
        Some("UserNotFoundException".to_owned())
    );
}
