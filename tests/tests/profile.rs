//! What signed-in users do to their own account, through the AWS SDK for Rust in both
//! topologies (development mode, codes read from the dev outbox): UpdateUserAttributes with and
//! without `AttributesRequireVerificationBeforeUpdate`, VerifyUserAttribute,
//! GetUserAttributeVerificationCode, DeleteUserAttributes and DeleteUser.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, ExplicitAuthFlowsType, UserAttributeUpdateSettingsType,
    VerifiedAttributeType,
};
use cognate_tests::{Sandbox, attribute, both_topologies, error_code, password_sign_in};

const PASSWORD: &str = "Correct-Horse-1";

/// A pool that auto-verifies email and signs in by email alias; `verify_first` holds new emails
/// back until they are verified. Returns the pool and a password-auth client.
async fn pool(idp: &Client, verify_first: bool) -> (String, String) {
    let mut request = idp
        .create_user_pool()
        .pool_name("profile")
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .alias_attributes(AliasAttributeType::Email);
    if verify_first {
        request = request.user_attribute_update_settings(
            UserAttributeUpdateSettingsType::builder()
                .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                .build(),
        );
    }
    let pool_id = cognate_tests::create_pool(request).await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    (pool_id, client_id)
}

async fn sign_in(idp: &Client, client_id: &str, name: &str) -> Result<String, String> {
    let tokens = password_sign_in(idp, client_id, name, PASSWORD).await?;
    Ok(tokens.access_token().expect("access token").to_owned())
}

/// Signs `username` up with `email`, confirms with the code and returns an access token.
async fn confirmed_user(
    sandbox: &Sandbox,
    (pool_id, client_id): (&str, &str),
    username: &str,
    email: &str,
) -> String {
    let idp = sandbox.idp();
    idp.sign_up()
        .client_id(client_id)
        .username(username)
        .password(PASSWORD)
        .user_attributes(attribute("email", email))
        .send()
        .await
        .expect("signed up");
    idp.confirm_sign_up()
        .client_id(client_id)
        .username(username)
        .confirmation_code(sandbox.latest_code(pool_id, username).await)
        .send()
        .await
        .expect("confirmed");
    sign_in(&idp, client_id, username).await.expect("signs in")
}

async fn attributes_of(idp: &Client, token: &str) -> Vec<(String, String)> {
    idp.get_user()
        .access_token(token)
        .send()
        .await
        .expect("GetUser")
        .user_attributes()
        .iter()
        .map(|attribute| {
            (
                attribute.name().to_owned(),
                attribute.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn value_of(attributes: &[(String, String)], name: &str) -> Option<String> {
    attributes
        .iter()
        .find(|(attribute, _)| attribute == name)
        .map(|(_, value)| value.clone())
}

async fn a_new_email_waits_for_verification(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, true).await;
    let token = confirmed_user(sandbox, (&pool_id, &client_id), "jane", "jane@example.com").await;

    let updated = idp
        .update_user_attributes()
        .access_token(&token)
        .user_attributes(attribute("email", "jane@new.example.com"))
        .user_attributes(attribute("given_name", "Jane"))
        .send()
        .await
        .expect("updated");
    let deliveries = updated.code_delivery_details_list();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].attribute_name(), Some("email"));
    assert_eq!(deliveries[0].destination(), Some("j***@n***.com"));

    // The old, verified email stays in force; the new one cannot sign in yet.
    let attributes = attributes_of(&idp, &token).await;
    assert_eq!(
        value_of(&attributes, "email").as_deref(),
        Some("jane@example.com")
    );
    assert_eq!(
        value_of(&attributes, "email_verified").as_deref(),
        Some("true")
    );
    assert_eq!(value_of(&attributes, "given_name").as_deref(), Some("Jane"));
    assert!(sign_in(&idp, &client_id, "jane@example.com").await.is_ok());
    assert!(
        sign_in(&idp, &client_id, "jane@new.example.com")
            .await
            .is_err()
    );

    // An unverified value cannot receive a reset code either: it goes to the old address.
    let reset = idp
        .forgot_password()
        .client_id(&client_id)
        .username("jane")
        .send()
        .await
        .expect("reset code sent");
    assert_eq!(
        reset
            .code_delivery_details()
            .and_then(|details| details.destination()),
        Some("j***@e***.com")
    );

    // End users cannot mark their own values verified.
    let forged = idp
        .update_user_attributes()
        .access_token(&token)
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .expect_err("not writable");
    assert_eq!(error_code(&forged), "NotAuthorizedException");

    let code = sandbox.latest_code(&pool_id, "jane@new.example.com").await;
    let wrong = idp
        .verify_user_attribute()
        .access_token(&token)
        .attribute_name("email")
        .code(if code == "000000" { "000001" } else { "000000" })
        .send()
        .await
        .expect_err("wrong code");
    assert_eq!(error_code(&wrong), "CodeMismatchException");
    idp.verify_user_attribute()
        .access_token(&token)
        .attribute_name("email")
        .code(&code)
        .send()
        .await
        .expect("verified");
    let attributes = attributes_of(&idp, &token).await;
    assert_eq!(
        value_of(&attributes, "email").as_deref(),
        Some("jane@new.example.com")
    );
    assert_eq!(
        value_of(&attributes, "email_verified").as_deref(),
        Some("true")
    );
    assert!(
        sign_in(&idp, &client_id, "jane@new.example.com")
            .await
            .is_ok()
    );
    assert!(sign_in(&idp, &client_id, "jane@example.com").await.is_err());
    let again = idp
        .verify_user_attribute()
        .access_token(&token)
        .attribute_name("email")
        .code(&code)
        .send()
        .await
        .expect_err("codes are single-use");
    assert_eq!(error_code(&again), "ExpiredCodeException");
}

both_topologies!(
    a_new_email_waits_for_verification_tests,
    a_new_email_waits_for_verification,
    start_dev
);

async fn attributes_change_verify_and_go(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp, false).await;
    let token = confirmed_user(sandbox, (&pool_id, &client_id), "john", "john@example.com").await;

    // Without the setting a new email applies at once, unverified: it is no sign-in alias.
    idp.update_user_attributes()
        .access_token(&token)
        .user_attributes(attribute("email", "john@new.example.com"))
        .user_attributes(attribute("family_name", "Doe"))
        .send()
        .await
        .expect("updated");
    let attributes = attributes_of(&idp, &token).await;
    assert_eq!(
        value_of(&attributes, "email").as_deref(),
        Some("john@new.example.com")
    );
    assert_eq!(
        value_of(&attributes, "email_verified").as_deref(),
        Some("false")
    );
    assert!(
        sign_in(&idp, &client_id, "john@new.example.com")
            .await
            .is_err()
    );
    assert!(sign_in(&idp, &client_id, "john@example.com").await.is_err());

    let resent = idp
        .get_user_attribute_verification_code()
        .access_token(&token)
        .attribute_name("email")
        .send()
        .await
        .expect("code sent");
    assert_eq!(
        resent
            .code_delivery_details()
            .and_then(|details| details.destination()),
        Some("j***@n***.com")
    );
    idp.verify_user_attribute()
        .access_token(&token)
        .attribute_name("email")
        .code(sandbox.latest_code(&pool_id, "john@new.example.com").await)
        .send()
        .await
        .expect("verified");
    assert!(
        sign_in(&idp, &client_id, "john@new.example.com")
            .await
            .is_ok()
    );

    let unverifiable = idp
        .get_user_attribute_verification_code()
        .access_token(&token)
        .attribute_name("family_name")
        .send()
        .await
        .expect_err("only email and phone are verified");
    assert_eq!(error_code(&unverifiable), "InvalidParameterException");

    idp.delete_user_attributes()
        .access_token(&token)
        .user_attribute_names("family_name")
        .send()
        .await
        .expect("deleted");
    assert_eq!(
        value_of(&attributes_of(&idp, &token).await, "family_name"),
        None
    );

    idp.delete_user()
        .access_token(&token)
        .send()
        .await
        .expect("deleted");
    let gone = idp
        .get_user()
        .access_token(&token)
        .send()
        .await
        .expect_err("the user is gone");
    assert_eq!(error_code(&gone), "NotAuthorizedException");
    let missing = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("john")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(error_code(&missing), "UserNotFoundException");
}

both_topologies!(
    attributes_change_verify_and_go_tests,
    attributes_change_verify_and_go,
    start_dev
);
