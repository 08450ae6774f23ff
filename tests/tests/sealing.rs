//! Secrets sealed at rest, through the AWS SDK for Rust: a master-key rotation while the node
//! keeps running (`cognate rewrap` with the new key current) leaves tokens verifying, refresh
//! working and TOTP sign-in passing; a node with only the new key then reads everything; a
//! node with an unrelated key refuses to start, naming the key it lacks.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, SoftwareTokenMfaSettingsType,
    UserPoolMfaType,
};
use base64::Engine;
use cognate_common::config::Secret;
use cognate_common::sealing::{MasterKey, key_id_of};
use cognate_common::{Config, ServiceKind};
use cognate_tests::{Sandbox, ScratchDir, Topology, error_code, password_sign_in, totp_code};

const PASSWORD: &str = "Correct-horse-1";

fn key(seed: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([seed; 32])
}

fn key_id(seed: u8) -> String {
    MasterKey::from_bytes([seed; 32]).id().to_owned()
}

/// The master key ids the auth store's secrets are sealed with, and whether any is plaintext.
async fn sealed_with(config: &Config) -> Vec<Option<String>> {
    let store = cognate_common::store::connect(config, ServiceKind::Auth)
        .await
        .expect("store connects");
    let mut values: Vec<String> = sqlx::query_scalar("SELECT private_key FROM signing_keys")
        .fetch_all(&store)
        .await
        .expect("keys");
    values.extend(
        sqlx::query_scalar::<_, String>("SELECT secret FROM software_tokens")
            .fetch_all(&store)
            .await
            .expect("totp"),
    );
    store.close().await;
    let mut ids: Vec<Option<String>> = values
        .iter()
        .map(|value| key_id_of(value).map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Signs in with the TOTP code of `step`; the tokens' access token.
async fn totp_sign_in(
    idp: &Client,
    client_id: &str,
    secret: &str,
    step: i64,
) -> Result<String, String> {
    let challenge = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .map_err(|error| error_code(&error))?;
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::SoftwareTokenMfa)
    );
    let done = idp
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::SoftwareTokenMfa)
        .session(challenge.session().expect("session"))
        .challenge_responses("USERNAME", "jane")
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", totp_code(secret, step))
        .send()
        .await
        .map_err(|error| error_code(&error))?;
    Ok(done
        .authentication_result()
        .and_then(|result| result.access_token())
        .expect("tokens")
        .to_owned())
}

async fn rotation_while_running(topology: Topology) {
    // Phase 1 of a rotation: the node already accepts the new key (2) but seals with the old (1).
    let mut sandbox = Sandbox::start_configured(topology, |config| {
        config.master_key = Some(Secret::new(key(1)));
        config.previous_master_keys = vec![Secret::new(key(2))];
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("sealed")
            .mfa_configuration(UserPoolMfaType::Optional),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", PASSWORD).await;
    let tokens = password_sign_in(&idp, &client_id, "jane", PASSWORD)
        .await
        .expect("signed in");
    let access_token = tokens.access_token().expect("access token").to_owned();
    let refresh_token = tokens.refresh_token().expect("refresh token").to_owned();
    let secret = idp
        .associate_software_token()
        .access_token(&access_token)
        .send()
        .await
        .expect("associated")
        .secret_code
        .expect("secret");
    let step = cognate_tests::totp_step();
    idp.verify_software_token()
        .access_token(&access_token)
        .user_code(totp_code(&secret, step - 1))
        .send()
        .await
        .expect("verified");
    idp.set_user_mfa_preference()
        .access_token(&access_token)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .expect("preferred");
    let store = sandbox.store_config();
    assert_eq!(
        sealed_with(&store).await,
        [Some(key_id(1))],
        "every secret sealed, with the current key"
    );

    // Phase 2: the new key current, the old one previous; the node keeps running meanwhile.
    let rotated = Config {
        master_key: Some(Secret::new(key(2))),
        previous_master_keys: vec![Secret::new(key(1))],
        ..store.clone()
    };
    let rewrapped = cognate::rewrap(&rotated).await.expect("rewrapped");
    assert_eq!(rewrapped.key_id, key_id(2));
    assert_eq!(rewrapped.rows, 3, "two signing keys and a TOTP secret");
    assert_eq!(sealed_with(&store).await, [Some(key_id(2))]);

    // The running node reads what rewrap sealed: old tokens, refresh, TOTP.
    idp.get_user()
        .access_token(&access_token)
        .send()
        .await
        .expect("a token from before the rotation still works");
    let refreshed = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .client_id(&client_id)
        .auth_parameters("REFRESH_TOKEN", &refresh_token)
        .send()
        .await
        .expect("refreshed");
    let jwks = sandbox.jwks(&pool_id).await;
    cognate_tests::verify_jwt(
        refreshed
            .authentication_result()
            .and_then(|result| result.access_token())
            .expect("access token"),
        &jwks,
    )
    .expect("a token signed after the rotation verifies");
    let after_rewrap = totp_sign_in(&idp, &client_id, &secret, step)
        .await
        .expect("TOTP passes after the rewrap");
    cognate_tests::verify_jwt(&after_rewrap, &jwks).expect("verifies");

    // Phase 3: the old key is gone; a node with only the new one reads everything.
    sandbox.stop().await.expect("stopped");
    // The same issuer as before, so tokens from before the restart are the node's own.
    let store = Config {
        public_url: Some(sandbox.endpoint.clone()),
        ..store
    };
    let only_new = Config {
        master_key: Some(Secret::new(key(2))),
        previous_master_keys: Vec::new(),
        ..store.clone()
    };
    let restarted = Sandbox::all_in_one(only_new, ScratchDir(sandbox.data_dir.0.clone()))
        .await
        .expect("restarts with the new key alone");
    let mut restarted = restarted;
    let idp = restarted.idp();
    idp.get_user()
        .access_token(&access_token)
        .send()
        .await
        .expect("the old token still verifies");
    assert_eq!(
        totp_sign_in(&idp, &client_id, &secret, step - 5).await,
        Err("CodeMismatchException".to_owned()),
        "the secret opens (a wrong code, not an internal error)"
    );

    // A node with an unrelated key refuses to start and says which key it needs.
    restarted.stop().await.expect("stopped");
    let stranger = Config {
        master_key: Some(Secret::new(key(3))),
        ..store.clone()
    };
    let refused = Sandbox::all_in_one(stranger, ScratchDir(sandbox.data_dir.0.clone()))
        .await
        .err()
        .expect("refused");
    assert_eq!(
        format!("{refused:#}"),
        format!(
            "the secrets in signing_keys: a value was sealed with master key {}, which this process does not have (it has {}); configure that key (as COGNATE_MASTER_KEY, or in COGNATE_PREVIOUS_MASTER_KEYS while rotating)",
            key_id(2),
            key_id(3)
        )
    );
}

cognate_tests::each_topology!(
    a_master_key_rotates_while_the_node_runs,
    rotation_while_running
);
