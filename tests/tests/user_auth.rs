//! USER_AUTH choice-based sign-in through the AWS SDK for Rust in both topologies (development
//! mode, codes read from the dev outbox): SELECT_CHALLENGE with `AvailableChallenges`, each first
//! factor (PASSWORD, PASSWORD_SRP, EMAIL_OTP, SMS_OTP), `PREFERRED_CHALLENGE`, the pool's
//! SignInPolicy, passwordless factors replacing MFA, lockout on codes, GetUserAuthFactors, and a
//! choice that tells nothing of which users exist when the client hides that (a known user's code
//! is then delivered after the answer).

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFactorType, AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, SignInPolicyType,
    SmsMfaSettingsType, UserPoolMfaType, UserPoolPolicyType,
};
use cognate_common::srp;
use cognate_tests::{Sandbox, Topology, both_topologies, each_topology, error_code, other_code};

const PASSWORD: &str = "Correct-horse-1";

/// A pool allowing `first_factors`, with MFA OPTIONAL, a USER_AUTH client, `jane` with an email
/// address and a phone number, and `bob` with neither.
async fn pool(idp: &Client, first_factors: &[AuthFactorType]) -> (String, String) {
    let policy = SignInPolicyType::builder()
        .set_allowed_first_auth_factors(Some(first_factors.to_vec()))
        .build();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("choice")
            .mfa_configuration(UserPoolMfaType::Optional)
            .policies(UserPoolPolicyType::builder().sign_in_policy(policy).build()),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    cognate_tests::jane_and_bob(idp, &pool_id, PASSWORD).await;
    (pool_id, client_id)
}

/// USER_AUTH for `username`, with `PREFERRED_CHALLENGE` and its parameters when given.
async fn start(
    idp: &Client,
    client_id: &str,
    username: &str,
    parameters: &[(&str, &str)],
) -> Result<aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput, String> {
    let mut request = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username);
    for (name, value) in parameters {
        request = request.auth_parameters(*name, *value);
    }
    request.send().await.map_err(|error| error_code(&error))
}

/// Answers `challenge` in `session` for `username` with `responses`.
async fn answer(
    idp: &Client,
    client_id: &str,
    username: &str,
    challenge: ChallengeNameType,
    session: &str,
    responses: &[(&str, &str)],
) -> Result<RespondToAuthChallengeOutput, String> {
    let mut request = idp
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(challenge)
        .session(session)
        .challenge_responses("USERNAME", username);
    for (name, value) in responses {
        request = request.challenge_responses(*name, *value);
    }
    request.send().await.map_err(|error| error_code(&error))
}

/// A USER_AUTH client of `pool_id` that hides which users exist.
async fn hiding_client(idp: &Client, pool_id: &str) -> String {
    cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name("hiding")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserAuth)
            .prevent_user_existence_errors(
                aws_sdk_cognitoidentityprovider::types::PreventUserExistenceErrorTypes::Enabled,
            ),
    )
    .await
}

fn names(challenges: &[ChallengeNameType]) -> Vec<&str> {
    challenges.iter().map(ChallengeNameType::as_str).collect()
}

fn signed_in(output: &RespondToAuthChallengeOutput) -> bool {
    output
        .authentication_result()
        .and_then(|result| result.access_token())
        .is_some()
}

async fn choice_based_sign_in(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let all = [
        AuthFactorType::Password,
        AuthFactorType::EmailOtp,
        AuthFactorType::SmsOtp,
    ];
    let (pool_id, client_id) = pool(&idp, &all).await;

    // Without a preference: the challenges each user can use.
    let jane = start(&idp, &client_id, "jane", &[]).await.expect("jane");
    assert_eq!(
        jane.challenge_name(),
        Some(&ChallengeNameType::SelectChallenge)
    );
    assert_eq!(
        names(jane.available_challenges()),
        ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"]
    );
    let bob = start(&idp, &client_id, "bob", &[]).await.expect("bob");
    assert_eq!(
        names(bob.available_challenges()),
        ["PASSWORD", "PASSWORD_SRP"]
    );
    let bob_session = bob.session().expect("session");
    assert_eq!(
        answer(
            &idp,
            &client_id,
            "bob",
            ChallengeNameType::SelectChallenge,
            bob_session,
            &[("ANSWER", "EMAIL_OTP")],
        )
        .await
        .expect_err("bob has no email address"),
        "InvalidParameterException"
    );

    // SELECT_CHALLENGE answered with a password.
    let session = jane.session().expect("session");
    let wrong = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::SelectChallenge,
        session,
        &[("ANSWER", "PASSWORD"), ("PASSWORD", "Wrong-horse-1")],
    )
    .await
    .expect_err("wrong password");
    assert_eq!(wrong, "NotAuthorizedException");
    let jane = start(&idp, &client_id, "jane", &[]).await.expect("jane");
    let by_password = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::SelectChallenge,
        jane.session().expect("session"),
        &[("ANSWER", "PASSWORD"), ("PASSWORD", PASSWORD)],
    )
    .await
    .expect("password accepted");
    assert!(signed_in(&by_password));
    let access_token = by_password
        .authentication_result()
        .and_then(|result| result.access_token())
        .expect("access token")
        .to_owned();
    let factors = idp
        .get_user_auth_factors()
        .access_token(&access_token)
        .send()
        .await
        .expect("factors");
    assert_eq!(
        factors
            .configured_user_auth_factors()
            .iter()
            .map(AuthFactorType::as_str)
            .collect::<Vec<_>>(),
        ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]
    );

    // With SMS MFA on, a password goes on to MFA, where an email code replaces it.
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
    let with_mfa = start(
        &idp,
        &client_id,
        "jane",
        &[("PREFERRED_CHALLENGE", "PASSWORD"), ("PASSWORD", PASSWORD)],
    )
    .await
    .expect("password accepted");
    assert_eq!(with_mfa.challenge_name(), Some(&ChallengeNameType::SmsMfa));
    let jane = start(&idp, &client_id, "jane", &[]).await.expect("jane");
    let email = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::SelectChallenge,
        jane.session().expect("session"),
        &[("ANSWER", "EMAIL_OTP")],
    )
    .await
    .expect("email chosen");
    assert_eq!(email.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    let parameters = email.challenge_parameters().expect("parameters");
    assert_eq!(parameters["CODE_DELIVERY_DELIVERY_MEDIUM"], "EMAIL");
    let code = sandbox.latest_code(&pool_id, "jane").await;
    let session = email.session().expect("session");
    assert_eq!(
        answer(
            &idp,
            &client_id,
            "jane",
            ChallengeNameType::EmailOtp,
            session,
            &[("EMAIL_OTP_CODE", &other_code(&code))],
        )
        .await
        .expect_err("wrong code"),
        "CodeMismatchException"
    );
    let by_email = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::EmailOtp,
        session,
        &[("EMAIL_OTP_CODE", &code)],
    )
    .await
    .expect("right code, same session");
    assert!(signed_in(&by_email), "no MFA after a passwordless factor");

    // PREFERRED_CHALLENGE goes straight to the factor.
    let sms = start(
        &idp,
        &client_id,
        "jane",
        &[("PREFERRED_CHALLENGE", "SMS_OTP")],
    )
    .await
    .expect("SMS chosen");
    assert_eq!(sms.challenge_name(), Some(&ChallengeNameType::SmsOtp));
    assert_eq!(
        sms.challenge_parameters().expect("parameters")["CODE_DELIVERY_DELIVERY_MEDIUM"],
        "SMS"
    );
    let code = sandbox.latest_code(&pool_id, "jane").await;
    let by_sms = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::SmsOtp,
        sms.session().expect("session"),
        &[("SMS_OTP_CODE", &code)],
    )
    .await
    .expect("SMS code accepted");
    assert!(signed_in(&by_sms));

    // A preference the user can't use falls back to the choice.
    let fallback = start(
        &idp,
        &client_id,
        "bob",
        &[("PREFERRED_CHALLENGE", "EMAIL_OTP")],
    )
    .await
    .expect("bob");
    assert_eq!(
        fallback.challenge_name(),
        Some(&ChallengeNameType::SelectChallenge)
    );
    assert_eq!(
        names(fallback.available_challenges()),
        ["PASSWORD", "PASSWORD_SRP"]
    );

    // PASSWORD_SRP, preferred at the start and chosen by SELECT_CHALLENGE.
    let pool_name = pool_id
        .split_once('_')
        .map(|(_, name)| name)
        .unwrap_or_default();
    let client = srp::client::Client::new(pool_name, "bob", PASSWORD);
    let verifier = start(
        &idp,
        &client_id,
        "bob",
        &[
            ("PREFERRED_CHALLENGE", "PASSWORD_SRP"),
            ("SRP_A", &client.big_a()),
        ],
    )
    .await
    .expect("SRP started");
    assert_eq!(
        verifier.challenge_name(),
        Some(&ChallengeNameType::PasswordVerifier)
    );
    let parameters = verifier.challenge_parameters().expect("parameters").clone();
    let proven = cognate_tests::answer_password_verifier(&idp, &client_id, &client, &parameters)
        .await
        .expect("SRP proof");
    assert!(signed_in(&proven));
    let bob = start(&idp, &client_id, "bob", &[]).await.expect("bob");
    let client = srp::client::Client::new(pool_name, "bob", PASSWORD);
    let verifier = answer(
        &idp,
        &client_id,
        "bob",
        ChallengeNameType::SelectChallenge,
        bob.session().expect("session"),
        &[("ANSWER", "PASSWORD_SRP"), ("SRP_A", &client.big_a())],
    )
    .await
    .expect("SRP chosen");
    assert_eq!(
        verifier.challenge_name(),
        Some(&ChallengeNameType::PasswordVerifier)
    );
    let parameters = verifier.challenge_parameters().expect("parameters").clone();
    assert!(signed_in(
        &cognate_tests::answer_password_verifier(&idp, &client_id, &client, &parameters)
            .await
            .expect("SRP proof")
    ));

    // AdminInitiateAuth takes USER_AUTH too.
    let admin = idp
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::UserAuth)
        .auth_parameters("USERNAME", "bob")
        .auth_parameters("PREFERRED_CHALLENGE", "PASSWORD")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("admin sign-in");
    assert!(admin.authentication_result().is_some());

    // Wrong codes count toward the lockout: after 5, even the right code is refused.
    let email = start(
        &idp,
        &client_id,
        "jane",
        &[("PREFERRED_CHALLENGE", "EMAIL_OTP")],
    )
    .await
    .expect("email chosen");
    let session = email.session().expect("session");
    let code = sandbox.latest_code(&pool_id, "jane").await;
    for _ in 0..5 {
        let refused = answer(
            &idp,
            &client_id,
            "jane",
            ChallengeNameType::EmailOtp,
            session,
            &[("EMAIL_OTP_CODE", &other_code(&code))],
        )
        .await
        .expect_err("wrong code");
        assert_eq!(refused, "CodeMismatchException");
    }
    let locked = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::EmailOtp,
        session,
        &[("EMAIL_OTP_CODE", &code)],
    )
    .await
    .expect_err("locked");
    assert_eq!(locked, "NotAuthorizedException");
}

both_topologies!(choice, choice_based_sign_in, start_dev);

/// The pool's SignInPolicy limits the choice (by default to PASSWORD), PASSWORD may be answered
/// directly, unknown users are hidden when the client asks, and a client needs ALLOW_USER_AUTH.
async fn sign_in_policy_limits_the_choice(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, &[AuthFactorType::Password]).await;
    let jane = start(
        &idp,
        &client_id,
        "jane",
        &[("PREFERRED_CHALLENGE", "EMAIL_OTP")],
    )
    .await
    .expect("jane");
    assert_eq!(
        names(jane.available_challenges()),
        ["PASSWORD", "PASSWORD_SRP"]
    );
    let tokens = answer(
        &idp,
        &client_id,
        "jane",
        ChallengeNameType::Password,
        jane.session().expect("session"),
        &[("PASSWORD", PASSWORD)],
    )
    .await
    .expect("PASSWORD answered directly");
    let access_token = tokens
        .authentication_result()
        .and_then(|result| result.access_token())
        .expect("tokens");
    let factors = idp
        .get_user_auth_factors()
        .access_token(access_token)
        .send()
        .await
        .expect("factors");
    assert_eq!(
        factors.configured_user_auth_factors(),
        [AuthFactorType::Password]
    );

    // Unknown users: an error, unless the client hides existence; then the same choice as for a
    // user with a password, which fails like a wrong password.
    assert_eq!(
        start(&idp, &client_id, "ghost", &[])
            .await
            .expect_err("no such user"),
        "UserNotFoundException"
    );
    let hiding = hiding_client(&idp, &pool_id).await;
    let ghost = start(&idp, &hiding, "ghost", &[]).await.expect("a choice");
    assert_eq!(
        names(ghost.available_challenges()),
        ["PASSWORD", "PASSWORD_SRP"]
    );
    assert_eq!(
        answer(
            &idp,
            &hiding,
            "ghost",
            ChallengeNameType::SelectChallenge,
            ghost.session().expect("session"),
            &[("ANSWER", "PASSWORD"), ("PASSWORD", PASSWORD)],
        )
        .await
        .expect_err("no such user"),
        "NotAuthorizedException"
    );

    // Without a SignInPolicy, a pool has Cognito's default: a password only.
    let plain = cognate_tests::create_pool(idp.create_user_pool().pool_name("plain")).await;
    let described = idp
        .describe_user_pool()
        .user_pool_id(&plain)
        .send()
        .await
        .expect("described");
    let policy = described
        .user_pool()
        .and_then(|pool| pool.policies())
        .and_then(|policies| policies.sign_in_policy())
        .expect("a sign-in policy");
    assert_eq!(
        policy.allowed_first_auth_factors(),
        [AuthFactorType::Password]
    );

    let srp_only = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("srp-only")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth),
    )
    .await;
    assert_eq!(
        start(&idp, &srp_only, "jane", &[])
            .await
            .expect_err("flow not enabled"),
        "InvalidParameterException"
    );
}

both_topologies!(sign_in_policy, sign_in_policy_limits_the_choice, start_dev);

/// SELECT_CHALLENGE with a client that hides existence: a known user, one without an email
/// address or phone number, and an unknown name are offered the same challenges, and the code
/// factors answer each with the same shape of challenge (a masked destination, stable per name
/// for the unknown one); a code sent nowhere is refused as a wrong code, and counts toward the
/// lockout. A real user's code still signs them in.
async fn hidden_choice_tells_nothing(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let all = [
        AuthFactorType::Password,
        AuthFactorType::EmailOtp,
        AuthFactorType::SmsOtp,
    ];
    let (pool_id, _) = pool(&idp, &all).await;
    let hiding = hiding_client(&idp, &pool_id).await;
    let select = |name: &'static str, factor: &'static str| {
        let (idp, hiding) = (idp.clone(), hiding.clone());
        async move {
            let started = start(&idp, &hiding, name, &[]).await.expect("a choice");
            assert_eq!(
                names(started.available_challenges()),
                ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"],
                "{name}"
            );
            let challenge = answer(
                &idp,
                &hiding,
                name,
                ChallengeNameType::SelectChallenge,
                started.session().expect("session"),
                &[("ANSWER", factor)],
            )
            .await
            .expect("a code challenge");
            assert_eq!(challenge.challenge_name().map(|c| c.as_str()), Some(factor));
            let parameters = challenge.challenge_parameters().expect("parameters");
            let mut keys: Vec<&str> = parameters.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "CODE_DELIVERY_DELIVERY_MEDIUM",
                    "CODE_DELIVERY_DESTINATION",
                    "USER_ID_FOR_SRP"
                ],
                "{name}"
            );
            let medium = if factor == "SMS_OTP" { "SMS" } else { "EMAIL" };
            assert_eq!(parameters["CODE_DELIVERY_DELIVERY_MEDIUM"], medium);
            let destination = parameters["CODE_DELIVERY_DESTINATION"].clone();
            assert!(destination.contains("***"), "{name}: {destination}");
            (
                challenge.session().expect("session").to_owned(),
                destination,
            )
        }
    };

    // A known user's codes arrive (after the answer, as the simulated ones answer at once) and
    // sign them in.
    for (factor, challenge, member) in [
        ("EMAIL_OTP", ChallengeNameType::EmailOtp, "EMAIL_OTP_CODE"),
        ("SMS_OTP", ChallengeNameType::SmsOtp, "SMS_OTP_CODE"),
    ] {
        let (_, sent) = sandbox.dev_outbox(&pool_id, "jane").await.expect("outbox");
        let sent = sent.as_array().map_or(0, Vec::len);
        let (session, _) = select("jane", factor).await;
        let code = sandbox.awaited_code(&pool_id, "jane", sent + 1).await;
        let jane = answer(
            &idp,
            &hiding,
            "jane",
            challenge,
            &session,
            &[(member, &code)],
        )
        .await
        .expect("jane's code");
        assert!(signed_in(&jane), "{factor}");
    }

    // An unknown name: the same shape, a destination stable per name, and no code is right.
    let refused = |name: &'static str, factor: ChallengeNameType, session: String| {
        let (idp, hiding) = (idp.clone(), hiding.clone());
        async move {
            let member = format!("{}_CODE", factor.as_str());
            answer(
                &idp,
                &hiding,
                name,
                factor,
                &session,
                &[(&member, "123456")],
            )
            .await
            .expect_err("no code is right")
        }
    };
    let (session, destination) = select("ghost", "EMAIL_OTP").await;
    assert_eq!(select("ghost", "EMAIL_OTP").await.1, destination);
    assert_ne!(select("phantom", "EMAIL_OTP").await.1, destination);
    for _ in 0..2 {
        let refusal = refused("ghost", ChallengeNameType::EmailOtp, session.clone()).await;
        assert_eq!(refusal, "CodeMismatchException");
    }
    let (session, _) = select("ghost", "SMS_OTP").await;
    let refusal = refused("ghost", ChallengeNameType::SmsOtp, session).await;
    assert_eq!(refusal, "CodeMismatchException");

    // A known user without a phone number: an SMS_OTP challenge that sends nothing; wrong codes
    // count toward the lockout as for a real code.
    let (session, _) = select("bob", "SMS_OTP").await;
    for _ in 0..5 {
        let refusal = refused("bob", ChallengeNameType::SmsOtp, session.clone()).await;
        assert_eq!(refusal, "CodeMismatchException");
    }
    let locked = start(&idp, &hiding, "bob", &[]).await.expect("a choice");
    assert_eq!(
        answer(
            &idp,
            &hiding,
            "bob",
            ChallengeNameType::SelectChallenge,
            locked.session().expect("session"),
            &[("ANSWER", "PASSWORD"), ("PASSWORD", PASSWORD)],
        )
        .await
        .expect_err("locked"),
        "NotAuthorizedException"
    );
}

both_topologies!(hidden_choice, hidden_choice_tells_nothing, start_dev);

/// With a client that hides existence, a known user's sign-in code goes out after the answer:
/// behind a mail server that never answers (the sender waits ten seconds for it), the EMAIL_OTP
/// challenge still comes at once, and the code, recorded in the dev outbox, signs them in.
async fn hidden_code_answers_before_delivery(topology: Topology) {
    // Accepts connections (the kernel does) and never greets.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let port = silent.local_addr().expect("address").port();
    let sandbox = Sandbox::start_configured(topology, |config| {
        cognate_tests::development_mode(config);
        config.smtp_url = Some(cognate_common::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();
    let (pool_id, _) = pool(&idp, &[AuthFactorType::Password, AuthFactorType::EmailOtp]).await;
    let hiding = hiding_client(&idp, &pool_id).await;
    let started = start(&idp, &hiding, "jane", &[]).await.expect("a choice");
    let asked = std::time::Instant::now();
    let challenge = answer(
        &idp,
        &hiding,
        "jane",
        ChallengeNameType::SelectChallenge,
        started.session().expect("session"),
        &[("ANSWER", "EMAIL_OTP")],
    )
    .await
    .expect("a code challenge");
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let code = sandbox.awaited_code(&pool_id, "jane", 1).await;
    let jane = answer(
        &idp,
        &hiding,
        "jane",
        ChallengeNameType::EmailOtp,
        challenge.session().expect("session"),
        &[("EMAIL_OTP_CODE", &code)],
    )
    .await
    .expect("jane's code");
    assert!(signed_in(&jane));
}

each_topology!(hidden_code_delivery, hidden_code_answers_before_delivery);
