//! Cognate's AWS-protocol edge: AWS JSON 1.1 for cognito-idp and cognito-identity with SigV4,
//! the per-pool OpenID documents, health, readiness and metrics. It keeps no state; every
//! operation is one gRPC call to the service that owns it.

mod aws;
mod codec;
mod confirm;
mod metrics;
mod outbox;
mod sigv4;
mod throttle;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures::future::BoxFuture;

use cognate_common::clock::SharedClock;
use cognate_common::{CognitoError, Config, ErrorCode, ServiceKind, grpc::Peers};
use cognate_proto::internal::v1::PoolRequest;
use cognate_proto::internal::v1::auth_internal_client::AuthInternalClient;

pub use metrics::Metrics;
pub use throttle::AddressLimiter;

/// The largest request body the edge reads; Cognito's requests are a few kilobytes.
const BODY_LIMIT: usize = 1024 * 1024;

/// The longest a request other than an upload may take, body included.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Answers whether this process's backends (Redis, NATS) are reachable.
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone)]
pub struct EdgeState {
    pub config: Arc<Config>,
    /// Per-address limits on the operations that send and check codes.
    pub throttle: Arc<throttle::AddressLimiter>,
    pub peers: Peers,
    pub clock: SharedClock,
    pub metrics: Metrics,
    pub readiness: ReadinessCheck,
}

/// The edge's HTTP routes.
pub fn router(state: EdgeState) -> Router {
    // Every answer but an upload's (a large file on a slow link) comes within this time, or the
    // request is cut off with 408: a client that sends its body slowly holds no task for long.
    let timed = Router::new()
        .route("/", post(aws::handle))
        .route("/_dev/outbox", get(outbox::dev_outbox))
        .route("/confirmUser", get(confirm::confirm_user))
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route(
            "/{pool_id}/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    timed
        // The upload reads its own body, in pieces and limited (see `upload`).
        .route(
            "/_import/{job_id}",
            put(upload::upload_csv).with_state(upload::Uploads::new(
                state.peers.clone(),
                state.metrics.uploads.clone(),
            )),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            dev_host_guard,
        ))
        .with_state(state)
}

/// In development mode, answers only requests addressed to a loopback name or the public URL's
/// host: a page on another name that a browser resolves to 127.0.0.1 (DNS rebinding) must not
/// reach a listener that accepts any signature.
async fn dev_host_guard(
    State(state): State<EdgeState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !state.config.dev {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        })
        .unwrap_or_default();
    if state.config.dev_answers_host(host) {
        return next.run(request).await;
    }
    tracing::warn!(host, "development mode refused a request for another host");
    let body = serde_json::json!({
        "__type": "AccessDeniedException",
        "message": "Development mode answers only requests addressed to localhost, a loopback address or the host of COGNATE_PUBLIC_URL.",
    });
    let mut response = (StatusCode::FORBIDDEN, body.to_string()).into_response();
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("AccessDeniedException:"),
    );
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// `/health` and `/ready`, served by every process whatever services it runs.
pub fn health_router(readiness: ReadinessCheck) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/ready",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    match readiness().await {
                        Ok(()) => (StatusCode::OK, "ready"),
                        // The reason (a backend's error text) is for the operator's log, not for
                        // whoever can reach the port.
                        Err(reason) => {
                            tracing::warn!(%reason, "not ready");
                            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
                        }
                    }
                }
            }),
        )
}

/// `/metrics`, beside the others or on an address of its own (`metrics_listen`).
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                let mut response = metrics.render().into_response();
                response.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                response
            }
        }),
    )
}

fn json_document(outcome: Result<String, CognitoError>) -> Response {
    let (status, body) = match outcome {
        Ok(body) => (StatusCode::OK, body),
        Err(error) => {
            let status = match error.code {
                ErrorCode::ResourceNotFoundException => StatusCode::NOT_FOUND,
                _ if error.is_server_fault() => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            (
                status,
                serde_json::json!({ "message": error.message }).to_string(),
            )
        }
    };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

async fn jwks(State(state): State<EdgeState>, Path(pool_id): Path<String>) -> Response {
    let mut client = AuthInternalClient::new(state.peers.channel(ServiceKind::Auth));
    let outcome = client
        .get_jwks(PoolRequest {
            user_pool_id: pool_id,
        })
        .await
        .map(|reply| reply.into_inner().json)
        .map_err(CognitoError::from);
    json_document(outcome)
}

async fn openid_configuration(
    State(state): State<EdgeState>,
    Path(pool_id): Path<String>,
) -> Response {
    let mut client = AuthInternalClient::new(state.peers.channel(ServiceKind::Auth));
    let outcome = client
        .get_open_id_configuration(PoolRequest {
            user_pool_id: pool_id,
        })
        .await
        .map(|reply| reply.into_inner().json)
        .map_err(CognitoError::from);
    json_document(outcome)
}
