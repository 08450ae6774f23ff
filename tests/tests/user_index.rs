//! The user attribute index through the AWS SDK for Rust, in both topologies: look-ups by
//! username, alias and `sub`, and ListUsers filters, after updates and deletes and while users
//! are being added.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AttributeDataType, MessageActionType, SchemaAttributeType, UserType,
};
use cognate_common::ServiceKind;
use cognate_tests::{Sandbox, attribute, both_topologies, create_pool, error_code};

async fn indexed_pool(idp: &Client) -> String {
    create_pool(
        idp.create_user_pool()
            .pool_name("indexed")
            .alias_attributes(AliasAttributeType::Email)
            .schema(
                SchemaAttributeType::builder()
                    .name("tenant")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build(),
            ),
    )
    .await
}

async fn create(idp: &Client, pool_id: &str, username: &str, email: &str, tenant: &str) -> String {
    idp.admin_create_user()
        .user_pool_id(pool_id)
        .username(username)
        .user_attributes(attribute("email", email))
        .user_attributes(attribute("email_verified", "true"))
        .user_attributes(attribute("custom:tenant", tenant))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("user created")
        .user
        .and_then(|user| {
            user.attributes()
                .iter()
                .find(|attribute| attribute.name() == "sub")
                .and_then(|attribute| attribute.value().map(str::to_owned))
        })
        .expect("a sub")
}

fn usernames(users: &[UserType]) -> Vec<String> {
    users
        .iter()
        .filter_map(|user| user.username().map(str::to_owned))
        .collect()
}

async fn filtered(idp: &Client, pool_id: &str, filter: &str) -> Vec<String> {
    let listed = idp
        .list_users()
        .user_pool_id(pool_id)
        .filter(filter)
        .send()
        .await
        .expect("users listed");
    usernames(listed.users())
}

async fn username_of(idp: &Client, pool_id: &str, name: &str) -> Result<String, String> {
    idp.admin_get_user()
        .user_pool_id(pool_id)
        .username(name)
        .send()
        .await
        .map(|user| user.username().to_owned())
        .map_err(|error| error_code(&error))
}

async fn lookups_and_filters_follow_every_write(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = indexed_pool(&idp).await;
    let alice = create(&idp, &pool_id, "alice", "alice@example.com", "acme").await;
    create(&idp, &pool_id, "carol", "al@other.com", "acme").await;
    create(&idp, &pool_id, "bob", "bob@example.com", "globex").await;

    assert_eq!(
        username_of(&idp, &pool_id, "alice").await,
        Ok("alice".into())
    );
    assert_eq!(
        username_of(&idp, &pool_id, "Alice@Example.com").await,
        Ok("alice".into())
    );
    assert_eq!(
        username_of(&idp, &pool_id, &alice).await,
        Ok("alice".into())
    );
    // (value, username) order: "al@other.com" comes before "alice@example.com".
    assert_eq!(
        filtered(&idp, &pool_id, r#"email ^= "al""#).await,
        ["carol", "alice"]
    );
    assert_eq!(
        filtered(&idp, &pool_id, r#"email = "alice@example.com""#).await,
        ["alice"]
    );
    assert_eq!(
        filtered(&idp, &pool_id, r#"email = "alice@""#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(&idp, &pool_id, r#"custom:tenant = "acme""#).await,
        ["alice", "carol"]
    );

    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("alice")
        .user_attributes(attribute("email", "alicia@example.com"))
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .expect("attributes updated");
    assert_eq!(
        filtered(&idp, &pool_id, r#"email = "alice@example.com""#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(&idp, &pool_id, r#"email ^= "alic""#).await,
        ["alice"]
    );
    assert_eq!(
        username_of(&idp, &pool_id, "alicia@example.com").await,
        Ok("alice".into())
    );
    assert_eq!(
        username_of(&idp, &pool_id, "alice@example.com").await,
        Err("UserNotFoundException".into())
    );

    idp.admin_delete_user_attributes()
        .user_pool_id(&pool_id)
        .username("alice")
        .user_attribute_names("custom:tenant")
        .send()
        .await
        .expect("attribute deleted");
    assert_eq!(
        filtered(&idp, &pool_id, r#"custom:tenant ^= "ac""#).await,
        ["carol"]
    );

    idp.admin_disable_user()
        .user_pool_id(&pool_id)
        .username("bob")
        .send()
        .await
        .expect("disabled");
    assert_eq!(
        filtered(&idp, &pool_id, r#"status = "Disabled""#).await,
        ["bob"]
    );
    assert_eq!(
        filtered(&idp, &pool_id, r#"status = "Enabled""#).await,
        ["alice", "carol"]
    );

    idp.admin_delete_user()
        .user_pool_id(&pool_id)
        .username("alice")
        .send()
        .await
        .expect("deleted");
    assert_eq!(
        filtered(&idp, &pool_id, r#"email ^= "al""#).await,
        ["carol"]
    );
    assert_eq!(
        sandbox
            .stored_rows(
                ServiceKind::Directory,
                "user_attribute_index",
                &pool_id,
                Some(&alice)
            )
            .await,
        0,
        "a deleted user leaves no index rows"
    );
    idp.delete_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("pool deleted");
    assert_eq!(
        sandbox
            .stored_rows(
                ServiceKind::Directory,
                "user_attribute_index",
                &pool_id,
                None
            )
            .await,
        0,
        "a deleted pool leaves no index rows"
    );
}

both_topologies!(
    lookups_and_filters_follow_every_write_tests,
    lookups_and_filters_follow_every_write
);

async fn prefix_pages_stay_stable_while_users_are_added(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = indexed_pool(&idp).await;
    for index in 0..5 {
        create(
            &idp,
            &pool_id,
            &format!("user{index}"),
            &format!("p{index}@example.com"),
            "t",
        )
        .await;
    }
    create(&idp, &pool_id, "outsider", "q@example.com", "t").await;
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = idp
            .list_users()
            .user_pool_id(&pool_id)
            .filter(r#"email ^= "p""#)
            .limit(2)
            .set_pagination_token(token.clone())
            .send()
            .await
            .expect("a page");
        seen.extend(usernames(page.users()));
        pages += 1;
        if pages == 1 {
            // One sorts before the pages already read, one after: only the later one is listed.
            create(&idp, &pool_id, "early", "p00@example.com", "t").await;
            create(&idp, &pool_id, "late", "p9@example.com", "t").await;
        }
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["user0", "user1", "user2", "user3", "user4", "late"]);
    let refused = idp
        .list_users()
        .user_pool_id(&pool_id)
        .filter(r#"email ^= "p""#)
        .pagination_token("bm90LWEtcG9zaXRpb24")
        .send()
        .await
        .expect_err("a token from no attribute page");
    assert_eq!(error_code(&refused), "InvalidParameterException");
}

both_topologies!(
    prefix_pages_stay_stable_while_users_are_added_tests,
    prefix_pages_stay_stable_while_users_are_added
);
