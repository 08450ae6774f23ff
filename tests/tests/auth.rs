//! Password sign-in, tokens verified against the served JWKS, refresh, and the PreAuthentication
//! trigger over NATS and a webhook, in both topologies.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::SdkError;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::{
    InitiateAuthError, InitiateAuthOutput,
};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, LambdaConfigType,
};
use std::sync::Arc;

use cognate_common::clock::ManualClock;
use cognate_tests::{
    Sandbox, ScratchDir, Topology, both_topologies, each_topology, error_code, verify_jwt,
};

/// A pool with one confirmed user `jane` and a client allowing password sign-in.
async fn pool_with_user(idp: &Client, lambda_config: Option<LambdaConfigType>) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("signin")
            .set_lambda_config(lambda_config),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value("jane@example.com")
                .build()
                .expect("valid"),
        )
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
    (pool_id, client_id)
}

/// REFRESH_TOKEN_AUTH with `token` at `client_id`.
async fn refresh(
    idp: &Client,
    client_id: &str,
    token: &str,
) -> Result<InitiateAuthOutput, SdkError<InitiateAuthError>> {
    idp.initiate_auth()
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .client_id(client_id)
        .auth_parameters("REFRESH_TOKEN", token)
        .send()
        .await
}

async fn password_sign_in_issues_verifiable_tokens(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    let answer = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect("signed in");
    let result = answer.authentication_result().expect("tokens");
    assert_eq!(result.token_type(), Some("Bearer"));
    assert_eq!(result.expires_in(), 3600);
    let keys = sandbox.jwks(&pool_id).await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(2));
    let issuer = format!("{}/{pool_id}", sandbox.endpoint);
    let id = verify_jwt(result.id_token().expect("id token"), &keys).expect("id token verifies");
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["iss"], issuer.as_str());
    assert_eq!(id["aud"], client_id.as_str());
    assert_eq!(id["cognito:username"], "jane");
    assert_eq!(id["email"], "jane@example.com");
    assert_eq!(
        id["exp"].as_i64().unwrap_or_default() - id["iat"].as_i64().unwrap_or_default(),
        3600
    );
    let access = verify_jwt(result.access_token().expect("access token"), &keys)
        .expect("access token verifies");
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], client_id.as_str());
    assert_eq!(access["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(access["username"], "jane");
    assert_eq!(access["sub"], id["sub"]);
    assert_eq!(access["origin_jti"], id["origin_jti"]);
    assert!(access.get("aud").is_none());

    let discovery: serde_json::Value =
        reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(
        discovery["jwks_uri"],
        format!("{issuer}/.well-known/jwks.json").as_str()
    );
    let unknown = reqwest::get(format!(
        "{}/us-east-1_nothere/.well-known/jwks.json",
        sandbox.endpoint
    ))
    .await
    .expect("answers");
    assert_eq!(unknown.status(), 404);

    // Admin sign-in and refresh.
    let admin = idp
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect("admin sign-in");
    let refresh_token = admin
        .authentication_result()
        .and_then(|result| result.refresh_token())
        .expect("refresh token");
    let refreshed = refresh(&idp, &client_id, refresh_token)
        .await
        .expect("refreshed");
    let refreshed = refreshed.authentication_result().expect("tokens");
    assert!(
        refreshed.refresh_token().is_none(),
        "no rotation without GetTokensFromRefreshToken"
    );
    let access = verify_jwt(refreshed.access_token().expect("access"), &keys).expect("verifies");
    let original = verify_jwt(
        admin
            .authentication_result()
            .and_then(|r| r.access_token())
            .expect("access"),
        &keys,
    )
    .expect("verifies");
    assert_eq!(access["origin_jti"], original["origin_jti"]);
    assert_ne!(access["jti"], original["jti"]);

    // Failures, in Cognito's words.
    let wrong = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Wrong-horse-1")
        .send()
        .await
        .expect_err("wrong password");
    assert_eq!(error_code(&wrong), "NotAuthorizedException");
    assert_eq!(
        wrong.into_service_error().to_string(),
        "NotAuthorizedException: Incorrect username or password."
    );
    let nobody = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "nobody")
        .auth_parameters("PASSWORD", "Wrong-horse-1")
        .send()
        .await
        .expect_err("unknown user");
    assert_eq!(error_code(&nobody), "UserNotFoundException");
    let srp = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id("nosuchclient")
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect_err("unknown client");
    assert_eq!(error_code(&srp), "ResourceNotFoundException");
    let bad_refresh = refresh(&idp, &client_id, "forged")
        .await
        .expect_err("forged refresh token");
    assert_eq!(error_code(&bad_refresh), "NotAuthorizedException");
    // A refresh token proves nothing to another client of its pool.
    let other_client = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("other")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    let elsewhere = refresh(&idp, &other_client, refresh_token)
        .await
        .expect_err("another client's refresh token");
    assert_eq!(
        elsewhere.into_service_error().to_string(),
        "NotAuthorizedException: Invalid Refresh Token"
    );

    // A temporary password leads to the NEW_PASSWORD_REQUIRED challenge.
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("tim")
        .temporary_password("Temporary-pass-1")
        .send()
        .await
        .expect("user");
    let challenge = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "tim")
        .auth_parameters("PASSWORD", "Temporary-pass-1")
        .send()
        .await
        .expect("challenge");
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::NewPasswordRequired)
    );
    assert!(challenge.session().is_some());
    assert!(challenge.authentication_result().is_none());

    // Nor once its user is gone.
    idp.admin_delete_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("deleted");
    let orphaned = refresh(&idp, &client_id, refresh_token)
        .await
        .expect_err("a deleted user's refresh token");
    assert_eq!(error_code(&orphaned), "NotAuthorizedException");
}

both_topologies!(password_sign_in, password_sign_in_issues_verifiable_tokens);

async fn flows_must_be_enabled_on_the_client(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, _) = pool_with_user(&idp, None).await;
    let default_client = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("defaults"),
    )
    .await;
    let refused = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&default_client)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect_err("flow not enabled");
    assert_eq!(error_code(&refused), "InvalidParameterException");
    assert_eq!(
        refused.into_service_error().to_string(),
        "InvalidParameterException: USER_PASSWORD_AUTH flow not enabled for this client"
    );
}

both_topologies!(client_flows, flows_must_be_enabled_on_the_client);

/// Tokens are signed with durable keys: a token from before a restart verifies after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_verify_across_a_restart() {
    let data_dir = ScratchDir::new();
    let config = cognate_tests::base_config(&data_dir);
    let mut sandbox = Sandbox::all_in_one(config.clone(), ScratchDir(data_dir.0.clone()))
        .await
        .expect("starts");
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    let sign_in = |idp: Client| {
        let client_id = client_id.clone();
        async move {
            idp.initiate_auth()
                .auth_flow(AuthFlowType::UserPasswordAuth)
                .client_id(client_id)
                .auth_parameters("USERNAME", "jane")
                .auth_parameters("PASSWORD", "Correct-horse-1")
                .send()
                .await
                .expect("signed in")
                .authentication_result
                .and_then(|result| result.id_token)
                .expect("id token")
        }
    };
    let before = sign_in(idp).await;
    sandbox.stop().await.expect("stops");
    let restarted = Sandbox::all_in_one(config, data_dir)
        .await
        .expect("restarts");
    let keys = restarted.jwks(&pool_id).await;
    let claims =
        verify_jwt(&before, &keys).expect("the old token verifies with the restarted node's keys");
    assert_eq!(claims["cognito:username"], "jane");
    let after = sign_in(restarted.idp()).await;
    verify_jwt(&after, &keys).expect("new tokens use the same keys");
}

/// RevokeToken kills one refresh token and what was derived from it; GlobalSignOut and
/// AdminUserGlobalSignOut kill all of a user's sessions.
async fn revocation_ends_sessions(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    let sign_in = || async {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", "jane")
            .auth_parameters("PASSWORD", "Correct-horse-1")
            .send()
            .await
            .expect("signed in")
            .authentication_result
            .expect("tokens")
    };
    let first = sign_in().await;
    let second = sign_in().await;
    idp.revoke_token()
        .token(first.refresh_token().expect("refresh"))
        .client_id(&client_id)
        .send()
        .await
        .expect("revoked");
    let refused = refresh(&idp, &client_id, first.refresh_token().expect("refresh"))
        .await
        .expect_err("revoked");
    assert_eq!(error_code(&refused), "NotAuthorizedException");
    let derived = idp
        .global_sign_out()
        .access_token(first.access_token().expect("access"))
        .send()
        .await
        .expect_err("derived access token is revoked");
    assert_eq!(error_code(&derived), "NotAuthorizedException");
    assert_eq!(
        derived.into_service_error().to_string(),
        "NotAuthorizedException: Access Token has been revoked"
    );
    refresh(&idp, &client_id, second.refresh_token().expect("refresh"))
        .await
        .expect("the other session lives");

    idp.global_sign_out()
        .access_token(second.access_token().expect("access"))
        .send()
        .await
        .expect("signed out");
    let refused = refresh(&idp, &client_id, second.refresh_token().expect("refresh"))
        .await
        .expect_err("signed out");
    assert_eq!(error_code(&refused), "NotAuthorizedException");
    let again = idp
        .global_sign_out()
        .access_token(second.access_token().expect("access"))
        .send()
        .await;
    assert_eq!(
        error_code(&again.expect_err("token revoked")),
        "NotAuthorizedException"
    );
    let forged = idp
        .global_sign_out()
        .access_token("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await;
    assert_eq!(
        error_code(&forged.expect_err("forged")),
        "NotAuthorizedException"
    );

    let third = sign_in().await;
    idp.admin_user_global_sign_out()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("admin sign-out");
    let refused = refresh(&idp, &client_id, third.refresh_token().expect("refresh"))
        .await
        .expect_err("signed out");
    assert_eq!(error_code(&refused), "NotAuthorizedException");
}

both_topologies!(revocation, revocation_ends_sessions);

/// GlobalSignOut refuses tokens issued in its own second: for a client without token
/// revocation (no `origin_jti` to revoke by family), the sign-out instant is all there is, in
/// whole seconds like `iat`. The clock stands still, so sign-in and sign-out share a second.
async fn sign_out_refuses_tokens_of_its_own_second(topology: Topology) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let sandbox = Sandbox::start_dev_with_clock(topology, clock.clone())
        .await
        .expect("sandbox starts");
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    idp.update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .enable_token_revocation(false)
        .send()
        .await
        .expect("revocation off");
    let sign_in = || cognate_tests::password_sign_in(&idp, &client_id, "jane", "Correct-horse-1");
    let first = sign_in().await.expect("signed in");
    let second = sign_in().await.expect("signed in");
    idp.global_sign_out()
        .access_token(first.access_token().expect("access"))
        .send()
        .await
        .expect("signed out");
    let refused = idp
        .get_user()
        .access_token(second.access_token().expect("access"))
        .send()
        .await
        .expect_err("issued in the sign-out's second");
    assert_eq!(
        refused.into_service_error().to_string(),
        "NotAuthorizedException: Access Token has been revoked"
    );
    clock.advance(std::time::Duration::from_secs(1));
    let later = sign_in().await.expect("signed in again");
    idp.get_user()
        .access_token(later.access_token().expect("access"))
        .send()
        .await
        .expect("a token from after the sign-out works");
}

each_topology!(
    same_second_sign_out,
    sign_out_refuses_tokens_of_its_own_second
);

/// Cognito's lockout on the password paths, counted on every replica: after 5 failures the
/// user is locked (1 s, then doubling), even for the right password, and a parallel burst gets
/// no more than the 5 free attempts checked. The clock stands still until the test moves it, so
/// however slowly the burst runs, the lock cannot pass during it.
async fn failed_passwords_lock_the_user(topology: Topology) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let sandbox = Sandbox::start_dev_with_clock(topology, clock.clone())
        .await
        .expect("sandbox starts");
    let idp = sandbox.idp();
    let (_, client_id) = pool_with_user(&idp, None).await;
    let attempt = |password: &'static str| {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", "jane")
            .auth_parameters("PASSWORD", password)
            .send()
    };
    let failures = futures::future::join_all((0..12).map(|_| attempt("Wrong-horse-1"))).await;
    let messages: Vec<String> = failures
        .into_iter()
        .map(|outcome| {
            outcome
                .expect_err("all wrong")
                .into_service_error()
                .to_string()
        })
        .collect();
    let checked = messages
        .iter()
        .filter(|message| message.ends_with("Incorrect username or password."))
        .count();
    let refused = messages
        .iter()
        .filter(|message| message.ends_with("Password attempts exceeded"))
        .count();
    // Only the 5 free attempts are checked; the rest are refused as locked, uncounted.
    assert_eq!((checked, refused), (5, 7), "{messages:?}");
    let locked = attempt("Correct-horse-1").await.expect_err("locked");
    assert_eq!(
        locked.into_service_error().to_string(),
        "NotAuthorizedException: Password attempts exceeded"
    );
    clock.advance(std::time::Duration::from_millis(900));
    attempt("Correct-horse-1")
        .await
        .expect_err("still locked within the first second");
    clock.advance(std::time::Duration::from_millis(200));
    attempt("Correct-horse-1")
        .await
        .expect("after the lock, the right password signs in");
}

each_topology!(lockout, failed_passwords_lock_the_user);

/// Sixty-four correct sign-ins of one user at once, on the password and the SRP flow, after
/// four failures that stand: none is refused. Each user's checks take their turn, so none meets
/// a failure that is only still being checked, as a wrong guess burst meets exactly five checks
/// (above).
async fn parallel_correct_sign_ins_are_never_locked_out(topology: Topology) {
    const PARALLEL: usize = 64;
    let sandbox = Sandbox::start(topology).await.expect("sandbox starts");
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    idp.update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .send()
        .await
        .expect("SRP allowed");
    let password = |password: &'static str| {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", "jane")
            .auth_parameters("PASSWORD", password)
            .send()
    };
    for _ in 0..4 {
        let wrong = password("Wrong-horse-1").await.expect_err("wrong");
        assert_eq!(
            wrong.into_service_error().to_string(),
            "NotAuthorizedException: Incorrect username or password."
        );
    }
    let outcomes =
        futures::future::join_all((0..PARALLEL).map(|_| password("Correct-horse-1"))).await;
    let refused: Vec<String> = outcomes
        .into_iter()
        .filter_map(Result::err)
        .map(|error| error.into_service_error().to_string())
        .collect();
    assert_eq!(refused, Vec::<String>::new(), "password flow");

    let pool_name = pool_id.split_once('_').expect("pool id").1.to_owned();
    let srp_sign_in = || {
        let (idp, client_id, pool_name) = (&idp, &client_id, &pool_name);
        async move {
            let client =
                cognate_common::srp::client::Client::new(pool_name, "jane", "Correct-horse-1");
            let challenge = idp
                .initiate_auth()
                .auth_flow(AuthFlowType::UserSrpAuth)
                .client_id(client_id)
                .auth_parameters("USERNAME", "jane")
                .auth_parameters("SRP_A", client.big_a())
                .send()
                .await
                .map_err(|error| error_code(&error))?;
            let parameters = challenge.challenge_parameters().expect("parameters");
            cognate_tests::answer_password_verifier(idp, client_id, &client, parameters).await
        }
    };
    let outcomes = futures::future::join_all((0..PARALLEL).map(|_| srp_sign_in())).await;
    let refused: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
    assert_eq!(refused, Vec::<String>::new(), "SRP flow");
}

each_topology!(
    parallel_correct_sign_ins,
    parallel_correct_sign_ins_are_never_locked_out
);

/// Password checks are bounded: with room for one at a time and no waiting in line, a burst of
/// sign-ins is answered with tokens or, past the bound, Cognito's TooManyRequestsException,
/// never a pile of blocking work or another error.
async fn password_checks_past_the_bound_are_refused(topology: Topology) {
    let sandbox = Sandbox::start_configured(topology, |config| {
        config.password_check_concurrency = 1;
        config.password_check_wait = std::time::Duration::ZERO;
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    // One user's checks take turns anyway (the lockout): the burst is of different users.
    let names: Vec<String> = (0..24).map(|index| format!("user{index}")).collect();
    for name in &names {
        cognate_tests::confirmed_user(&idp, &pool_id, name, "Correct-horse-1").await;
    }
    let outcomes =
        futures::future::join_all(names.iter().map(|name| {
            cognate_tests::password_sign_in(&idp, &client_id, name, "Correct-horse-1")
        }))
        .await;
    let signed_in = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let refused: Vec<&String> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().err())
        .collect();
    assert!(
        refused
            .iter()
            .all(|code| *code == "TooManyRequestsException"),
        "{refused:?}"
    );
    assert!(
        signed_in >= 1 && !refused.is_empty(),
        "{signed_in} signed in, {} refused",
        refused.len()
    );
}

each_topology!(
    bounded_password_work,
    password_checks_past_the_bound_are_refused
);

/// GetTokensFromRefreshToken with rotation: each use hands out a successor, and the used token
/// dies once the grace period (here 0 s) is over; the client secret is required.
async fn refresh_tokens_rotate(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::{FeatureType, RefreshTokenRotationType};
    let idp = sandbox.idp();
    let (pool_id, _) = pool_with_user(&idp, None).await;
    let client = idp
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("rotating")
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .refresh_token_rotation(
            RefreshTokenRotationType::builder()
                .feature(FeatureType::Enabled)
                .retry_grace_period_seconds(0)
                .build()
                .expect("valid"),
        )
        .send()
        .await
        .expect("client")
        .user_pool_client
        .expect("client");
    let client_id = client.client_id().expect("id").to_owned();
    let secret = client.client_secret().expect("secret").to_owned();
    let secret_hash = {
        use base64::Engine;
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(aws_lc_rs::hmac::sign(
            &key,
            format!("jane{client_id}").as_bytes(),
        ))
    };
    let first = idp
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .auth_parameters("SECRET_HASH", &secret_hash)
        .send()
        .await
        .expect("signed in")
        .authentication_result
        .and_then(|result| result.refresh_token)
        .expect("refresh token");
    let rotate = |token: String, secret: String| {
        idp.get_tokens_from_refresh_token()
            .refresh_token(token)
            .client_id(&client_id)
            .client_secret(secret)
            .send()
    };
    let wrong_secret = rotate(first.clone(), "nope".into())
        .await
        .expect_err("secret checked");
    assert_eq!(error_code(&wrong_secret), "NotAuthorizedException");
    let second = rotate(first.clone(), secret.clone())
        .await
        .expect("rotated")
        .authentication_result
        .and_then(|result| result.refresh_token)
        .expect("a successor");
    assert_ne!(second, first);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let reused = rotate(first, secret.clone())
        .await
        .expect_err("replaced token is dead");
    assert_eq!(error_code(&reused), "NotAuthorizedException");
    rotate(second, secret).await.expect("the successor works");
}

both_topologies!(rotation, refresh_tokens_rotate);

/// A username that copies another user's `sub` never takes over that user's tokens: token
/// look-ups find the `sub` first, so GetUser and refresh stay with the token's own user.
async fn a_username_equal_to_a_sub_does_not_capture_tokens(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool_with_user(&idp, None).await;
    let tokens = cognate_tests::password_sign_in(&idp, &client_id, "jane", "Correct-horse-1")
        .await
        .expect("jane signs in");
    let jane = idp
        .get_user()
        .access_token(tokens.access_token().expect("access token"))
        .send()
        .await
        .expect("jane");
    let sub = jane
        .user_attributes()
        .iter()
        .find(|attribute| attribute.name() == "sub")
        .and_then(|attribute| attribute.value())
        .expect("sub")
        .to_owned();
    cognate_tests::confirmed_user(&idp, &pool_id, &sub, "Impostor-horse-2").await;

    let again = idp
        .get_user()
        .access_token(tokens.access_token().expect("access token"))
        .send()
        .await
        .expect("still jane");
    assert_eq!(again.username(), "jane");
    let refreshed = refresh(
        &idp,
        &client_id,
        tokens.refresh_token().expect("refresh token"),
    )
    .await
    .expect("refreshed");
    let id_token = refreshed
        .authentication_result()
        .and_then(|result| result.id_token())
        .expect("id token");
    let claims = verify_jwt(id_token, &sandbox.jwks(&pool_id).await).expect("verifies");
    assert_eq!(claims["cognito:username"], "jane");
    assert_eq!(claims["sub"], sub.as_str());
}

both_topologies!(
    username_equal_to_a_sub,
    a_username_equal_to_a_sub_does_not_capture_tokens
);
