//! The sign-in flows: password (USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH), SRP
//! (USER_SRP_AUTH → PASSWORD_VERIFIER), refresh, and the NEW_PASSWORD_REQUIRED challenge, through
//! InitiateAuth/AdminInitiateAuth and RespondToAuthChallenge/AdminRespondToAuthChallenge.
//! A flow between two calls lives in the ephemeral store, single-use, for the client's
//! `AuthSessionValidity` minutes.
//!
//! This module starts a sign-in (InitiateAuth's dispatch by flow) and ends one (the user's
//! state, MFA, tokens); its parts are the client's proof (`client`), the session between
//! calls (`session`), the password (`password_factor`), SRP (`srp_proof`), refresh
//! (`refresh`) and the answers to challenges (`respond`).

mod client;
mod password_factor;
mod refresh;
mod respond;
mod session;
mod srp_proof;

pub(crate) use client::*;
pub(crate) use password_factor::*;
pub(crate) use respond::*;
pub(crate) use session::*;
pub(crate) use srp_proof::*;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::ephemeral::Kind;
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::work::Work;
use cognate_common::{CognitoError, CognitoResult, ErrorCode, legacy_hash, password, srp};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::Auth;
use crate::keys::Algorithm;
use crate::lockout::{self, Attempt, Factor};
use crate::tokens::{self, Grant};

/// One InitiateAuth or AdminInitiateAuth request, whichever API it came through.
pub(crate) struct SignIn<'a> {
    /// Set by AdminInitiateAuth: the client must belong to this pool.
    pub pool_id: Option<&'a str>,
    pub client_id: &'a str,
    pub flow: &'a str,
    pub parameters: &'a HashMap<String, String>,
    pub client_metadata: &'a HashMap<String, String>,
}

pub(crate) fn incorrect_credentials() -> CognitoError {
    CognitoError::not_authorized("Incorrect username or password.")
}

fn user_not_found() -> CognitoError {
    CognitoError::new(ErrorCode::UserNotFoundException, "User does not exist.")
}

pub(crate) fn parameter<'a>(
    parameters: &'a HashMap<String, String>,
    name: &str,
) -> CognitoResult<&'a str> {
    parameters
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            CognitoError::invalid_parameter(format!("Missing required parameter {name}"))
        })
}

impl Auth {
    pub(crate) async fn sign_in(&self, request: SignIn<'_>) -> CognitoResult<Json> {
        let refreshing = matches!(request.flow, "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN");
        // The user signing in comes with the client's configuration, in one call: for a refresh,
        // the token's user, so the token is read first.
        let stored = match request.parameters.get("REFRESH_TOKEN") {
            Some(token) if refreshing => self.stored_refresh_token(token).await?,
            _ => None,
        };
        let name = match request.flow {
            _ if refreshing => stored.as_ref().map(|stored| &stored.sub),
            "USER_PASSWORD_AUTH"
            | "ADMIN_USER_PASSWORD_AUTH"
            | "ADMIN_NO_SRP_AUTH"
            | "USER_SRP_AUTH"
            | "CUSTOM_AUTH" => request.parameters.get("USERNAME"),
            _ => None,
        };
        let (pool, client, found) = self
            .client_and_user(
                request.pool_id,
                request.client_id,
                name.map_or("", String::as_str),
            )
            .await?;
        if !flow_allowed(&client, request.flow) {
            return Err(match request.flow {
                "USER_PASSWORD_AUTH"
                | "ADMIN_USER_PASSWORD_AUTH"
                | "ADMIN_NO_SRP_AUTH"
                | "USER_SRP_AUTH"
                | "USER_AUTH"
                | "CUSTOM_AUTH" => CognitoError::invalid_parameter(format!(
                    "{} flow not enabled for this client",
                    request.flow
                )),
                other => CognitoError::invalid_parameter(format!(
                    "Cognate does not support the {other} flow yet."
                )),
            });
        }
        if refreshing {
            parameter(request.parameters, "REFRESH_TOKEN")?;
            let proof = ClientProof::SecretHash(request.parameters.get("SECRET_HASH"));
            return self
                .refresh(&pool, &client, stored, found, proof, false)
                .await;
        }
        let username = parameter(request.parameters, "USERNAME")?;
        check_secret_hash(&client, username, request.parameters.get("SECRET_HASH"))?;
        if request.flow == "CUSTOM_AUTH" {
            crate::custom::require_triggers(&pool)?;
            let srp_a = match request.parameters.get("SRP_A") {
                Some(srp_a) if !srp_a.is_empty() => Some(srp_a_parameter(request.parameters)?),
                _ => None,
            };
            let hide_existence = client.prevent_user_existence_errors.as_deref() == Some("ENABLED");
            // An unknown name, hidden: the triggers run for a decoy with `userNotFound`, as
            // Cognito runs them, and no answer can succeed.
            let user = match found {
                Some(user) => user,
                None if hide_existence => {
                    crate::custom::decoy_user(&self.decoy_user_id(&pool, username).await?)
                }
                None => return Err(user_not_found()),
            };
            return self
                .start_custom(&pool, &client, &user, request.client_metadata, srp_a)
                .await;
        }
        if request.flow == "USER_AUTH" {
            return self
                .start_user_auth(
                    &pool,
                    &client,
                    username,
                    request.parameters,
                    request.client_metadata,
                )
                .await;
        }
        let secret = if request.flow == "USER_SRP_AUTH" {
            Secret::Srp(srp_a_parameter(request.parameters)?)
        } else {
            Secret::Password(parameter(request.parameters, "PASSWORD")?.to_owned())
        };
        self.password_factor(
            &pool,
            &client,
            (username, found),
            secret,
            request.parameters.get("DEVICE_KEY"),
            request.client_metadata,
        )
        .await
    }

    pub(crate) async fn find_user(
        &self,
        pool_id: &str,
        username: &str,
    ) -> CognitoResult<internal::UserRecord> {
        self.directory
            .clone()
            .find_user(internal::FindUserRequest {
                user_pool_id: pool_id.to_owned(),
                username: username.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(CognitoError::from)
    }

    /// After the password (or SRP proof) checked out: the user's state decides between a
    /// challenge and tokens. `device_key` is a device of the pool the client signed in with.
    pub(crate) async fn authenticated(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device_key: Option<&str>,
    ) -> CognitoResult<Json> {
        self.first_factor_proven(pool, client, user, device_key, true)
            .await
    }

    /// A first factor checked out: the user's state decides, then, when `ask_mfa` (not after a
    /// passwordless factor), MFA or a device that replaces it.
    pub(crate) async fn first_factor_proven(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device_key: Option<&str>,
        ask_mfa: bool,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        match user.status.as_str() {
            "UNCONFIRMED" => {
                return Err(CognitoError::new(
                    ErrorCode::UserNotConfirmedException,
                    "User is not confirmed.",
                ));
            }
            "RESET_REQUIRED" => {
                return Err(password_reset_required());
            }
            "FORCE_CHANGE_PASSWORD" => {
                return self.new_password_required(pool_id, client, user).await;
            }
            _ => {}
        }
        if !ask_mfa {
            return self.after_factors(pool, client, user, device_key).await;
        }
        let device = match device_key {
            Some(key) => Some(self.users_device(pool_id, &user.sub, key).await?),
            None => None,
        };
        if let Some(device) = device.as_ref().filter(|device| device.skips_mfa(pool)) {
            return self
                .device_srp_auth(pool_id, client, user, &device.key)
                .await;
        }
        if let Some(challenge) = self.mfa_challenge(pool, client, user, device_key).await? {
            return Ok(challenge);
        }
        self.after_factors(pool, client, user, device_key).await
    }

    /// Every factor but the device's checked out: device SRP for a known device, else tokens.
    pub(crate) async fn after_factors(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device_key: Option<&str>,
    ) -> CognitoResult<Json> {
        match device_key {
            Some(key) => {
                let pool_id = pool.id.as_deref().unwrap_or_default();
                self.device_srp_auth(pool_id, client, user, key).await
            }
            None => self.issue_tokens(pool, client, user, None).await,
        }
    }

    /// Tokens for a user who has passed every check, with `device` when the sign-in proved one.
    /// A sign-in without a known device gets `NewDeviceMetadata` when the pool tracks devices.
    pub(crate) async fn issue_tokens(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device: Option<&str>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let new_device = match device {
            None if pool.device_configuration.is_some() => {
                Some(self.new_device(pool_id, &user.sub).await?)
            }
            _ => None,
        };
        let device_key = device.map(str::to_owned).or_else(|| {
            new_device
                .as_ref()
                .and_then(|metadata| metadata["DeviceKey"].as_str().map(str::to_owned))
        });
        let customization = self
            .token_customization(pool, client, user, "TokenGeneration_Authentication")
            .await?;
        let client_id = client.client_id.clone().unwrap_or_default();
        let now = unix_millis(self.clock.now()) / 1000;
        let grant = Grant {
            issuer: self.issuer(pool_id),
            client,
            user,
            origin_jti: uuid::Uuid::new_v4().to_string(),
            auth_time: now,
            now,
            device_key,
        };
        let refresh_token = tokens::new_refresh_token();
        let lifetimes = tokens::Lifetimes::of(client);
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_pool_id, client_id, sub, origin_jti, auth_time, issued_at, expires_at, device_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tokens::hash_refresh_token(&refresh_token))
        .bind(pool_id)
        .bind(&client_id)
        .bind(&user.sub)
        .bind(&grant.origin_jti)
        .bind(now)
        .bind(now)
        .bind(now + lifetimes.refresh)
        .bind(grant.device_key.as_deref().unwrap_or_default())
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        self.lockout.tokens_issued(pool_id, &user.sub).await?;
        let keys = self
            .keys
            .for_pool(pool_id, Algorithm::of_pool(pool))
            .await?;
        let mut result =
            grant.authentication_result(&keys, Some(&refresh_token), &customization)?;
        if let Some(metadata) = new_device {
            result["NewDeviceMetadata"] = metadata;
        }
        Ok(json!({ "ChallengeParameters": {}, "AuthenticationResult": result }))
    }

    /// The NEW_PASSWORD_REQUIRED challenge for a user signing in with a temporary password.
    async fn new_password_required(
        &self,
        pool_id: &str,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
    ) -> CognitoResult<Json> {
        let attributes: serde_json::Map<String, Json> = user
            .attributes
            .iter()
            .filter(|attribute| {
                !matches!(
                    attribute.name.as_deref(),
                    Some("sub" | "email_verified" | "phone_number_verified")
                )
            })
            .filter_map(|attribute| {
                Some((attribute.name.clone()?, json!(attribute.value.clone()?)))
            })
            .collect();
        let token = random_token(48);
        let session =
            Session::for_challenge(pool_id, client, &user.username, "NEW_PASSWORD_REQUIRED");
        self.save_session(client, &session, &token).await?;
        Ok(json!({
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": token,
            "ChallengeParameters": {
                "USER_ID_FOR_SRP": user.username,
                "requiredAttributes": "[]",
                "userAttributes": Json::Object(attributes).to_string(),
            },
        }))
    }
}
