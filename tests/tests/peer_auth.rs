//! Internal gRPC between processes is authenticated by the installation's peer token: a split
//! sandbox (every node shares the token) works end to end, while a caller on the same network
//! that lacks the token, or has another, is refused `Unauthenticated` by every service port
//! before the service sees the call. Health, readiness and metrics stay open.

use cognate_common::ServiceKind;
use cognate_proto::internal::v1::auth_internal_client::AuthInternalClient;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;
use cognate_proto::internal::v1::{GetPoolRequest, PoolRequest};
use cognate_tests::{PEER_TOKEN, Sandbox, Topology, create_pool, password_auth_client};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::Channel;

/// A caller that adds `authorization: <value>` to every call, or nothing.
#[derive(Clone)]
struct Caller(Option<String>);

impl Interceptor for Caller {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            let value = MetadataValue::try_from(value.as_str()).expect("a header value");
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

async fn channel(sandbox: &Sandbox, kind: ServiceKind) -> Channel {
    Channel::from_shared(format!("http://{}", sandbox.service_addresses[&kind]))
        .expect("url")
        .connect()
        .await
        .expect("connects")
}

async fn get_pool(sandbox: &Sandbox, caller: Caller, pool_id: &str) -> Result<String, tonic::Code> {
    DirectoryInternalClient::with_interceptor(
        channel(sandbox, ServiceKind::Directory).await,
        caller,
    )
    .get_pool(GetPoolRequest {
        user_pool_id: pool_id.to_owned(),
    })
    .await
    .map(|reply| {
        reply
            .into_inner()
            .pool
            .and_then(|pool| pool.id)
            .unwrap_or_default()
    })
    .map_err(|status| status.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_sandbox_with_a_peer_token_works_end_to_end() {
    let sandbox = Sandbox::start(Topology::Split)
        .await
        .expect("sandbox starts");
    let idp = sandbox.idp();
    let pool_id = create_pool(idp.create_user_pool().pool_name("peers")).await;
    let client_id = password_auth_client(&idp, &pool_id).await;
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", "Passw0rd!").await;
    // Edge → auth → directory (and auth → directory for the user) over authenticated gRPC.
    let tokens = cognate_tests::password_sign_in(&idp, &client_id, "jane", "Passw0rd!")
        .await
        .expect("signed in");
    // Edge → directory → auth (the access token's check).
    let user = idp
        .get_user()
        .access_token(tokens.access_token().expect("access token"))
        .send()
        .await
        .expect("GetUser");
    assert_eq!(user.username(), "jane");
    // A peer holding the token reaches the service itself.
    let bearer = format!("Bearer {PEER_TOKEN}");
    assert_eq!(
        get_pool(&sandbox, Caller(Some(bearer)), &pool_id).await,
        Ok(pool_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_ports_refuse_calls_without_the_peer_token() {
    let sandbox = Sandbox::start(Topology::Split)
        .await
        .expect("sandbox starts");
    let pool_id = create_pool(sandbox.idp().create_user_pool().pool_name("peers")).await;
    let wrong = "Bearer sandbox-peer-token-0123456789abcdeF";
    for caller in [
        Caller(None),
        Caller(Some(wrong.to_owned())),
        // The token without the scheme is not the header a peer sends.
        Caller(Some(PEER_TOKEN.to_owned())),
    ] {
        assert_eq!(
            get_pool(&sandbox, caller.clone(), &pool_id).await,
            Err(tonic::Code::Unauthenticated),
            "{:?}",
            caller.0
        );
        let jwks = AuthInternalClient::with_interceptor(
            channel(&sandbox, ServiceKind::Auth).await,
            caller.clone(),
        )
        .get_jwks(PoolRequest {
            user_pool_id: pool_id.clone(),
        })
        .await;
        assert_eq!(
            jwks.map(|_| ()).map_err(|status| status.code()),
            Err(tonic::Code::Unauthenticated),
            "{:?}",
            caller.0
        );
    }
    // The operational endpoints need no token.
    let directory = sandbox.service_addresses[&ServiceKind::Directory];
    for path in ["/health", "/ready", "/metrics"] {
        let status = reqwest::get(format!("http://{directory}{path}"))
            .await
            .expect("answers")
            .status()
            .as_u16();
        assert_eq!(status, 200, "{path}");
    }
}
