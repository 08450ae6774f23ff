//! The `cognate` node: runs any subset of Cognate's six services in one process on one port
//! (AWS protocol, OAuth2, gRPC and operational endpoints share it). Tests start nodes in-process.

mod listener;
pub mod transfer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use futures::FutureExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::RoutesBuilder;

use cognate_common::clock::{SharedClock, SystemClock};
use cognate_common::config::MetricsListen;
use cognate_common::ephemeral::Ephemeral;
use cognate_common::grpc::{PeerAuthentication, Peers, trace_incoming};
use cognate_common::sealing::Sealer;
use cognate_common::{Config, ServiceContext, ServiceKind};
use cognate_edge::{EdgeState, Metrics, ReadinessCheck};

/// A running node.
pub struct Node {
    address: SocketAddr,
    /// Where `/metrics` is served when it has an address of its own.
    metrics_address: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Node {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), and returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.server.await.context("the server task panicked")?
    }

    /// Waits until the node stops by itself (it doesn't, unless serving fails).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.server)
            .await
            .context("the server task panicked")?
    }

    /// Asks the node to stop; `wait` then returns once requests have drained.
    pub fn request_stop(&self) {
        let _ = self.stop.send(true);
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Runs each store's migrations and returns (`cognate migrate`).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    for &kind in &config.services {
        let migrator = match kind {
            ServiceKind::Directory => &cognate_directory::MIGRATOR,
            ServiceKind::Auth => &cognate_auth::MIGRATOR,
            ServiceKind::Federation => &cognate_federation::MIGRATOR,
            ServiceKind::IdentityPools => &cognate_identity_pools::MIGRATOR,
            ServiceKind::Edge | ServiceKind::Triggers => continue,
        };
        let pool = cognate_common::store::connect_and_migrate(config, kind, migrator).await?;
        pool.close().await;
        tracing::info!(service = %kind, "store migrated");
    }
    Ok(())
}

/// What `cognate rewrap` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Rewrapped {
    /// The master key every stored secret is now sealed with.
    pub key_id: String,
    /// Rows whose secrets were re-sealed (plaintext ones included).
    pub rows: u64,
}

/// Re-seals every stored secret with the current master key (`cognate rewrap`): the second
/// half of a rotation, safe while the services run, since each row is re-sealed by one
/// statement only if no one changed it since it was read, and every replica reads both keys.
pub async fn rewrap(config: &Config) -> anyhow::Result<Rewrapped> {
    let sealer = Sealer::from_config(config)?;
    let (directory, auth) = transfer::stores(config).await?;
    let rows = cognate_directory::DIRECTORY_SECRETS
        .rewrap(&directory, &sealer)
        .await?
        + cognate_auth::sealed::rewrap(&auth, &sealer).await?;
    directory.close().await;
    auth.close().await;
    Ok(Rewrapped {
        key_id: sealer.current_id().to_owned(),
        rows,
    })
}

/// Starts the configured services on `listener` with the system clock.
pub async fn start(config: Config, listener: TcpListener) -> anyhow::Result<Node> {
    start_with_clock(config, listener, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(
    mut config: Config,
    listener: TcpListener,
    clock: SharedClock,
) -> anyhow::Result<Node> {
    config.load_peer_token()?;
    config.validate()?;
    let address = listener.local_addr()?;
    let config = Arc::new(config);
    let nats = match &config.nats_url {
        // The URL may hold credentials: it is not repeated in the error.
        Some(url) => Some(
            async_nats::connect(url.expose())
                .await
                .context("connecting to NATS")?,
        ),
        None => None,
    };
    let redis = match &config.redis_url {
        Some(url) => {
            let client = redis::Client::open(url.expose()).context("parsing the Redis URL")?;
            Some(
                redis::aio::ConnectionManager::new(client)
                    .await
                    .context("connecting to Redis")?,
            )
        }
        None => None,
    };
    // Built before any store is opened: a missing or unreadable key stops the start here.
    let sealer = if config.seals_secrets() {
        Some(Sealer::from_config(&config)?)
    } else {
        None
    };
    let (peers, local_routes) = Peers::new(&config)?;
    let context = ServiceContext {
        config: config.clone(),
        peers: peers.clone(),
        clock: clock.clone(),
        nats: nats.clone(),
        ephemeral: match &redis {
            Some(connection) => Ephemeral::Redis(connection.clone()),
            None => Ephemeral::memory(),
        },
        work: config.work(),
        sealer,
    };

    let mut routes = RoutesBuilder::default();
    for &kind in &config.services {
        match kind {
            ServiceKind::Edge => {}
            ServiceKind::Directory => cognate_directory::start(&context, &mut routes).await?,
            ServiceKind::Auth => cognate_auth::start(&context, &mut routes).await?,
            ServiceKind::Triggers => cognate_triggers::start(&context, &mut routes).await?,
            ServiceKind::Federation => cognate_federation::start(&context, &mut routes).await?,
            ServiceKind::IdentityPools => {
                cognate_identity_pools::start(&context, &mut routes).await?
            }
        }
    }
    let grpc = routes
        .routes()
        .into_axum_router()
        .layer(axum::middleware::from_fn(trace_incoming));

    let readiness: ReadinessCheck = Arc::new(move || {
        let redis = redis.clone();
        let nats = nats.clone();
        async move {
            if let Some(mut redis) = redis {
                redis::cmd("PING")
                    .query_async::<String>(&mut redis)
                    .await
                    .map_err(|error| format!("redis: {error}"))?;
            }
            if let Some(nats) = nats
                && nats.connection_state() != async_nats::connection::State::Connected
            {
                return Err("nats: not connected".to_owned());
            }
            Ok(())
        }
        .boxed()
    });
    let metrics = Metrics::default();
    let (stop, stop_receiver) = watch::channel(false);
    let grace = config.shutdown_grace;
    let mut http = cognate_edge::health_router(readiness.clone());
    let mut metrics_address = None;
    match config.metrics_listen {
        MetricsListen::SamePort => http = http.merge(cognate_edge::metrics_router(metrics.clone())),
        MetricsListen::Off => {}
        MetricsListen::Address(address) => {
            let metrics_listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the metrics address {address}"))?;
            metrics_address = Some(metrics_listener.local_addr()?);
            tokio::spawn(listener::serve(
                metrics_listener,
                cognate_edge::metrics_router(metrics.clone()),
                stopped(stop_receiver.clone()),
                grace,
            ));
        }
    }
    if config.runs(ServiceKind::Edge) {
        http = http.merge(cognate_edge::router(EdgeState {
            throttle: Arc::new(cognate_edge::AddressLimiter::new(
                config.code_requests_per_address_per_minute,
                config.trusted_proxies.clone(),
                context.ephemeral.clone(),
            )),
            config: config.clone(),
            peers,
            clock,
            metrics,
            readiness,
        }));
    }
    // Internal gRPC is never served beside the public AWS edge. A process with the edge reaches
    // its own services in-process; a process without it serves them to its peers on its port,
    // behind the peer token when one is configured (validation insists on one unless the port is
    // loopback). In-process calls never leave the process and are not checked.
    if config.serves_peers() {
        let served = match &config.peer_token {
            Some(token) => grpc.clone().layer(axum::middleware::from_fn_with_state(
                PeerAuthentication::new(token),
                PeerAuthentication::check,
            )),
            None => grpc.clone(),
        };
        http = http.merge(served);
    }

    local_routes.install(grpc);
    let server = tokio::spawn(listener::serve(
        listener,
        http,
        stopped(stop_receiver),
        grace,
    ));
    Ok(Node {
        address,
        metrics_address,
        stop,
        server,
    })
}

/// How long `healthcheck` waits for an answer.
pub const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(5);
