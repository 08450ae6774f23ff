//! Cognate's directory service: user pools, app clients, users and groups, with their attributes
//! and sign-in names. It owns their tables; other services ask it through `DirectoryInternal`.

mod accounts;
mod admin;
mod bulk;
mod client_secrets;
mod codes;
mod config_cache;
mod delivery;
mod domains;
mod filter;
mod groups;
mod hiding;
mod hooks;
mod imports;
mod outbox;
mod passwords;
mod pool_admin;
mod pools;
mod profile;
mod resource_servers;
mod schema;
pub mod transfer;
mod user_index;
mod users;

use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use serde_json::{Map, Value as Json, json};
use sqlx::AnyPool;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use cognate_common::clock::SharedClock;
use cognate_common::sealing::Sealer;
use cognate_common::{CognitoError, CognitoResult, Config, ErrorCode, ServiceContext, ServiceKind};
use cognate_proto::awsjson;
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

pub use hiding::DIRECTORY_SECRETS;
pub use users::User;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The directory's domain: the store, the clock and the configuration.
#[derive(Clone, Debug)]
pub struct Directory {
    db: AnyPool,
    clock: SharedClock,
    config: Arc<Config>,
    /// Channels to other services (the token checks of GetUser and ChangePassword); absent in
    /// store-only unit tests.
    peers: Option<cognate_common::grpc::Peers>,
    /// Where messages go besides the dev outbox.
    senders: delivery::Senders,
    /// Loaded from the store at first use; see `hiding`.
    hiding_secret: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// Seals installation secrets at rest.
    sealer: Sealer,
    /// Compromised-credentials detection's list (and the operator's file, if any).
    breached: cognate_common::breached::BreachedPasswords,
    /// Pools and clients read in the last second; see `config_cache`.
    config_cache: Arc<config_cache::ConfigCache>,
    /// Where config changes are announced to the other replicas, when NATS is configured.
    nats: Option<async_nats::Client>,
    /// The process's bound on password work (SignUp's verifier, password checks).
    work: cognate_common::work::Work,
}

impl Directory {
    pub fn new(db: AnyPool, clock: SharedClock, config: Arc<Config>, sealer: Sealer) -> Self {
        Self {
            db,
            clock,
            peers: None,
            senders: delivery::Senders::none(),
            hiding_secret: Arc::default(),
            sealer,
            breached: cognate_common::breached::BreachedPasswords::default(),
            config_cache: Arc::default(),
            nats: None,
            work: config.work(),
            config,
        }
    }

    fn with_breached(mut self, breached: cognate_common::breached::BreachedPasswords) -> Self {
        self.breached = breached;
        self
    }

    fn with_senders(mut self, senders: delivery::Senders) -> Self {
        self.senders = senders;
        self
    }

    fn with_work(mut self, work: cognate_common::work::Work) -> Self {
        self.work = work;
        self
    }

    pub fn with_peers(mut self, peers: cognate_common::grpc::Peers) -> Self {
        self.peers = Some(peers);
        self
    }

    /// Announces config changes over NATS and forgets what other replicas announce.
    async fn with_nats(mut self, nats: async_nats::Client) -> anyhow::Result<Self> {
        let mut notices = nats.subscribe(config_cache::SUBJECT).await?;
        let cache = self.config_cache.clone();
        tokio::spawn(async move {
            while let Some(message) = notices.next().await {
                match std::str::from_utf8(&message.payload)
                    .ok()
                    .and_then(config_cache::Change::decode)
                {
                    Some(change) => cache.forget(&change),
                    None => tracing::warn!("ignoring an unreadable config-change notice"),
                }
            }
        });
        self.nats = Some(nats);
        Ok(self)
    }

    /// The user `name` finds, as the other services see users: with their groups and roles.
    async fn user_record(&self, pool_id: &str, name: &str) -> CognitoResult<internal::UserRecord> {
        let (user, groups) = self.find_user_with_groups(pool_id, name).await?;
        let attributes = user
            .attributes
            .iter()
            .map(|attribute| idp::AttributeType {
                name: attribute["Name"].as_str().map(str::to_owned),
                value: attribute["Value"].as_str().map(str::to_owned),
            })
            .collect();
        let group_roles = groups
            .iter()
            .filter_map(|group| {
                Some(internal::GroupRole {
                    role_arn: group["RoleArn"].as_str()?.to_owned(),
                    precedence: group["Precedence"]
                        .as_i64()
                        .and_then(|precedence| i32::try_from(precedence).ok()),
                })
            })
            .collect();
        let groups = groups
            .iter()
            .filter_map(|group| group["GroupName"].as_str().map(str::to_owned))
            .collect();
        Ok(internal::UserRecord {
            username: user.username,
            sub: user.sub,
            status: user.status,
            enabled: user.enabled,
            attributes,
            groups,
            group_roles,
            password_hash: user.password_hash,
        })
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
    let senders = delivery::Senders::from_config(&context.config)?;
    let breached = cognate_common::breached::BreachedPasswords::new(
        context.config.breached_passwords_file.as_deref(),
    )?;
    let sealer = context.sealer()?;
    DIRECTORY_SECRETS.check_keys(&db, &sealer).await?;
    let mut directory = Directory::new(db, context.clock.clone(), context.config.clone(), sealer)
        .with_peers(context.peers.clone())
        .with_work(context.work.clone())
        .with_senders(senders)
        .with_breached(breached);
    directory
        .backfill_attribute_index()
        .await
        .context("indexing the attributes of users stored before migration 0500")?;
    if let Some(nats) = &context.nats {
        directory = directory.with_nats(nats.clone()).await?;
    }
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

/// The members every end-user call (SignUp, ConfirmSignUp, ForgotPassword, ...) carries.
fn client_call<'a>(
    client_id: &'a Option<String>,
    username: &'a Option<String>,
    secret_hash: &'a Option<String>,
    client_metadata: &std::collections::HashMap<String, String>,
) -> CognitoResult<accounts::ClientCall<'a>> {
    Ok(accounts::ClientCall {
        client_id: required(client_id, "ClientId")?,
        username: required(username, "Username")?,
        secret_hash: secret_hash.as_deref(),
        client_metadata: json!(client_metadata),
        from_link: false,
    })
}

/// The pool and job an import-job operation names.
fn job_ref<'a>(
    pool_id: &'a Option<String>,
    job_id: &'a Option<String>,
) -> CognitoResult<(&'a str, &'a str)> {
    Ok((required(pool_id, "UserPoolId")?, required(job_id, "JobId")?))
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
    async fn get_user(
        &self,
        request: Request<idp::GetUserRequest>,
    ) -> Result<Response<idp::GetUserResponse>, Status> {
        let token = required(&request.get_ref().access_token, "AccessToken")?;
        reply(self.get_user(token).await?)
    }

    async fn change_password(
        &self,
        request: Request<idp::ChangePasswordRequest>,
    ) -> Result<Response<idp::ChangePasswordResponse>, Status> {
        let request = request.get_ref();
        let token = required(&request.access_token, "AccessToken")?;
        let previous = required(&request.previous_password, "PreviousPassword")?;
        let proposed = required(&request.proposed_password, "ProposedPassword")?;
        self.change_password(token, previous, proposed).await?;
        Ok(Response::new(idp::ChangePasswordResponse::default()))
    }

    async fn sign_up(
        &self,
        request: Request<idp::SignUpRequest>,
    ) -> Result<Response<idp::SignUpResponse>, Status> {
        let object = object(request.get_ref());
        let request = request.get_ref();
        let call = client_call(
            &request.client_id,
            &request.username,
            &request.secret_hash,
            &request.client_metadata,
        )?;
        required(&request.password, "Password")?;
        let signed_up = self.sign_up(call, &object).await?;
        reply(json!({
            "UserConfirmed": signed_up.confirmed,
            "CodeDeliveryDetails": signed_up.delivery,
            "UserSub": signed_up.sub,
        }))
    }

    async fn confirm_sign_up(
        &self,
        request: Request<idp::ConfirmSignUpRequest>,
    ) -> Result<Response<idp::ConfirmSignUpResponse>, Status> {
        let request = request.get_ref();
        let call = client_call(
            &request.client_id,
            &request.username,
            &request.secret_hash,
            &request.client_metadata,
        )?;
        let code = required(&request.confirmation_code, "ConfirmationCode")?;
        self.confirm_sign_up(call, code, request.force_alias_creation.unwrap_or(false))
            .await?;
        Ok(Response::new(idp::ConfirmSignUpResponse::default()))
    }

    async fn resend_confirmation_code(
        &self,
        request: Request<idp::ResendConfirmationCodeRequest>,
    ) -> Result<Response<idp::ResendConfirmationCodeResponse>, Status> {
        let request = request.get_ref();
        let call = client_call(
            &request.client_id,
            &request.username,
            &request.secret_hash,
            &request.client_metadata,
        )?;
        let delivery = self.resend_confirmation_code(call).await?;
        reply(json!({ "CodeDeliveryDetails": delivery }))
    }

    async fn forgot_password(
        &self,
        request: Request<idp::ForgotPasswordRequest>,
    ) -> Result<Response<idp::ForgotPasswordResponse>, Status> {
        let request = request.get_ref();
        let call = client_call(
            &request.client_id,
            &request.username,
            &request.secret_hash,
            &request.client_metadata,
        )?;
        let delivery = self.forgot_password(call).await?;
        reply(json!({ "CodeDeliveryDetails": delivery }))
    }

    async fn confirm_forgot_password(
        &self,
        request: Request<idp::ConfirmForgotPasswordRequest>,
    ) -> Result<Response<idp::ConfirmForgotPasswordResponse>, Status> {
        let request = request.get_ref();
        let call = client_call(
            &request.client_id,
            &request.username,
            &request.secret_hash,
            &request.client_metadata,
        )?;
        let code = required(&request.confirmation_code, "ConfirmationCode")?;
        let password = required(&request.password, "Password")?;
        self.confirm_forgot_password(call, code, password).await?;
        Ok(Response::new(idp::ConfirmForgotPasswordResponse::default()))
    }

    async fn set_risk_configuration(
        &self,
        request: Request<idp::SetRiskConfigurationRequest>,
    ) -> Result<Response<idp::SetRiskConfigurationResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        reply(
            self.set_risk_configuration(&object(request.get_ref()))
                .await?,
        )
    }

    async fn describe_risk_configuration(
        &self,
        request: Request<idp::DescribeRiskConfigurationRequest>,
    ) -> Result<Response<idp::DescribeRiskConfigurationResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        reply(
            self.describe_risk_configuration(pool_id, request.client_id.as_deref())
                .await?,
        )
    }

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
        // From the store, not the cache: an admin sees their own change on any replica.
        let client = pools::parse_stored(&self.load_client_text(Some(pool_id), client_id).await?)?;
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

    async fn add_user_pool_client_secret(
        &self,
        request: Request<idp::AddUserPoolClientSecretRequest>,
    ) -> Result<Response<idp::AddUserPoolClientSecretResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let client_id = required(&request.client_id, "ClientId")?;
        let descriptor = self
            .add_user_pool_client_secret(pool_id, client_id, request.client_secret.as_deref())
            .await?;
        reply(json!({ "ClientSecretDescriptor": descriptor }))
    }

    async fn list_user_pool_client_secrets(
        &self,
        request: Request<idp::ListUserPoolClientSecretsRequest>,
    ) -> Result<Response<idp::ListUserPoolClientSecretsResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let client_id = required(&request.client_id, "ClientId")?;
        let secrets = self
            .list_user_pool_client_secrets(pool_id, client_id)
            .await?;
        reply(json!({ "ClientSecrets": secrets }))
    }

    async fn delete_user_pool_client_secret(
        &self,
        request: Request<idp::DeleteUserPoolClientSecretRequest>,
    ) -> Result<Response<idp::DeleteUserPoolClientSecretResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let client_id = required(&request.client_id, "ClientId")?;
        let secret_id = required(&request.client_secret_id, "ClientSecretId")?;
        self.delete_user_pool_client_secret(pool_id, client_id, secret_id)
            .await?;
        Ok(Response::new(
            idp::DeleteUserPoolClientSecretResponse::default(),
        ))
    }

    async fn create_user_pool_domain(
        &self,
        request: Request<idp::CreateUserPoolDomainRequest>,
    ) -> Result<Response<idp::CreateUserPoolDomainResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        required(&request.get_ref().domain, "Domain")?;
        reply(
            self.create_user_pool_domain(&object(request.get_ref()))
                .await?,
        )
    }

    async fn describe_user_pool_domain(
        &self,
        request: Request<idp::DescribeUserPoolDomainRequest>,
    ) -> Result<Response<idp::DescribeUserPoolDomainResponse>, Status> {
        let domain = required(&request.get_ref().domain, "Domain")?;
        let description = self.describe_user_pool_domain(domain).await?;
        reply(json!({ "DomainDescription": description }))
    }

    async fn update_user_pool_domain(
        &self,
        request: Request<idp::UpdateUserPoolDomainRequest>,
    ) -> Result<Response<idp::UpdateUserPoolDomainResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        required(&request.get_ref().domain, "Domain")?;
        reply(
            self.update_user_pool_domain(&object(request.get_ref()))
                .await?,
        )
    }

    async fn delete_user_pool_domain(
        &self,
        request: Request<idp::DeleteUserPoolDomainRequest>,
    ) -> Result<Response<idp::DeleteUserPoolDomainResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let domain = required(&request.domain, "Domain")?;
        self.delete_user_pool_domain(pool_id, domain).await?;
        Ok(Response::new(idp::DeleteUserPoolDomainResponse::default()))
    }

    async fn create_resource_server(
        &self,
        request: Request<idp::CreateResourceServerRequest>,
    ) -> Result<Response<idp::CreateResourceServerResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        let server = self
            .create_resource_server(&object(request.get_ref()))
            .await?;
        reply(json!({ "ResourceServer": server }))
    }

    async fn describe_resource_server(
        &self,
        request: Request<idp::DescribeResourceServerRequest>,
    ) -> Result<Response<idp::DescribeResourceServerResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let identifier = required(&request.identifier, "Identifier")?;
        let server = self.describe_resource_server(pool_id, identifier).await?;
        reply(json!({ "ResourceServer": server }))
    }

    async fn list_resource_servers(
        &self,
        request: Request<idp::ListResourceServersRequest>,
    ) -> Result<Response<idp::ListResourceServersResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let (servers, next_token) = self
            .list_resource_servers(
                pool_id,
                request.max_results.map(i64::from),
                request.next_token.as_deref(),
            )
            .await?;
        reply(json!({ "ResourceServers": servers, "NextToken": next_token }))
    }

    async fn update_resource_server(
        &self,
        request: Request<idp::UpdateResourceServerRequest>,
    ) -> Result<Response<idp::UpdateResourceServerResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        let server = self
            .update_resource_server(&object(request.get_ref()))
            .await?;
        reply(json!({ "ResourceServer": server }))
    }

    async fn delete_resource_server(
        &self,
        request: Request<idp::DeleteResourceServerRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let identifier = required(&request.identifier, "Identifier")?;
        self.delete_resource_server(pool_id, identifier).await?;
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
        let mfa = self.mfa_settings(pool_id, &user.sub).await?;
        let mut shown = json!({
            "Username": user.username,
            "UserAttributes": user.attributes,
            "UserCreateDate": cognate_common::clock::epoch_seconds(user.created_at),
            "UserLastModifiedDate": cognate_common::clock::epoch_seconds(user.updated_at),
            "Enabled": user.enabled,
            "UserStatus": user.status,
        });
        profile::add_mfa_members(&mut shown, mfa);
        reply(shown)
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
            None,
        )
        .await?;
        Ok(Response::new(idp::AdminSetUserPasswordResponse::default()))
    }

    async fn admin_reset_user_password(
        &self,
        request: Request<idp::AdminResetUserPasswordRequest>,
    ) -> Result<Response<idp::AdminResetUserPasswordResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        self.admin_reset_user_password(pool_id, username, &json!(request.client_metadata))
            .await?;
        Ok(Response::new(idp::AdminResetUserPasswordResponse::default()))
    }

    async fn get_csv_header(
        &self,
        request: Request<idp::GetCsvHeaderRequest>,
    ) -> Result<Response<idp::GetCsvHeaderResponse>, Status> {
        let pool_id = required(&request.get_ref().user_pool_id, "UserPoolId")?;
        let header = self.get_csv_header(pool_id).await?;
        reply(json!({"UserPoolId": pool_id, "CSVHeader": header}))
    }

    async fn create_user_import_job(
        &self,
        request: Request<idp::CreateUserImportJobRequest>,
    ) -> Result<Response<idp::CreateUserImportJobResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let job_name = required(&request.job_name, "JobName")?;
        let role_arn = required(&request.cloud_watch_logs_role_arn, "CloudWatchLogsRoleArn")?;
        let job = self
            .create_user_import_job(pool_id, job_name, role_arn)
            .await?;
        reply(json!({ "UserImportJob": job }))
    }

    async fn describe_user_import_job(
        &self,
        request: Request<idp::DescribeUserImportJobRequest>,
    ) -> Result<Response<idp::DescribeUserImportJobResponse>, Status> {
        let (pool_id, job_id) =
            job_ref(&request.get_ref().user_pool_id, &request.get_ref().job_id)?;
        let job = self.describe_user_import_job(pool_id, job_id).await?;
        reply(json!({ "UserImportJob": job }))
    }

    async fn start_user_import_job(
        &self,
        request: Request<idp::StartUserImportJobRequest>,
    ) -> Result<Response<idp::StartUserImportJobResponse>, Status> {
        let (pool_id, job_id) =
            job_ref(&request.get_ref().user_pool_id, &request.get_ref().job_id)?;
        let job = self.start_user_import_job(pool_id, job_id).await?;
        reply(json!({ "UserImportJob": job }))
    }

    async fn stop_user_import_job(
        &self,
        request: Request<idp::StopUserImportJobRequest>,
    ) -> Result<Response<idp::StopUserImportJobResponse>, Status> {
        let (pool_id, job_id) =
            job_ref(&request.get_ref().user_pool_id, &request.get_ref().job_id)?;
        let job = self.stop_user_import_job(pool_id, job_id).await?;
        reply(json!({ "UserImportJob": job }))
    }

    async fn list_user_import_jobs(
        &self,
        request: Request<idp::ListUserImportJobsRequest>,
    ) -> Result<Response<idp::ListUserImportJobsResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let max_results = request.max_results.ok_or_else(|| {
            CognitoError::invalid_parameter(
                "1 validation error detected: Value null at 'maxResults' failed to satisfy constraint: Member must not be null",
            )
        })?;
        let (jobs, token) = self
            .list_user_import_jobs(
                pool_id,
                i64::from(max_results),
                request.pagination_token.as_deref(),
            )
            .await?;
        reply(json!({ "UserImportJobs": jobs, "PaginationToken": token }))
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

    async fn admin_delete_user(
        &self,
        request: Request<idp::AdminDeleteUserRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        self.admin_delete_user(pool_id, username).await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn admin_disable_user(
        &self,
        request: Request<idp::AdminDisableUserRequest>,
    ) -> Result<Response<idp::AdminDisableUserResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        self.admin_set_user_enabled(pool_id, username, false)
            .await?;
        Ok(Response::new(idp::AdminDisableUserResponse::default()))
    }

    async fn admin_enable_user(
        &self,
        request: Request<idp::AdminEnableUserRequest>,
    ) -> Result<Response<idp::AdminEnableUserResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        self.admin_set_user_enabled(pool_id, username, true).await?;
        Ok(Response::new(idp::AdminEnableUserResponse::default()))
    }

    async fn admin_update_user_attributes(
        &self,
        request: Request<idp::AdminUpdateUserAttributesRequest>,
    ) -> Result<Response<idp::AdminUpdateUserAttributesResponse>, Status> {
        let object = object(request.get_ref());
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        let updates = object
            .get("UserAttributes")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        self.admin_update_user_attributes(
            pool_id,
            username,
            &updates,
            &json!(request.client_metadata),
        )
        .await?;
        Ok(Response::new(
            idp::AdminUpdateUserAttributesResponse::default(),
        ))
    }

    async fn update_user_attributes(
        &self,
        request: Request<idp::UpdateUserAttributesRequest>,
    ) -> Result<Response<idp::UpdateUserAttributesResponse>, Status> {
        let object = object(request.get_ref());
        let request = request.get_ref();
        let token = required(&request.access_token, "AccessToken")?;
        let updates = object
            .get("UserAttributes")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let deliveries = self
            .update_user_attributes(token, &updates, &json!(request.client_metadata))
            .await?;
        reply(json!({ "CodeDeliveryDetailsList": deliveries }))
    }

    async fn get_user_attribute_verification_code(
        &self,
        request: Request<idp::GetUserAttributeVerificationCodeRequest>,
    ) -> Result<Response<idp::GetUserAttributeVerificationCodeResponse>, Status> {
        let request = request.get_ref();
        let token = required(&request.access_token, "AccessToken")?;
        let attribute = required(&request.attribute_name, "AttributeName")?;
        let delivery = self
            .get_user_attribute_verification_code(token, attribute, &json!(request.client_metadata))
            .await?;
        reply(json!({ "CodeDeliveryDetails": delivery }))
    }

    async fn verify_user_attribute(
        &self,
        request: Request<idp::VerifyUserAttributeRequest>,
    ) -> Result<Response<idp::VerifyUserAttributeResponse>, Status> {
        let request = request.get_ref();
        let token = required(&request.access_token, "AccessToken")?;
        let attribute = required(&request.attribute_name, "AttributeName")?;
        let code = required(&request.code, "Code")?;
        self.verify_user_attribute(token, attribute, code).await?;
        Ok(Response::new(idp::VerifyUserAttributeResponse::default()))
    }

    async fn delete_user(
        &self,
        request: Request<idp::DeleteUserRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let token = required(&request.get_ref().access_token, "AccessToken")?;
        self.delete_user(token).await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn delete_user_attributes(
        &self,
        request: Request<idp::DeleteUserAttributesRequest>,
    ) -> Result<Response<idp::DeleteUserAttributesResponse>, Status> {
        let request = request.get_ref();
        let token = required(&request.access_token, "AccessToken")?;
        self.delete_user_attributes(token, &request.user_attribute_names)
            .await?;
        Ok(Response::new(idp::DeleteUserAttributesResponse::default()))
    }

    async fn admin_delete_user_attributes(
        &self,
        request: Request<idp::AdminDeleteUserAttributesRequest>,
    ) -> Result<Response<idp::AdminDeleteUserAttributesResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        self.admin_delete_user_attributes(pool_id, username, &request.user_attribute_names)
            .await?;
        Ok(Response::new(
            idp::AdminDeleteUserAttributesResponse::default(),
        ))
    }

    async fn admin_confirm_sign_up(
        &self,
        request: Request<idp::AdminConfirmSignUpRequest>,
    ) -> Result<Response<idp::AdminConfirmSignUpResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        self.admin_confirm_sign_up(pool_id, username).await?;
        self.post_confirmation(
            pool_id,
            &*self.load_pool(pool_id).await?,
            "PostConfirmation_ConfirmSignUp",
            None,
            username,
            &json!(request.client_metadata),
        )
        .await?;
        Ok(Response::new(idp::AdminConfirmSignUpResponse::default()))
    }

    async fn create_group(
        &self,
        request: Request<idp::CreateGroupRequest>,
    ) -> Result<Response<idp::CreateGroupResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        required(&request.get_ref().group_name, "GroupName")?;
        let group = self.create_group(object(request.get_ref())).await?;
        reply(json!({ "Group": group }))
    }

    async fn get_group(
        &self,
        request: Request<idp::GetGroupRequest>,
    ) -> Result<Response<idp::GetGroupResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let name = required(&request.group_name, "GroupName")?;
        let group = self.get_group(pool_id, name).await?;
        reply(json!({ "Group": group }))
    }

    async fn update_group(
        &self,
        request: Request<idp::UpdateGroupRequest>,
    ) -> Result<Response<idp::UpdateGroupResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        required(&request.get_ref().group_name, "GroupName")?;
        let group = self.update_group(object(request.get_ref())).await?;
        reply(json!({ "Group": group }))
    }

    async fn delete_group(
        &self,
        request: Request<idp::DeleteGroupRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let name = required(&request.group_name, "GroupName")?;
        self.delete_group(pool_id, name).await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn list_groups(
        &self,
        request: Request<idp::ListGroupsRequest>,
    ) -> Result<Response<idp::ListGroupsResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let (groups, token) = self
            .list_groups(
                pool_id,
                request.limit.map(i64::from),
                request.next_token.as_deref(),
            )
            .await?;
        reply(json!({ "Groups": groups, "NextToken": token }))
    }

    async fn admin_add_user_to_group(
        &self,
        request: Request<idp::AdminAddUserToGroupRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        let group = required(&request.group_name, "GroupName")?;
        self.admin_add_user_to_group(pool_id, username, group)
            .await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn admin_remove_user_from_group(
        &self,
        request: Request<idp::AdminRemoveUserFromGroupRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        let group = required(&request.group_name, "GroupName")?;
        self.admin_remove_user_from_group(pool_id, username, group)
            .await?;
        Ok(Response::new(idp::Unit::default()))
    }

    async fn admin_list_groups_for_user(
        &self,
        request: Request<idp::AdminListGroupsForUserRequest>,
    ) -> Result<Response<idp::AdminListGroupsForUserResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let username = required(&request.username, "Username")?;
        let (groups, token) = self
            .admin_list_groups_for_user(
                pool_id,
                username,
                request.limit.map(i64::from),
                request.next_token.as_deref(),
            )
            .await?;
        reply(json!({ "Groups": groups, "NextToken": token }))
    }

    async fn list_users_in_group(
        &self,
        request: Request<idp::ListUsersInGroupRequest>,
    ) -> Result<Response<idp::ListUsersInGroupResponse>, Status> {
        let request = request.get_ref();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let group = required(&request.group_name, "GroupName")?;
        let (users, token) = self
            .list_users_in_group(
                pool_id,
                group,
                request.limit.map(i64::from),
                request.next_token.as_deref(),
            )
            .await?;
        let users: Vec<Json> = users.iter().map(|user| user.to_user_type(None)).collect();
        reply(json!({ "Users": users, "NextToken": token }))
    }

    async fn update_user_pool_client(
        &self,
        request: Request<idp::UpdateUserPoolClientRequest>,
    ) -> Result<Response<idp::UpdateUserPoolClientResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        required(&request.get_ref().client_id, "ClientId")?;
        let client = self
            .update_user_pool_client(object(request.get_ref()))
            .await?;
        reply(json!({ "UserPoolClient": client }))
    }

    async fn add_custom_attributes(
        &self,
        request: Request<idp::AddCustomAttributesRequest>,
    ) -> Result<Response<idp::AddCustomAttributesResponse>, Status> {
        let object = object(request.get_ref());
        let pool_id = required(&request.get_ref().user_pool_id, "UserPoolId")?;
        let attributes = object
            .get("CustomAttributes")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        self.add_custom_attributes(pool_id, &attributes).await?;
        Ok(Response::new(idp::AddCustomAttributesResponse::default()))
    }

    async fn get_user_pool_mfa_config(
        &self,
        request: Request<idp::GetUserPoolMfaConfigRequest>,
    ) -> Result<Response<idp::GetUserPoolMfaConfigResponse>, Status> {
        let pool_id = required(&request.get_ref().user_pool_id, "UserPoolId")?;
        reply(self.get_user_pool_mfa_config(pool_id).await?)
    }

    async fn set_user_pool_mfa_config(
        &self,
        request: Request<idp::SetUserPoolMfaConfigRequest>,
    ) -> Result<Response<idp::SetUserPoolMfaConfigResponse>, Status> {
        required(&request.get_ref().user_pool_id, "UserPoolId")?;
        reply(
            self.set_user_pool_mfa_config(object(request.get_ref()))
                .await?,
        )
    }

    async fn tag_resource(
        &self,
        request: Request<idp::TagResourceRequest>,
    ) -> Result<Response<idp::TagResourceResponse>, Status> {
        let object = object(request.get_ref());
        let arn = required(&request.get_ref().resource_arn, "ResourceArn")?;
        let tags = object
            .get("Tags")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        self.tag_resource(arn, &tags).await?;
        Ok(Response::new(idp::TagResourceResponse::default()))
    }

    async fn untag_resource(
        &self,
        request: Request<idp::UntagResourceRequest>,
    ) -> Result<Response<idp::UntagResourceResponse>, Status> {
        let request = request.get_ref();
        let arn = required(&request.resource_arn, "ResourceArn")?;
        self.untag_resource(arn, &request.tag_keys).await?;
        Ok(Response::new(idp::UntagResourceResponse::default()))
    }

    async fn list_tags_for_resource(
        &self,
        request: Request<idp::ListTagsForResourceRequest>,
    ) -> Result<Response<idp::ListTagsForResourceResponse>, Status> {
        let arn = required(&request.get_ref().resource_arn, "ResourceArn")?;
        let tags = self.list_tags_for_resource(arn).await?;
        reply(json!({ "Tags": tags }))
    }
}

#[tonic::async_trait]
impl internal::directory_internal_server::DirectoryInternal for Directory {
    async fn list_dev_outbox(
        &self,
        request: Request<internal::ListDevOutboxRequest>,
    ) -> Result<Response<internal::DevOutbox>, Status> {
        let request = request.get_ref();
        let messages = self
            .list_dev_outbox(&request.user_pool_id, &request.username)
            .await?;
        Ok(Response::new(internal::DevOutbox { messages }))
    }

    async fn get_pool(
        &self,
        request: Request<internal::GetPoolRequest>,
    ) -> Result<Response<internal::PoolConfig>, Status> {
        let pool = self.load_pool(&request.get_ref().user_pool_id).await?;
        Ok(Response::new(internal::PoolConfig {
            pool: Some(pool.proto()?),
        }))
    }

    async fn get_client(
        &self,
        request: Request<internal::GetClientRequest>,
    ) -> Result<Response<internal::ClientConfig>, Status> {
        let request = request.get_ref();
        let wanted_pool = Some(request.user_pool_id.as_str()).filter(|id| !id.is_empty());
        let client = self.load_client(wanted_pool, &request.client_id).await?;
        let pool = self.load_pool(&client.pool_id).await?;
        let user = if request.username.is_empty() {
            None
        } else {
            match self.user_record(&client.pool_id, &request.username).await {
                Err(error) if error.code == ErrorCode::UserNotFoundException => None,
                found => Some(found?),
            }
        };
        Ok(Response::new(internal::ClientConfig {
            pool: Some(pool.proto()?),
            client: Some(client.proto()?),
            client_secrets: client.secrets.clone(),
            user,
        }))
    }

    async fn find_user(
        &self,
        request: Request<internal::FindUserRequest>,
    ) -> Result<Response<internal::UserRecord>, Status> {
        let request = request.get_ref();
        let user = self
            .user_record(&request.user_pool_id, &request.username)
            .await?;
        Ok(Response::new(user))
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
            Some(request.client_id.as_str()).filter(|id| !id.is_empty()),
        )
        .await?;
        Ok(Response::new(internal::SetPasswordResponse {}))
    }

    async fn send_authentication_code(
        &self,
        request: Request<internal::SendAuthenticationCodeRequest>,
    ) -> Result<Response<internal::CodeDelivery>, Status> {
        let request = request.get_ref();
        let details = self.send_authentication_code(request).await?;
        Ok(Response::new(code_delivery(&details)))
    }

    async fn simulate_code_delivery(
        &self,
        request: Request<internal::SimulateCodeDeliveryRequest>,
    ) -> Result<Response<internal::CodeDelivery>, Status> {
        let request = request.get_ref();
        let channel = match request.medium.as_str() {
            "SMS" => outbox::Channel::Sms,
            _ => outbox::Channel::Email,
        };
        // A pool that can't send the code refuses a known user: so it refuses everyone.
        let pool = self.load_pool(&request.user_pool_id).await?;
        self.ensure_deliverable(&pool, channel)?;
        let details = self
            .simulated_destination(&request.user_pool_id, &request.username, channel)
            .await?;
        Ok(Response::new(code_delivery(&details)))
    }

    async fn authorize_user_import_upload(
        &self,
        request: Request<internal::UserImportUpload>,
    ) -> Result<Response<internal::UploadUserImportCsvResponse>, Status> {
        let request = request.get_ref();
        self.authorize_user_import_upload(&request.job_id, &request.token)
            .await?;
        Ok(Response::new(internal::UploadUserImportCsvResponse {}))
    }

    async fn upload_user_import_csv(
        &self,
        request: Request<tonic::Streaming<internal::UploadUserImportCsvPiece>>,
    ) -> Result<Response<internal::UploadUserImportCsvResponse>, Status> {
        let mut pieces = request.into_inner();
        // The first piece names the job; an empty upload names none and is refused.
        let first = pieces.message().await?.unwrap_or_default();
        let upload = first.upload.clone().unwrap_or_default();
        let pieces = futures::stream::once(async { Ok(first) })
            .chain(pieces)
            .map(|piece| {
                piece
                    .map(|piece| imports::UploadPiece {
                        data: piece.data,
                        last: piece.last,
                    })
                    .map_err(CognitoError::from)
            });
        self.upload_user_import_csv(&upload.job_id, &upload.token, pieces)
            .await?;
        Ok(Response::new(internal::UploadUserImportCsvResponse {}))
    }

    async fn confirm_sign_up_by_link(
        &self,
        request: Request<internal::ConfirmSignUpByLinkRequest>,
    ) -> Result<Response<internal::ConfirmSignUpByLinkResponse>, Status> {
        let request = request.get_ref();
        let call = accounts::ClientCall {
            client_id: &request.client_id,
            username: &request.username,
            secret_hash: None,
            client_metadata: json!({}),
            from_link: true,
        };
        self.confirm_sign_up(call, &request.confirmation_code, false)
            .await?;
        Ok(Response::new(internal::ConfirmSignUpByLinkResponse {}))
    }

    async fn screen_sign_in(
        &self,
        request: Request<internal::ScreenSignInRequest>,
    ) -> Result<Response<internal::ScreenSignInResponse>, Status> {
        let request = request.get_ref();
        let blocked = self
            .screen_sign_in(
                &request.user_pool_id,
                &request.client_id,
                &request.username,
                &request.password,
            )
            .await?;
        Ok(Response::new(internal::ScreenSignInResponse { blocked }))
    }

    async fn upgrade_password(
        &self,
        request: Request<internal::UpgradePasswordRequest>,
    ) -> Result<Response<internal::UpgradePasswordResponse>, Status> {
        let request = request.get_ref();
        self.upgrade_password(
            &request.user_pool_id,
            &request.username,
            &request.password,
            &request.previous_hash,
        )
        .await?;
        Ok(Response::new(internal::UpgradePasswordResponse {}))
    }
}

/// A `CodeDeliveryDetails` document as the internal message.
fn code_delivery(details: &Json) -> internal::CodeDelivery {
    let member = |name: &str| details[name].as_str().unwrap_or_default().to_owned();
    internal::CodeDelivery {
        destination: member("Destination"),
        delivery_medium: member("DeliveryMedium"),
        attribute_name: member("AttributeName"),
    }
}

#[cfg(test)]
mod replica_tests {
    use std::time::Duration;

    use super::*;
    use crate::config_cache::ConfigCache;
    use cognate_common::testing::TestStore;

    /// A directory replica on `store` whose cache would keep entries for an hour: only a NATS
    /// notice can make it forget one.
    async fn replica(store: &TestStore) -> Directory {
        let nats = async_nats::connect(
            std::env::var("COGNATE_TEST_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        )
        .await
        .expect("NATS connects");
        let mut directory = Directory::new(
            store.pool.clone(),
            Arc::new(cognate_common::clock::SystemClock),
            Arc::new(Config::default()),
            cognate_common::testing::sealer(),
        );
        directory.config_cache = Arc::new(ConfigCache::new(Duration::from_secs(3600)));
        directory.with_nats(nats).await.expect("subscribes")
    }

    fn object(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap_or_default()
    }

    /// Waits up to 10 s for `seen` to hold on what `read` answers.
    async fn eventually<T, F: std::future::Future<Output = T>>(
        mut read: impl FnMut() -> F,
        seen: impl Fn(&T) -> bool,
    ) -> T {
        for _ in 0..100 {
            let value = read().await;
            if seen(&value) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        read().await
    }

    #[tokio::test]
    async fn replicas_see_each_others_changes() {
        let store = TestStore::postgres(ServiceKind::Directory, &MIGRATOR).await;
        let (one, other) = (replica(&store).await, replica(&store).await);
        let pool = one
            .create_user_pool(object(json!({"PoolName": "before"})))
            .await
            .expect("pool");
        let pool_id = pool["Id"].as_str().expect("id");
        let client = one
            .create_user_pool_client(object(json!({"UserPoolId": pool_id, "ClientName": "c"})))
            .await
            .expect("client");
        let client_id = client["ClientId"].as_str().expect("client id");
        assert_eq!(
            other.load_pool(pool_id).await.expect("pool")["Name"],
            "before"
        );
        other.load_client(None, client_id).await.expect("client");

        one.modify_pool(pool_id, |pool| {
            pool.insert("Name".into(), json!("after"));
            Ok(())
        })
        .await
        .expect("renamed");
        assert_eq!(one.load_pool(pool_id).await.expect("pool")["Name"], "after");
        let seen = eventually(
            || other.load_pool(pool_id),
            |pool| pool.as_ref().is_ok_and(|pool| pool["Name"] == "after"),
        )
        .await;
        assert_eq!(seen.expect("pool")["Name"], "after");

        one.delete_user_pool_client(pool_id, client_id)
            .await
            .expect("deleted");
        let gone = eventually(
            || other.load_client(None, client_id),
            |client| client.is_err(),
        )
        .await;
        assert_eq!(
            gone.expect_err("forgotten").code,
            ErrorCode::ResourceNotFoundException
        );
    }
}
