//! USER_SRP_AUTH through the AWS SDK for Rust, with the client side computed as
//! amazon-cognito-identity-js does (`cognate_common::srp::client`), and the NEW_PASSWORD_REQUIRED
//! challenge, in both topologies.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, UsernameAttributeType,
};
use cognate_common::srp;
use cognate_tests::{Sandbox, both_topologies, error_code, verify_jwt};

async fn pool_and_client(idp: &Client, by_email: bool) -> (String, String) {
    let mut create = idp.create_user_pool().pool_name("srp");
    if by_email {
        create = create.username_attributes(UsernameAttributeType::Email);
    }
    let pool_id = create
        .send()
        .await
        .expect("pool")
        .user_pool
        .and_then(|pool| pool.id)
        .expect("id");
    // Default flows: SRP, custom and refresh.
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("spa"),
    )
    .await;
    (pool_id, client_id)
}

/// Runs USER_SRP_AUTH to the end; returns the final answer or the error code.
async fn srp_sign_in(
    idp: &Client,
    pool_id: &str,
    client_id: &str,
    username: &str,
    password: &str,
) -> Result<aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput, String>
{
    let pool_name = pool_id
        .split_once('_')
        .map(|(_, name)| name)
        .unwrap_or_default();
    let probe = srp::client::Client::new(pool_name, username, password);
    let challenge = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserSrpAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("SRP_A", probe.big_a())
        .send()
        .await
        .map_err(|error| error_code(&error))?;
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::PasswordVerifier)
    );
    let values = challenge.challenge_parameters().expect("parameters");
    let user_id = values["USER_ID_FOR_SRP"].clone();
    // The client re-keys to USER_ID_FOR_SRP, as amazon-cognito-identity-js does.
    let client = srp::client::Client {
        user_id: user_id.clone(),
        ..probe
    };
    let timestamp = srp::timestamp(time::OffsetDateTime::now_utc());
    let signature = client.signature(
        &values["SALT"],
        &values["SRP_B"],
        &values["SECRET_BLOCK"],
        &timestamp,
    );
    let respond = || {
        idp.respond_to_auth_challenge()
            .client_id(client_id)
            .challenge_name(ChallengeNameType::PasswordVerifier)
            .challenge_responses("USERNAME", &user_id)
            .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &values["SECRET_BLOCK"])
            .challenge_responses("TIMESTAMP", &timestamp)
            .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &signature)
            .send()
    };
    let answer = respond().await.map_err(|error| error_code(&error))?;
    // The secret block names a single-use session: a replay is refused.
    let replay = respond().await.expect_err("replayed");
    assert_eq!(error_code(&replay), "NotAuthorizedException");
    Ok(answer)
}

async fn srp_sign_in_issues_tokens(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_and_client(&idp, false).await;
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("user");
    idp.admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("jane")
        .password("Correct-horse-1")
        .permanent(true)
        .send()
        .await
        .expect("password");
    let answer = srp_sign_in(&idp, &pool_id, &client_id, "jane", "Correct-horse-1")
        .await
        .expect("signed in");
    let tokens = answer.authentication_result().expect("tokens");
    let jwks: serde_json::Value = reqwest::get(format!(
        "{}/{pool_id}/.well-known/jwks.json",
        sandbox.endpoint
    ))
    .await
    .expect("jwks")
    .json()
    .await
    .expect("json");
    let claims = verify_jwt(tokens.id_token().expect("id token"), &jwks).expect("verifies");
    assert_eq!(claims["cognito:username"], "jane");
    assert!(tokens.refresh_token().is_some());

    let wrong = srp_sign_in(&idp, &pool_id, &client_id, "jane", "Wrong-horse-1")
        .await
        .expect_err("wrong password");
    assert_eq!(wrong, "NotAuthorizedException");
    let nobody = srp_sign_in(&idp, &pool_id, &client_id, "nobody", "Wrong-horse-1")
        .await
        .expect_err("unknown");
    assert_eq!(nobody, "UserNotFoundException");
    let zero = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserSrpAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("SRP_A", "0")
        .send()
        .await;
    // A ≡ 0 (mod N) is only caught at the proof; the challenge can't be answered.
    if let Ok(challenge) = zero {
        let values = challenge.challenge_parameters().expect("parameters");
        let refused = idp
            .respond_to_auth_challenge()
            .client_id(&client_id)
            .challenge_name(ChallengeNameType::PasswordVerifier)
            .challenge_responses("USERNAME", "jane")
            .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &values["SECRET_BLOCK"])
            .challenge_responses("TIMESTAMP", srp::timestamp(time::OffsetDateTime::now_utc()))
            .challenge_responses("PASSWORD_CLAIM_SIGNATURE", "AAAA")
            .send()
            .await
            .expect_err("A = 0 refused");
        assert_eq!(error_code(&refused), "NotAuthorizedException");
    }
}

both_topologies!(srp_sign_in_flow, srp_sign_in_issues_tokens);

async fn a_temporary_password_must_be_replaced(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_and_client(&idp, true).await;
    let created = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("tim@example.com")
        .temporary_password("Temporary-pass-1")
        .send()
        .await
        .expect("user")
        .user
        .expect("user");
    let sub = created.username().expect("username is the sub").to_owned();
    let answer = srp_sign_in(
        &idp,
        &pool_id,
        &client_id,
        "tim@example.com",
        "Temporary-pass-1",
    )
    .await
    .expect("challenge");
    assert_eq!(
        answer.challenge_name(),
        Some(&ChallengeNameType::NewPasswordRequired)
    );
    let session = answer.session().expect("session").to_owned();
    let weak = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::NewPasswordRequired)
        .session(&session)
        .challenge_responses("USERNAME", &sub)
        .challenge_responses("NEW_PASSWORD", "weak")
        .send()
        .await
        .expect_err("weak password");
    assert_eq!(error_code(&weak), "InvalidPasswordException");
    assert!(
        weak.into_service_error()
            .to_string()
            .contains("does not conform to policy"),
        "the challenge's wording"
    );
    let done = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::NewPasswordRequired)
        .session(&session)
        .challenge_responses("USERNAME", &sub)
        .challenge_responses("NEW_PASSWORD", "Brand-new-pass-2")
        .send()
        .await
        .expect("password replaced");
    assert!(
        done.authentication_result()
            .and_then(|tokens| tokens.access_token())
            .is_some()
    );
    let expired = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::NewPasswordRequired)
        .session(&session)
        .challenge_responses("USERNAME", &sub)
        .challenge_responses("NEW_PASSWORD", "Another-pass-3")
        .send()
        .await
        .expect_err("sessions are single-use");
    assert_eq!(error_code(&expired), "NotAuthorizedException");
    let signed_in = srp_sign_in(
        &idp,
        &pool_id,
        &client_id,
        "tim@example.com",
        "Brand-new-pass-2",
    )
    .await
    .expect("new password");
    assert!(signed_in.authentication_result().is_some());
    let user = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(&sub)
        .send()
        .await
        .expect("user");
    assert_eq!(
        user.user_status().map(|status| status.as_str()),
        Some("CONFIRMED")
    );
}

both_topologies!(new_password_required, a_temporary_password_must_be_replaced);

/// With PreventUserExistenceErrors, SRP for an unknown user answers like a known one: a
/// PASSWORD_VERIFIER challenge whose SALT and USER_ID_FOR_SRP are stable per pool and username
/// and whose SRP_B is fresh each time, as a known user's, and then "Incorrect username or
/// password.".
async fn unknown_users_look_like_known_ones(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::PreventUserExistenceErrorTypes;
    let idp = sandbox.idp();
    let (pool_id, _) = pool_and_client(&idp, false).await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("hiding")
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled),
    )
    .await;
    let challenge = |username: &'static str| {
        let idp = idp.clone();
        let client_id = client_id.clone();
        async move {
            let client = srp::client::Client::new("x", username, "whatever");
            let answer = idp
                .initiate_auth()
                .auth_flow(AuthFlowType::UserSrpAuth)
                .client_id(client_id)
                .auth_parameters("USERNAME", username)
                .auth_parameters("SRP_A", client.big_a())
                .send()
                .await
                .expect("a challenge, known user or not");
            assert_eq!(
                answer.challenge_name(),
                Some(&ChallengeNameType::PasswordVerifier)
            );
            answer.challenge_parameters().expect("parameters").clone()
        }
    };
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", "Correct-horse-1").await;
    for name in ["jane", "ghost"] {
        let first = challenge(name).await;
        let second = challenge(name).await;
        for key in ["SALT", "USER_ID_FOR_SRP"] {
            assert_eq!(first[key], second[key], "{name}: {key} is stable");
        }
        for key in ["SRP_B", "SECRET_BLOCK"] {
            assert_ne!(first[key], second[key], "{name}: {key} is fresh");
        }
    }
    let first = challenge("ghost").await;
    assert_ne!(challenge("other-ghost").await["SALT"], first["SALT"]);
    let refused = srp_sign_in(&idp, &pool_id, &client_id, "ghost", "Wrong-horse-1")
        .await
        .expect_err("no such user");
    assert_eq!(refused, "NotAuthorizedException");
}

both_topologies!(existence_hiding, unknown_users_look_like_known_ones);

/// `SRP_A` is checked when it arrives, the same for known and unknown names: not hex, zero, `N`
/// or a value longer than `N` is refused at InitiateAuth, before any challenge or session.
async fn srp_a_is_checked_at_initiate_auth(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_and_client(&idp, false).await;
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", "Correct-horse-1").await;
    let n_hex = srp::N_HEX.to_owned();
    let oversized = "1".repeat(4 * 384 + 2);
    for username in ["jane", "nobody"] {
        for srp_a in ["zz", "0", "00", n_hex.as_str(), oversized.as_str()] {
            let refused = idp
                .initiate_auth()
                .auth_flow(AuthFlowType::UserSrpAuth)
                .client_id(&client_id)
                .auth_parameters("USERNAME", username)
                .auth_parameters("SRP_A", srp_a)
                .send()
                .await
                .expect_err("a bad SRP_A");
            assert_eq!(
                refused.into_service_error().to_string(),
                "InvalidParameterException: SRP_A is not a valid SRP public value.",
                "{username} {}",
                &srp_a[..srp_a.len().min(8)]
            );
        }
    }
}

both_topologies!(srp_a_checked, srp_a_is_checked_at_initiate_auth);
