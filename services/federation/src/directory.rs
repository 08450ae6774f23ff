//! What the federation broker asks the directory: does this user pool exist? Behind a trait so
//! the provider logic does not depend on a running directory.

use std::future::Future;

use cognate_common::grpc::PeerChannel;
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::internal::v1::GetPoolRequest;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;

/// The user pools the providers belong to.
pub trait PoolDirectory: Clone + Send + Sync + 'static {
    /// `Ok` when the pool exists; otherwise the directory's error (for an unknown pool,
    /// ResourceNotFoundException `User pool <id> does not exist.`).
    fn ensure_pool_exists(
        &self,
        user_pool_id: &str,
    ) -> impl Future<Output = CognitoResult<()>> + Send;
}

/// The directory service over gRPC (in-process or remote, as the node wired it).
#[derive(Clone, Debug)]
pub struct DirectoryPools {
    client: DirectoryInternalClient<PeerChannel>,
}

impl DirectoryPools {
    pub fn new(channel: PeerChannel) -> Self {
        Self {
            client: DirectoryInternalClient::new(channel),
        }
    }
}

impl PoolDirectory for DirectoryPools {
    async fn ensure_pool_exists(&self, user_pool_id: &str) -> CognitoResult<()> {
        let mut client = self.client.clone();
        client
            .get_pool(GetPoolRequest {
                user_pool_id: user_pool_id.to_owned(),
            })
            .await
            .map_err(CognitoError::from)?;
        Ok(())
    }
}
