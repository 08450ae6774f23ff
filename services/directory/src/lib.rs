//! Cognate's directory service: user pools, app clients and users, with their attributes and
//! sign-in names. It owns their tables; other services ask it through `DirectoryInternal`.

mod pools;
mod schema;
mod users;

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use sqlx::AnyPool;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use cognate_common::clock::SharedClock;
use cognate_common::{CognitoError, CognitoResult, Config, ServiceContext, ServiceKind};
use cognate_proto::awsjson;
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The directory's domain: the store, the clock and the configuration.
#[derive(Clone, Debug)]
pub struct Directory {
    db: AnyPool,
    clock: SharedClock,
    config: Arc<Config>,
}

impl Directory {
    pub fn new(db: AnyPool, clock: SharedClock, config: Arc<Config>) -> Self {
        Self { db, clock, config }
    }
}

/// Connects and migrates the store and adds the directory's gRPC services to `routes`.
pub async fn start(context: &ServiceContext, routes: &mut RoutesBuilder) -> anyhow::Result<()> {
    let db = cognate_common::store::connect_and_migrate(
        &context.config,
        ServiceKind::Directory,
        &MIGRATOR,
    )
    .await?;
    let directory = Directory::new(db, context.clock.clone(), context.config.clone());
    routes
        .add_service(idp::directory_server::DirectoryServer::new(
            directory.clone(),
        ))
        .add_service(internal::directory_internal_server::DirectoryInternalServer::new(directory));
    Ok(())
}

/// A request message as Cognito's JSON, for the domain functions that work on JSON.
fn object<M: prost::Message + prost::Name>(message: &M) -> Map<String, Json> {
    match awsjson::to_json(message) {
        Json::Object(object) => object,
        _ => Map::new(),
    }
}

/// Cognito's JSON as a response message.
fn reply<M: prost::Message + prost::Name + Default>(json: Json) -> Result<Response<M>, Status> {
    awsjson::from_json::<M>(&json)
        .map(Response::new)
        .map_err(|error| {
            cognate_common::error::internal("response does not fit its message", error).into()
        })
}

fn required<'a>(value: &'a Option<String>, member: &str) -> CognitoResult<&'a str> {
    value.as_deref().filter(|text| !text.is_empty()).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            awsjson::member_path("", member)
        ))
    })
}

#[tonic::async_trait]
impl idp::directory_server::Directory for Directory {
    async fn create_user_pool(
        &self,
        request: Request<idp::CreateUserPoolRequest>,
    ) -> Result<Response<idp::CreateUserPoolResponse>, Status> {
        let pool = self.create_user_pool(object(request.get_ref())).await?;
        reply(json!({ "UserPool": pool }))
    }

    async fn describe_user_pool(
        &self,
        request: Request<idp::DescribeUserPoolRequest>,
    ) -> Result<Response<idp::DescribeUserPoolResponse>, Status> {
        let pool_id = required(&request.get_ref().user_pool_id, "UserPoolId")?;
        let pool = self.describe_user_pool(pool_id).await?;
        reply(json!({ "UserPool": pool }))
    }

    async fn update_user_pool(
        &self,
        request: Request<idp::UpdateUserPoolRequest>,
    ) -> Result<Response<idp::UpdateUserPoolResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        self.update_user_pool(object(request.get_ref())).await?;
        Ok(Response::new(idp::UpdateUserPoolResponse::default()))
    }

    async fn delete_user_pool(
        &self,
        request: Request<idp::DeleteUserPoolRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let pool_id = required(&request.get_ref().user_pool_id, "UserPoolId")?;
        self.delete_user_pool(pool_id).await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn list_user_pools(
        &self,
        request: Request<idp::ListUserPoolsRequest>,
    ) -> Result<Response<idp::ListUserPoolsResponse>, Status> {
        let request = request.get_ref();
        let max_results = request
            .max_results
            .ok_or_else(|| CognitoError::invalid_parameter("1 validation error detected: Value null at 'maxResults' failed to satisfy constraint: Member must not be null"))?;
        let (pools, next_token) = self
            .list_user_pools(Some(i64::from(max_results)), request.next_token.as_deref())
            .await?;
        reply(json!({ "UserPools": pools, "NextToken": next_token }))
    }

    async fn create_user_pool_client(
        &self,
        request: Request<idp::CreateUserPoolClientRequest>,
    ) -> Result<Response<idp::CreateUserPoolClientResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        let client = self
            .create_user_pool_client(object(request.get_ref()))
            .await?;
        reply(json!({ "UserPoolClient": client }))
    }

    async fn describe_user_pool_client(
        &self,
        request: Request<idp::DescribeUserPoolClientRequest>,
    ) -> Result<Response<idp::DescribeUserPoolClientResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let client_id = required(&request.client_id, "ClientId")?;
        self.load_pool(pool_id).await?;
        let client = self.load_client(Some(pool_id), client_id).await?;
        reply(json!({ "UserPoolClient": client }))
    }

    async fn list_user_pool_clients(
        &self,
        request: Request<idp::ListUserPoolClientsRequest>,
    ) -> Result<Response<idp::ListUserPoolClientsResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let (clients, next_token) = self
            .list_user_pool_clients(
                pool_id,
                request.max_results.map(i64::from),
                request.next_token.as_deref(),
            )
            .await?;
        reply(json!({ "UserPoolClients": clients, "NextToken": next_token }))
    }

    async fn delete_user_pool_client(
        &self,
        request: Request<idp::DeleteUserPoolClientRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let client_id = required(&request.client_id, "ClientId")?;
        self.load_pool(pool_id).await?;
        self.delete_user_pool_client(pool_id, client_id).await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn admin_create_user(
        &self,
        request: Request<idp::AdminCreateUserRequest>,
    ) -> Result<Response<idp::AdminCreateUserResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        required(&request.get_ref().username, "Username")?;
        let user = self.admin_create_user(object(request.get_ref())).await?;
        reply(json!({ "User": user.to_user_type(None) }))
    }

    async fn admin_get_user(
        &self,
        request: Request<idp::AdminGetUserRequest>,
    ) -> Result<Response<idp::AdminGetUserResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        let user = self.find_user(pool_id, username).await?;
        reply(json!({
            "Username": user.username,
            "UserAttributes": user.attributes,
            "UserCreateDate": cognate_common::clock::epoch_seconds(user.created_at),
            "UserLastModifiedDate": cognate_common::clock::epoch_seconds(user.updated_at),
            "Enabled": user.enabled,
            "UserStatus": user.status,
        }))
    }

    async fn admin_set_user_password(
        &self,
        request: Request<idp::AdminSetUserPasswordRequest>,
    ) -> Result<Response<idp::AdminSetUserPasswordResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        let password = required(&request.password, "Password")?;
        self.admin_set_user_password(
            pool_id,
            username,
            password,
            request.permanent.unwrap_or(false),
        )
        .await?;
        Ok(Response::new(idp::AdminSetUserPasswordResponse::default()))
    }

    async fn list_users(
        &self,
        request: Request<idp::ListUsersRequest>,
    ) -> Result<Response<idp::ListUsersResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let (users, token) = self
            .list_users(
                pool_id,
                request.limit.map(i64::from),
                request.pagination_token.as_deref(),
                request.filter.as_deref(),
            )
            .await?;
        let wanted =
            (!request.attributes_to_get.is_empty()).then_some(request.attributes_to_get.as_slice());
        let users: Vec<Json> = users.iter().map(|user| user.to_user_type(wanted)).collect();
        reply(json!({ "Users": users, "PaginationToken": token }))
    }
}

#[tonic::async_trait]
impl internal::directory_internal_server::DirectoryInternal for Directory {
    async fn get_pool(
        &self,
        request: Request<internal::GetPoolRequest>,
    ) -> Result<Response<internal::PoolConfig>, Status> {
        let pool = self.load_pool(&request.get_ref().user_pool_id).await?;
        let pool = awsjson::from_json::<idp::UserPoolType>(&pool).map_err(|error| {
            cognate_common::error::internal("stored pool does not fit UserPoolType", error)
        })?;
        Ok(Response::new(internal::PoolConfig { pool: Some(pool) }))
    }

    async fn get_client(
        &self,
        request: Request<internal::GetClientRequest>,
    ) -> Result<Response<internal::ClientConfig>, Status> {
        let request = request.get_ref();
        let wanted_pool = Some(request.user_pool_id.as_str()).filter(|id| !id.is_empty());
        let client = self.load_client(wanted_pool, &request.client_id).await?;
        let pool_id = client["UserPoolId"].as_str().unwrap_or_default().to_owned();
        let pool = self.load_pool(&pool_id).await?;
        let convert = |error| -> Status {
            cognate_common::error::internal("stored config does not fit its type", error).into()
        };
        Ok(Response::new(internal::ClientConfig {
            pool: Some(awsjson::from_json(&pool).map_err(convert)?),
            client: Some(awsjson::from_json(&client).map_err(convert)?),
        }))
    }

    async fn find_user(
        &self,
        request: Request<internal::FindUserRequest>,
    ) -> Result<Response<internal::UserRecord>, Status> {
        let request = request.get_ref();
        let user = self
            .find_user(&request.user_pool_id, &request.username)
            .await?;
        let attributes = user
            .attributes
            .iter()
            .map(|attribute| idp::AttributeType {
                name: attribute["Name"].as_str().map(str::to_owned),
                value: attribute["Value"].as_str().map(str::to_owned),
            })
            .collect();
        Ok(Response::new(internal::UserRecord {
            username: user.username,
            sub: user.sub,
            status: user.status,
            enabled: user.enabled,
            attributes,
            password_hash: user.password_hash,
            groups: Vec::new(),
        }))
    }

    async fn set_password(
        &self,
        request: Request<internal::SetPasswordRequest>,
    ) -> Result<Response<internal::SetPasswordResponse>, Status> {
        let request = request.get_ref();
        self.admin_set_user_password(
            &request.user_pool_id,
            &request.username,
            &request.password,
            request.permanent,
        )
        .await?;
        Ok(Response::new(internal::SetPasswordResponse {}))
    }
}
