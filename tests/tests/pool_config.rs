//! Pool and client configuration beyond the basics: client secret rotation, user pool domains,
//! resource servers and custom scopes, and group roles in ID tokens, through the AWS SDK for Rust
//! in both topologies.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ClientSecretDescriptorType, CustomDomainConfigType, DomainStatusType,
    ExplicitAuthFlowsType, OAuthFlowType, ResourceServerScopeType, ResourceServerType,
};
use cognate_tests::{Sandbox, both_topologies, error_code, secret_hash, verify_jwt};

/// A pool with one confirmed user `jane` (password `Correct-horse-1`).
async fn pool_with_jane(idp: &Client) -> String {
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("config")).await;
    cognate_tests::confirmed_user(idp, &pool_id, "jane", "Correct-horse-1").await;
    pool_id
}

/// AddUserPoolClientSecret, with a chosen secret or a generated one.
async fn add_secret(
    idp: &Client,
    pool_id: &str,
    client_id: &str,
    chosen: Option<&str>,
) -> Result<ClientSecretDescriptorType, String> {
    idp.add_user_pool_client_secret()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .set_client_secret(chosen.map(str::to_owned))
        .send()
        .await
        .map(|answer| answer.client_secret_descriptor.expect("descriptor"))
        .map_err(|error| error_code(&error))
}

async fn delete_secret(
    idp: &Client,
    pool_id: &str,
    client_id: &str,
    secret_id: &str,
) -> Result<(), String> {
    idp.delete_user_pool_client_secret()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .client_secret_id(secret_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| error_code(&error))
}

/// ListUserPoolClientSecrets.
async fn list_secrets(
    idp: &Client,
    pool_id: &str,
    client_id: &str,
) -> Result<Vec<ClientSecretDescriptorType>, String> {
    idp.list_user_pool_client_secrets()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .await
        .map(|answer| answer.client_secrets.unwrap_or_default())
        .map_err(|error| error_code(&error))
}

/// GetTokensFromRefreshToken with a client secret.
async fn refresh_with_secret(
    idp: &Client,
    client_id: &str,
    refresh_token: &str,
    secret: &str,
) -> Result<(), String> {
    idp.get_tokens_from_refresh_token()
        .client_id(client_id)
        .refresh_token(refresh_token)
        .client_secret(secret)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| error_code(&error))
}

/// USER_PASSWORD_AUTH as jane with a SECRET_HASH made from `secret`; the refresh token on success.
async fn sign_in(idp: &Client, client_id: &str, secret: &str) -> Result<String, String> {
    idp.initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .auth_parameters("SECRET_HASH", secret_hash(secret, "jane", client_id))
        .send()
        .await
        .map(|answer| {
            answer
                .authentication_result
                .and_then(|result| result.refresh_token)
                .expect("tokens")
        })
        .map_err(|error| error_code(&error))
}

/// A client holds up to two secrets; SECRET_HASH (sign-in, refresh, SignUp) and the client secret
/// (GetTokensFromRefreshToken) work with either, and a deleted one stops working at once.
async fn client_secrets_rotate(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = pool_with_jane(&idp).await;
    let client = idp
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("confidential")
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("client")
        .user_pool_client
        .expect("client");
    let client_id = client.client_id().expect("id").to_owned();
    let old_secret = client.client_secret().expect("secret").to_owned();

    let listed = list_secrets(&idp, &pool_id, &client_id)
        .await
        .expect("listed");
    let [original] = listed.as_slice() else {
        panic!("one secret at first: {listed:?}");
    };
    let old_id = original.client_secret_id().expect("id").to_owned();
    assert!(old_id.starts_with(&format!("{client_id}--")), "{old_id}");
    assert!(
        original.client_secret_value().is_none(),
        "values never listed"
    );
    assert!(original.client_secret_create_date().is_some());
    sign_in(&idp, &client_id, &old_secret)
        .await
        .expect("the original secret signs in");

    let added = add_secret(&idp, &pool_id, &client_id, None)
        .await
        .expect("added");
    let new_secret = added
        .client_secret_value()
        .expect("generated value")
        .to_owned();
    let new_id = added.client_secret_id().expect("id").to_owned();
    assert_ne!(new_secret, old_secret);
    assert_ne!(new_id, old_id);

    let refresh_token = sign_in(&idp, &client_id, &new_secret)
        .await
        .expect("the new secret signs in");
    sign_in(&idp, &client_id, &old_secret)
        .await
        .expect("the old secret still signs in");
    idp.initiate_auth()
        .client_id(&client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", &refresh_token)
        .auth_parameters("SECRET_HASH", secret_hash(&new_secret, "jane", &client_id))
        .send()
        .await
        .expect("refresh with the new secret's hash");
    refresh_with_secret(&idp, &client_id, &refresh_token, &new_secret)
        .await
        .expect("refresh with the new client secret");
    assert_eq!(
        add_secret(&idp, &pool_id, &client_id, None).await.err(),
        Some("LimitExceededException".to_owned()),
        "two secrets at most"
    );

    delete_secret(&idp, &pool_id, &client_id, &old_id)
        .await
        .expect("old secret deleted");
    assert_eq!(
        sign_in(&idp, &client_id, &old_secret).await,
        Err("NotAuthorizedException".to_owned()),
        "the deleted secret no longer signs in"
    );
    assert_eq!(
        refresh_with_secret(&idp, &client_id, &refresh_token, &old_secret).await,
        Err("NotAuthorizedException".to_owned()),
        "the deleted secret no longer refreshes"
    );
    sign_in(&idp, &client_id, &new_secret)
        .await
        .expect("the new secret signs in");
    let described = idp
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("described")
        .user_pool_client
        .expect("client");
    assert_eq!(described.client_secret(), Some(new_secret.as_str()));
    assert_eq!(
        delete_secret(&idp, &pool_id, &client_id, &new_id).await,
        Err("InvalidParameterException".to_owned()),
        "the last secret stays"
    );
    assert_eq!(
        delete_secret(&idp, &pool_id, &client_id, &old_id).await,
        Err("ResourceNotFoundException".to_owned()),
        "already gone"
    );

    // A secret the administrator chooses is not echoed back, and works where SECRET_HASH is
    // checked by the directory too (SignUp).
    let chosen = "Chosen_secret+0123456789abcdef";
    assert_eq!(
        add_secret(&idp, &pool_id, &client_id, Some("too-short"))
            .await
            .err(),
        Some("InvalidParameterException".to_owned()),
        "constraints checked"
    );
    let added = add_secret(&idp, &pool_id, &client_id, Some(chosen))
        .await
        .expect("chosen secret added");
    assert!(added.client_secret_value().is_none());
    idp.sign_up()
        .client_id(&client_id)
        .username("john")
        .password("Correct-horse-1")
        .secret_hash(secret_hash(chosen, "john", &client_id))
        .send()
        .await
        .expect("SignUp accepts the chosen secret's hash");
    let listed = list_secrets(&idp, &pool_id, &client_id)
        .await
        .expect("listed");
    let ids: Vec<_> = listed
        .iter()
        .filter_map(ClientSecretDescriptorType::client_secret_id)
        .collect();
    assert_eq!(
        ids,
        [new_id.as_str(), added.client_secret_id().expect("id")]
    );

    let public = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("public"),
    )
    .await;
    assert_eq!(
        add_secret(&idp, &pool_id, &public, None).await.err(),
        Some("InvalidParameterException".to_owned()),
        "public clients have no secret to rotate"
    );
    assert_eq!(
        list_secrets(&idp, &pool_id, "nosuchclient").await.err(),
        Some("ResourceNotFoundException".to_owned())
    );
}

both_topologies!(client_secret_rotation, client_secrets_rotate);

/// Parallel AddUserPoolClientSecret calls on a client with one secret: exactly one wins, the
/// others hit the limit, and the client ends with two secrets (no write undoes another).
async fn parallel_secret_additions(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("race")).await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("confidential")
            .generate_secret(true),
    )
    .await;
    let attempts =
        futures::future::join_all((0..8).map(|_| add_secret(&idp, &pool_id, &client_id, None)))
            .await;
    let added: Vec<_> = attempts
        .iter()
        .filter_map(|attempt| attempt.as_ref().ok())
        .collect();
    assert_eq!(added.len(), 1, "{attempts:?}");
    assert!(
        attempts
            .iter()
            .filter_map(|attempt| attempt.as_ref().err())
            .all(|code| code == "LimitExceededException"),
        "{attempts:?}"
    );
    let listed = list_secrets(&idp, &pool_id, &client_id)
        .await
        .expect("listed");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].client_secret_id(), added[0].client_secret_id());
}

both_topologies!(parallel_client_secrets, parallel_secret_additions);

fn certificate(arn: &str) -> CustomDomainConfigType {
    CustomDomainConfigType::builder()
        .certificate_arn(arn)
        .build()
        .expect("valid")
}

async fn describe_pool(
    idp: &Client,
    pool_id: &str,
) -> aws_sdk_cognitoidentityprovider::types::UserPoolType {
    idp.describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("pool")
}

/// DescribeUserPoolDomain's `DomainDescription`.
async fn describe_domain(
    idp: &Client,
    domain: &str,
) -> aws_sdk_cognitoidentityprovider::types::DomainDescriptionType {
    idp.describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .expect("described")
        .domain_description
        .expect("a description, empty for unknown domains")
}

/// CreateUserPoolDomain with a prefix (no certificate) or a custom domain; the error code on failure.
async fn create_domain(
    idp: &Client,
    pool_id: &str,
    domain: &str,
    certificate_arn: Option<&str>,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::create_user_pool_domain::CreateUserPoolDomainOutput,
    String,
> {
    idp.create_user_pool_domain()
        .user_pool_id(pool_id)
        .domain(domain)
        .set_custom_domain_config(certificate_arn.map(certificate))
        .send()
        .await
        .map_err(|error| error_code(&error))
}

/// A pool has one prefix and one custom domain at most, a name belongs to one pool, and the
/// pool's description names its domains; a pool with a domain cannot be deleted.
async fn pool_domains(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("domains")).await;
    let other = cognate_tests::create_pool(idp.create_user_pool().pool_name("other")).await;

    let created = create_domain(&idp, &pool_id, "my-app-login", None)
        .await
        .expect("prefix domain");
    assert_eq!(created.managed_login_version(), Some(1));
    assert_eq!(
        created.cloud_front_domain(),
        None,
        "prefix domains have none"
    );
    let described = describe_domain(&idp, "my-app-login").await;
    assert_eq!(described.user_pool_id(), Some(pool_id.as_str()));
    assert_eq!(described.domain(), Some("my-app-login"));
    assert_eq!(described.status(), Some(&DomainStatusType::Active));
    assert!(described.aws_account_id().is_some_and(|id| !id.is_empty()));
    assert!(described.custom_domain_config().is_none());

    for (pool, domain, certificate_arn, why) in [
        (
            &pool_id,
            "second-prefix",
            None,
            "one prefix domain per pool",
        ),
        (&other, "my-app-login", None, "the name is taken"),
        (&other, "my-cognito-app", None, "reserved word"),
        (&other, "My_App", None, "invalid characters"),
        (
            &other,
            "localhost",
            Some("arn:aws:acm:us-east-1:000000000000:certificate/x"),
            "not fully qualified",
        ),
    ] {
        assert_eq!(
            create_domain(&idp, pool, domain, certificate_arn)
                .await
                .err(),
            Some("InvalidParameterException".to_owned()),
            "{why}"
        );
    }
    assert_eq!(
        create_domain(&idp, "us-east-1_nosuch", "free-name", None)
            .await
            .err(),
        Some("ResourceNotFoundException".to_owned())
    );

    let first_certificate = "arn:aws:acm:us-east-1:000000000000:certificate/first";
    let custom = idp
        .create_user_pool_domain()
        .user_pool_id(&pool_id)
        .domain("auth.example.com")
        .custom_domain_config(certificate(first_certificate))
        .managed_login_version(2)
        .send()
        .await
        .expect("custom domain");
    assert_eq!(custom.managed_login_version(), Some(2));
    assert!(
        custom.cloud_front_domain().is_some(),
        "where to point the name"
    );
    let pool = describe_pool(&idp, &pool_id).await;
    assert_eq!(pool.domain(), Some("my-app-login"));
    assert_eq!(pool.custom_domain(), Some("auth.example.com"));

    let second_certificate = "arn:aws:acm:us-east-1:000000000000:certificate/second";
    let updated = idp
        .update_user_pool_domain()
        .user_pool_id(&pool_id)
        .domain("auth.example.com")
        .custom_domain_config(certificate(second_certificate))
        .send()
        .await
        .expect("certificate replaced");
    assert_eq!(updated.managed_login_version(), Some(2), "version kept");
    let described = describe_domain(&idp, "auth.example.com").await;
    assert_eq!(
        described
            .custom_domain_config()
            .map(CustomDomainConfigType::certificate_arn),
        Some(second_certificate)
    );
    let foreign = idp
        .update_user_pool_domain()
        .user_pool_id(&other)
        .domain("auth.example.com")
        .managed_login_version(1)
        .send()
        .await
        .expect_err("another pool's domain");
    assert_eq!(error_code(&foreign), "InvalidParameterException");

    let blocked = idp
        .delete_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect_err("domains first");
    assert_eq!(error_code(&blocked), "InvalidParameterException");
    for domain in ["my-app-login", "auth.example.com"] {
        idp.delete_user_pool_domain()
            .user_pool_id(&pool_id)
            .domain(domain)
            .send()
            .await
            .expect("domain deleted");
    }
    let gone = describe_domain(&idp, "my-app-login").await;
    assert_eq!(gone.domain(), None);
    let pool = describe_pool(&idp, &pool_id).await;
    assert_eq!((pool.domain(), pool.custom_domain()), (None, None));
    create_domain(&idp, &other, "my-app-login", None)
        .await
        .expect("a freed name can be taken");
    idp.delete_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("a pool without domains can be deleted");
}

both_topologies!(user_pool_domains, pool_domains);

fn scope(name: &str) -> ResourceServerScopeType {
    ResourceServerScopeType::builder()
        .scope_name(name)
        .scope_description(format!("{name} access"))
        .build()
        .expect("valid scope")
}

fn scope_names(server: &ResourceServerType) -> Vec<&str> {
    server
        .scopes()
        .iter()
        .map(ResourceServerScopeType::scope_name)
        .collect()
}

/// CreateUserPoolClient allowing the client-credentials grant with `scopes`; the error code on
/// failure.
async fn client_with_scopes(
    idp: &Client,
    pool_id: &str,
    scopes: &[&str],
) -> Result<String, String> {
    idp.create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("machine")
        .generate_secret(true)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .set_allowed_o_auth_scopes(Some(
            scopes.iter().map(|scope| (*scope).to_owned()).collect(),
        ))
        .send()
        .await
        .map(|answer| {
            answer
                .user_pool_client
                .and_then(|client| client.client_id)
                .expect("client id")
        })
        .map_err(|error| error_code(&error))
}

/// Resource servers hold custom scopes; a client may allow the standard scopes and the custom
/// scopes that exist, and nothing else (ScopeDoesNotExistException).
async fn resource_servers_and_scopes(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("servers")).await;
    let api = "https://api.example.com";
    let created = idp
        .create_resource_server()
        .user_pool_id(&pool_id)
        .identifier(api)
        .name("Example API")
        .scopes(scope("read"))
        .scopes(scope("write"))
        .send()
        .await
        .expect("created")
        .resource_server
        .expect("server");
    assert_eq!(created.identifier(), Some(api));
    assert_eq!(created.user_pool_id(), Some(pool_id.as_str()));
    assert_eq!(scope_names(&created), ["read", "write"]);
    let duplicate = idp
        .create_resource_server()
        .user_pool_id(&pool_id)
        .identifier(api)
        .name("Again")
        .send()
        .await
        .expect_err("identifiers are unique in a pool");
    assert_eq!(error_code(&duplicate), "InvalidParameterException");
    let bad_identifier = idp
        .create_resource_server()
        .user_pool_id(&pool_id)
        .identifier("has space")
        .name("Bad")
        .send()
        .await
        .expect_err("pattern checked");
    assert_eq!(error_code(&bad_identifier), "InvalidParameterException");
    idp.create_resource_server()
        .user_pool_id(&pool_id)
        .identifier("orders")
        .name("Orders")
        .send()
        .await
        .expect("a server without scopes");

    let first = idp
        .list_resource_servers()
        .user_pool_id(&pool_id)
        .max_results(1)
        .send()
        .await
        .expect("first page");
    let next = first.next_token().expect("a second page").to_owned();
    let second = idp
        .list_resource_servers()
        .user_pool_id(&pool_id)
        .max_results(1)
        .next_token(next)
        .send()
        .await
        .expect("second page");
    assert!(second.next_token().is_none());
    let listed: Vec<_> = first
        .resource_servers()
        .iter()
        .chain(second.resource_servers())
        .filter_map(ResourceServerType::identifier)
        .collect();
    assert_eq!(listed, [api, "orders"]);

    let client_id = client_with_scopes(&idp, &pool_id, &["openid", "https://api.example.com/read"])
        .await
        .expect("existing scopes are allowed");
    for missing in [
        "https://api.example.com/delete",
        "orders/read",
        "nowhere/read",
        "Cognito",
    ] {
        assert_eq!(
            client_with_scopes(&idp, &pool_id, &[missing]).await.err(),
            Some("ScopeDoesNotExistException".to_owned()),
            "{missing}"
        );
    }

    let updated = idp
        .update_resource_server()
        .user_pool_id(&pool_id)
        .identifier(api)
        .name("Example API v2")
        .scopes(scope("read"))
        .scopes(scope("delete"))
        .send()
        .await
        .expect("updated")
        .resource_server
        .expect("server");
    assert_eq!(updated.name(), Some("Example API v2"));
    let described = idp
        .describe_resource_server()
        .user_pool_id(&pool_id)
        .identifier(api)
        .send()
        .await
        .expect("described")
        .resource_server
        .expect("server");
    assert_eq!(
        scope_names(&described),
        ["read", "delete"],
        "scopes replaced"
    );
    let update_client = |scopes: Vec<String>| {
        idp.update_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(&client_id)
            .allowed_o_auth_flows_user_pool_client(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .set_allowed_o_auth_scopes(Some(scopes))
            .send()
    };
    update_client(vec![format!("{api}/delete")])
        .await
        .expect("the new scope is allowed");
    let removed = update_client(vec![format!("{api}/write")])
        .await
        .expect_err("the removed scope is gone");
    assert_eq!(error_code(&removed), "ScopeDoesNotExistException");

    let unknown = idp
        .update_resource_server()
        .user_pool_id(&pool_id)
        .identifier("nowhere")
        .name("Nowhere")
        .send()
        .await
        .expect_err("unknown server");
    assert_eq!(error_code(&unknown), "ResourceNotFoundException");
    idp.delete_resource_server()
        .user_pool_id(&pool_id)
        .identifier("orders")
        .send()
        .await
        .expect("deleted");
    let gone = idp
        .describe_resource_server()
        .user_pool_id(&pool_id)
        .identifier("orders")
        .send()
        .await
        .expect_err("deleted server");
    assert_eq!(error_code(&gone), "ResourceNotFoundException");
    let again = idp
        .delete_resource_server()
        .user_pool_id(&pool_id)
        .identifier("orders")
        .send()
        .await
        .expect_err("already deleted");
    assert_eq!(error_code(&again), "ResourceNotFoundException");
}

both_topologies!(resource_servers, resource_servers_and_scopes);

/// Jane's ID and access token claims after a password sign-in, verified against the pool's keys.
async fn token_claims(
    sandbox: &Sandbox,
    pool_id: &str,
    client_id: &str,
) -> (serde_json::Value, serde_json::Value) {
    let result = sandbox
        .idp()
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect("signed in")
        .authentication_result
        .expect("tokens");
    let jwks = sandbox.jwks(pool_id).await;
    (
        verify_jwt(result.id_token().expect("ID token"), &jwks).expect("valid ID token"),
        verify_jwt(result.access_token().expect("access token"), &jwks)
            .expect("valid access token"),
    )
}

/// `cognito:roles` lists the roles of the user's groups and `cognito:preferred_role` is that of
/// the group with the lowest precedence; a tie between different roles leaves it out.
async fn group_roles_in_id_tokens(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = pool_with_jane(&idp).await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth),
    )
    .await;
    let role = |name: &str| format!("arn:aws:iam::000000000000:role/{name}");
    let join = |group: &str, role_arn: Option<String>, precedence: Option<i32>| {
        let idp = idp.clone();
        let pool_id = pool_id.clone();
        let group = group.to_owned();
        async move {
            idp.create_group()
                .user_pool_id(&pool_id)
                .group_name(&group)
                .set_role_arn(role_arn)
                .set_precedence(precedence)
                .send()
                .await
                .expect("group");
            idp.admin_add_user_to_group()
                .user_pool_id(&pool_id)
                .username("jane")
                .group_name(&group)
                .send()
                .await
                .expect("member");
        }
    };

    let (id, _) = token_claims(sandbox, &pool_id, &client_id).await;
    assert!(id.get("cognito:roles").is_none(), "no groups, no roles");
    join("readers", Some(role("Reader")), None).await;
    join("staff", Some(role("Staff")), Some(5)).await;
    join("admins", Some(role("Admin")), Some(1)).await;
    join("plain", None, Some(0)).await;
    let (id, access) = token_claims(sandbox, &pool_id, &client_id).await;
    assert_eq!(
        id["cognito:roles"],
        serde_json::json!([role("Admin"), role("Staff"), role("Reader")]),
        "every role, by precedence; a group without a role adds none"
    );
    assert_eq!(id["cognito:preferred_role"], role("Admin"));
    assert_eq!(
        id["cognito:groups"],
        serde_json::json!(["plain", "admins", "staff", "readers"])
    );
    assert!(access.get("cognito:roles").is_none(), "ID tokens only");
    assert!(access.get("cognito:preferred_role").is_none());

    join("auditors", Some(role("Auditor")), Some(1)).await;
    let (id, _) = token_claims(sandbox, &pool_id, &client_id).await;
    assert!(
        id.get("cognito:preferred_role").is_none(),
        "two roles tied at precedence 1: no preferred role, {id}"
    );
    assert_eq!(id["cognito:roles"].as_array().map(Vec::len), Some(4));
    idp.update_group()
        .user_pool_id(&pool_id)
        .group_name("auditors")
        .role_arn(role("Admin"))
        .precedence(1)
        .send()
        .await
        .expect("same role as admins");
    let (id, _) = token_claims(sandbox, &pool_id, &client_id).await;
    assert_eq!(
        id["cognito:preferred_role"],
        role("Admin"),
        "a tie on one role keeps it"
    );
}

both_topologies!(group_roles, group_roles_in_id_tokens);
