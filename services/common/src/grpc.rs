//! How services reach each other: a channel per peer service, either in-process (this process's
//! own gRPC routes, called directly: no connection, no HTTP/2 framing) or remote (balanced over
//! the configured addresses). Both have the same deadline. Every call carries the trace
//! context, and every call to another process the installation's peer token, which
//! `PeerAuthentication` checks on the serving side.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::Full;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};

use crate::config::{Config, Secret, ServiceKind};
use crate::telemetry;

/// Deadline of one inter-service call: above the 3 × 5 s a trigger may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The metadata key of the peer token: `authorization: Bearer <token>`.
const AUTHORIZATION: &str = "authorization";

/// `Bearer <token>`, the value a peer sends and the serving side expects.
fn bearer(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}

/// A channel to one peer service that forwards the caller's trace context and, to another
/// process, the peer token.
#[derive(Clone, Debug)]
pub struct PeerChannel {
    route: Route,
    /// `Bearer <token>` for remote peers when a token is configured; marked sensitive, so it
    /// never prints. In-process calls never leave the process and carry none.
    authorization: Option<http::HeaderValue>,
}

#[derive(Clone, Debug)]
enum Route {
    Local(LocalRoutes),
    Remote(Channel),
}

/// The gRPC routes of this process's own services, which its `PeerChannel`s call directly.
/// Installed once the services have started; a call made before that (by a service while it
/// starts) waits for them.
#[derive(Clone, Default)]
pub struct LocalRoutes(Arc<tokio::sync::SetOnce<axum::Router>>);

impl std::fmt::Debug for LocalRoutes {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LocalRoutes")
    }
}

impl LocalRoutes {
    /// Makes `router` (this process's gRPC services, with their tracing layer) the target of
    /// every in-process call.
    pub fn install(&self, router: axum::Router) {
        if self.0.set(router).is_err() {
            tracing::warn!("the in-process gRPC routes were installed twice; the first stay");
        }
    }
}

/// What a call whose deadline passed fails with, in-process as remote.
fn deadline_passed() -> tower::BoxError {
    Box::new(tonic::Status::cancelled("Timeout expired"))
}

impl tower::Service<http::Request<Body>> for PeerChannel {
    type Response = http::Response<Body>;
    type Error = tower::BoxError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.route {
            Route::Local(_) => Poll::Ready(Ok(())),
            Route::Remote(channel) => {
                tower::Service::poll_ready(channel, context).map_err(Into::into)
            }
        }
    }

    /// In-process, hands the request to the service's route as it is. Remote, sends a unary
    /// call's one message as a body of known length, so that HTTP/2 ends the stream with its
    /// DATA frame: a streamed body ends with an empty frame of its own, one more write and one
    /// more wake-up of the peer per call. A call marked `StreamedRequest` goes as it comes,
    /// piece by piece.
    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        telemetry::inject_current(request.headers_mut());
        let mut channel = match &mut self.route {
            Route::Local(routes) => {
                let routes = routes.clone();
                return Box::pin(async move {
                    let call = async move {
                        let router = routes.0.wait().await.clone();
                        tower::ServiceExt::oneshot(router, request).await
                    };
                    let response = tokio::time::timeout(CALL_TIMEOUT, call)
                        .await
                        .map_err(|_| deadline_passed())?
                        .unwrap_or_else(|never| match never {});
                    Ok(response.map(Body::new))
                });
            }
            // `poll_ready` readied this channel; a clone takes its place for the next call.
            Route::Remote(channel) => {
                let ready = channel.clone();
                std::mem::replace(channel, ready)
            }
        };
        if let Some(authorization) = &self.authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
        }
        if request.extensions().get::<StreamedRequest>().is_some() {
            return Box::pin(async move { Ok(channel.call(request).await?) });
        }
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let message = http_body_util::BodyExt::collect(body).await?.to_bytes();
            let request = http::Request::from_parts(parts, Body::new(Full::new(message)));
            Ok(channel.call(request).await?)
        })
    }
}

/// Marks a client-streaming call (in `tonic::Request::extensions_mut`): its messages are sent
/// as they come instead of gathered into one body, since they may add up to more than should
/// be held in memory at once (an import job's file).
#[derive(Debug, Clone, Copy)]
pub struct StreamedRequest;

/// Server side of trace propagation: each incoming gRPC call becomes a span continuing the
/// caller's trace.
pub async fn trace_incoming(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let span = tracing::info_span!("grpc_call", path = %request.uri().path());
    telemetry::adopt_parent(&span, request.headers());
    next.run(request).instrument(span).await
}

/// The serving side of peer authentication: every internal gRPC call this process serves to
/// peers must carry the installation's peer token. (`/health`, `/ready` and `/metrics` are
/// routes of their own and stay open.)
#[derive(Clone)]
pub struct PeerAuthentication {
    /// SHA-256 of the expected `authorization` value: comparing digests takes the same time
    /// whatever the presented value's length, so not even the token's length leaks.
    expected: aws_lc_rs::digest::Digest,
}

impl PeerAuthentication {
    pub fn new(token: &Secret) -> Self {
        Self {
            expected: aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                bearer(token).as_bytes(),
            ),
        }
    }

    fn admits(&self, presented: Option<&http::HeaderValue>) -> bool {
        let presented = presented
            .map(http::HeaderValue::as_bytes)
            .unwrap_or_default();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, presented);
        aws_lc_rs::constant_time::verify_slices_are_equal(digest.as_ref(), self.expected.as_ref())
            .is_ok()
    }

    /// Middleware for the gRPC routes served to peers: a call without the token, or with
    /// another, is answered `Unauthenticated` before it reaches a service.
    pub async fn check(
        axum::extract::State(authentication): axum::extract::State<PeerAuthentication>,
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        if authentication.admits(request.headers().get(AUTHORIZATION)) {
            return next.run(request).await;
        }
        tracing::warn!(path = %request.uri().path(), "internal gRPC call refused: no valid peer token");
        tonic::Status::unauthenticated("a valid peer token is required")
            .into_http::<axum::body::Body>()
    }
}

/// Channels to every service this process's services call.
#[derive(Clone, Debug)]
pub struct Peers {
    channels: Arc<HashMap<ServiceKind, PeerChannel>>,
}

impl Peers {
    /// Builds the channels: local services through the returned `LocalRoutes` (to be
    /// installed once they have started), the rest through their configured addresses.
    /// Nothing connects until the first call.
    pub fn new(config: &Config) -> anyhow::Result<(Peers, LocalRoutes)> {
        let local = LocalRoutes::default();
        let authorization = match &config.peer_token {
            Some(token) => {
                let mut value = http::HeaderValue::try_from(bearer(token))
                    .context("the peer token is not a valid header value")?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let mut channels = HashMap::new();
        for kind in ServiceKind::ALL {
            if kind == ServiceKind::Edge {
                continue;
            }
            let channel = if config.runs(kind) {
                PeerChannel {
                    route: Route::Local(local.clone()),
                    authorization: None,
                }
            } else if let Some(addresses) = config.peers.get(&kind).filter(|list| !list.is_empty())
            {
                let endpoints = addresses
                    .iter()
                    .map(|address| {
                        Ok(Endpoint::from_shared(address.clone())?
                            .timeout(CALL_TIMEOUT)
                            .connect_timeout(Duration::from_secs(5)))
                    })
                    .collect::<Result<Vec<Endpoint>, tonic::transport::Error>>()?;
                // One address (one replica, or a load balancer's) needs no balancer, whose queue
                // and task add a hand-off to every call.
                let channel = match <[Endpoint; 1]>::try_from(endpoints) {
                    Ok([endpoint]) => endpoint.connect_lazy(),
                    Err(endpoints) => Channel::balance_list(endpoints.into_iter()),
                };
                PeerChannel {
                    route: Route::Remote(channel),
                    authorization: authorization.clone(),
                }
            } else {
                continue;
            };
            channels.insert(kind, channel);
        }
        Ok((
            Peers {
                channels: Arc::new(channels),
            },
            local,
        ))
    }

    /// The channel to `kind`. Config validation guarantees every dependency has one.
    pub fn channel(&self, kind: ServiceKind) -> PeerChannel {
        self.channels.get(&kind).cloned().unwrap_or_else(|| {
            panic!("no channel to {kind}: config validation should have refused this")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bearer_token_is_admitted() {
        let token = Secret::new("0123456789abcdef0123456789abcdef");
        let authentication = PeerAuthentication::new(&token);
        let value = |text: &str| http::HeaderValue::try_from(text).expect("header value");
        assert!(authentication.admits(Some(&value(&bearer(&token)))));
        assert!(!authentication.admits(None));
        assert!(!authentication.admits(Some(&value(token.expose()))));
        assert!(!authentication.admits(Some(&value("Bearer 0123456789abcdef0123456789abcdeF"))));
        assert!(!authentication.admits(Some(&value("Bearer 0123456789abcdef"))));
    }
}
