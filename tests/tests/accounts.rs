//! Self-service account flows through the AWS SDK for Rust, in both topologies: SignUp,
//! ConfirmSignUp, ResendConfirmationCode, ForgotPassword and ConfirmForgotPassword, with codes
//! read from the dev outbox; and that without development mode there is no outbox and no
//! delivery.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AdminCreateUserConfigType, AliasAttributeType, AuthFlowType,
    DeliveryMediumType, ExplicitAuthFlowsType, MessageActionType, RecoveryOptionNameType,
    RecoveryOptionType, UserStatusType, UsernameAttributeType, VerificationMessageTemplateType,
    VerifiedAttributeType,
};
use cognate_tests::{Sandbox, attribute, both_topologies, error_code, other_code, secret_hash};

const PASSWORD: &str = "Correct-Horse-1";

/// A pool that auto-verifies email and signs in by email alias, and a password-auth client.
async fn email_pool(idp: &Client) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("accounts")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .alias_attributes(AliasAttributeType::Email),
    )
    .await;
    let client_id = password_client(idp, &pool_id, false).await.0;
    (pool_id, client_id)
}

/// A client allowing USER_PASSWORD_AUTH; its secret if `secret`.
async fn password_client(idp: &Client, pool_id: &str, secret: bool) -> (String, Option<String>) {
    let client = idp
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("app")
        .generate_secret(secret)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("client")
        .user_pool_client
        .expect("client");
    (client.client_id.expect("id"), client.client_secret)
}

/// The newest messages in the dev outbox for the user.
async fn outbox(sandbox: &Sandbox, pool_id: &str, username: &str) -> Vec<serde_json::Value> {
    let (status, body) = sandbox
        .dev_outbox(pool_id, username)
        .await
        .expect("outbox answers");
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().expect("a list")
}

/// The six-digit code in the newest message to the user.
async fn latest_code(sandbox: &Sandbox, pool_id: &str, username: &str) -> String {
    sandbox.latest_code(pool_id, username).await
}

async fn sign_in(
    idp: &Client,
    client_id: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    cognate_tests::password_sign_in(idp, client_id, username, password)
        .await
        .map(|_| ())
}

fn user_attribute(
    user: &aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput,
    name: &str,
) -> Option<String> {
    user.user_attributes()
        .iter()
        .find(|attribute| attribute.name() == name)
        .and_then(|attribute| attribute.value().map(str::to_owned))
}

/// Creates `name` with the email `<name>@example.com` (verified or not) and the permanent
/// password [`PASSWORD`], without an invitation.
async fn user_with_email(idp: &Client, pool_id: &str, name: &str, verified: &str) {
    idp.admin_create_user()
        .user_pool_id(pool_id)
        .username(name)
        .user_attributes(attribute("email", &format!("{name}@example.com")))
        .user_attributes(attribute("email_verified", verified))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("user");
    idp.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(name)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("password");
}

/// ConfirmForgotPassword refuses another code than `code`, then takes `code` with the new
/// password `New-Password-2`.
async fn redeem_reset_code(idp: &Client, client_id: &str, username: &str, code: &str) {
    let reset = |code: String| {
        idp.confirm_forgot_password()
            .client_id(client_id)
            .username(username)
            .confirmation_code(code)
            .password("New-Password-2")
            .send()
    };
    let wrong = reset(other_code(code)).await.expect_err("wrong code");
    assert_eq!(error_code(&wrong), "CodeMismatchException");
    reset(code.to_owned()).await.expect("reset with the code");
}

async fn sign_up_confirm_and_sign_in(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    let email = "jane@example.com";

    let weak = idp
        .sign_up()
        .client_id(&client_id)
        .username("jane")
        .password("short")
        .user_attributes(attribute("email", email))
        .send()
        .await
        .expect_err("weak password");
    assert_eq!(error_code(&weak), "InvalidPasswordException");
    let unknown = idp
        .sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .user_attributes(attribute("custom:nope", "x"))
        .send()
        .await
        .expect_err("not in the schema");
    assert_eq!(error_code(&unknown), "InvalidParameterException");

    let signed_up = idp
        .sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .user_attributes(attribute("email", email))
        .user_attributes(attribute("name", "Jane"))
        .send()
        .await
        .expect("signed up");
    assert!(!signed_up.user_confirmed());
    let details = signed_up.code_delivery_details().expect("a code was sent");
    assert_eq!(details.delivery_medium(), Some(&DeliveryMediumType::Email));
    assert_eq!(details.attribute_name(), Some("email"));
    assert_eq!(details.destination(), Some("j***@e***.com"));
    let user = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("user");
    assert_eq!(user.user_status(), Some(&UserStatusType::Unconfirmed));
    assert_eq!(
        user_attribute(&user, "sub").as_deref(),
        Some(signed_up.user_sub())
    );
    assert_eq!(
        sign_in(&idp, &client_id, "jane", PASSWORD).await,
        Err("UserNotConfirmedException".to_owned())
    );

    let again = idp
        .sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .send()
        .await
        .expect_err("taken");
    assert_eq!(error_code(&again), "UsernameExistsException");

    let messages = outbox(sandbox, &pool_id, "jane").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(
        messages,
        outbox(sandbox, &pool_id, email).await,
        "by destination"
    );
    assert!(outbox(sandbox, &pool_id, "john").await.is_empty());
    assert_eq!(messages[0]["destination"], email);
    assert_eq!(messages[0]["channel"], "EMAIL");
    assert_eq!(messages[0]["subject"], "Your verification code");
    let first = latest_code(sandbox, &pool_id, "jane").await;
    assert_eq!(
        messages[0]["body"],
        format!("Your verification code is {first}. ")
    );

    let wrong = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("jane")
        .confirmation_code(other_code(&first))
        .send()
        .await
        .expect_err("wrong code");
    assert_eq!(error_code(&wrong), "CodeMismatchException");

    let resent = idp
        .resend_confirmation_code()
        .client_id(&client_id)
        .username("jane")
        .send()
        .await
        .expect("resent");
    assert_eq!(
        resent
            .code_delivery_details()
            .and_then(|details| details.destination()),
        Some("j***@e***.com")
    );
    assert_eq!(outbox(sandbox, &pool_id, "jane").await.len(), 2);
    let second = latest_code(sandbox, &pool_id, "jane").await;
    if second != first {
        let old = idp
            .confirm_sign_up()
            .client_id(&client_id)
            .username("jane")
            .confirmation_code(&first)
            .send()
            .await
            .expect_err("the resent code replaces the first");
        assert_eq!(error_code(&old), "CodeMismatchException");
    }
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("jane")
        .confirmation_code(&second)
        .send()
        .await
        .expect("confirmed");
    let user = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("user");
    assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed));
    assert_eq!(
        user_attribute(&user, "email_verified").as_deref(),
        Some("true")
    );

    let twice = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("jane")
        .confirmation_code(&second)
        .send()
        .await
        .expect_err("already confirmed");
    assert_eq!(error_code(&twice), "NotAuthorizedException");
    let resend = idp
        .resend_confirmation_code()
        .client_id(&client_id)
        .username("jane")
        .send()
        .await
        .expect_err("already confirmed");
    assert_eq!(error_code(&resend), "InvalidParameterException");

    // The verified email is now a sign-in alias, and the password is the one signed up with.
    assert_eq!(sign_in(&idp, &client_id, email, PASSWORD).await, Ok(()));
    assert_eq!(sign_in(&idp, &client_id, "jane", PASSWORD).await, Ok(()));
    let unknown = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("nobody")
        .confirmation_code("123456")
        .send()
        .await
        .expect_err("unknown user");
    assert_eq!(error_code(&unknown), "UserNotFoundException");
}

both_topologies!(
    sign_up_confirm_and_sign_in_tests,
    sign_up_confirm_and_sign_in,
    start_dev
);

async fn a_code_confirms_once_under_concurrency(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    idp.sign_up()
        .client_id(&client_id)
        .username("racer")
        .password(PASSWORD)
        .user_attributes(attribute("email", "racer@example.com"))
        .send()
        .await
        .expect("signed up");
    let code = latest_code(sandbox, &pool_id, "racer").await;
    let attempts = (0..8).map(|_| {
        let idp = idp.clone();
        let (client_id, code) = (client_id.clone(), code.clone());
        tokio::spawn(async move {
            idp.confirm_sign_up()
                .client_id(client_id)
                .username("racer")
                .confirmation_code(code)
                .send()
                .await
                .map_err(|error| error_code(&error))
        })
    });
    let outcomes = futures::future::join_all(attempts).await;
    let successes = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Ok(_))))
        .count();
    assert_eq!(successes, 1, "{outcomes:?}");
}

both_topologies!(
    a_code_confirms_once_under_concurrency_tests,
    a_code_confirms_once_under_concurrency,
    start_dev
);

async fn wrong_codes_lock_the_code(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    idp.sign_up()
        .client_id(&client_id)
        .username("guesser")
        .password(PASSWORD)
        .user_attributes(attribute("email", "guesser@example.com"))
        .send()
        .await
        .expect("signed up");
    let code = latest_code(sandbox, &pool_id, "guesser").await;
    for _ in 0..5 {
        let wrong = idp
            .confirm_sign_up()
            .client_id(&client_id)
            .username("guesser")
            .confirmation_code(other_code(&code))
            .send()
            .await
            .expect_err("wrong");
        assert_eq!(error_code(&wrong), "CodeMismatchException");
    }
    let locked = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("guesser")
        .confirmation_code(&code)
        .send()
        .await
        .expect_err("locked");
    assert_eq!(error_code(&locked), "LimitExceededException");
    assert_eq!(
        aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata::message(&locked),
        Some("Attempt limit exceeded, please try after some time.")
    );
    // A new code brings no fresh guesses: the attempts carry over (until the replaced code is
    // 15 minutes old; see the directory's codes tests, which move the clock).
    idp.resend_confirmation_code()
        .client_id(&client_id)
        .username("guesser")
        .send()
        .await
        .expect("resent");
    let fresh = latest_code(sandbox, &pool_id, "guesser").await;
    let still = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("guesser")
        .confirmation_code(fresh)
        .send()
        .await
        .expect_err("still locked");
    assert_eq!(error_code(&still), "LimitExceededException");
}

both_topologies!(
    wrong_codes_lock_the_code_tests,
    wrong_codes_lock_the_code,
    start_dev
);

async fn forgotten_passwords_are_reset_with_a_code(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("recovery")
            .verification_message_template(
                VerificationMessageTemplateType::builder()
                    .email_message("Reset with {####} now")
                    .email_subject("Your code")
                    .build(),
            )
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .priority(1)
                            .name(RecoveryOptionNameType::VerifiedEmail)
                            .build()
                            .expect("valid"),
                    )
                    .build(),
            ),
    )
    .await;
    let client_id = password_client(&idp, &pool_id, false).await.0;
    for (name, verified) in [("verified", "true"), ("unverified", "false")] {
        user_with_email(&idp, &pool_id, name, verified).await;
    }

    let no_code = idp
        .confirm_forgot_password()
        .client_id(&client_id)
        .username("verified")
        .confirmation_code("123456")
        .password("New-Password-2")
        .send()
        .await
        .expect_err("no code was requested");
    assert_eq!(error_code(&no_code), "ExpiredCodeException");

    let sent = idp
        .forgot_password()
        .client_id(&client_id)
        .username("verified")
        .send()
        .await
        .expect("code sent");
    let details = sent.code_delivery_details().expect("details");
    assert_eq!(details.delivery_medium(), Some(&DeliveryMediumType::Email));
    assert_eq!(details.destination(), Some("v***@e***.com"));
    let messages = outbox(sandbox, &pool_id, "verified").await;
    assert_eq!(messages[0]["subject"], "Your code");
    let code = latest_code(sandbox, &pool_id, "verified").await;
    assert_eq!(messages[0]["body"], format!("Reset with {code} now"));

    let weak = idp
        .confirm_forgot_password()
        .client_id(&client_id)
        .username("verified")
        .confirmation_code(&code)
        .password("weak")
        .send()
        .await
        .expect_err("weak");
    assert_eq!(error_code(&weak), "InvalidPasswordException");
    redeem_reset_code(&idp, &client_id, "verified", &code).await;
    assert_eq!(
        sign_in(&idp, &client_id, "verified", PASSWORD).await,
        Err("NotAuthorizedException".to_owned())
    );
    assert_eq!(
        sign_in(&idp, &client_id, "verified", "New-Password-2").await,
        Ok(())
    );
    let replay = idp
        .confirm_forgot_password()
        .client_id(&client_id)
        .username("verified")
        .confirmation_code(&code)
        .password("Another-Password-3")
        .send()
        .await
        .expect_err("single use");
    assert_eq!(error_code(&replay), "ExpiredCodeException");

    let nowhere = idp
        .forgot_password()
        .client_id(&client_id)
        .username("unverified")
        .send()
        .await
        .expect_err("no verified email");
    assert_eq!(error_code(&nowhere), "InvalidParameterException");
    let unknown = idp
        .forgot_password()
        .client_id(&client_id)
        .username("nobody")
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(error_code(&unknown), "UserNotFoundException");
}

both_topologies!(
    forgotten_passwords_are_reset_with_a_code_tests,
    forgotten_passwords_are_reset_with_a_code,
    start_dev
);

async fn sign_up_honours_pool_and_client_settings(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let closed = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("closed")
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(true)
                    .build(),
            ),
    )
    .await;
    let closed_client = password_client(&idp, &closed, false).await.0;
    let refused = idp
        .sign_up()
        .client_id(&closed_client)
        .username("jane")
        .password(PASSWORD)
        .send()
        .await
        .expect_err("admin only");
    assert_eq!(error_code(&refused), "NotAuthorizedException");
    assert_eq!(
        aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata::message(&refused),
        Some("SignUp is not permitted for this user pool")
    );

    // Email as username, a client with a secret, no auto-verification: no code is sent.
    let by_email = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("by-email")
            .username_attributes(UsernameAttributeType::Email),
    )
    .await;
    let (client_id, secret) = password_client(&idp, &by_email, true).await;
    let secret = secret.expect("a secret");
    let email = "sam@example.com";
    let missing = idp
        .sign_up()
        .client_id(&client_id)
        .username(email)
        .password(PASSWORD)
        .send()
        .await
        .expect_err("no secret hash");
    assert_eq!(error_code(&missing), "NotAuthorizedException");
    let wrong = idp
        .sign_up()
        .client_id(&client_id)
        .secret_hash(secret_hash(&secret, "someone-else", &client_id))
        .username(email)
        .password(PASSWORD)
        .send()
        .await
        .expect_err("wrong secret hash");
    assert_eq!(error_code(&wrong), "NotAuthorizedException");
    let signed_up = idp
        .sign_up()
        .client_id(&client_id)
        .secret_hash(secret_hash(&secret, email, &client_id))
        .username(email)
        .password(PASSWORD)
        .send()
        .await
        .expect("signed up");
    assert!(signed_up.code_delivery_details().is_none());
    let user = idp
        .admin_get_user()
        .user_pool_id(&by_email)
        .username(email)
        .send()
        .await
        .expect("found by email");
    assert_eq!(user.username(), signed_up.user_sub());
    assert_eq!(user_attribute(&user, "email").as_deref(), Some(email));
    let taken = idp
        .sign_up()
        .client_id(&client_id)
        .secret_hash(secret_hash(&secret, email, &client_id))
        .username(email)
        .password(PASSWORD)
        .send()
        .await
        .expect_err("email taken");
    assert_eq!(error_code(&taken), "UsernameExistsException");
    let resend = idp
        .resend_confirmation_code()
        .client_id(&client_id)
        .secret_hash(secret_hash(&secret, email, &client_id))
        .username(email)
        .send()
        .await
        .expect_err("nothing to verify");
    assert_eq!(error_code(&resend), "InvalidParameterException");
}

both_topologies!(
    sign_up_honours_pool_and_client_settings_tests,
    sign_up_honours_pool_and_client_settings,
    start_dev
);

async fn confirming_a_taken_alias_needs_force(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    let email = "shared@example.com";
    for name in ["first", "second"] {
        idp.sign_up()
            .client_id(&client_id)
            .username(name)
            .password(PASSWORD)
            .user_attributes(attribute("email", email))
            .send()
            .await
            .expect("signed up");
    }
    let first = latest_code(sandbox, &pool_id, "first").await;
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("first")
        .confirmation_code(first)
        .send()
        .await
        .expect("first confirmed");
    let second = latest_code(sandbox, &pool_id, "second").await;
    let taken = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("second")
        .confirmation_code(&second)
        .send()
        .await
        .expect_err("the email belongs to first");
    assert_eq!(error_code(&taken), "AliasExistsException");
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("second")
        .confirmation_code(&second)
        .force_alias_creation(true)
        .send()
        .await
        .expect("the alias moves");
    let moved_from = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("first")
        .send()
        .await
        .expect("first");
    assert_eq!(
        user_attribute(&moved_from, "email_verified").as_deref(),
        Some("false")
    );
    let by_email = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(email)
        .send()
        .await
        .expect("by alias");
    assert_eq!(by_email.username(), "second");
}

both_topologies!(
    confirming_a_taken_alias_needs_force_tests,
    confirming_a_taken_alias_needs_force,
    start_dev
);

/// With access keys (not development mode) there is no outbox and, with no sender configured,
/// no code delivery.
async fn without_development_mode_nothing_is_delivered(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    let (status, _) = sandbox.dev_outbox(&pool_id, "jane").await.expect("answers");
    assert_eq!(status, 404);
    let failed = idp
        .sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .user_attributes(attribute("email", "jane@example.com"))
        .send()
        .await
        .expect_err("no sender");
    assert_eq!(error_code(&failed), "CodeDeliveryFailureException");
    let missing = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect_err("no user was created");
    assert_eq!(error_code(&missing), "UserNotFoundException");
    // Nothing to deliver: SignUp works.
    let signed_up = idp
        .sign_up()
        .client_id(&client_id)
        .username("john")
        .password(PASSWORD)
        .send()
        .await
        .expect("signed up");
    assert!(signed_up.code_delivery_details().is_none());
}

both_topologies!(
    without_development_mode_nothing_is_delivered_tests,
    without_development_mode_nothing_is_delivered
);

/// The code alone guards ConfirmForgotPassword (the user's status does not change), so this
/// shows the code itself is single-use under concurrency.
async fn a_reset_code_works_once_under_concurrency(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    user_with_email(&idp, &pool_id, "racer", "true").await;
    idp.forgot_password()
        .client_id(&client_id)
        .username("racer")
        .send()
        .await
        .expect("code sent");
    let code = latest_code(sandbox, &pool_id, "racer").await;
    let attempts = (0..8).map(|index| {
        let idp = idp.clone();
        let (client_id, code) = (client_id.clone(), code.clone());
        tokio::spawn(async move {
            idp.confirm_forgot_password()
                .client_id(client_id)
                .username("racer")
                .confirmation_code(code)
                .password(format!("New-Password-{index}"))
                .send()
                .await
                .map_err(|error| error_code(&error))
        })
    });
    let outcomes = futures::future::join_all(attempts).await;
    let successes = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Ok(_))))
        .count();
    assert_eq!(successes, 1, "{outcomes:?}");
}

both_topologies!(
    a_reset_code_works_once_under_concurrency_tests,
    a_reset_code_works_once_under_concurrency,
    start_dev
);

async fn access_token(idp: &Client, client_id: &str, username: &str, password: &str) -> String {
    idp.initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .expect("signed in")
        .authentication_result
        .and_then(|result| result.access_token)
        .expect("an access token")
}

async fn users_read_themselves_and_change_their_password(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    idp.sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .user_attributes(attribute("email", "jane@example.com"))
        .send()
        .await
        .expect("signed up");
    let code = latest_code(sandbox, &pool_id, "jane").await;
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("jane")
        .confirmation_code(code)
        .send()
        .await
        .expect("confirmed");
    let token = access_token(&idp, &client_id, "jane", PASSWORD).await;

    let me = idp
        .get_user()
        .access_token(&token)
        .send()
        .await
        .expect("GetUser");
    assert_eq!(me.username(), "jane");
    let value = |name: &str| {
        me.user_attributes()
            .iter()
            .find(|attribute| attribute.name() == name)
            .and_then(|attribute| attribute.value().map(str::to_owned))
    };
    assert_eq!(value("email").as_deref(), Some("jane@example.com"));
    assert_eq!(value("email_verified").as_deref(), Some("true"));
    assert!(value("sub").is_some());
    let forged = idp
        .get_user()
        .access_token("not-a-token")
        .send()
        .await
        .expect_err("not a token");
    assert_eq!(error_code(&forged), "NotAuthorizedException");

    let wrong = idp
        .change_password()
        .access_token(&token)
        .previous_password("Wrong-Password-1")
        .proposed_password("New-Password-2")
        .send()
        .await
        .expect_err("wrong previous password");
    assert_eq!(error_code(&wrong), "NotAuthorizedException");
    let weak = idp
        .change_password()
        .access_token(&token)
        .previous_password(PASSWORD)
        .proposed_password("weak")
        .send()
        .await
        .expect_err("weak");
    assert_eq!(error_code(&weak), "InvalidPasswordException");
    assert!(
        aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata::message(&weak)
            .is_some_and(|message| message.starts_with("Password does not conform to policy"))
    );
    idp.change_password()
        .access_token(&token)
        .previous_password(PASSWORD)
        .proposed_password("New-Password-2")
        .send()
        .await
        .expect("changed");
    assert_eq!(
        sign_in(&idp, &client_id, "jane", PASSWORD).await,
        Err("NotAuthorizedException".to_owned())
    );
    assert_eq!(
        sign_in(&idp, &client_id, "jane", "New-Password-2").await,
        Ok(())
    );
}

both_topologies!(
    users_read_themselves_and_change_their_password_tests,
    users_read_themselves_and_change_their_password,
    start_dev
);

/// The href of the first link in an HTML message.
/// The first link's target, as a mail client reads it (the attribute's `&amp;` is `&`).
fn first_link(body: &str) -> Option<String> {
    let start = body.find("href=\"")? + "href=\"".len();
    let length = body[start..].find('"')?;
    Some(body[start..start + length].replace("&amp;", "&"))
}

async fn confirm_with_link(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("links")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .verification_message_template(
                VerificationMessageTemplateType::builder()
                    .default_email_option(
                        aws_sdk_cognitoidentityprovider::types::DefaultEmailOptionType::ConfirmWithLink,
                    )
                    .email_subject_by_link("Welcome {username}")
                    .email_message_by_link("Hello {username}, {##Confirm my account##}.")
                    .build(),
            ),
    )
    .await;
    // A client with a secret: the link needs none.
    let (client_id, secret) = password_client(&idp, &pool_id, true).await;
    let secret = secret.expect("a secret");
    let secret_hash = |username: &str| secret_hash(&secret, username, &client_id);
    idp.sign_up()
        .client_id(&client_id)
        .secret_hash(secret_hash("linda+j"))
        .username("linda+j")
        .password(PASSWORD)
        .user_attributes(attribute("email", "linda@example.com"))
        .send()
        .await
        .expect("signed up");
    let message = outbox(sandbox, &pool_id, "linda+j").await[0].clone();
    assert_eq!(message["subject"], "Welcome linda+j");
    let body = message["body"].as_str().expect("body");
    assert!(body.starts_with("Hello linda+j, <a href=\""), "{body}");
    assert!(body.ends_with("\">Confirm my account</a>."), "{body}");
    let link = first_link(body).expect("a link");
    assert!(
        link.starts_with(&format!(
            "{}/confirmUser?client_id={client_id}&user_name=linda%2Bj&confirmation_code=",
            sandbox.endpoint
        )),
        "{link}"
    );

    let http = reqwest::Client::new();
    let tampered = http
        .get(format!("{}0", link))
        .send()
        .await
        .expect("answers");
    assert_eq!(tampered.status().as_u16(), 400);
    assert!(
        tampered
            .text()
            .await
            .expect("page")
            .contains("Invalid verification code")
    );

    let confirmed = http.get(&link).send().await.expect("answers");
    assert_eq!(confirmed.status().as_u16(), 200);
    assert!(
        confirmed
            .text()
            .await
            .expect("page")
            .contains("Your registration has been confirmed!")
    );
    let user = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("linda+j")
        .send()
        .await
        .expect("user");
    assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed));
    assert_eq!(
        user_attribute(&user, "email_verified").as_deref(),
        Some("true")
    );

    // The link works once.
    let again = http.get(&link).send().await.expect("answers");
    assert_eq!(again.status().as_u16(), 400);
    let incomplete = http
        .get(format!(
            "{}/confirmUser?client_id={client_id}",
            sandbox.endpoint
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(incomplete.status().as_u16(), 400);

    // Codes for other purposes still go out as codes.
    idp.forgot_password()
        .client_id(&client_id)
        .secret_hash(secret_hash("linda+j"))
        .username("linda+j")
        .send()
        .await
        .expect("reset code");
    let reset = outbox(sandbox, &pool_id, "linda+j").await[0].clone();
    assert!(
        cognate_tests::six_digits(reset["body"].as_str().expect("body")).is_some(),
        "{reset}"
    );
}

both_topologies!(confirm_with_link_tests, confirm_with_link, start_dev);

async fn status_of(idp: &Client, pool_id: &str, username: &str) -> UserStatusType {
    idp.admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .expect("user")
        .user_status
        .expect("a status")
}

/// AdminResetUserPassword: the user goes to RESET_REQUIRED (sign-in then answers
/// PasswordResetRequiredException, even with the right password) and gets a reset code the way
/// ForgotPassword sends one, which ConfirmForgotPassword redeems; Cognito's errors for users
/// without a verified destination, users who never set a password and admin-only recovery.
async fn admins_reset_passwords(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = email_pool(&idp).await;
    for (name, verified) in [("jane", "true"), ("unverified", "false")] {
        user_with_email(&idp, &pool_id, name, verified).await;
    }
    assert_eq!(sign_in(&idp, &client_id, "jane", PASSWORD).await, Ok(()));
    idp.admin_reset_user_password()
        .user_pool_id(&pool_id)
        .username("jane")
        .client_metadata("reason", "audit")
        .send()
        .await
        .expect("reset");
    assert_eq!(
        status_of(&idp, &pool_id, "jane").await,
        UserStatusType::ResetRequired
    );
    assert_eq!(
        sign_in(&idp, &client_id, "jane", PASSWORD).await,
        Err("PasswordResetRequiredException".to_owned())
    );
    let messages = outbox(sandbox, &pool_id, "jane").await;
    assert_eq!(messages[0]["destination"], "jane@example.com");
    let code = latest_code(sandbox, &pool_id, "jane").await;
    redeem_reset_code(&idp, &client_id, "jane", &code).await;
    assert_eq!(
        sign_in(&idp, &client_id, "jane", "New-Password-2").await,
        Ok(())
    );
    assert_eq!(
        status_of(&idp, &pool_id, "jane").await,
        UserStatusType::Confirmed
    );

    let nowhere = idp
        .admin_reset_user_password()
        .user_pool_id(&pool_id)
        .username("unverified")
        .send()
        .await
        .expect_err("no verified email");
    assert_eq!(error_code(&nowhere), "InvalidParameterException");
    assert_eq!(
        nowhere.into_service_error().meta().message(),
        Some(
            "Cannot reset password for the user as there is no registered/verified email or phone_number"
        )
    );
    assert_eq!(
        sign_in(&idp, &client_id, "unverified", PASSWORD).await,
        Ok(()),
        "a refused reset leaves the user as they were"
    );
    let unknown = idp
        .admin_reset_user_password()
        .user_pool_id(&pool_id)
        .username("nobody")
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(error_code(&unknown), "UserNotFoundException");
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("invited")
        .user_attributes(attribute("email", "invited@example.com"))
        .user_attributes(attribute("email_verified", "true"))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("user");
    let invited = idp
        .admin_reset_user_password()
        .user_pool_id(&pool_id)
        .username("invited")
        .send()
        .await
        .expect_err("a temporary password is not reset");
    assert_eq!(error_code(&invited), "NotAuthorizedException");

    let admin_only = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("admin-only")
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .priority(1)
                            .name(RecoveryOptionNameType::AdminOnly)
                            .build()
                            .expect("valid"),
                    )
                    .build(),
            ),
    )
    .await;
    user_with_email(&idp, &admin_only, "jane", "true").await;
    let no_recovery = idp
        .admin_reset_user_password()
        .user_pool_id(&admin_only)
        .username("jane")
        .send()
        .await
        .expect_err("no self-service recovery");
    assert_eq!(error_code(&no_recovery), "NotAuthorizedException");
}

both_topologies!(
    admins_reset_passwords_tests,
    admins_reset_passwords,
    start_dev
);
