//! What Cognate's services share: configuration, errors, the durable and ephemeral stores,
//! inter-service channels, telemetry and time. No service logic lives here.

pub mod breached;
pub mod clock;
pub mod config;
pub mod ephemeral;
pub mod error;
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
pub mod grpc;
pub mod ids;
pub mod legacy_hash;
pub mod password;
pub mod sealing;
pub mod secret_hash;
pub mod srp;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transfer;
pub mod validation;
pub mod work;

use std::sync::Arc;

pub use config::{Config, ServiceKind};
pub use error::{CognitoError, CognitoResult, ErrorCode};

/// The largest CSV file a user import job takes (Cognito's 100 MB); the edge's upload route and
/// the directory's gRPC server both hold to it.
pub const MAX_IMPORT_CSV_BYTES: usize = 100 * 1024 * 1024;

/// Everything a service needs at start-up, built once by the node and passed in.
#[derive(Clone, Debug)]
pub struct ServiceContext {
    pub config: Arc<Config>,
    pub peers: grpc::Peers,
    pub clock: clock::SharedClock,
    /// Connected when `nats_url` is configured.
    pub nats: Option<async_nats::Client>,
    /// Redis when `redis_url` is configured, else in-process.
    pub ephemeral: ephemeral::Ephemeral,
    /// The bound on password and SRP work, shared by the process's services.
    pub work: work::Work,
    /// Seals secrets at rest; present where the configuration runs auth or directory.
    pub sealer: Option<sealing::Sealer>,
}

impl ServiceContext {
    /// The sealer, for the services that store secrets.
    pub fn sealer(&self) -> anyhow::Result<sealing::Sealer> {
        self.sealer
            .clone()
            .ok_or_else(|| anyhow::Error::new(sealing::SealingError::NoKey))
    }
}
