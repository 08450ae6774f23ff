//! The `cognate.idp.v1.Federation` gRPC service: each handler checks the request, makes sure
//! the pool exists, calls one domain function and wraps the answer. Operations not overridden
//! here answer Unimplemented (the edge's UnsupportedOperationException).

use cognate_common::clock::{SharedClock, unix_millis};
use cognate_proto::idp::v1::federation_server::Federation;
use cognate_proto::idp::v1::{
    CreateIdentityProviderRequest, CreateIdentityProviderResponse, DeleteIdentityProviderRequest,
    DescribeIdentityProviderRequest, DescribeIdentityProviderResponse,
    GetIdentityProviderByIdentifierRequest, GetIdentityProviderByIdentifierResponse,
    ListIdentityProvidersRequest, ListIdentityProvidersResponse, Unit,
    UpdateIdentityProviderRequest, UpdateIdentityProviderResponse,
};
use sqlx::AnyPool;
use tonic::{Request, Response, Status};

use crate::directory::PoolDirectory;
use crate::providers::{
    self, IdentifierQuery, ListQuery, NewProvider, ProviderChange, ProviderKey,
};

/// The federation broker's gRPC service.
#[derive(Clone, Debug)]
pub struct FederationService<D> {
    store: AnyPool,
    clock: SharedClock,
    directory: D,
}

impl<D: PoolDirectory> FederationService<D> {
    /// `store` must be migrated with [`crate::MIGRATOR`].
    pub fn new(store: AnyPool, clock: SharedClock, directory: D) -> Self {
        Self {
            store,
            clock,
            directory,
        }
    }

    fn now_millis(&self) -> i64 {
        unix_millis(self.clock.now())
    }
}

#[tonic::async_trait]
impl<D: PoolDirectory> Federation for FederationService<D> {
    async fn create_identity_provider(
        &self,
        request: Request<CreateIdentityProviderRequest>,
    ) -> Result<Response<CreateIdentityProviderResponse>, Status> {
        let new = NewProvider::from_request(request.into_inner())?;
        self.directory.ensure_pool_exists(&new.user_pool_id).await?;
        let provider = providers::create_provider(&self.store, self.now_millis(), new).await?;
        Ok(Response::new(CreateIdentityProviderResponse {
            identity_provider: Some(provider),
        }))
    }

    async fn describe_identity_provider(
        &self,
        request: Request<DescribeIdentityProviderRequest>,
    ) -> Result<Response<DescribeIdentityProviderResponse>, Status> {
        let key = ProviderKey::from_describe(request.get_ref())?;
        self.directory.ensure_pool_exists(&key.user_pool_id).await?;
        let provider = providers::describe_provider(&self.store, &key).await?;
        Ok(Response::new(DescribeIdentityProviderResponse {
            identity_provider: Some(provider),
        }))
    }

    async fn get_identity_provider_by_identifier(
        &self,
        request: Request<GetIdentityProviderByIdentifierRequest>,
    ) -> Result<Response<GetIdentityProviderByIdentifierResponse>, Status> {
        let query = IdentifierQuery::from_request(request.get_ref())?;
        self.directory
            .ensure_pool_exists(&query.user_pool_id)
            .await?;
        let provider = providers::provider_by_identifier(&self.store, &query).await?;
        Ok(Response::new(GetIdentityProviderByIdentifierResponse {
            identity_provider: Some(provider),
        }))
    }

    async fn list_identity_providers(
        &self,
        request: Request<ListIdentityProvidersRequest>,
    ) -> Result<Response<ListIdentityProvidersResponse>, Status> {
        let query = ListQuery::from_request(request.get_ref())?;
        self.directory
            .ensure_pool_exists(&query.user_pool_id)
            .await?;
        let page = providers::list_providers(&self.store, &query).await?;
        Ok(Response::new(page))
    }

    async fn update_identity_provider(
        &self,
        request: Request<UpdateIdentityProviderRequest>,
    ) -> Result<Response<UpdateIdentityProviderResponse>, Status> {
        let change = ProviderChange::from_request(request.into_inner())?;
        self.directory
            .ensure_pool_exists(&change.user_pool_id)
            .await?;
        let provider = providers::update_provider(&self.store, self.now_millis(), change).await?;
        Ok(Response::new(UpdateIdentityProviderResponse {
            identity_provider: Some(provider),
        }))
    }

    async fn delete_identity_provider(
        &self,
        request: Request<DeleteIdentityProviderRequest>,
    ) -> Result<Response<Unit>, Status> {
        let key = ProviderKey::from_delete(request.get_ref())?;
        self.directory.ensure_pool_exists(&key.user_pool_id).await?;
        providers::delete_provider(&self.store, &key).await?;
        Ok(Response::new(Unit {}))
    }
}
