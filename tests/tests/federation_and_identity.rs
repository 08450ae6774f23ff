//! Identity providers (federation service) and identity pools (credential vendor) through the
//! AWS SDK for Rust, in both topologies.

use aws_sdk_cognitoidentityprovider::types::IdentityProviderTypeType;
use cognate_tests::{Sandbox, both_topologies, error_code};

async fn identity_providers_are_stored_per_pool(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("federated")).await;
    let created = idp
        .create_identity_provider()
        .user_pool_id(&pool_id)
        .provider_name("Corp")
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", "corp-client")
        .provider_details("client_secret", "corp-secret")
        .provider_details("authorize_scopes", "openid email")
        .provider_details("oidc_issuer", "https://login.corp.example")
        .provider_details("attributes_request_method", "GET")
        .attribute_mapping("email", "email")
        .idp_identifiers("corp.example")
        .send()
        .await
        .expect("created")
        .identity_provider
        .expect("provider");
    assert_eq!(created.provider_name(), Some("Corp"));
    let described = idp
        .describe_identity_provider()
        .user_pool_id(&pool_id)
        .provider_name("Corp")
        .send()
        .await
        .expect("described")
        .identity_provider
        .expect("provider");
    assert_eq!(
        described.provider_type(),
        Some(&IdentityProviderTypeType::Oidc)
    );
    let details = described.provider_details().expect("details");
    assert_eq!(
        details.get("oidc_issuer").map(String::as_str),
        Some("https://login.corp.example")
    );
    assert_eq!(
        described
            .attribute_mapping()
            .and_then(|mapping| mapping.get("email"))
            .map(String::as_str),
        Some("email")
    );
    assert_eq!(described.idp_identifiers(), ["corp.example"]);

    let again = idp
        .create_identity_provider()
        .user_pool_id(&pool_id)
        .provider_name("Corp")
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", "x")
        .provider_details("authorize_scopes", "openid")
        .provider_details("oidc_issuer", "https://other.example")
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(error_code(&again), "DuplicateProviderException");
    let no_pool = idp
        .create_identity_provider()
        .user_pool_id("us-east-1_missing1")
        .provider_name("Corp")
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", "x")
        .provider_details("authorize_scopes", "openid")
        .provider_details("oidc_issuer", "https://other.example")
        .send()
        .await
        .expect_err("no such pool");
    assert_eq!(error_code(&no_pool), "ResourceNotFoundException");

    let listed = idp
        .list_identity_providers()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.providers().len(), 1);
    idp.delete_identity_provider()
        .user_pool_id(&pool_id)
        .provider_name("Corp")
        .send()
        .await
        .expect("deleted");
    let gone = idp
        .describe_identity_provider()
        .user_pool_id(&pool_id)
        .provider_name("Corp")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(error_code(&gone), "ResourceNotFoundException");
}

both_topologies!(identity_providers, identity_providers_are_stored_per_pool);

async fn identity_pools_vend_unauthenticated_identities(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentity::error::ProvideErrorMetadata;
    let identity = sandbox.identity();
    let open = identity
        .create_identity_pool()
        .identity_pool_name("open")
        .allow_unauthenticated_identities(true)
        .send()
        .await
        .expect("created");
    let open_id = open.identity_pool_id().to_owned();
    assert!(open_id.starts_with("us-east-1:"), "{open_id}");
    assert_eq!(open.allow_classic_flow(), Some(false));
    let closed_id = identity
        .create_identity_pool()
        .identity_pool_name("closed")
        .allow_unauthenticated_identities(false)
        .send()
        .await
        .expect("created")
        .identity_pool_id()
        .to_owned();

    let described = identity
        .describe_identity_pool()
        .identity_pool_id(&open_id)
        .send()
        .await
        .expect("described");
    assert_eq!(described.identity_pool_name(), "open");
    assert!(described.allow_unauthenticated_identities());
    let listed = identity
        .list_identity_pools()
        .max_results(10)
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.identity_pools().len(), 2);

    let first = identity
        .get_id()
        .identity_pool_id(&open_id)
        .send()
        .await
        .expect("identity");
    let second = identity
        .get_id()
        .identity_pool_id(&open_id)
        .send()
        .await
        .expect("identity");
    assert!(
        first
            .identity_id()
            .is_some_and(|id| id.starts_with("us-east-1:"))
    );
    assert_ne!(first.identity_id(), second.identity_id());
    let refused = identity
        .get_id()
        .identity_pool_id(&closed_id)
        .send()
        .await
        .expect_err("unauthenticated refused");
    assert_eq!(refused.code(), Some("NotAuthorizedException"));
    assert_eq!(
        refused.message(),
        Some("Unauthenticated access is not supported for this identity pool.")
    );

    identity
        .delete_identity_pool()
        .identity_pool_id(&open_id)
        .send()
        .await
        .expect("deleted");
    let gone = identity
        .describe_identity_pool()
        .identity_pool_id(&open_id)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
}

both_topologies!(
    identity_pools,
    identity_pools_vend_unauthenticated_identities
);
