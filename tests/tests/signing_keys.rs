//! Signing-key rotation through the AWS SDK for Rust, in both topologies, with every node on a
//! clock the test moves: the next key is in the JWKS before it signs, tokens signed by the old
//! key keep working (GetUser, and offline verification against the JWKS) after the switch, and
//! the old key leaves the JWKS once its tokens have expired.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ExplicitAuthFlowsType, TimeUnitsType, TokenValidityUnitsType,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognate_common::clock::ManualClock;
use cognate_tests::{Sandbox, Topology, each_topology, verify_jwt};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The ID and access tokens of one password sign-in.
async fn sign_in(idp: &Client, client_id: &str) -> (String, String) {
    let answer = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .send()
        .await
        .expect("signed in");
    let tokens = answer.authentication_result().expect("tokens");
    (
        tokens.id_token().expect("id token").to_owned(),
        tokens.access_token().expect("access token").to_owned(),
    )
}

/// A member of a token's JOSE header.
fn header(token: &str, member: &str) -> String {
    let header = token.split('.').next().expect("a header");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64")).expect("json");
    header[member].as_str().expect("member").to_owned()
}

fn kid(token: &str) -> String {
    header(token, "kid")
}

fn alg(token: &str) -> String {
    header(token, "alg")
}

async fn keys_rotate_without_failing_tokens(topology: Topology) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let sandbox = Sandbox::start_dev_with_clock(topology, clock.clone())
        .await
        .expect("sandbox starts");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("rotation")).await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .access_token_validity(1)
            .id_token_validity(1)
            .token_validity_units(
                TokenValidityUnitsType::builder()
                    .access_token(TimeUnitsType::Days)
                    .id_token(TimeUnitsType::Days)
                    .build(),
            ),
    )
    .await;
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", "Correct-horse-1").await;
    let (_, first_access) = sign_in(&idp, &client_id).await;
    assert_eq!(
        sandbox.jwks(&pool_id).await["keys"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // The default rotation is 90 days; two hours before it, a day-long token from the old key.
    clock.advance(DAY * 90 - HOUR * 2);
    let (old_id, old_access) = sign_in(&idp, &client_id).await;
    assert_eq!(kid(&old_access), kid(&first_access));
    // Half an hour before: the next keys are published, the old ones still sign.
    clock.advance(HOUR + HOUR / 2);
    let published_early = sandbox.jwks(&pool_id).await;
    assert_eq!(published_early["keys"].as_array().map(Vec::len), Some(4));
    let (_, still_old) = sign_in(&idp, &client_id).await;
    assert_eq!(kid(&still_old), kid(&old_access));

    // Past the switch: new tokens carry the new key, which verifiers that fetched the JWKS
    // before the switch already know; the old key's tokens keep working.
    clock.advance(HOUR);
    let (new_id, new_access) = sign_in(&idp, &client_id).await;
    assert_ne!(kid(&new_access), kid(&old_access));
    verify_jwt(&new_id, &published_early).expect("the new key was published in advance");
    verify_jwt(&new_access, &published_early).expect("the new key was published in advance");
    let current = sandbox.jwks(&pool_id).await;
    verify_jwt(&old_id, &current).expect("the old key is still published");
    verify_jwt(&old_access, &current).expect("the old key is still published");
    for token in [&old_access, &new_access] {
        idp.get_user()
            .access_token(token)
            .send()
            .await
            .expect("both keys' tokens are accepted");
    }

    // A day after the switch every old-key token has expired, and the old keys are gone.
    clock.advance(DAY + HOUR);
    let later = sandbox.jwks(&pool_id).await;
    assert_eq!(later["keys"].as_array().map(Vec::len), Some(2));
    assert!(verify_jwt(&old_access, &later).is_err());
    let (_, latest) = sign_in(&idp, &client_id).await;
    assert_eq!(kid(&latest), kid(&new_access));
}

each_topology!(signing_key_rotation, keys_rotate_without_failing_tokens);

/// A pool tagged `cognate:signing-algorithm` = `ES256` signs with P-256 keys: its JWKS lists EC
/// keys, its tokens verify against them and authorize GetUser, and the discovery document says
/// ES256. Untagged, it rotates back to RS256 as a scheduled rotation would: the RSA keys are
/// published first, sign an hour later, and the ES256 tokens keep working meanwhile.
async fn pools_may_sign_with_es256(topology: Topology) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let sandbox = Sandbox::start_dev_with_clock(topology, clock.clone())
        .await
        .expect("sandbox starts");
    let idp = sandbox.idp();
    let pool = idp
        .create_user_pool()
        .pool_name("ec")
        .user_pool_tags("cognate:signing-algorithm", "ES256")
        .send()
        .await
        .expect("pool")
        .user_pool
        .expect("pool");
    let (pool_id, arn) = (pool.id.expect("id"), pool.arn.expect("arn"));
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .access_token_validity(1)
            .token_validity_units(
                TokenValidityUnitsType::builder()
                    .access_token(TimeUnitsType::Days)
                    .build(),
            ),
    )
    .await;
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", "Correct-horse-1").await;
    let (id_token, access_token) = sign_in(&idp, &client_id).await;
    assert_eq!(
        (alg(&id_token), alg(&access_token)),
        ("ES256".into(), "ES256".into())
    );
    let jwks = sandbox.jwks(&pool_id).await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(
            (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
            (
                &"EC".into(),
                &"P-256".into(),
                &"ES256".into(),
                &"sig".into()
            )
        );
    }
    let claims = verify_jwt(&id_token, &jwks).expect("the ID token verifies");
    assert_eq!(claims["cognito:username"], "jane");
    verify_jwt(&access_token, &jwks).expect("the access token verifies");
    idp.get_user()
        .access_token(&access_token)
        .send()
        .await
        .expect("an ES256 access token authorizes GetUser");
    let issuer = claims["iss"].as_str().expect("issuer");
    let discovery: serde_json::Value =
        reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
            .await
            .expect("discovery answers")
            .json()
            .await
            .expect("JSON");
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );

    idp.untag_resource()
        .resource_arn(&arn)
        .tag_keys("cognate:signing-algorithm")
        .send()
        .await
        .expect("untagged");
    let (_, still_ec) = sign_in(&idp, &client_id).await;
    assert_eq!(alg(&still_ec), "ES256", "the RSA keys are published first");
    let both = sandbox.jwks(&pool_id).await;
    assert_eq!(both["keys"].as_array().map(Vec::len), Some(4));
    clock.advance(HOUR + HOUR / 2);
    let (_, rsa_access) = sign_in(&idp, &client_id).await;
    assert_eq!(alg(&rsa_access), "RS256");
    verify_jwt(&rsa_access, &both).expect("the RSA key was published in advance");
    for token in [&still_ec, &rsa_access] {
        idp.get_user()
            .access_token(token)
            .send()
            .await
            .expect("both algorithms' tokens are accepted");
    }
}

each_topology!(es256_signing, pools_may_sign_with_es256);
