//! Passwords beyond the policy, through the AWS SDK for Rust in both topologies: password history
//! (`PasswordHistorySize`), Set/DescribeRiskConfiguration, and compromised-credentials detection
//! on sign-up, password changes and sign-in, with the bundled list and an operator's Have I Been
//! Pwned file.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AdvancedSecurityModeType, CompromisedCredentialsActionsType,
    CompromisedCredentialsEventActionType, CompromisedCredentialsRiskConfigurationType,
    EventFilterType, ExplicitAuthFlowsType, PasswordPolicyType, UserPoolAddOnsType,
    UserPoolPolicyType, UserStatusType,
};
use cognate_tests::{
    Sandbox, Topology, both_topologies, each_topology, error_code, password_sign_in,
};

const STRONG: &str = "Correct-Horse-1";
/// Meets the pool's policy below, and is on the bundled list in lower case.
const BREACHED: &str = "Password123";

/// A pool with threat protection in `mode`, a policy without symbols, a history of
/// `history` passwords, and a client allowing password sign-in.
async fn pool(idp: &Client, mode: AdvancedSecurityModeType, history: i32) -> (String, String) {
    let policy = PasswordPolicyType::builder()
        .minimum_length(8)
        .require_uppercase(true)
        .require_lowercase(true)
        .require_numbers(true)
        .require_symbols(false)
        .password_history_size(history)
        .build();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("passwords")
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(policy)
                    .build(),
            )
            .user_pool_add_ons(
                UserPoolAddOnsType::builder()
                    .advanced_security_mode(mode)
                    .build()
                    .expect("add-ons"),
            ),
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
    (pool_id, client_id)
}

/// A confirmed user with a permanent password (admins are not screened).
async fn user(idp: &Client, pool_id: &str, name: &str, password: &str) {
    idp.admin_create_user()
        .user_pool_id(pool_id)
        .username(name)
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .expect("created");
    idp.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(name)
        .password(password)
        .permanent(true)
        .send()
        .await
        .expect("password set");
}

async fn sign_in(
    idp: &Client,
    client_id: &str,
    name: &str,
    password: &str,
) -> Result<String, String> {
    let tokens = password_sign_in(idp, client_id, name, password).await?;
    Ok(tokens.access_token().expect("access token").to_owned())
}

async fn change(idp: &Client, token: &str, from: &str, to: &str) -> Result<(), String> {
    idp.change_password()
        .access_token(token)
        .previous_password(from)
        .proposed_password(to)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| error_code(&error))
}

/// BLOCK on `events` (all events when empty) for the pool, or for one client.
async fn block(idp: &Client, pool_id: &str, client_id: Option<&str>, events: &[EventFilterType]) {
    let mut compromised = CompromisedCredentialsRiskConfigurationType::builder().actions(
        CompromisedCredentialsActionsType::builder()
            .event_action(CompromisedCredentialsEventActionType::Block)
            .build()
            .expect("actions"),
    );
    for event in events {
        compromised = compromised.event_filter(event.clone());
    }
    idp.set_risk_configuration()
        .user_pool_id(pool_id)
        .set_client_id(client_id.map(str::to_owned))
        .compromised_credentials_risk_configuration(compromised.build())
        .send()
        .await
        .expect("risk configuration set");
}

async fn history_is_enforced(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, AdvancedSecurityModeType::Off, 3).await;
    let first = "First-Password-1";
    user(&idp, &pool_id, "hana", first).await;
    let token = sign_in(&idp, &client_id, "hana", first)
        .await
        .expect("signs in");

    // The current password counts as one of the three.
    assert_eq!(
        change(&idp, &token, first, first)
            .await
            .expect_err("refused"),
        "PasswordHistoryPolicyViolationException"
    );
    change(&idp, &token, first, "Second-Password-2")
        .await
        .expect("new");
    change(&idp, &token, "Second-Password-2", "Third-Password-3")
        .await
        .expect("new");
    for used in [first, "Second-Password-2"] {
        assert_eq!(
            change(&idp, &token, "Third-Password-3", used)
                .await
                .expect_err("refused"),
            "PasswordHistoryPolicyViolationException",
            "{used} is one of the last three"
        );
    }
    // Admins are held to the history too.
    let admin = idp
        .admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("hana")
        .password("Second-Password-2")
        .permanent(true)
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        error_code(&admin),
        "PasswordHistoryPolicyViolationException"
    );
    change(&idp, &token, "Third-Password-3", "Fourth-Password-4")
        .await
        .expect("new");
    // The first password has now fallen out of the last three.
    change(&idp, &token, "Fourth-Password-4", first)
        .await
        .expect("old enough again");
    sign_in(&idp, &client_id, "hana", first)
        .await
        .expect("signs in with it");

    // A refused reset keeps its code usable.
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("hana")
        .user_attributes(cognate_tests::attribute("email", "hana@example.com"))
        .user_attributes(cognate_tests::attribute("email_verified", "true"))
        .send()
        .await
        .expect("email");
    idp.forgot_password()
        .client_id(&client_id)
        .username("hana")
        .send()
        .await
        .expect("code sent");
    let code = sandbox.latest_code(&pool_id, "hana").await;
    let reuse = idp
        .confirm_forgot_password()
        .client_id(&client_id)
        .username("hana")
        .confirmation_code(&code)
        .password("Fourth-Password-4")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        error_code(&reuse),
        "PasswordHistoryPolicyViolationException"
    );
    idp.confirm_forgot_password()
        .client_id(&client_id)
        .username("hana")
        .confirmation_code(&code)
        .password("Fifth-Password-5")
        .send()
        .await
        .expect("the same code still works");
    sign_in(&idp, &client_id, "hana", "Fifth-Password-5")
        .await
        .expect("signs in");
}

both_topologies!(history_is_enforced_tests, history_is_enforced, start_dev);

async fn risk_configuration_round_trips(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (off_pool, _) = pool(&idp, AdvancedSecurityModeType::Off, 0).await;
    let refused = idp
        .set_risk_configuration()
        .user_pool_id(&off_pool)
        .send()
        .await
        .expect_err("refused");
    assert_eq!(error_code(&refused), "UserPoolAddOnNotEnabledException");

    let (pool_id, client_id) = pool(&idp, AdvancedSecurityModeType::Enforced, 0).await;
    let described = idp
        .describe_risk_configuration()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described");
    let risk = described.risk_configuration().expect("configuration");
    assert_eq!(risk.client_id(), Some("ALL"));
    assert!(risk.compromised_credentials_risk_configuration().is_none());

    block(&idp, &pool_id, None, &[EventFilterType::SignUp]).await;
    block(&idp, &pool_id, Some(&client_id), &[EventFilterType::SignIn]).await;
    let of = |client: Option<&str>| {
        let request = idp
            .describe_risk_configuration()
            .user_pool_id(&pool_id)
            .set_client_id(client.map(str::to_owned));
        async move {
            let described = request.send().await.expect("described");
            let risk = described
                .risk_configuration()
                .expect("configuration")
                .clone();
            let events = risk
                .compromised_credentials_risk_configuration()
                .map(|compromised| compromised.event_filter().to_vec())
                .unwrap_or_default();
            (risk.client_id().map(str::to_owned), events)
        }
    };
    assert_eq!(
        of(None).await,
        (Some("ALL".into()), vec![EventFilterType::SignUp])
    );
    assert_eq!(
        of(Some(&client_id)).await,
        (Some(client_id.clone()), vec![EventFilterType::SignIn])
    );

    // Nothing to set: the client returns to the pool's configuration.
    idp.set_risk_configuration()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("reset");
    assert_eq!(
        of(Some(&client_id)).await,
        (Some("ALL".into()), vec![EventFilterType::SignUp])
    );

    let missing = idp
        .describe_risk_configuration()
        .user_pool_id(&pool_id)
        .client_id("nosuchclient0000000000000")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(error_code(&missing), "ResourceNotFoundException");
}

both_topologies!(
    risk_configuration_round_trips_tests,
    risk_configuration_round_trips
);

async fn breached_passwords_are_blocked(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, AdvancedSecurityModeType::Enforced, 0).await;

    // Without a configuration, nothing is checked.
    idp.sign_up()
        .client_id(&client_id)
        .username("early")
        .password(BREACHED)
        .send()
        .await
        .expect("no configuration, no check");

    block(&idp, &pool_id, None, &[]).await;
    let signed_up = idp
        .sign_up()
        .client_id(&client_id)
        .username("ivy")
        .password(BREACHED)
        .send()
        .await
        .expect_err("refused");
    assert_eq!(error_code(&signed_up), "InvalidPasswordException");
    assert!(
        format!("{signed_up:?}").contains("Provided password cannot be used for security reasons"),
        "{signed_up:?}"
    );

    user(&idp, &pool_id, "jo", STRONG).await;
    let token = sign_in(&idp, &client_id, "jo", STRONG)
        .await
        .expect("signs in");
    assert_eq!(
        change(&idp, &token, STRONG, "Qwerty123")
            .await
            .expect_err("refused"),
        "InvalidPasswordException"
    );

    // An admin may set a breached password; the user's next password sign-in is then blocked
    // and the account must be reset.
    user(&idp, &pool_id, "kai", BREACHED).await;
    assert_eq!(
        sign_in(&idp, &client_id, "kai", BREACHED)
            .await
            .expect_err("refused"),
        "PasswordResetRequiredException"
    );
    let kai = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("kai")
        .send()
        .await
        .expect("kai");
    assert_eq!(kai.user_status(), Some(&UserStatusType::ResetRequired));
    // A wrong password is still just wrong.
    assert_eq!(
        sign_in(&idp, &client_id, "jo", "Wrong-Password-9")
            .await
            .expect_err("refused"),
        "NotAuthorizedException"
    );

    // A client's own configuration replaces the pool's: here sign-in is not watched.
    block(&idp, &pool_id, Some(&client_id), &[EventFilterType::SignUp]).await;
    user(&idp, &pool_id, "lee", BREACHED).await;
    sign_in(&idp, &client_id, "lee", BREACHED)
        .await
        .expect("sign-in isn't watched for this client");

    // AUDIT mode detects but never blocks.
    let (audit_pool, audit_client) = pool(&idp, AdvancedSecurityModeType::Audit, 0).await;
    block(&idp, &audit_pool, None, &[]).await;
    idp.sign_up()
        .client_id(&audit_client)
        .username("max")
        .password(BREACHED)
        .send()
        .await
        .expect("audit only");
}

both_topologies!(
    breached_passwords_are_blocked_tests,
    breached_passwords_are_blocked
);

/// A password that is on no bundled list, only in the operator's file.
const OPERATOR_ONLY: &str = "Zebra-Lantern-42";

async fn an_operator_file_adds_passwords(topology: Topology) {
    let file = std::env::temp_dir().join(format!("hibp-{}.txt", uuid::Uuid::new_v4()));
    let mut lines = [
        format!("{}:12", sha1_upper_hex(OPERATOR_ONLY)),
        format!("{}:3", sha1_upper_hex("Another-One-77")),
        "0000000000000000000000000000000000000000:1".to_owned(),
    ];
    lines.sort();
    std::fs::write(&file, lines.join("\r\n")).expect("file written");
    let path = file.clone();
    let sandbox = Sandbox::start_configured(topology, |config| {
        config.breached_passwords_file = Some(path);
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, AdvancedSecurityModeType::Enforced, 0).await;
    block(&idp, &pool_id, None, &[]).await;
    for (name, password, breached) in [("nia", OPERATOR_ONLY, true), ("oz", STRONG, false)] {
        let result = idp
            .sign_up()
            .client_id(&client_id)
            .username(name)
            .password(password)
            .send()
            .await;
        assert_eq!(result.is_err(), breached, "{password}: {result:?}");
    }
    drop(sandbox);
    let _ = std::fs::remove_file(file);
}

each_topology!(
    an_operator_file_adds_passwords_tests,
    an_operator_file_adds_passwords
);

/// The form Have I Been Pwned lists a password in.
fn sha1_upper_hex(password: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        password.as_bytes(),
    );
    hex::encode_upper(digest.as_ref())
}
