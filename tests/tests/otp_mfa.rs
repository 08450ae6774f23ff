//! One-time-code MFA through the AWS SDK for Rust in both topologies (development mode, codes
//! read from the dev outbox): SMS_MFA and EMAIL_OTP challenges, SELECT_MFA_TYPE, the MFA
//! preferences, and the legacy SetUserSettings / AdminSetUserSettings.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, EmailMfaSettingsType, ExplicitAuthFlowsType, MfaOptionType,
    SmsMfaSettingsType, UserPoolMfaType,
};
use cognate_tests::{Sandbox, both_topologies, error_code, other_code};

const PASSWORD: &str = "Correct-horse-1";

/// An OPTIONAL-MFA pool with its own SMS sign-in message, a password client, `jane` with a
/// phone number and an email address, and `bob` with neither.
async fn pool(idp: &Client) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("otp")
            .mfa_configuration(UserPoolMfaType::Optional)
            .sms_authentication_message("Sign-in code {####}"),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth),
    )
    .await;
    cognate_tests::jane_and_bob(idp, &pool_id, PASSWORD).await;
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
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("password accepted")
}

/// Answers `challenge` in `session` with `member` = `value`.
async fn answer(
    idp: &Client,
    client_id: &str,
    challenge: ChallengeNameType,
    session: &str,
    member: &str,
    value: &str,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput,
    String,
>{
    idp.respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(challenge)
        .session(session)
        .challenge_responses("USERNAME", "jane")
        .challenge_responses(member, value)
        .send()
        .await
        .map_err(|error| error_code(&error))
}

async fn mfa_state(idp: &Client, pool_id: &str) -> (Vec<String>, Option<String>, usize) {
    let user = idp
        .admin_get_user()
        .user_pool_id(pool_id)
        .username("jane")
        .send()
        .await
        .expect("jane");
    (
        user.user_mfa_setting_list().to_vec(),
        user.preferred_mfa_setting().map(str::to_owned),
        user.mfa_options().len(),
    )
}

async fn codes_by_sms_and_email(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp).await;

    let unreachable = idp
        .admin_set_user_mfa_preference()
        .user_pool_id(&pool_id)
        .username("bob")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .expect_err("bob has no phone number");
    assert_eq!(error_code(&unreachable), "InvalidParameterException");

    idp.admin_set_user_mfa_preference()
        .user_pool_id(&pool_id)
        .username("jane")
        .sms_mfa_settings(
            SmsMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .expect("SMS MFA on");
    assert_eq!(
        mfa_state(&idp, &pool_id).await,
        (vec!["SMS_MFA".to_owned()], Some("SMS_MFA".to_owned()), 1)
    );

    let first = sign_in(&idp, &client_id).await;
    assert_eq!(first.challenge_name(), Some(&ChallengeNameType::SmsMfa));
    let parameters = first.challenge_parameters().expect("parameters");
    assert_eq!(parameters["CODE_DELIVERY_DELIVERY_MEDIUM"], "SMS");
    let destination = &parameters["CODE_DELIVERY_DESTINATION"];
    assert!(
        destination.ends_with("0123") && !destination.contains("555555"),
        "{destination}"
    );
    let (_, outbox) = sandbox.dev_outbox(&pool_id, "jane").await.expect("outbox");
    let text = outbox[0]["body"].as_str().expect("a message");
    assert!(text.starts_with("Sign-in code "), "{text}");
    assert_eq!(outbox[0]["channel"], "SMS");
    let code = sandbox.latest_code(&pool_id, "jane").await;
    let session = first.session().expect("session");
    assert_eq!(
        answer(
            &idp,
            &client_id,
            ChallengeNameType::SmsMfa,
            session,
            "SMS_MFA_CODE",
            &other_code(&code)
        )
        .await
        .expect_err("wrong code"),
        "CodeMismatchException"
    );
    let signed_in = answer(
        &idp,
        &client_id,
        ChallengeNameType::SmsMfa,
        session,
        "SMS_MFA_CODE",
        &code,
    )
    .await
    .expect("right code, same session");
    let access_token = signed_in
        .authentication_result()
        .and_then(|result| result.access_token())
        .expect("tokens")
        .to_owned();
    assert_eq!(
        answer(
            &idp,
            &client_id,
            ChallengeNameType::SmsMfa,
            session,
            "SMS_MFA_CODE",
            &code
        )
        .await
        .expect_err("sessions are single-use"),
        "NotAuthorizedException"
    );

    // The pool's MFA configuration words the messages from now on.
    idp.set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .sms_mfa_configuration(
            aws_sdk_cognitoidentityprovider::types::SmsMfaConfigType::builder()
                .sms_authentication_message("Your code: {####}")
                .build(),
        )
        .email_mfa_configuration(
            aws_sdk_cognitoidentityprovider::types::EmailMfaConfigType::builder()
                .message("Email code {####}")
                .subject("Sign-in code")
                .build(),
        )
        .send()
        .await
        .expect("MFA configuration set");

    // Email too, and neither preferred: the user chooses.
    idp.set_user_mfa_preference()
        .access_token(&access_token)
        .sms_mfa_settings(
            SmsMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(false)
                .build(),
        )
        .email_mfa_settings(EmailMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .expect("email MFA on");
    assert_eq!(
        mfa_state(&idp, &pool_id).await,
        (vec!["SMS_MFA".to_owned(), "EMAIL_OTP".to_owned()], None, 1)
    );
    let choice = sign_in(&idp, &client_id).await;
    assert_eq!(
        choice.challenge_name(),
        Some(&ChallengeNameType::SelectMfaType)
    );
    assert_eq!(
        choice.challenge_parameters().expect("parameters")["MFAS_CAN_CHOOSE"],
        r#"["SMS_MFA","EMAIL_OTP"]"#
    );
    let email = answer(
        &idp,
        &client_id,
        ChallengeNameType::SelectMfaType,
        choice.session().expect("session"),
        "ANSWER",
        "EMAIL_OTP",
    )
    .await
    .expect("email chosen");
    assert_eq!(email.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    assert_eq!(
        email.challenge_parameters().expect("parameters")["CODE_DELIVERY_DELIVERY_MEDIUM"],
        "EMAIL"
    );
    let code = sandbox.latest_code(&pool_id, "jane").await;
    let (_, outbox) = sandbox.dev_outbox(&pool_id, "jane").await.expect("outbox");
    assert_eq!(outbox[0]["subject"], "Sign-in code");
    assert!(
        outbox[0]["body"]
            .as_str()
            .is_some_and(|body| body.starts_with("Email code "))
    );
    answer(
        &idp,
        &client_id,
        ChallengeNameType::EmailOtp,
        email.session().expect("session"),
        "EMAIL_OTP_CODE",
        &code,
    )
    .await
    .expect("signed in by email code");

    // The legacy settings turn SMS off and on again.
    idp.set_user_settings()
        .access_token(&access_token)
        .set_mfa_options(Some(vec![]))
        .send()
        .await
        .expect("SMS off");
    assert_eq!(
        mfa_state(&idp, &pool_id).await,
        (vec!["EMAIL_OTP".to_owned()], None, 0)
    );
    let email_only = sign_in(&idp, &client_id).await;
    assert_eq!(
        email_only.challenge_name(),
        Some(&ChallengeNameType::EmailOtp)
    );
    idp.admin_set_user_settings()
        .user_pool_id(&pool_id)
        .username("jane")
        .mfa_options(
            MfaOptionType::builder()
                .delivery_medium(aws_sdk_cognitoidentityprovider::types::DeliveryMediumType::Sms)
                .attribute_name("phone_number")
                .build(),
        )
        .send()
        .await
        .expect("SMS on");
    assert_eq!(mfa_state(&idp, &pool_id).await.0.len(), 2);
    let email_option = idp
        .set_user_settings()
        .access_token(&access_token)
        .mfa_options(
            MfaOptionType::builder()
                .delivery_medium(aws_sdk_cognitoidentityprovider::types::DeliveryMediumType::Email)
                .attribute_name("email")
                .build(),
        )
        .send()
        .await
        .expect_err("only SMS");
    assert_eq!(error_code(&email_option), "InvalidParameterException");
}

both_topologies!(
    codes_by_sms_and_email_tests,
    codes_by_sms_and_email,
    start_dev
);

/// SMS MFA codes count against the user's hourly sends (`code_sends_per_hour`, 3 here): the
/// fourth sign-in in the hour gets `TooManyRequestsException` (InitiateAuth's modelled
/// throttling error) and no message.
async fn mfa_code_sends_are_limited_per_user(topology: cognate_tests::Topology) {
    let sandbox = Sandbox::start_configured(topology, |config| {
        cognate_tests::development_mode(config);
        config.code_sends_per_hour = 3;
    })
    .await
    .expect("sandbox");
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp).await;
    idp.admin_set_user_mfa_preference()
        .user_pool_id(&pool_id)
        .username("jane")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .expect("SMS MFA on");
    for _ in 0..3 {
        let challenge = sign_in(&idp, &client_id).await;
        assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::SmsMfa));
    }
    let refused = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect_err("a fourth code in the hour");
    let refused = refused.into_service_error();
    assert!(refused.is_too_many_requests_exception(), "{refused}");
    assert_eq!(
        refused.to_string(),
        "TooManyRequestsException: Too many codes were sent to this user; try again later."
    );
    let (_, outbox) = sandbox.dev_outbox(&pool_id, "jane").await.expect("outbox");
    assert_eq!(outbox.as_array().map(Vec::len), Some(3));
}

cognate_tests::each_topology!(mfa_code_sends, mfa_code_sends_are_limited_per_user);
