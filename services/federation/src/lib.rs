//! Cognate's federation broker: the identity providers (OIDC, SAML, social) of user pools,
//! stored as Cognito's configuration (Create/Describe/List/Update/Delete IdentityProvider and
//! GetIdentityProviderByIdentifier). Upstream login flows, attribute mapping at sign-in and
//! account linking come later.

mod directory;
mod providers;
mod service;
mod store;
mod validation;

use cognate_common::{ServiceContext, ServiceKind};
use cognate_proto::idp::v1::federation_server::FederationServer;

pub use directory::{DirectoryPools, PoolDirectory};
pub use service::FederationService;

/// The federation store's schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects and migrates the store and adds the service's gRPC services to `routes`.
pub async fn start(
    context: &ServiceContext,
    routes: &mut tonic::service::RoutesBuilder,
) -> anyhow::Result<()> {
    let store = cognate_common::store::connect_and_migrate(
        &context.config,
        ServiceKind::Federation,
        &MIGRATOR,
    )
    .await?;
    let directory = DirectoryPools::new(context.peers.channel(ServiceKind::Directory));
    let service = FederationService::new(store, context.clock.clone(), directory);
    routes.add_service(FederationServer::new(service));
    Ok(())
}
