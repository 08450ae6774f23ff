//! User pools, app clients and users through the AWS SDK for Rust, in both topologies.

use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AliasAttributeType, AttributeType,
    CustomEmailLambdaVersionConfigType, CustomSmsLambdaVersionConfigType, DeletionProtectionType,
    ExplicitAuthFlowsType, LambdaConfigType, PasswordPolicyType, RecoveryOptionNameType,
    RecoveryOptionType, UserPoolMfaType, UserPoolPolicyType, UserStatusType, UsernameAttributeType,
    VerifiedAttributeType,
};
use cognate_tests::{Sandbox, both_topologies, error_code};

fn lambda(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

/// Every option of the `aws cognito-idp create-user-pool` command in the skeleton issue.
fn full_lambda_config() -> LambdaConfigType {
    LambdaConfigType::builder()
        .pre_sign_up(lambda("pre-signup"))
        .custom_message(lambda("custom-message"))
        .post_confirmation(lambda("post-confirmation"))
        .pre_authentication(lambda("pre-auth"))
        .post_authentication(lambda("post-auth"))
        .define_auth_challenge(lambda("define"))
        .create_auth_challenge(lambda("create"))
        .verify_auth_challenge_response(lambda("verify"))
        .pre_token_generation(lambda("pre-token"))
        .user_migration(lambda("migrate"))
        .custom_sms_sender(
            CustomSmsLambdaVersionConfigType::builder()
                .lambda_version("V1_0".into())
                .lambda_arn(lambda("sms"))
                .build()
                .expect("valid"),
        )
        .custom_email_sender(
            CustomEmailLambdaVersionConfigType::builder()
                .lambda_version("V1_0".into())
                .lambda_arn(lambda("email"))
                .build()
                .expect("valid"),
        )
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/example")
        .build()
}

fn strict_policy() -> UserPoolPolicyType {
    UserPoolPolicyType::builder()
        .password_policy(
            PasswordPolicyType::builder()
                .minimum_length(8)
                .require_uppercase(true)
                .require_lowercase(true)
                .require_numbers(true)
                .require_symbols(true)
                .temporary_password_validity_days(7)
                .build(),
        )
        .build()
}

async fn pools_round_trip_every_option(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let created = idp
        .create_user_pool()
        .pool_name("Users")
        .policies(strict_policy())
        .deletion_protection(DeletionProtectionType::Active)
        .lambda_config(full_lambda_config())
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .alias_attributes(AliasAttributeType::Email)
        .alias_attributes(AliasAttributeType::PreferredUsername)
        .mfa_configuration(UserPoolMfaType::Optional)
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
        )
        .send()
        .await
        .expect("pool created")
        .user_pool
        .expect("pool in answer");
    let id = created.id().expect("id").to_owned();
    assert!(id.starts_with("us-east-1_"), "{id}");
    assert_eq!(
        created.arn(),
        Some(format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{id}").as_str())
    );

    let described = idp
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool");
    assert_eq!(described.name(), Some("Users"));
    assert_eq!(
        described.deletion_protection(),
        Some(&DeletionProtectionType::Active)
    );
    assert_eq!(
        described.mfa_configuration(),
        Some(&UserPoolMfaType::Optional)
    );
    assert_eq!(described.lambda_config(), Some(&full_lambda_config()));
    assert_eq!(
        described.policies().and_then(|p| p.password_policy()),
        strict_policy().password_policy()
    );
    assert_eq!(
        described.auto_verified_attributes(),
        &[VerifiedAttributeType::Email]
    );
    assert_eq!(
        described.alias_attributes(),
        &[
            AliasAttributeType::Email,
            AliasAttributeType::PreferredUsername
        ]
    );
    assert!(described.username_attributes().is_empty());
    let recovery = described
        .account_recovery_setting()
        .expect("recovery setting");
    assert_eq!(
        recovery.recovery_mechanisms()[0].name(),
        &RecoveryOptionNameType::VerifiedEmail
    );
    assert_eq!(described.estimated_number_of_users(), 0);
    assert_eq!(
        described.schema_attributes().first().and_then(|a| a.name()),
        Some("sub")
    );
    assert!(described.creation_date().is_some());

    // The same with email as the username.
    let by_email = idp
        .create_user_pool()
        .pool_name("ByEmail")
        .username_attributes(UsernameAttributeType::Email)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .send()
        .await
        .expect("pool created")
        .user_pool
        .expect("pool");
    let described = idp
        .describe_user_pool()
        .user_pool_id(by_email.id().expect("id"))
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool");
    assert_eq!(
        described.username_attributes(),
        &[UsernameAttributeType::Email]
    );
    assert!(described.alias_attributes().is_empty());
    assert_eq!(
        described.deletion_protection(),
        Some(&DeletionProtectionType::Inactive)
    );
    assert_eq!(described.mfa_configuration(), Some(&UserPoolMfaType::Off));

    // Deletion protection refuses the delete until an update turns it off.
    let refused = idp
        .delete_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .expect_err("protected");
    assert_eq!(error_code(&refused), "InvalidParameterException");
    idp.update_user_pool()
        .user_pool_id(&id)
        .deletion_protection(DeletionProtectionType::Inactive)
        .send()
        .await
        .expect("updated");
    let updated = idp
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool");
    // UpdateUserPool resets what it leaves out, as Cognito does.
    assert_eq!(updated.mfa_configuration(), Some(&UserPoolMfaType::Off));
    assert_eq!(
        updated.alias_attributes().len(),
        2,
        "alias attributes are fixed at creation"
    );
    idp.delete_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .expect("deleted");
    let gone = idp
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(error_code(&gone), "ResourceNotFoundException");
    assert_eq!(
        gone.into_service_error().to_string(),
        format!("ResourceNotFoundException: User pool {id} does not exist.")
    );
}

both_topologies!(pools_round_trip, pools_round_trip_every_option);

async fn pools_and_clients_list_and_paginate(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let mut ids = Vec::new();
    for index in 0..3 {
        let pool = idp
            .create_user_pool()
            .pool_name(format!("pool-{index}"))
            .send()
            .await
            .expect("created");
        ids.push(pool.user_pool.and_then(|pool| pool.id).expect("id"));
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = idp
            .list_user_pools()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .expect("listed");
        assert!(page.user_pools().len() <= 2);
        seen.extend(
            page.user_pools()
                .iter()
                .filter_map(|pool| pool.id().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    ids.sort();
    seen.sort();
    assert_eq!(seen, ids);

    let pool_id = &ids[0];
    let client = idp
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("web")
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("client created")
        .user_pool_client
        .expect("client");
    let client_id = client.client_id().expect("id").to_owned();
    assert_eq!(client_id.len(), 26);
    assert!(
        client
            .client_secret()
            .is_some_and(|secret| secret.len() >= 40)
    );
    assert_eq!(client.refresh_token_validity(), 30);
    assert_eq!(client.enable_token_revocation(), Some(true));
    assert_eq!(client.auth_session_validity(), Some(3));
    let described = idp
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("described")
        .user_pool_client
        .expect("client");
    assert_eq!(described.client_secret(), client.client_secret());
    assert_eq!(described.explicit_auth_flows().len(), 2);
    let listed = idp
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.user_pool_clients().len(), 1);
    assert_eq!(listed.user_pool_clients()[0].client_name(), Some("web"));
    let wrong_pool = idp
        .describe_user_pool_client()
        .user_pool_id(&ids[1])
        .client_id(&client_id)
        .send()
        .await;
    assert_eq!(
        error_code(&wrong_pool.expect_err("other pool's client")),
        "ResourceNotFoundException"
    );
    idp.delete_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("deleted");
    let listed = idp
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .send()
        .await
        .expect("listed");
    assert!(listed.user_pool_clients().is_empty());
}

both_topologies!(listing, pools_and_clients_list_and_paginate);

async fn users_are_created_read_and_listed(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("people")
            .alias_attributes(AliasAttributeType::Email),
    )
    .await;
    let email = AttributeType::builder()
        .name("email")
        .value("jane@example.com")
        .build()
        .expect("valid");
    let verified = AttributeType::builder()
        .name("email_verified")
        .value("true")
        .build()
        .expect("valid");
    let created = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .user_attributes(email.clone())
        .user_attributes(verified.clone())
        .temporary_password("Temp-pass-1")
        .send()
        .await
        .expect("user created")
        .user
        .expect("user");
    assert_eq!(created.username(), Some("jane"));
    assert_eq!(
        created.user_status(),
        Some(&UserStatusType::ForceChangePassword)
    );
    assert_eq!(created.attributes()[0].name(), "sub");
    let sub = created.attributes()[0].value().expect("sub").to_owned();

    let duplicate = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await;
    assert_eq!(
        error_code(&duplicate.expect_err("taken")),
        "UsernameExistsException"
    );
    let same_email = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("janet")
        .user_attributes(email.clone())
        .user_attributes(verified.clone())
        .send()
        .await;
    assert_eq!(
        error_code(&same_email.expect_err("alias taken")),
        "AliasExistsException"
    );
    let weak = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("weak")
        .temporary_password("short")
        .send()
        .await;
    assert_eq!(
        error_code(&weak.expect_err("weak")),
        "InvalidPasswordException"
    );
    let unknown_attribute = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("odd")
        .user_attributes(
            AttributeType::builder()
                .name("custom:nope")
                .value("x")
                .build()
                .expect("valid"),
        )
        .send()
        .await;
    assert_eq!(
        error_code(&unknown_attribute.expect_err("not in schema")),
        "InvalidParameterException"
    );

    for name in ["jane", "jane@example.com", sub.as_str()] {
        let user = idp
            .admin_get_user()
            .user_pool_id(&pool_id)
            .username(name)
            .send()
            .await
            .expect("found");
        assert_eq!(user.username(), "jane", "looked up as {name}");
        assert!(
            user.user_attributes()
                .iter()
                .any(|attribute| attribute.value() == Some("jane@example.com"))
        );
    }
    let missing = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("nobody")
        .send()
        .await;
    let missing = missing.expect_err("unknown");
    assert_eq!(error_code(&missing), "UserNotFoundException");

    idp.admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("jane")
        .password("Permanent-pass-1")
        .permanent(true)
        .send()
        .await
        .expect("password set");
    let user = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("found");
    assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed));
    let weak = idp
        .admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("jane")
        .password("weakpass")
        .permanent(true)
        .send()
        .await;
    let weak = weak.expect_err("weak");
    assert_eq!(error_code(&weak), "InvalidPasswordException");

    for name in ["bob", "carol", "dave"] {
        idp.admin_create_user()
            .user_pool_id(&pool_id)
            .username(name)
            .send()
            .await
            .expect("created");
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = idp
            .list_users()
            .user_pool_id(&pool_id)
            .limit(3)
            .attributes_to_get("email")
            .set_pagination_token(token)
            .send()
            .await
            .expect("listed");
        for user in page.users() {
            names.push(user.username().expect("name").to_owned());
            assert!(
                user.attributes()
                    .iter()
                    .all(|attribute| attribute.name() == "email")
            );
        }
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["bob", "carol", "dave", "jane"]);
    let described = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described");
    assert_eq!(
        described
            .user_pool()
            .map(|pool| pool.estimated_number_of_users()),
        Some(4)
    );
}

both_topologies!(users, users_are_created_read_and_listed);

async fn email_usernames_are_stored_under_the_sub(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("by-email")
            .username_attributes(UsernameAttributeType::Email),
    )
    .await;
    let user = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("Jane@Example.com")
        .send()
        .await
        .expect("created")
        .user
        .expect("user");
    let sub = user.attributes()[0].value().expect("sub").to_owned();
    assert_eq!(user.username(), Some(sub.as_str()));
    let found = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane@example.com")
        .send()
        .await
        .expect("by email");
    assert_eq!(found.username(), sub);
    let again = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("jane@example.com")
        .send()
        .await;
    assert_eq!(
        error_code(&again.expect_err("email taken")),
        "UsernameExistsException"
    );
    let not_email = idp
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await;
    assert_eq!(
        error_code(&not_email.expect_err("not an email")),
        "InvalidParameterException"
    );
}

both_topologies!(email_usernames, email_usernames_are_stored_under_the_sub);

/// Uniqueness is the store's: N parallel creates of one name (or one email alias) make exactly
/// one user.
async fn parallel_creates_make_one_user(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("race")
            .username_attributes(UsernameAttributeType::Email),
    )
    .await;
    let creates = (0..8).map(|_| {
        idp.admin_create_user()
            .user_pool_id(&pool_id)
            .username("racer@example.com")
            .send()
    });
    let outcomes = futures::future::join_all(creates).await;
    let created = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(created, 1, "exactly one create wins");
    for outcome in outcomes.into_iter().filter_map(Result::err) {
        assert_eq!(error_code(&outcome), "UsernameExistsException");
    }
    let listed = idp
        .list_users()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.users().len(), 1);
}

both_topologies!(parallel_creates, parallel_creates_make_one_user);
