//! Cognate's token issuer: sign-in flows, password checks, signing keys and refresh tokens.
//! It reads pools, clients and users from the directory and never touches their tables.

mod keys;
mod tokens;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value as Json, json};
use sqlx::{AnyPool, Row};
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use cognate_common::clock::{SharedClock, unix_millis};
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, Config, ServiceContext, ServiceKind, password};
use cognate_proto::awsjson;
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;
use cognate_proto::internal::v1::triggers_client::TriggersClient;

use cognate_common::grpc::PeerChannel;
use keys::KeyStore;
use tokens::Grant;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Auth {
    db: AnyPool,
    keys: KeyStore,
    clock: SharedClock,
    config: Arc<Config>,
    directory: DirectoryInternalClient<PeerChannel>,
    triggers: TriggersClient<PeerChannel>,
}

/// Connects and migrates the store and adds the issuer's gRPC services to `routes`.
pub async fn start(context: &ServiceContext, routes: &mut RoutesBuilder) -> anyhow::Result<()> {
    let db =
        cognate_common::store::connect_and_migrate(&context.config, ServiceKind::Auth, &MIGRATOR)
            .await?;
    let auth = Auth {
        keys: KeyStore::new(db.clone()),
        db,
        clock: context.clock.clone(),
        config: context.config.clone(),
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

/// One InitiateAuth or AdminInitiateAuth request, whichever API it came through.
struct SignIn<'a> {
    /// Set by AdminInitiateAuth: the client must belong to this pool.
    pool_id: Option<&'a str>,
    client_id: &'a str,
    flow: &'a str,
    parameters: &'a HashMap<String, String>,
    client_metadata: &'a HashMap<String, String>,
}

fn incorrect_credentials() -> CognitoError {
    CognitoError::not_authorized("Incorrect username or password.")
}

fn parameter<'a>(parameters: &'a HashMap<String, String>, name: &str) -> CognitoResult<&'a str> {
    parameters
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            CognitoError::invalid_parameter(format!("Missing required parameter {name}"))
        })
}

/// Whether a client's `ExplicitAuthFlows` allow a flow (legacy and `ALLOW_` names both count;
/// an empty list means Cognito's default: SRP, custom and refresh).
fn flow_allowed(client: &idp::UserPoolClientType, flow: &str) -> bool {
    let accepted: &[&str] = match flow {
        "USER_PASSWORD_AUTH" => &["ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"],
        "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
            &["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"]
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => return true,
        _ => return false,
    };
    client
        .explicit_auth_flows
        .iter()
        .any(|allowed| accepted.contains(&allowed.as_str()))
}

/// `SECRET_HASH = Base64(HMAC-SHA256(client secret, username ‖ client id))`, checked in constant time.
fn check_secret_hash(
    client: &idp::UserPoolClientType,
    username: &str,
    given: Option<&String>,
) -> CognitoResult<()> {
    let Some(secret) = client.client_secret.as_deref() else {
        return Ok(());
    };
    let client_id = client.client_id.as_deref().unwrap_or_default();
    let Some(given) = given else {
        return Err(CognitoError::not_authorized(format!(
            "Client {client_id} is configured with secret but SECRET_HASH was not received"
        )));
    };
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let expected = aws_lc_rs::hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    let matches = base64::engine::general_purpose::STANDARD
        .decode(given)
        .is_ok_and(|given| {
            aws_lc_rs::constant_time::verify_slices_are_equal(&given, expected.as_ref()).is_ok()
        });
    if matches {
        Ok(())
    } else {
        Err(CognitoError::not_authorized(format!(
            "Unable to verify secret hash for client {client_id}"
        )))
    }
}

impl Auth {
    fn issuer(&self, pool_id: &str) -> String {
        format!("{}/{pool_id}", self.config.public_url())
    }

    async fn client_config(
        &self,
        pool_id: Option<&str>,
        client_id: &str,
    ) -> CognitoResult<(idp::UserPoolType, idp::UserPoolClientType)> {
        let reply = self
            .directory
            .clone()
            .get_client(internal::GetClientRequest {
                client_id: client_id.to_owned(),
                user_pool_id: pool_id.unwrap_or_default().to_owned(),
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        match (reply.pool, reply.client) {
            (Some(pool), Some(client)) => Ok((pool, client)),
            _ => Err(cognate_common::error::internal(
                "directory answered without pool or client",
                client_id,
            )),
        }
    }

    async fn sign_in(&self, request: SignIn<'_>) -> CognitoResult<Json> {
        let (pool, client) = self
            .client_config(request.pool_id, request.client_id)
            .await?;
        if !flow_allowed(&client, request.flow) {
            return Err(match request.flow {
                "USER_PASSWORD_AUTH" | "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
                    CognitoError::invalid_parameter(format!(
                        "{} flow not enabled for this client",
                        request.flow
                    ))
                }
                other => CognitoError::invalid_parameter(format!(
                    "Cognate does not support the {other} flow yet."
                )),
            });
        }
        if matches!(request.flow, "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN") {
            return self.refresh(&pool, &client, request.parameters).await;
        }
        let username = parameter(request.parameters, "USERNAME")?;
        let password = parameter(request.parameters, "PASSWORD")?.to_owned();
        check_secret_hash(&client, username, request.parameters.get("SECRET_HASH"))?;
        let pool_id = pool.id.clone().unwrap_or_default();
        let hide_existence = client.prevent_user_existence_errors.as_deref() == Some("ENABLED");

        let found = self
            .directory
            .clone()
            .find_user(internal::FindUserRequest {
                user_pool_id: pool_id.clone(),
                username: username.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(CognitoError::from);
        let user = match found {
            Ok(user) => user,
            Err(error) if error.error_type == "UserNotFoundException" => {
                // The same work as for a real user, so timing doesn't tell them apart.
                password::verify(password, String::new()).await?;
                return Err(if hide_existence {
                    incorrect_credentials()
                } else {
                    error
                });
            }
            Err(error) => return Err(error),
        };
        if let Some(target) = pool
            .lambda_config
            .as_ref()
            .and_then(|config| config.pre_authentication.clone())
        {
            self.pre_authentication(&target, &pool_id, &client, &user, request.client_metadata)
                .await?;
        }
        if !password::verify(password, user.password_hash.clone()).await? {
            return Err(incorrect_credentials());
        }
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        match user.status.as_str() {
            "UNCONFIRMED" => {
                return Err(CognitoError::new(
                    "UserNotConfirmedException",
                    "User is not confirmed.",
                ));
            }
            "RESET_REQUIRED" => {
                return Err(CognitoError::new(
                    "PasswordResetRequiredException",
                    "Password reset required for the user",
                ));
            }
            "FORCE_CHANGE_PASSWORD" => return Ok(new_password_required(&user)),
            _ => {}
        }
        let now = unix_millis(self.clock.now()) / 1000;
        let grant = Grant {
            issuer: self.issuer(&pool_id),
            client: &client,
            user: &user,
            origin_jti: uuid::Uuid::new_v4().to_string(),
            auth_time: now,
            now,
        };
        let refresh_token = tokens::new_refresh_token();
        let lifetimes = tokens::Lifetimes::of(&client);
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_pool_id, client_id, sub, origin_jti, auth_time, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tokens::hash_refresh_token(&refresh_token))
        .bind(&pool_id)
        .bind(request.client_id)
        .bind(&user.sub)
        .bind(&grant.origin_jti)
        .bind(now)
        .bind(now)
        .bind(now + lifetimes.refresh)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        let keys = self.keys.for_pool(&pool_id).await?;
        let result = grant.authentication_result(&keys, Some(&refresh_token))?;
        Ok(json!({ "ChallengeParameters": {}, "AuthenticationResult": result }))
    }

    /// REFRESH_TOKEN_AUTH: new ID and access tokens from a live refresh token of this client.
    async fn refresh(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        parameters: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let token = parameter(parameters, "REFRESH_TOKEN")?;
        let invalid = || CognitoError::not_authorized("Invalid Refresh Token");
        let pool_id = pool.id.clone().unwrap_or_default();
        let client_id = client.client_id.clone().unwrap_or_default();
        let row = sqlx::query(
            "SELECT sub, origin_jti, auth_time, expires_at, revoked FROM refresh_tokens \
             WHERE token_hash = $1 AND user_pool_id = $2 AND client_id = $3",
        )
        .bind(tokens::hash_refresh_token(token))
        .bind(&pool_id)
        .bind(&client_id)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?
        .ok_or_else(invalid)?;
        let now = unix_millis(self.clock.now()) / 1000;
        if row.get::<i64, _>("revoked") != 0 {
            return Err(CognitoError::not_authorized(
                "Refresh Token has been revoked",
            ));
        }
        if row.get::<i64, _>("expires_at") <= now {
            return Err(CognitoError::not_authorized("Refresh Token has expired"));
        }
        let sub: String = row.get("sub");
        let user = self
            .directory
            .clone()
            .find_user(internal::FindUserRequest {
                user_pool_id: pool_id.clone(),
                username: sub,
            })
            .await
            .map_err(|_| invalid())?
            .into_inner();
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        check_secret_hash(client, &user.username, parameters.get("SECRET_HASH"))?;
        let grant = Grant {
            issuer: self.issuer(&pool_id),
            client,
            user: &user,
            origin_jti: row.get("origin_jti"),
            auth_time: row.get("auth_time"),
            now,
        };
        let keys = self.keys.for_pool(&pool_id).await?;
        let result = grant.authentication_result(&keys, None)?;
        Ok(json!({ "ChallengeParameters": {}, "AuthenticationResult": result }))
    }

    /// Cognito's PreAuthentication event; a deny from the handler fails the sign-in.
    async fn pre_authentication(
        &self,
        target: &str,
        pool_id: &str,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        client_metadata: &HashMap<String, String>,
    ) -> CognitoResult<()> {
        let mut attributes: serde_json::Map<String, Json> = user
            .attributes
            .iter()
            .filter_map(|attribute| {
                Some((attribute.name.clone()?, json!(attribute.value.clone()?)))
            })
            .collect();
        attributes.insert("cognito:user_status".into(), json!(user.status));
        let mut request =
            json!({ "userAttributes": attributes, "validationData": client_metadata });
        if client.prevent_user_existence_errors.as_deref() == Some("ENABLED") {
            request["userNotFound"] = json!(false);
        }
        let event = json!({
            "version": "1",
            "triggerSource": "PreAuthentication_Authentication",
            "region": self.config.region,
            "userPoolId": pool_id,
            "userName": user.username,
            "callerContext": { "awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client.client_id },
            "request": request,
            "response": {},
        });
        self.triggers
            .clone()
            .invoke(internal::InvokeRequest {
                target: target.to_owned(),
                trigger: "PreAuthentication".to_owned(),
                event_json: event.to_string(),
            })
            .await
            .map_err(CognitoError::from)?;
        Ok(())
    }

    async fn pool_exists(&self, pool_id: &str) -> CognitoResult<()> {
        self.directory
            .clone()
            .get_pool(internal::GetPoolRequest {
                user_pool_id: pool_id.to_owned(),
            })
            .await
            .map_err(CognitoError::from)?;
        Ok(())
    }
}

/// The NEW_PASSWORD_REQUIRED challenge for a user signing in with a temporary password.
fn new_password_required(user: &internal::UserRecord) -> Json {
    let attributes: serde_json::Map<String, Json> = user
        .attributes
        .iter()
        .filter(|attribute| {
            !matches!(
                attribute.name.as_deref(),
                Some("sub" | "email_verified" | "phone_number_verified")
            )
        })
        .filter_map(|attribute| Some((attribute.name.clone()?, json!(attribute.value.clone()?))))
        .collect();
    let session: [u8; 32] = rand::random();
    json!({
        "ChallengeName": "NEW_PASSWORD_REQUIRED",
        "Session": base64::engine::general_purpose::STANDARD.encode(session),
        "ChallengeParameters": {
            "USER_ID_FOR_SRP": user.username,
            "requiredAttributes": "[]",
            "userAttributes": Json::Object(attributes).to_string(),
        },
    })
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
}

#[tonic::async_trait]
impl internal::auth_internal_server::AuthInternal for Auth {
    async fn get_jwks(
        &self,
        request: Request<internal::PoolRequest>,
    ) -> Result<Response<internal::JsonDocument>, Status> {
        let pool_id = &request.get_ref().user_pool_id;
        self.pool_exists(pool_id).await?;
        let keys = self.keys.for_pool(pool_id).await?;
        let document = json!({ "keys": [keys.id.jwk(), keys.access.jwk()] });
        Ok(Response::new(internal::JsonDocument {
            json: document.to_string(),
        }))
    }

    async fn get_open_id_configuration(
        &self,
        request: Request<internal::PoolRequest>,
    ) -> Result<Response<internal::JsonDocument>, Status> {
        let pool_id = &request.get_ref().user_pool_id;
        self.pool_exists(pool_id).await?;
        let issuer = self.issuer(pool_id);
        let document = json!({
            "id_token_signing_alg_values_supported": ["RS256"],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_follow_explicit_auth_flows() {
        let mut client = idp::UserPoolClientType::default();
        assert!(!flow_allowed(&client, "USER_PASSWORD_AUTH"));
        assert!(flow_allowed(&client, "REFRESH_TOKEN_AUTH"));
        client.explicit_auth_flows = vec!["ALLOW_USER_PASSWORD_AUTH".into()];
        assert!(flow_allowed(&client, "USER_PASSWORD_AUTH"));
        assert!(!flow_allowed(&client, "ADMIN_USER_PASSWORD_AUTH"));
        client.explicit_auth_flows = vec!["ADMIN_NO_SRP_AUTH".into()];
        assert!(flow_allowed(&client, "ADMIN_USER_PASSWORD_AUTH"));
    }

    #[test]
    fn secret_hashes_are_checked() {
        let client = idp::UserPoolClientType {
            client_id: Some("client".into()),
            client_secret: Some("secret".into()),
            ..Default::default()
        };
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
        let good = base64::engine::general_purpose::STANDARD
            .encode(aws_lc_rs::hmac::sign(&key, b"janeclient"));
        assert!(check_secret_hash(&client, "jane", Some(&good)).is_ok());
        assert!(check_secret_hash(&client, "john", Some(&good)).is_err());
        assert!(check_secret_hash(&client, "jane", None).is_err());
        assert!(check_secret_hash(&idp::UserPoolClientType::default(), "jane", None).is_ok());
    }
}
