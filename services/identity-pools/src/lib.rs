//! Cognate's credential vendor: Cognito identity pools (cognito-identity) and their identities.
//! Today: pool configuration (Create/Describe/List/Update/Delete IdentityPool), unauthenticated
//! identities (GetId) and their listing (DescribeIdentity, ListIdentities). Authenticated
//! identities (Logins), role mappings and temporary credentials come later.

mod pools;
mod service;
mod store;
mod validation;

use cognate_common::{ServiceContext, ServiceKind};
use cognate_proto::identity::v1::identity_pools_server::IdentityPoolsServer;

pub use service::IdentityPoolsService;

/// The identity-pools store's schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects and migrates the store and adds the service's gRPC services to `routes`.
pub async fn start(
    context: &ServiceContext,
    routes: &mut tonic::service::RoutesBuilder,
) -> anyhow::Result<()> {
    let store = cognate_common::store::connect_and_migrate(
        &context.config,
        ServiceKind::IdentityPools,
        &MIGRATOR,
    )
    .await?;
    let service = IdentityPoolsService::new(store, context.clock.clone(), context.config.clone());
    routes.add_service(IdentityPoolsServer::new(service));
    Ok(())
}
