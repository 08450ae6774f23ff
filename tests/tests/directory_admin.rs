//! User administration, groups (and `cognito:groups` in tokens), client and pool settings, tags
//! and ListUsers filters through the AWS SDK for Rust, in both topologies.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AttributeDataType, AttributeType, AuthFlowType, ExplicitAuthFlowsType,
    SchemaAttributeType, SoftwareTokenMfaConfigType, UserPoolMfaType, UserStatusType,
};
use cognate_tests::{Sandbox, both_topologies, error_code, verify_jwt};

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("valid attribute")
}

/// A pool with email aliases and a required `name`, plus a client allowing password sign-in.
async fn pool(idp: &Client) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("admin")
            .alias_attributes(AliasAttributeType::Email)
            .schema(
                SchemaAttributeType::builder()
                    .name("name")
                    .attribute_data_type(AttributeDataType::String)
                    .required(true)
                    .build(),
            )
            .schema(
                SchemaAttributeType::builder()
                    .name("tenant")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(false)
                    .build(),
            ),
    )
    .await;
    let client_id = cognate_tests::password_auth_client(idp, &pool_id).await;
    (pool_id, client_id)
}

/// Creates a user with a permanent password and the given attributes (plus the required name).
async fn user(idp: &Client, pool_id: &str, username: &str, attributes: &[(&str, &str)]) {
    let mut request = idp
        .admin_create_user()
        .user_pool_id(pool_id)
        .username(username)
        .user_attributes(attribute("name", username));
    for (name, value) in attributes {
        request = request.user_attributes(attribute(name, value));
    }
    request.send().await.expect("user created");
    idp.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(username)
        .password("Correct-horse-1")
        .permanent(true)
        .send()
        .await
        .expect("password set");
}

async fn attributes_of(idp: &Client, pool_id: &str, username: &str) -> Vec<(String, String)> {
    idp.admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .expect("found")
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

fn value_of<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|(_, value)| value.as_str())
}

async fn sign_in(idp: &Client, client_id: &str, username: &str) -> Result<String, String> {
    idp.initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .map(|answer| {
            answer
                .authentication_result()
                .and_then(|result| result.id_token())
                .unwrap_or_default()
                .to_owned()
        })
        .map_err(|error| error_code(&error))
}

async fn users_are_administered(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp).await;
    user(
        &idp,
        &pool_id,
        "jane",
        &[
            ("email", "jane@example.com"),
            ("email_verified", "true"),
            ("custom:tenant", "acme"),
        ],
    )
    .await;
    user(&idp, &pool_id, "bob", &[]).await;

    // Disabled users can't sign in; enabled again, they can.
    idp.admin_disable_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("disabled");
    let got = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("found");
    assert!(!got.enabled());
    assert_eq!(
        sign_in(&idp, &client_id, "jane")
            .await
            .expect_err("disabled"),
        "NotAuthorizedException"
    );
    idp.admin_enable_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("enabled");
    sign_in(&idp, &client_id, "jane")
        .await
        .expect("signs in again");
    let missing = idp
        .admin_disable_user()
        .user_pool_id(&pool_id)
        .username("nobody")
        .send()
        .await
        .expect_err("unknown user");
    assert_eq!(error_code(&missing), "UserNotFoundException");

    // A new email is unverified unless the update says so, and stops being a sign-in alias.
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("jane")
        .user_attributes(attribute("email", "jane@new.example.com"))
        .user_attributes(attribute("given_name", "Jane"))
        .send()
        .await
        .expect("updated");
    let attributes = attributes_of(&idp, &pool_id, "jane").await;
    assert_eq!(value_of(&attributes, "email"), Some("jane@new.example.com"));
    assert_eq!(value_of(&attributes, "email_verified"), Some("false"));
    assert_eq!(value_of(&attributes, "given_name"), Some("Jane"));
    for alias in ["jane@example.com", "jane@new.example.com"] {
        let error = idp
            .admin_get_user()
            .user_pool_id(&pool_id)
            .username(alias)
            .send()
            .await
            .expect_err("not an alias");
        assert_eq!(error_code(&error), "UserNotFoundException", "{alias}");
    }
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("jane")
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .expect("verified");
    let by_alias = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane@new.example.com")
        .send()
        .await
        .expect("verified email is an alias");
    assert_eq!(by_alias.username(), "jane");

    // The verified email belongs to jane: bob can have it unverified, not verified.
    let taken = idp
        .admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("bob")
        .user_attributes(attribute("email", "jane@new.example.com"))
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .expect_err("alias taken");
    assert_eq!(error_code(&taken), "AliasExistsException");
    assert_eq!(
        value_of(&attributes_of(&idp, &pool_id, "bob").await, "email"),
        None,
        "a refused update changes nothing"
    );
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("bob")
        .user_attributes(attribute("email", "jane@new.example.com"))
        .send()
        .await
        .expect("unverified duplicates are fine");

    for (name, value, why) in [
        ("sub", "x", "sub"),
        ("custom:tenant", "other", "immutable"),
        ("custom:nope", "x", "not in the schema"),
        ("email_verified", "maybe", "not a boolean"),
        ("name", "", "required"),
    ] {
        let refused = idp
            .admin_update_user_attributes()
            .user_pool_id(&pool_id)
            .username("jane")
            .user_attributes(attribute(name, value))
            .send()
            .await
            .expect_err(why);
        assert_eq!(error_code(&refused), "InvalidParameterException", "{why}");
    }

    // Deleting attributes: optional ones go, required and immutable ones stay.
    idp.admin_delete_user_attributes()
        .user_pool_id(&pool_id)
        .username("jane")
        .user_attribute_names("given_name")
        .send()
        .await
        .expect("deleted");
    let attributes = attributes_of(&idp, &pool_id, "jane").await;
    assert_eq!(value_of(&attributes, "given_name"), None);
    assert_eq!(value_of(&attributes, "custom:tenant"), Some("acme"));
    for name in ["name", "sub", "custom:tenant"] {
        let refused = idp
            .admin_delete_user_attributes()
            .user_pool_id(&pool_id)
            .username("jane")
            .user_attribute_names(name)
            .send()
            .await
            .expect_err("can't be deleted");
        assert_eq!(error_code(&refused), "InvalidParameterException", "{name}");
    }

    // Only UNCONFIRMED users can be confirmed by an administrator.
    let refused = idp
        .admin_confirm_sign_up()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect_err("already confirmed");
    assert_eq!(error_code(&refused), "NotAuthorizedException");
    assert_eq!(
        refused.into_service_error().to_string(),
        "NotAuthorizedException: User cannot be confirmed. Current status is CONFIRMED"
    );

    // Deleting a user frees their username and aliases.
    idp.admin_delete_user()
        .user_pool_id(&pool_id)
        .username("jane@new.example.com")
        .send()
        .await
        .expect("deleted by alias");
    let gone = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(error_code(&gone), "UserNotFoundException");
    let again = idp
        .admin_delete_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect_err("already deleted");
    assert_eq!(error_code(&again), "UserNotFoundException");
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("bob")
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .expect("the alias is free again");
    user(
        &idp,
        &pool_id,
        "jane",
        &[("email", "jane@example.com"), ("email_verified", "true")],
    )
    .await;
    let fresh = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("a new jane");
    assert_eq!(fresh.user_status(), Some(&UserStatusType::Confirmed));
}

both_topologies!(user_administration, users_are_administered);

fn group_names(groups: &[aws_sdk_cognitoidentityprovider::types::GroupType]) -> Vec<String> {
    groups
        .iter()
        .filter_map(|group| group.group_name().map(str::to_owned))
        .collect()
}

async fn groups_are_managed_and_reach_tokens(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, client_id) = pool(&idp).await;
    user(&idp, &pool_id, "jane", &[]).await;
    user(&idp, &pool_id, "bob", &[]).await;
    let role = "arn:aws:iam::123456789012:role/admins";
    let created = idp
        .create_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .description("Administrators")
        .precedence(1)
        .role_arn(role)
        .send()
        .await
        .expect("created")
        .group
        .expect("group");
    assert_eq!(created.group_name(), Some("admins"));
    assert_eq!(created.precedence(), Some(1));
    assert_eq!(created.role_arn(), Some(role));
    assert!(created.creation_date().is_some());
    assert_eq!(created.creation_date(), created.last_modified_date());
    for (name, precedence) in [("readers", Some(5)), ("beta", None), ("editors", Some(0))] {
        idp.create_group()
            .user_pool_id(&pool_id)
            .group_name(name)
            .set_precedence(precedence)
            .send()
            .await
            .expect("created");
    }
    let duplicate = idp
        .create_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .send()
        .await
        .expect_err("exists");
    assert_eq!(error_code(&duplicate), "GroupExistsException");
    let negative = idp
        .create_group()
        .user_pool_id(&pool_id)
        .group_name("bad")
        .precedence(-1)
        .send()
        .await
        .expect_err("negative precedence");
    assert_eq!(error_code(&negative), "InvalidParameterException");

    // UpdateGroup changes what it is given.
    let updated = idp
        .update_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .description("Admins")
        .send()
        .await
        .expect("updated")
        .group
        .expect("group");
    assert_eq!(updated.description(), Some("Admins"));
    assert_eq!(updated.precedence(), Some(1));
    let got = idp
        .get_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .send()
        .await
        .expect("got")
        .group
        .expect("group");
    assert_eq!(got.description(), Some("Admins"));
    assert_eq!(got.role_arn(), Some(role));
    let missing = idp
        .get_group()
        .user_pool_id(&pool_id)
        .group_name("nobody")
        .send()
        .await
        .expect_err("no such group");
    assert_eq!(error_code(&missing), "ResourceNotFoundException");

    // ListGroups pages in name order.
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = idp
            .list_groups()
            .user_pool_id(&pool_id)
            .limit(3)
            .set_next_token(token)
            .send()
            .await
            .expect("listed");
        assert!(page.groups().len() <= 3);
        names.extend(group_names(page.groups()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["admins", "beta", "editors", "readers"]);
    let too_many = idp
        .list_groups()
        .user_pool_id(&pool_id)
        .limit(61)
        .send()
        .await
        .expect_err("limit out of range");
    assert_eq!(error_code(&too_many), "InvalidParameterException");

    // Membership.
    for group in ["readers", "admins", "beta", "editors"] {
        idp.admin_add_user_to_group()
            .user_pool_id(&pool_id)
            .username("jane")
            .group_name(group)
            .send()
            .await
            .expect("added");
    }
    idp.admin_add_user_to_group()
        .user_pool_id(&pool_id)
        .username("jane")
        .group_name("admins")
        .send()
        .await
        .expect("adding twice is fine");
    idp.admin_add_user_to_group()
        .user_pool_id(&pool_id)
        .username("bob")
        .group_name("admins")
        .send()
        .await
        .expect("added");
    let no_group = idp
        .admin_add_user_to_group()
        .user_pool_id(&pool_id)
        .username("bob")
        .group_name("nobody")
        .send()
        .await
        .expect_err("no such group");
    assert_eq!(error_code(&no_group), "ResourceNotFoundException");
    let no_user = idp
        .admin_add_user_to_group()
        .user_pool_id(&pool_id)
        .username("nobody")
        .group_name("admins")
        .send()
        .await
        .expect_err("no such user");
    assert_eq!(error_code(&no_user), "UserNotFoundException");
    let page = idp
        .admin_list_groups_for_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .limit(2)
        .send()
        .await
        .expect("listed");
    assert_eq!(group_names(page.groups()), ["admins", "beta"]);
    let rest = idp
        .admin_list_groups_for_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .limit(2)
        .set_next_token(page.next_token().map(str::to_owned))
        .send()
        .await
        .expect("listed");
    assert_eq!(group_names(rest.groups()), ["editors", "readers"]);
    assert_eq!(rest.next_token(), None);
    let members = idp
        .list_users_in_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .send()
        .await
        .expect("listed");
    let usernames: Vec<&str> = members
        .users()
        .iter()
        .filter_map(|user| user.username())
        .collect();
    assert_eq!(usernames, ["bob", "jane"]);

    // Tokens carry the groups, lowest precedence first, then unranked ones by name.
    let keys: serde_json::Value = reqwest::get(format!(
        "{}/{pool_id}/.well-known/jwks.json",
        sandbox.endpoint
    ))
    .await
    .expect("jwks answers")
    .json()
    .await
    .expect("jwks is JSON");
    let token = sign_in(&idp, &client_id, "jane").await.expect("signed in");
    let claims = verify_jwt(&token, &keys).expect("id token verifies");
    assert_eq!(
        claims["cognito:groups"],
        serde_json::json!(["editors", "admins", "readers", "beta"])
    );

    idp.admin_remove_user_from_group()
        .user_pool_id(&pool_id)
        .username("jane")
        .group_name("readers")
        .send()
        .await
        .expect("removed");
    idp.delete_group()
        .user_pool_id(&pool_id)
        .group_name("editors")
        .send()
        .await
        .expect("deleted");
    let token = sign_in(&idp, &client_id, "jane").await.expect("signed in");
    let claims = verify_jwt(&token, &keys).expect("id token verifies");
    assert_eq!(
        claims["cognito:groups"],
        serde_json::json!(["admins", "beta"])
    );
    let gone = idp
        .list_users_in_group()
        .user_pool_id(&pool_id)
        .group_name("editors")
        .send()
        .await
        .expect_err("deleted group");
    assert_eq!(error_code(&gone), "ResourceNotFoundException");

    // Deleting a user removes their memberships.
    idp.admin_delete_user()
        .user_pool_id(&pool_id)
        .username("bob")
        .send()
        .await
        .expect("deleted");
    user(&idp, &pool_id, "bob", &[]).await;
    let bobs_groups = idp
        .admin_list_groups_for_user()
        .user_pool_id(&pool_id)
        .username("bob")
        .send()
        .await
        .expect("listed");
    assert!(bobs_groups.groups().is_empty());
    let members = idp
        .list_users_in_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .send()
        .await
        .expect("listed");
    assert_eq!(members.users().len(), 1);
    let token = sign_in(&idp, &client_id, "bob").await.expect("signed in");
    let claims = verify_jwt(&token, &keys).expect("id token verifies");
    assert!(claims.get("cognito:groups").is_none());
}

both_topologies!(groups, groups_are_managed_and_reach_tokens);

async fn clients_and_pools_are_reconfigured(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, _) = pool(&idp).await;
    let created = idp
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .generate_secret(true)
        .refresh_token_validity(10)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .callback_urls("https://example.com/callback")
        .send()
        .await
        .expect("created")
        .user_pool_client
        .expect("client");
    let client_id = created.client_id().expect("id").to_owned();

    // Every setting of the update replaces the client's; the ones left out go back to defaults.
    let updated = idp
        .update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .client_name("web-2")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .auth_session_validity(7)
        .send()
        .await
        .expect("updated")
        .user_pool_client
        .expect("client");
    assert_eq!(updated.client_name(), Some("web-2"));
    assert_eq!(updated.client_id(), Some(client_id.as_str()));
    assert_eq!(updated.client_secret(), created.client_secret());
    assert_eq!(updated.creation_date(), created.creation_date());
    assert_eq!(updated.auth_session_validity(), Some(7));
    assert_eq!(updated.refresh_token_validity(), 30);
    assert!(updated.callback_urls().is_empty());
    let described = idp
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("described")
        .user_pool_client
        .expect("client");
    assert_eq!(
        described.explicit_auth_flows(),
        &[ExplicitAuthFlowsType::AllowRefreshTokenAuth]
    );
    assert_eq!(described.client_name(), Some("web-2"));
    let mixed = idp
        .update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::UserPasswordAuth)
        .send()
        .await
        .expect_err("mixed flows");
    assert_eq!(error_code(&mixed), "InvalidParameterException");
    let unknown = idp
        .update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id("nosuchclient")
        .send()
        .await
        .expect_err("unknown client");
    assert_eq!(error_code(&unknown), "ResourceNotFoundException");

    // Custom attributes are added to the schema once.
    idp.add_custom_attributes()
        .user_pool_id(&pool_id)
        .custom_attributes(
            SchemaAttributeType::builder()
                .name("department")
                .attribute_data_type(AttributeDataType::String)
                .build(),
        )
        .send()
        .await
        .expect("added");
    let schema = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool")
        .schema_attributes()
        .iter()
        .filter_map(|attribute| attribute.name().map(str::to_owned))
        .collect::<Vec<_>>();
    assert_eq!(schema.last().map(String::as_str), Some("custom:department"));
    let again = idp
        .add_custom_attributes()
        .user_pool_id(&pool_id)
        .custom_attributes(
            SchemaAttributeType::builder()
                .name("tenant")
                .attribute_data_type(AttributeDataType::String)
                .build(),
        )
        .send()
        .await
        .expect_err("exists");
    assert_eq!(error_code(&again), "InvalidParameterException");
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("ann")
        .user_attributes(attribute("name", "Ann"))
        .user_attributes(attribute("custom:department", "sales"))
        .send()
        .await
        .expect("the new attribute is usable");

    // MFA configuration.
    let initial = idp
        .get_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("got");
    assert_eq!(initial.mfa_configuration(), Some(&UserPoolMfaType::Off));
    let set = idp
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .mfa_configuration(UserPoolMfaType::Optional)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .send()
        .await
        .expect("set");
    assert_eq!(set.mfa_configuration(), Some(&UserPoolMfaType::Optional));
    let got = idp
        .get_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("got");
    assert_eq!(got.mfa_configuration(), Some(&UserPoolMfaType::Optional));
    assert_eq!(
        got.software_token_mfa_configuration()
            .map(|config| config.enabled()),
        Some(true)
    );
    let described = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool");
    assert_eq!(
        described.mfa_configuration(),
        Some(&UserPoolMfaType::Optional)
    );

    // Tags on the pool's ARN.
    let arn = described.arn().expect("arn").to_owned();
    idp.tag_resource()
        .resource_arn(&arn)
        .tags("team", "identity")
        .tags("stage", "test")
        .send()
        .await
        .expect("tagged");
    idp.untag_resource()
        .resource_arn(&arn)
        .tag_keys("stage")
        .send()
        .await
        .expect("untagged");
    let tags = idp
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("listed");
    let tags = tags.tags().expect("tags");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags.get("team").map(String::as_str), Some("identity"));
    let described = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool");
    assert_eq!(
        described
            .user_pool_tags()
            .and_then(|tags| tags.get("team"))
            .map(String::as_str),
        Some("identity")
    );
    let wrong = idp
        .list_tags_for_resource()
        .resource_arn("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_nothere")
        .send()
        .await
        .expect_err("unknown pool");
    assert_eq!(error_code(&wrong), "ResourceNotFoundException");
}

both_topologies!(pool_settings, clients_and_pools_are_reconfigured);

async fn list_users_filters(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, _) = pool(&idp).await;
    for (username, email, family) in [
        ("ann", "ann@example.com", "Smith"),
        ("bea", "bea@example.org", "O\"Brien"),
        ("cat", "cat@example.com", "Smithers"),
        ("dan", "dan@example.com", "Jones"),
        ("eve", "eve@example.com", "Smith"),
    ] {
        user(
            &idp,
            &pool_id,
            username,
            &[("email", email), ("family_name", family)],
        )
        .await;
    }
    idp.admin_disable_user()
        .user_pool_id(&pool_id)
        .username("dan")
        .send()
        .await
        .expect("disabled");
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("fay")
        .user_attributes(attribute("name", "fay"))
        .send()
        .await
        .expect("created");

    let list = |filter: &'static str, limit: i32| {
        let idp = idp.clone();
        let pool_id = pool_id.clone();
        async move {
            let mut names = Vec::new();
            let mut token = None;
            loop {
                let page = idp
                    .list_users()
                    .user_pool_id(&pool_id)
                    .filter(filter)
                    .limit(limit)
                    .set_pagination_token(token)
                    .send()
                    .await
                    .expect("listed");
                assert!(page.users().len() <= usize::try_from(limit).unwrap_or(0));
                names.extend(
                    page.users()
                        .iter()
                        .filter_map(|user| user.username().map(str::to_owned)),
                );
                token = page.pagination_token().map(str::to_owned);
                if token.is_none() {
                    break names;
                }
            }
        }
    };
    assert_eq!(list(r#"family_name = "Smith""#, 60).await, ["ann", "eve"]);
    // Attribute filters list in (value, username) order: both Smiths before the Smithers.
    assert_eq!(
        list(r#"family_name ^= "Smith""#, 1).await,
        ["ann", "eve", "cat"]
    );
    assert_eq!(list(r#"email^="bea@""#, 2).await, ["bea"]);
    assert_eq!(list(r#"family_name = "O\"Brien""#, 60).await, ["bea"]);
    assert_eq!(list(r#"username = "cat""#, 60).await, ["cat"]);
    assert_eq!(list(r#"username ^= "e""#, 1).await, ["eve"]);
    assert_eq!(
        list(r#"cognito:user_status ^= "CONF""#, 2).await,
        ["ann", "bea", "cat", "dan", "eve"]
    );
    assert_eq!(list(r#"status = "Disabled""#, 60).await, ["dan"]);
    assert_eq!(
        list(r#"cognito:user_status = "force_change_password""#, 60).await,
        ["fay"]
    );
    assert_eq!(list(r#"email ^= "nobody""#, 60).await, Vec::<String>::new());
    assert_eq!(list("", 2).await.len(), 6);
    let sub = value_of(&attributes_of(&idp, &pool_id, "eve").await, "sub")
        .expect("sub")
        .to_owned();
    let by_sub = idp
        .list_users()
        .user_pool_id(&pool_id)
        .filter(format!("sub = \"{sub}\""))
        .send()
        .await
        .expect("listed");
    assert_eq!(by_sub.users().len(), 1);
    assert_eq!(by_sub.users()[0].username(), Some("eve"));

    for bad in [
        "email",
        r#"email == "x""#,
        "email = unquoted",
        r#"custom:nothere = "x""#,
    ] {
        let refused = idp
            .list_users()
            .user_pool_id(&pool_id)
            .filter(bad)
            .send()
            .await
            .expect_err("invalid filter");
        assert_eq!(error_code(&refused), "InvalidParameterException", "{bad}");
    }

    // Beyond Cognito: the pool's custom attributes can be searched too (not ones it lacks).
    idp.add_custom_attributes()
        .user_pool_id(&pool_id)
        .custom_attributes(
            SchemaAttributeType::builder()
                .name("team")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("custom attribute added");
    for (username, team) in [("ann", "acme-eu"), ("cat", "acme-us"), ("eve", "globex")] {
        idp.admin_update_user_attributes()
            .user_pool_id(&pool_id)
            .username(username)
            .user_attributes(attribute("custom:team", team))
            .send()
            .await
            .expect("team set");
    }
    assert_eq!(list(r#"custom:team ^= "acme""#, 1).await, ["ann", "cat"]);
    assert_eq!(list(r#"custom:team = "globex""#, 60).await, ["eve"]);
}

both_topologies!(list_users_filter, list_users_filters);

/// Changes to one pool made at the same time all stay: each is a compare-and-set on the stored
/// pool, retried when another got in first.
async fn parallel_pool_changes_all_stay(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (pool_id, _) = pool(&idp).await;
    let arn = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described")
        .user_pool
        .and_then(|pool| pool.arn)
        .expect("arn");
    let tagging = (0..6).map(|i| {
        idp.tag_resource()
            .resource_arn(&arn)
            .tags(format!("key{i}"), format!("value{i}"))
            .send()
    });
    let attributes = (0..2).map(|i| {
        idp.add_custom_attributes()
            .user_pool_id(&pool_id)
            .custom_attributes(
                SchemaAttributeType::builder()
                    .name(format!("extra{i}"))
                    .attribute_data_type(AttributeDataType::String)
                    .build(),
            )
            .send()
    });
    let (tagged, added) = futures::future::join(
        futures::future::join_all(tagging),
        futures::future::join_all(attributes),
    )
    .await;
    assert!(tagged.iter().all(Result::is_ok), "{tagged:?}");
    assert!(added.iter().all(Result::is_ok), "{added:?}");
    let described = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool");
    let tags = described.user_pool_tags().cloned().unwrap_or_default();
    assert_eq!(tags.len(), 6, "{tags:?}");
    for i in 0..2 {
        let name = format!("custom:extra{i}");
        assert!(
            described
                .schema_attributes()
                .iter()
                .any(|attribute| attribute.name() == Some(name.as_str())),
            "{name} kept"
        );
    }
}

both_topologies!(parallel_pool_changes, parallel_pool_changes_all_stay);
