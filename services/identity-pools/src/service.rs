//! The `cognate.identity.v1.IdentityPools` gRPC service: each handler checks the request,
//! calls one domain function and wraps the answer. Operations not overridden here answer
//! Unimplemented (the edge's UnsupportedOperationException).

use std::sync::Arc;

use cognate_common::Config;
use cognate_common::clock::{SharedClock, unix_millis};
use cognate_proto::identity::v1::identity_pools_server::IdentityPools;
use cognate_proto::identity::v1::{
    CreateIdentityPoolInput, DeleteIdentityPoolInput, DescribeIdentityInput,
    DescribeIdentityPoolInput, GetIdInput, GetIdResponse, IdentityDescription, IdentityPool,
    ListIdentitiesInput, ListIdentitiesResponse, ListIdentityPoolsInput, ListIdentityPoolsResponse,
    Unit,
};
use sqlx::AnyPool;
use tonic::{Request, Response, Status};

use crate::pools::{
    self, GetIdQuery, IdentitiesQuery, IdentityId, NewPool, PoolId, PoolUpdate, PoolsQuery,
};

/// The credential vendor's gRPC service.
#[derive(Clone, Debug)]
pub struct IdentityPoolsService {
    store: AnyPool,
    clock: SharedClock,
    config: Arc<Config>,
}

impl IdentityPoolsService {
    /// `store` must be migrated with [`crate::MIGRATOR`]. The config gives the region of new
    /// pools and the account that owns them.
    pub fn new(store: AnyPool, clock: SharedClock, config: Arc<Config>) -> Self {
        Self {
            store,
            clock,
            config,
        }
    }

    fn now_millis(&self) -> i64 {
        unix_millis(self.clock.now())
    }
}

#[tonic::async_trait]
impl IdentityPools for IdentityPoolsService {
    async fn create_identity_pool(
        &self,
        request: Request<CreateIdentityPoolInput>,
    ) -> Result<Response<IdentityPool>, Status> {
        let new = NewPool::from_request(request.into_inner())?;
        let pool =
            pools::create_pool(&self.store, &self.config.region, self.now_millis(), new).await?;
        Ok(Response::new(pool))
    }

    async fn describe_identity_pool(
        &self,
        request: Request<DescribeIdentityPoolInput>,
    ) -> Result<Response<IdentityPool>, Status> {
        let id = PoolId::from_describe(request.get_ref())?;
        Ok(Response::new(pools::describe_pool(&self.store, &id).await?))
    }

    async fn list_identity_pools(
        &self,
        request: Request<ListIdentityPoolsInput>,
    ) -> Result<Response<ListIdentityPoolsResponse>, Status> {
        let query = PoolsQuery::from_request(request.get_ref())?;
        Ok(Response::new(pools::list_pools(&self.store, &query).await?))
    }

    async fn update_identity_pool(
        &self,
        request: Request<IdentityPool>,
    ) -> Result<Response<IdentityPool>, Status> {
        let update = PoolUpdate::from_request(request.into_inner())?;
        Ok(Response::new(
            pools::update_pool(&self.store, update).await?,
        ))
    }

    async fn delete_identity_pool(
        &self,
        request: Request<DeleteIdentityPoolInput>,
    ) -> Result<Response<Unit>, Status> {
        let id = PoolId::from_delete(request.get_ref())?;
        pools::delete_pool(&self.store, &id).await?;
        Ok(Response::new(Unit {}))
    }

    async fn get_id(
        &self,
        request: Request<GetIdInput>,
    ) -> Result<Response<GetIdResponse>, Status> {
        let query = GetIdQuery::from_request(request.into_inner())?;
        let identity_id = pools::get_id(
            &self.store,
            &self.config.account_id,
            self.now_millis(),
            query,
        )
        .await?;
        Ok(Response::new(GetIdResponse {
            identity_id: Some(identity_id),
        }))
    }

    async fn describe_identity(
        &self,
        request: Request<DescribeIdentityInput>,
    ) -> Result<Response<IdentityDescription>, Status> {
        let id = IdentityId::from_request(request.get_ref())?;
        Ok(Response::new(
            pools::describe_identity(&self.store, &id).await?,
        ))
    }

    async fn list_identities(
        &self,
        request: Request<ListIdentitiesInput>,
    ) -> Result<Response<ListIdentitiesResponse>, Status> {
        let query = IdentitiesQuery::from_request(request.get_ref())?;
        Ok(Response::new(
            pools::list_identities(&self.store, &query).await?,
        ))
    }
}
