//! TOTP multi-factor sign-in through the AWS SDK for Rust, in both topologies: enrolment with an
//! access token, the SOFTWARE_TOKEN_MFA challenge (each code good once), and MFA_SETUP when the
//! pool requires MFA.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, UserPoolMfaType,
};
use std::sync::Arc;

use cognate_common::clock::{Clock, ManualClock};
use cognate_tests::{
    Sandbox, Topology, both_topologies, each_topology, error_code, totp_code, totp_step,
};

async fn pool(idp: &Client, mfa: UserPoolMfaType) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("mfa")
            .mfa_configuration(mfa),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth),
    )
    .await;
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
    (pool_id, client_id)
}

async fn sign_in(
    idp: &Client,
    client_id: &str,
) -> aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput {
    idp.initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect("password accepted")
}

async fn authenticator_codes_are_a_second_factor(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, UserPoolMfaType::Optional).await;
    let first = sign_in(&idp, &client_id).await;
    let access_token = first
        .authentication_result()
        .and_then(|tokens| tokens.access_token())
        .expect("no MFA yet");
    let secret = idp
        .associate_software_token()
        .access_token(access_token)
        .send()
        .await
        .expect("associated")
        .secret_code
        .expect("secret");
    let step = totp_step();
    let wrong = idp
        .verify_software_token()
        .access_token(access_token)
        .user_code("000000")
        .send()
        .await;
    if totp_code(&secret, step) != "000000" {
        assert_eq!(
            error_code(&wrong.expect_err("wrong code")),
            "EnableSoftwareTokenMFAException"
        );
    }
    let verified = idp
        .verify_software_token()
        .access_token(access_token)
        .user_code(totp_code(&secret, step))
        .friendly_device_name("phone")
        .send()
        .await
        .expect("verified");
    assert_eq!(
        verified.status().map(|status| status.as_str()),
        Some("SUCCESS")
    );

    let challenge = sign_in(&idp, &client_id).await;
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::SoftwareTokenMfa)
    );
    assert!(challenge.authentication_result().is_none());
    let session = challenge.session().expect("session").to_owned();
    let answer = |code: String| {
        idp.respond_to_auth_challenge()
            .client_id(&client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(&session)
            .challenge_responses("USERNAME", "jane")
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
    };
    // The code that verified the authenticator was used up; the next step's code is within drift.
    let reused = answer(totp_code(&secret, step))
        .await
        .expect_err("a code works once");
    assert_eq!(error_code(&reused), "CodeMismatchException");
    let admin_view = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("user");
    assert_eq!(admin_view.user_mfa_setting_list(), ["SOFTWARE_TOKEN_MFA"]);
    let factors = idp
        .get_user_auth_factors()
        .access_token(access_token)
        .send()
        .await
        .expect("factors");
    assert_eq!(factors.user_mfa_setting_list(), ["SOFTWARE_TOKEN_MFA"]);
    assert_eq!(factors.configured_user_auth_factors().len(), 1, "PASSWORD");
    assert_eq!(factors.username(), "jane");
    let done = answer(totp_code(&secret, step + 1))
        .await
        .expect("second factor accepted");
    assert!(
        done.authentication_result()
            .and_then(|tokens| tokens.id_token())
            .is_some()
    );
}

both_topologies!(software_token_mfa, authenticator_codes_are_a_second_factor);

async fn required_mfa_is_set_up_during_sign_in(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (_, client_id) = pool(&idp, UserPoolMfaType::On).await;
    let challenge = sign_in(&idp, &client_id).await;
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::MfaSetup)
    );
    let associated = idp
        .associate_software_token()
        .session(challenge.session().expect("session"))
        .send()
        .await
        .expect("associated with the session");
    let secret = associated.secret_code().expect("secret").to_owned();
    let step = totp_step();
    let verified = idp
        .verify_software_token()
        .session(associated.session().expect("a new session"))
        .user_code(totp_code(&secret, step))
        .send()
        .await
        .expect("verified");
    let done = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::MfaSetup)
        .session(verified.session().expect("a new session"))
        .challenge_responses("USERNAME", "jane")
        .send()
        .await
        .expect("set up");
    assert!(
        done.authentication_result()
            .and_then(|tokens| tokens.access_token())
            .is_some()
    );
    let next = sign_in(&idp, &client_id).await;
    assert_eq!(
        next.challenge_name(),
        Some(&ChallengeNameType::SoftwareTokenMfa)
    );
}

both_topologies!(mfa_setup, required_mfa_is_set_up_during_sign_in);

/// An attacker who knows the password gets no fresh tries at the code by signing in again: five
/// wrong codes lock the user as five wrong passwords do, a correct password does not end the
/// code's count, and only issued tokens do. The clock stands still until the test moves it.
async fn signing_in_again_gives_no_fresh_tries_at_the_code(topology: Topology) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let sandbox = Sandbox::start_dev_with_clock(topology, clock.clone())
        .await
        .expect("sandbox starts");
    let idp = sandbox.idp();
    let (_, client_id) = pool(&idp, UserPoolMfaType::Optional).await;
    let step = || clock.now().unix_timestamp() / 30;
    let access_token = sign_in(&idp, &client_id)
        .await
        .authentication_result()
        .and_then(|tokens| tokens.access_token())
        .expect("no MFA yet")
        .to_owned();
    let secret = idp
        .associate_software_token()
        .access_token(&access_token)
        .send()
        .await
        .expect("associated")
        .secret_code
        .expect("secret");
    let enrolled_at = step();
    idp.verify_software_token()
        .access_token(&access_token)
        .user_code(totp_code(&secret, enrolled_at))
        .send()
        .await
        .expect("verified");
    // A code far from now is never within the drift window: always wrong.
    let wrong = totp_code(&secret, enrolled_at + 100);
    let answer = |session: String, code: String| {
        idp.respond_to_auth_challenge()
            .client_id(&client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(session)
            .challenge_responses("USERNAME", "jane")
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
    };
    let challenge = || async {
        let challenge = sign_in(&idp, &client_id).await;
        assert_eq!(
            challenge.challenge_name(),
            Some(&ChallengeNameType::SoftwareTokenMfa)
        );
        challenge.session().expect("session").to_owned()
    };
    let locked = "NotAuthorizedException: Password attempts exceeded";
    let session = challenge().await;
    for _ in 0..5 {
        let refused = answer(session.clone(), wrong.clone())
            .await
            .expect_err("wrong");
        assert_eq!(error_code(&refused), "CodeMismatchException");
    }
    let right = totp_code(&secret, enrolled_at + 1);
    let refused = answer(session, right.clone()).await.expect_err("locked");
    assert_eq!(refused.into_service_error().to_string(), locked);
    // The lock is the user's: the password is refused too while it lasts.
    let refused = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect_err("locked");
    assert_eq!(refused.into_service_error().to_string(), locked);
    // After the lock the password signs in again, but that does not end the code's count: one
    // more wrong code is checked and locks at once (for 2 s).
    clock.advance(std::time::Duration::from_millis(1001));
    let session = challenge().await;
    let refused = answer(session.clone(), wrong.clone())
        .await
        .expect_err("wrong");
    assert_eq!(error_code(&refused), "CodeMismatchException");
    let refused = answer(session, right.clone()).await.expect_err("locked");
    assert_eq!(refused.into_service_error().to_string(), locked);
    clock.advance(std::time::Duration::from_millis(2001));
    let signed_in = answer(challenge().await, right)
        .await
        .expect("after the lock, the right code");
    assert!(signed_in.authentication_result().is_some());
    // Tokens ended the count: five wrong codes are checked again before the next lock.
    let session = challenge().await;
    for _ in 0..5 {
        let refused = answer(session.clone(), wrong.clone())
            .await
            .expect_err("wrong");
        assert_eq!(error_code(&refused), "CodeMismatchException");
    }
}

each_topology!(
    code_lockout,
    signing_in_again_gives_no_fresh_tries_at_the_code
);
