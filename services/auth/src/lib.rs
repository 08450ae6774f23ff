//! Cognate's token issuer: sign-in flows, password checks, signing keys and refresh tokens.
//! It reads pools, clients and users from the directory and never touches their tables.

mod choice;
mod custom;
mod devices;
mod events;
mod factors;
mod flows;
mod forget;
mod keys;
mod lockout;
mod mfa;
mod revocation;
pub mod sealed;
mod tokens;
mod totp;
pub mod transfer;

use std::sync::Arc;

use serde_json::{Value as Json, json};
use sqlx::AnyPool;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use cognate_common::clock::SharedClock;
use cognate_common::{CognitoError, CognitoResult, Config, ErrorCode, ServiceContext, ServiceKind};
use cognate_proto::awsjson;
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;
use cognate_proto::internal::v1::triggers_client::TriggersClient;

use cognate_common::ephemeral::Ephemeral;
use cognate_common::grpc::PeerChannel;
use cognate_common::sealing::Sealer;
use cognate_common::work::Work;
use flows::SignIn;
use keys::KeyStore;
use lockout::Lockout;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Auth {
    db: AnyPool,
    keys: KeyStore,
    lockout: Lockout,
    /// The process's bound on password and SRP work.
    work: Work,
    clock: SharedClock,
    config: Arc<Config>,
    ephemeral: Ephemeral,
    sealer: Sealer,
    directory: DirectoryInternalClient<PeerChannel>,
    triggers: TriggersClient<PeerChannel>,
}

/// An app client's configuration and its active secrets: two while a secret is being rotated
/// (AddUserPoolClientSecret), either of which proves the client. It reads as the client type.
pub(crate) struct AppClient {
    config: idp::UserPoolClientType,
    secrets: Vec<String>,
}

impl AppClient {
    pub(crate) fn into_config(self) -> idp::UserPoolClientType {
        self.config
    }
}

impl std::ops::Deref for AppClient {
    type Target = idp::UserPoolClientType;

    fn deref(&self) -> &idp::UserPoolClientType {
        &self.config
    }
}

/// Connects and migrates the store and adds the issuer's gRPC services to `routes`.
pub async fn start(context: &ServiceContext, routes: &mut RoutesBuilder) -> anyhow::Result<()> {
    let db =
        cognate_common::store::connect_and_migrate(&context.config, ServiceKind::Auth, &MIGRATOR)
            .await?;
    let sealer = context.sealer()?;
    sealed::check_keys(&db, &sealer).await?;
    let auth = Auth {
        keys: KeyStore::new(
            db.clone(),
            context.clock.clone(),
            &context.config,
            sealer.clone(),
        ),
        sealer,
        lockout: Lockout::new(db.clone()),
        work: context.work.clone(),
        db,
        clock: context.clock.clone(),
        config: context.config.clone(),
        ephemeral: context.ephemeral.clone(),
        directory: DirectoryInternalClient::new(context.peers.channel(ServiceKind::Directory)),
        triggers: TriggersClient::new(context.peers.channel(ServiceKind::Triggers)),
    };
    routes
        .add_service(idp::auth_server::AuthServer::new(auth.clone()))
        .add_service(internal::auth_internal_server::AuthInternalServer::new(
            auth,
        ));
    Ok(())
}

impl Auth {
    /// SetUserMFAPreference and its Admin variant: the software token's settings, when given.
    /// SetUserMFAPreference and its Admin twin: each factor given is enabled or disabled, and
    /// at most one stays preferred. SMS and email need the attribute their codes go to.
    async fn set_mfa_preference(
        &self,
        pool_id: &str,
        user: &internal::UserRecord,
        [sms, software_token, email]: [Option<(bool, bool)>; 3],
    ) -> CognitoResult<()> {
        for (factor, settings, attribute) in [
            (factors::SMS, sms, "phone_number"),
            (factors::EMAIL, email, "email"),
        ] {
            let Some((enabled, preferred)) = settings else {
                continue;
            };
            let reachable = user.attributes.iter().any(|a| {
                a.name.as_deref() == Some(attribute)
                    && a.value.as_deref().is_some_and(|v| !v.is_empty())
            });
            if enabled && !reachable {
                return Err(CognitoError::invalid_parameter(format!(
                    "User does not have delivery config set to turn on {factor}"
                )));
            }
            factors::set_otp(&self.db, pool_id, &user.sub, factor, enabled, preferred).await?;
        }
        if let Some((enabled, preferred)) = software_token {
            totp::set_preference(&self.db, pool_id, &user.sub, enabled, preferred).await?;
        }
        let preferred = [
            (factors::SMS, sms),
            (factors::SOFTWARE_TOKEN, software_token),
            (factors::EMAIL, email),
        ]
        .into_iter()
        .find(|(_, settings)| settings.is_some_and(|(enabled, preferred)| enabled && preferred));
        if let Some((factor, _)) = preferred {
            factors::prefer_only(&self.db, pool_id, &user.sub, factor).await?;
        }
        Ok(())
    }

    /// SetUserSettings and its Admin twin, the legacy form of SMS MFA: an SMS option to
    /// `phone_number` enables SMS_MFA, an empty list disables it.
    async fn set_user_settings(
        &self,
        pool_id: &str,
        user: &internal::UserRecord,
        options: &[idp::MfaOptionType],
    ) -> CognitoResult<()> {
        if options.iter().any(|option| {
            option.delivery_medium.as_deref() != Some("SMS")
                || option.attribute_name.as_deref() != Some("phone_number")
        }) {
            return Err(CognitoError::invalid_parameter(
                "Only SMS delivery to phone_number can be set with MFAOptions.",
            ));
        }
        let enabled = !options.is_empty();
        self.set_mfa_preference(pool_id, user, [Some((enabled, false)), None, None])
            .await
    }

    pub(crate) fn issuer(&self, pool_id: &str) -> String {
        format!("{}/{pool_id}", self.config.public_url())
    }

    pub(crate) async fn client_config(
        &self,
        pool_id: Option<&str>,
        client_id: &str,
    ) -> CognitoResult<(idp::UserPoolType, AppClient)> {
        let (pool, client, _) = self.client_and_user(pool_id, client_id, "").await?;
        Ok((pool, client))
    }

    /// The client's pool and configuration and, in the same call to the directory, the user
    /// `username` finds (by username, alias or `sub`): `None` when none does or the name is
    /// empty.
    pub(crate) async fn client_and_user(
        &self,
        pool_id: Option<&str>,
        client_id: &str,
        username: &str,
    ) -> CognitoResult<(idp::UserPoolType, AppClient, Option<internal::UserRecord>)> {
        let reply = self
            .directory
            .clone()
            .get_client(internal::GetClientRequest {
                client_id: client_id.to_owned(),
                user_pool_id: pool_id.unwrap_or_default().to_owned(),
                username: username.to_owned(),
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        match (reply.pool, reply.client) {
            (Some(pool), Some(config)) => Ok((
                pool,
                AppClient {
                    config,
                    secrets: reply.client_secrets,
                },
                reply.user,
            )),
            _ => Err(cognate_common::error::internal(
                "directory answered without pool or client",
                client_id,
            )),
        }
    }

    pub(crate) async fn pool(&self, pool_id: &str) -> CognitoResult<idp::UserPoolType> {
        let reply = self
            .directory
            .clone()
            .get_pool(internal::GetPoolRequest {
                user_pool_id: pool_id.to_owned(),
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        reply.pool.ok_or_else(|| {
            cognate_common::error::internal("directory answered without pool", pool_id)
        })
    }
}

/// SetUserMFAPreference's SMS, software-token and email settings as (enabled, preferred).
fn choices(
    sms: Option<&idp::SmsMfaSettingsType>,
    software_token: Option<&idp::SoftwareTokenMfaSettingsType>,
    email: Option<&idp::EmailMfaSettingsType>,
) -> [Option<(bool, bool)>; 3] {
    let pair = |enabled: Option<bool>, preferred: Option<bool>| {
        (enabled.unwrap_or(false), preferred.unwrap_or(false))
    };
    [
        sms.map(|s| pair(s.enabled, s.preferred_mfa)),
        software_token.map(|s| pair(s.enabled, s.preferred_mfa)),
        email.map(|s| pair(s.enabled, s.preferred_mfa)),
    ]
}

fn reply<M: prost::Message + prost::Name + Default>(json: Json) -> Result<Response<M>, Status> {
    awsjson::from_json::<M>(&json)
        .map(Response::new)
        .map_err(|error| {
            cognate_common::error::internal("response does not fit its message", error).into()
        })
}

#[tonic::async_trait]
impl idp::auth_server::Auth for Auth {
    async fn initiate_auth(
        &self,
        request: Request<idp::InitiateAuthRequest>,
    ) -> Result<Response<idp::InitiateAuthResponse>, Status> {
        let request = request.get_ref();
        let answer = self
            .sign_in(SignIn {
                pool_id: None,
                client_id: request.client_id.as_deref().unwrap_or_default(),
                flow: request.auth_flow.as_deref().unwrap_or_default(),
                parameters: &request.auth_parameters,
                client_metadata: &request.client_metadata,
            })
            .await?;
        reply(answer)
    }

    async fn admin_initiate_auth(
        &self,
        request: Request<idp::AdminInitiateAuthRequest>,
    ) -> Result<Response<idp::AdminInitiateAuthResponse>, Status> {
        let request = request.get_ref();
        let flow = request.auth_flow.as_deref().unwrap_or_default();
        if flow == "USER_PASSWORD_AUTH" {
            return Err(
                CognitoError::invalid_parameter("Initiate Auth method not supported.").into(),
            );
        }
        let answer = self
            .sign_in(SignIn {
                pool_id: request.user_pool_id.as_deref(),
                client_id: request.client_id.as_deref().unwrap_or_default(),
                flow,
                parameters: &request.auth_parameters,
                client_metadata: &request.client_metadata,
            })
            .await?;
        reply(answer)
    }

    async fn get_tokens_from_refresh_token(
        &self,
        request: Request<idp::GetTokensFromRefreshTokenRequest>,
    ) -> Result<Response<idp::GetTokensFromRefreshTokenResponse>, Status> {
        let request = request.get_ref();
        let token = request.refresh_token.as_deref().unwrap_or_default();
        let stored = self.stored_refresh_token(token).await?;
        let (pool, client, user) = self
            .client_and_user(
                None,
                request.client_id.as_deref().unwrap_or_default(),
                stored.as_ref().map_or("", |stored| stored.sub.as_str()),
            )
            .await?;
        let answer = self
            .refresh(
                &pool,
                &client,
                stored,
                user,
                flows::ClientProof::ClientSecret(request.client_secret.as_deref()),
                true,
            )
            .await?;
        reply(serde_json::json!({ "AuthenticationResult": answer["AuthenticationResult"] }))
    }

    async fn associate_software_token(
        &self,
        request: Request<idp::AssociateSoftwareTokenRequest>,
    ) -> Result<Response<idp::AssociateSoftwareTokenResponse>, Status> {
        let request = request.get_ref();
        let subject = self
            .mfa_subject(request.access_token.as_deref(), request.session.as_deref())
            .await?;
        let secret =
            totp::associate(&self.db, &self.sealer, &subject.pool_id, &subject.sub).await?;
        let session = self.renew_session(&subject).await?;
        Ok(Response::new(idp::AssociateSoftwareTokenResponse {
            secret_code: Some(secret),
            session,
        }))
    }

    async fn verify_software_token(
        &self,
        request: Request<idp::VerifySoftwareTokenRequest>,
    ) -> Result<Response<idp::VerifySoftwareTokenResponse>, Status> {
        let request = request.get_ref();
        let subject = self
            .mfa_subject(request.access_token.as_deref(), request.session.as_deref())
            .await?;
        let now = cognate_common::clock::unix_millis(self.clock.now()) / 1000;
        let code = request.user_code.as_deref().unwrap_or_default();
        let name = request.friendly_device_name.as_deref().unwrap_or_default();
        if totp::confirm_pending(
            &self.db,
            &self.sealer,
            &subject.pool_id,
            &subject.sub,
            code,
            now,
            name,
        )
        .await
        .is_err()
        {
            // The session stays usable for another try.
            self.renew_session(&subject).await?;
            return Err(CognitoError::new(
                ErrorCode::EnableSoftwareTokenMFAException,
                "Code mismatch and fail enable Software Token MFA",
            )
            .into());
        }
        let session = self.renew_session(&subject).await?;
        Ok(Response::new(idp::VerifySoftwareTokenResponse {
            status: Some("SUCCESS".into()),
            session,
        }))
    }

    async fn set_user_mfa_preference(
        &self,
        request: Request<idp::SetUserMfaPreferenceRequest>,
    ) -> Result<Response<idp::SetUserMfaPreferenceResponse>, Status> {
        let request = request.get_ref();
        let claims = self
            .user_access_token(request.access_token.as_deref().unwrap_or_default())
            .await?;
        let user = self.find_user(&claims.user_pool_id, &claims.sub).await?;
        self.set_mfa_preference(
            &claims.user_pool_id,
            &user,
            choices(
                request.sms_mfa_settings.as_ref(),
                request.software_token_mfa_settings.as_ref(),
                request.email_mfa_settings.as_ref(),
            ),
        )
        .await?;
        Ok(Response::new(idp::SetUserMfaPreferenceResponse {}))
    }

    async fn admin_set_user_mfa_preference(
        &self,
        request: Request<idp::AdminSetUserMfaPreferenceRequest>,
    ) -> Result<Response<idp::AdminSetUserMfaPreferenceResponse>, Status> {
        let request = request.get_ref();
        let pool_id = request.user_pool_id.clone().unwrap_or_default();
        let user = self
            .find_user(&pool_id, request.username.as_deref().unwrap_or_default())
            .await?;
        self.set_mfa_preference(
            &pool_id,
            &user,
            choices(
                request.sms_mfa_settings.as_ref(),
                request.software_token_mfa_settings.as_ref(),
                request.email_mfa_settings.as_ref(),
            ),
        )
        .await?;
        Ok(Response::new(idp::AdminSetUserMfaPreferenceResponse {}))
    }

    async fn set_user_settings(
        &self,
        request: Request<idp::SetUserSettingsRequest>,
    ) -> Result<Response<idp::SetUserSettingsResponse>, Status> {
        let request = request.get_ref();
        let claims = self
            .user_access_token(request.access_token.as_deref().unwrap_or_default())
            .await?;
        let user = self.find_user(&claims.user_pool_id, &claims.sub).await?;
        self.set_user_settings(&claims.user_pool_id, &user, &request.mfa_options)
            .await?;
        Ok(Response::new(idp::SetUserSettingsResponse {}))
    }

    async fn admin_set_user_settings(
        &self,
        request: Request<idp::AdminSetUserSettingsRequest>,
    ) -> Result<Response<idp::AdminSetUserSettingsResponse>, Status> {
        let request = request.get_ref();
        let pool_id = request.user_pool_id.clone().unwrap_or_default();
        let user = self
            .find_user(&pool_id, request.username.as_deref().unwrap_or_default())
            .await?;
        self.set_user_settings(&pool_id, &user, &request.mfa_options)
            .await?;
        Ok(Response::new(idp::AdminSetUserSettingsResponse {}))
    }

    async fn get_user_auth_factors(
        &self,
        request: Request<idp::GetUserAuthFactorsRequest>,
    ) -> Result<Response<idp::GetUserAuthFactorsResponse>, Status> {
        let token = request
            .get_ref()
            .access_token
            .as_deref()
            .unwrap_or_default();
        let claims = self.user_access_token(token).await?;
        let user = self.find_user(&claims.user_pool_id, &claims.sub).await?;
        let mfa = factors::load(&self.db, &claims.user_pool_id, &claims.sub).await?;
        let pool = self.pool(&claims.user_pool_id).await?;
        let first_factors = choice::first_factors(&pool, &user);
        Ok(Response::new(idp::GetUserAuthFactorsResponse {
            preferred_mfa_setting: mfa.preferred.map(str::to_owned),
            user_mfa_setting_list: mfa.enabled.iter().map(|f| (*f).to_owned()).collect(),
            configured_user_auth_factors: first_factors.iter().map(|f| (*f).to_owned()).collect(),
            username: Some(user.username),
        }))
    }

    async fn global_sign_out(
        &self,
        request: Request<idp::GlobalSignOutRequest>,
    ) -> Result<Response<idp::GlobalSignOutResponse>, Status> {
        let token = request
            .get_ref()
            .access_token
            .as_deref()
            .unwrap_or_default();
        let claims = self.user_access_token(token).await?;
        self.sign_out_everywhere(&claims.user_pool_id, &claims.sub)
            .await?;
        Ok(Response::new(idp::GlobalSignOutResponse {}))
    }

    async fn admin_user_global_sign_out(
        &self,
        request: Request<idp::AdminUserGlobalSignOutRequest>,
    ) -> Result<Response<idp::AdminUserGlobalSignOutResponse>, Status> {
        let request = request.get_ref();
        let pool_id = request.user_pool_id.clone().unwrap_or_default();
        let user = self
            .directory
            .clone()
            .find_user(internal::FindUserRequest {
                user_pool_id: pool_id.clone(),
                username: request.username.clone().unwrap_or_default(),
            })
            .await?
            .into_inner();
        self.sign_out_everywhere(&pool_id, &user.sub).await?;
        Ok(Response::new(idp::AdminUserGlobalSignOutResponse {}))
    }

    async fn revoke_token(
        &self,
        request: Request<idp::RevokeTokenRequest>,
    ) -> Result<Response<idp::RevokeTokenResponse>, Status> {
        let request = request.get_ref();
        self.revoke_refresh_token(
            request.token.as_deref().unwrap_or_default(),
            request.client_id.as_deref().unwrap_or_default(),
            request.client_secret.as_deref(),
        )
        .await?;
        Ok(Response::new(idp::RevokeTokenResponse {}))
    }

    async fn confirm_device(
        &self,
        request: Request<idp::ConfirmDeviceRequest>,
    ) -> Result<Response<idp::ConfirmDeviceResponse>, Status> {
        let necessary = self.confirm_device(request.get_ref()).await?;
        Ok(Response::new(idp::ConfirmDeviceResponse {
            user_confirmation_necessary: Some(necessary),
        }))
    }

    async fn list_devices(
        &self,
        request: Request<idp::ListDevicesRequest>,
    ) -> Result<Response<idp::ListDevicesResponse>, Status> {
        let request = request.get_ref();
        let owner = self.token_owner(request.access_token.as_deref()).await?;
        let answer = self
            .list_devices(&owner, request.limit, request.pagination_token.as_deref())
            .await?;
        reply(answer)
    }

    async fn admin_list_devices(
        &self,
        request: Request<idp::AdminListDevicesRequest>,
    ) -> Result<Response<idp::AdminListDevicesResponse>, Status> {
        let request = request.get_ref();
        let owner = self
            .admin_owner(request.user_pool_id.as_deref(), request.username.as_deref())
            .await?;
        let answer = self
            .list_devices(&owner, request.limit, request.pagination_token.as_deref())
            .await?;
        reply(answer)
    }

    async fn get_device(
        &self,
        request: Request<idp::GetDeviceRequest>,
    ) -> Result<Response<idp::GetDeviceResponse>, Status> {
        let request = request.get_ref();
        let owner = self.token_owner(request.access_token.as_deref()).await?;
        reply(
            self.get_device(&owner, request.device_key.as_deref())
                .await?,
        )
    }

    async fn admin_get_device(
        &self,
        request: Request<idp::AdminGetDeviceRequest>,
    ) -> Result<Response<idp::AdminGetDeviceResponse>, Status> {
        let request = request.get_ref();
        let owner = self
            .admin_owner(request.user_pool_id.as_deref(), request.username.as_deref())
            .await?;
        reply(
            self.get_device(&owner, request.device_key.as_deref())
                .await?,
        )
    }

    async fn forget_device(
        &self,
        request: Request<idp::ForgetDeviceRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let owner = self.token_owner(request.access_token.as_deref()).await?;
        self.forget_device(&owner, request.device_key.as_deref())
            .await?;
        Ok(Response::new(idp::Unit {}))
    }

    async fn admin_forget_device(
        &self,
        request: Request<idp::AdminForgetDeviceRequest>,
    ) -> Result<Response<idp::Unit>, Status> {
        let request = request.get_ref();
        let owner = self
            .admin_owner(request.user_pool_id.as_deref(), request.username.as_deref())
            .await?;
        self.forget_device(&owner, request.device_key.as_deref())
            .await?;
        Ok(Response::new(idp::Unit {}))
    }

    async fn update_device_status(
        &self,
        request: Request<idp::UpdateDeviceStatusRequest>,
    ) -> Result<Response<idp::UpdateDeviceStatusResponse>, Status> {
        let request = request.get_ref();
        let owner = self.token_owner(request.access_token.as_deref()).await?;
        self.update_device_status(
            &owner,
            request.device_key.as_deref(),
            request.device_remembered_status.as_deref(),
        )
        .await?;
        Ok(Response::new(idp::UpdateDeviceStatusResponse {}))
    }

    async fn admin_update_device_status(
        &self,
        request: Request<idp::AdminUpdateDeviceStatusRequest>,
    ) -> Result<Response<idp::AdminUpdateDeviceStatusResponse>, Status> {
        let request = request.get_ref();
        let owner = self
            .admin_owner(request.user_pool_id.as_deref(), request.username.as_deref())
            .await?;
        self.update_device_status(
            &owner,
            request.device_key.as_deref(),
            request.device_remembered_status.as_deref(),
        )
        .await?;
        Ok(Response::new(idp::AdminUpdateDeviceStatusResponse {}))
    }

    async fn respond_to_auth_challenge(
        &self,
        request: Request<idp::RespondToAuthChallengeRequest>,
    ) -> Result<Response<idp::RespondToAuthChallengeResponse>, Status> {
        let request = request.get_ref();
        let answer = self
            .respond(flows::Response {
                pool_id: None,
                client_id: request.client_id.as_deref().unwrap_or_default(),
                challenge: request.challenge_name.as_deref().unwrap_or_default(),
                session: request.session.as_deref(),
                responses: &request.challenge_responses,
            })
            .await?;
        reply(answer)
    }

    async fn admin_respond_to_auth_challenge(
        &self,
        request: Request<idp::AdminRespondToAuthChallengeRequest>,
    ) -> Result<Response<idp::AdminRespondToAuthChallengeResponse>, Status> {
        let request = request.get_ref();
        let answer = self
            .respond(flows::Response {
                pool_id: request.user_pool_id.as_deref(),
                client_id: request.client_id.as_deref().unwrap_or_default(),
                challenge: request.challenge_name.as_deref().unwrap_or_default(),
                session: request.session.as_deref(),
                responses: &request.challenge_responses,
            })
            .await?;
        reply(answer)
    }
}

#[tonic::async_trait]
impl internal::auth_internal_server::AuthInternal for Auth {
    async fn get_jwks(
        &self,
        request: Request<internal::PoolRequest>,
    ) -> Result<Response<internal::JsonDocument>, Status> {
        let pool_id = &request.get_ref().user_pool_id;
        let pool = self.pool(pool_id).await?;
        let keys = self
            .keys
            .for_pool(pool_id, keys::Algorithm::of_pool(&pool))
            .await?;
        let document = json!({ "keys": keys.jwks() });
        Ok(Response::new(internal::JsonDocument {
            json: document.to_string(),
        }))
    }

    async fn get_mfa_settings(
        &self,
        request: Request<internal::UserRef>,
    ) -> Result<Response<internal::MfaSettings>, Status> {
        let request = request.get_ref();
        let mfa = factors::load(&self.db, &request.user_pool_id, &request.sub).await?;
        Ok(Response::new(internal::MfaSettings {
            preferred_mfa_setting: mfa.preferred.unwrap_or_default().to_owned(),
            user_mfa_setting_list: mfa.enabled.iter().map(|f| (*f).to_owned()).collect(),
        }))
    }

    async fn forget_user(
        &self,
        request: Request<internal::UserRef>,
    ) -> Result<Response<internal::Forgotten>, Status> {
        let request = request.get_ref();
        self.forget_user(&request.user_pool_id, &request.sub)
            .await?;
        Ok(Response::new(internal::Forgotten {}))
    }

    async fn forget_pool(
        &self,
        request: Request<internal::PoolRequest>,
    ) -> Result<Response<internal::Forgotten>, Status> {
        self.forget_pool(&request.get_ref().user_pool_id).await?;
        Ok(Response::new(internal::Forgotten {}))
    }

    async fn verify_access_token(
        &self,
        request: Request<internal::VerifyAccessTokenRequest>,
    ) -> Result<Response<internal::AccessTokenClaims>, Status> {
        let claims = self
            .verify_access_token(&request.get_ref().access_token)
            .await?;
        Ok(Response::new(claims))
    }

    async fn get_open_id_configuration(
        &self,
        request: Request<internal::PoolRequest>,
    ) -> Result<Response<internal::JsonDocument>, Status> {
        let pool_id = &request.get_ref().user_pool_id;
        let pool = self.pool(pool_id).await?;
        let issuer = self.issuer(pool_id);
        let algorithm = keys::Algorithm::of_pool(&pool).as_str();
        let document = json!({
            "id_token_signing_alg_values_supported": [algorithm],
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        });
        Ok(Response::new(internal::JsonDocument {
            json: document.to_string(),
        }))
    }
}
