//! The sign-in flows: password (USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH), SRP
//! (USER_SRP_AUTH → PASSWORD_VERIFIER), refresh, and the NEW_PASSWORD_REQUIRED challenge, through
//! InitiateAuth/AdminInitiateAuth and RespondToAuthChallenge/AdminRespondToAuthChallenge.
//! A flow between two calls lives in the ephemeral store, single-use, for the client's
//! `AuthSessionValidity` minutes.

use cognate_common::store::Columns;
use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::ephemeral::Kind;
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

/// Whether a client's `ExplicitAuthFlows` allow a flow (legacy and `ALLOW_` names both count;
/// an empty list means Cognito's default: SRP, custom and refresh).
pub(crate) fn flow_allowed(client: &idp::UserPoolClientType, flow: &str) -> bool {
    let accepted: &[&str] = match flow {
        "USER_PASSWORD_AUTH" => &["ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"],
        "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
            &["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"]
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => return true,
        "USER_AUTH" => &["ALLOW_USER_AUTH"],
        "CUSTOM_AUTH" => {
            return client.explicit_auth_flows.is_empty()
                || client.explicit_auth_flows.iter().any(|allowed| {
                    matches!(
                        allowed.as_str(),
                        "ALLOW_CUSTOM_AUTH" | "CUSTOM_AUTH_FLOW_ONLY"
                    )
                });
        }
        // SRP is on by default, and with the legacy (non-ALLOW_) flow names.
        "USER_SRP_AUTH" => {
            return client.explicit_auth_flows.is_empty()
                || client
                    .explicit_auth_flows
                    .iter()
                    .all(|allowed| !allowed.starts_with("ALLOW_"))
                || client
                    .explicit_auth_flows
                    .iter()
                    .any(|allowed| allowed == "ALLOW_USER_SRP_AUTH");
        }
        _ => return false,
    };
    client
        .explicit_auth_flows
        .iter()
        .any(|allowed| accepted.contains(&allowed.as_str()))
}

/// `SECRET_HASH`, required from clients with a secret.
pub(crate) fn check_secret_hash(
    client: &crate::AppClient,
    username: &str,
    given: Option<&String>,
) -> CognitoResult<()> {
    cognate_common::secret_hash::check(
        client.client_id.as_deref().unwrap_or_default(),
        &client.secrets,
        username,
        given.map(String::as_str),
    )
}

/// How a refresh proves the client: `SECRET_HASH` (REFRESH_TOKEN_AUTH) or the client secret
/// itself (GetTokensFromRefreshToken).
pub(crate) enum ClientProof<'a> {
    SecretHash(Option<&'a String>),
    ClientSecret(Option<&'a str>),
}

/// A refresh token's row in `refresh_tokens`.
pub(crate) struct StoredRefreshToken {
    token_hash: String,
    pool_id: String,
    client_id: String,
    pub(crate) sub: String,
    origin_jti: String,
    auth_time: i64,
    expires_at: i64,
    revoked: bool,
    rotated_at: i64,
    device_key: String,
}

/// The client secret, compared in constant time with each active secret, for clients that have
/// one.
pub(crate) fn check_client_secret(
    client: &crate::AppClient,
    given: Option<&str>,
) -> CognitoResult<()> {
    if client.secrets.is_empty() {
        return Ok(());
    }
    let given = given.unwrap_or_default();
    let matches = client.secrets.iter().fold(false, |matched, secret| {
        aws_lc_rs::constant_time::verify_slices_are_equal(secret.as_bytes(), given.as_bytes())
            .is_ok()
            | matched
    });
    if matches {
        Ok(())
    } else {
        Err(CognitoError::not_authorized(format!(
            "Unable to verify secret for client {}",
            client.client_id.as_deref().unwrap_or_default()
        )))
    }
}

/// What proves a password: the password itself, or SRP's `SRP_A` to start PASSWORD_VERIFIER.
pub(crate) enum Secret {
    Password(String),
    Srp(String),
}

/// One RespondToAuthChallenge or AdminRespondToAuthChallenge request.
pub(crate) struct Response<'a> {
    pub pool_id: Option<&'a str>,
    pub client_id: &'a str,
    pub challenge: &'a str,
    pub session: Option<&'a str>,
    pub responses: &'a HashMap<String, String>,
}

/// What an auth flow remembers between two calls.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    pub pool_id: String,
    pub client_id: String,
    /// USER_ID_FOR_SRP: the user's username.
    pub username: String,
    pub challenge: String,
    /// PASSWORD_VERIFIER: the client's A, and the server's secret b and public B.
    #[serde(default)]
    pub srp_a: String,
    #[serde(default)]
    pub srp_b_secret: String,
    #[serde(default)]
    pub srp_big_b: String,
    /// Set when the user does not exist and the client hides that: the simulated verifier, so
    /// the proof costs the same work and then fails.
    #[serde(default)]
    decoy: Option<(String, String)>,
    /// CUSTOM_CHALLENGE: the challenge history, private parameters and client metadata.
    #[serde(default)]
    pub custom: Option<Json>,
    /// SMS_MFA, EMAIL_OTP: the hash of the code sent.
    #[serde(default)]
    pub otp: Option<String>,
    /// The DEVICE_KEY the client signed in with: device SRP follows the other factors.
    #[serde(default)]
    pub device_key: Option<String>,
    /// EMAIL_OTP, SMS_OTP: the code is USER_AUTH's first factor, which replaces MFA.
    #[serde(default)]
    pub first_factor: bool,
    /// EMAIL_OTP, SMS_OTP of USER_AUTH sent nowhere: the user does not exist or has no such
    /// address, and the client hides that. No code is right.
    #[serde(default)]
    pub simulated: bool,
}

impl Session {
    /// A session for a challenge other than PASSWORD_VERIFIER.
    pub(crate) fn for_challenge(
        pool_id: &str,
        client: &idp::UserPoolClientType,
        username: &str,
        challenge: &str,
    ) -> Self {
        Self {
            pool_id: pool_id.to_owned(),
            client_id: client.client_id.clone().unwrap_or_default(),
            username: username.to_owned(),
            challenge: challenge.to_owned(),
            srp_a: String::new(),
            srp_b_secret: String::new(),
            srp_big_b: String::new(),
            decoy: None,
            custom: None,
            otp: None,
            device_key: None,
            first_factor: false,
            simulated: false,
        }
    }

    /// The server's SRP state of a PASSWORD_VERIFIER or DEVICE_PASSWORD_VERIFIER challenge.
    pub(crate) fn server_challenge(&self) -> CognitoResult<srp::ServerChallenge> {
        Ok(srp::ServerChallenge {
            b: srp::ServerSecret::from_hex(&self.srp_b_secret)
                .map_err(|error| cognate_common::error::internal("session secret", error))?,
            big_b: self.srp_big_b.clone(),
        })
    }
}

/// A client's PASSWORD_VERIFIER (or DEVICE_PASSWORD_VERIFIER) answer.
pub(crate) struct Claim {
    secret_block: String,
    timestamp: String,
    signature: String,
}

impl Claim {
    pub(crate) fn from(
        responses: &HashMap<String, String>,
        secret_block: &str,
    ) -> CognitoResult<Self> {
        Ok(Self {
            secret_block: secret_block.to_owned(),
            timestamp: parameter(responses, "TIMESTAMP")?.to_owned(),
            signature: parameter(responses, "PASSWORD_CLAIM_SIGNATURE")?.to_owned(),
        })
    }
}

/// Checks an SRP proof on the blocking pool (3072-bit arithmetic is too slow for async threads).
/// `pool_name` is what the verifier was made with: the pool's name, or a device group key.
pub(crate) async fn check_claim(
    work: &Work,
    pool_name: &str,
    user_id: &str,
    verifier: srp::Verifier,
    challenge: srp::ServerChallenge,
    srp_a: &str,
    claim: Claim,
) -> CognitoResult<bool> {
    let (pool_name, user_id, srp_a) = (pool_name.to_owned(), user_id.to_owned(), srp_a.to_owned());
    work.run(move || {
        srp::verify_claim(
            &pool_name,
            &user_id,
            &verifier,
            &challenge,
            &srp_a,
            &claim.secret_block,
            &claim.timestamp,
            &claim.signature,
        )
        .is_ok()
    })
    .await
}

/// `SRP_A`, refused at once unless it is a public value SRP can use (hex, in `1..N`): nothing
/// malformed or oversized is kept in a session for the proof.
pub(crate) fn srp_a_parameter(parameters: &HashMap<String, String>) -> CognitoResult<String> {
    let srp_a = parameter(parameters, "SRP_A")?;
    srp::check_public_a(srp_a)
        .map_err(|_| CognitoError::invalid_parameter("SRP_A is not a valid SRP public value."))?;
    Ok(srp_a.to_owned())
}

pub(crate) fn expired_session() -> CognitoError {
    CognitoError::not_authorized("Invalid session for the user, session is expired.")
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut buffer);
    base64::engine::general_purpose::STANDARD.encode(buffer)
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

    /// A password proven directly or by SRP: USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH,
    /// USER_SRP_AUTH, and USER_AUTH's PASSWORD and PASSWORD_SRP. SRP answers PASSWORD_VERIFIER;
    /// a password is checked now, then the user's state and MFA decide. `user` is the name
    /// given and the user it finds, `None` when there is no such user.
    pub(crate) async fn password_factor(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        (username, user): (&str, Option<internal::UserRecord>),
        secret: Secret,
        given_device: Option<&String>,
        client_metadata: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.clone().unwrap_or_default();
        let device_key = match self.device_in_pool(pool, given_device).await {
            // SRP refuses an unknown device with the PASSWORD_VERIFIER answer that names it,
            // where clients that get "Device does not exist." answer again without it.
            Err(error)
                if matches!(secret, Secret::Srp(_))
                    && error.code == ErrorCode::ResourceNotFoundException =>
            {
                None
            }
            checked => checked?,
        };
        let user = match user {
            Some(user) => user,
            None => {
                let hide_existence =
                    client.prevent_user_existence_errors.as_deref() == Some("ENABLED");
                let password = match secret {
                    Secret::Srp(srp_a) if hide_existence => {
                        return self.decoy_srp(pool, client, username, srp_a).await;
                    }
                    Secret::Srp(_) => String::new(),
                    Secret::Password(password) => password,
                };
                if !hide_existence {
                    password::verify(&self.work, &pool_id, username, password, String::new())
                        .await?;
                    return Err(user_not_found());
                }
                // The same work and the same lockout as for a real user, so neither timing nor
                // a lock tells them apart.
                let key = lockout::unknown_user_key(pool, username);
                let attempt = self.password_attempt(&pool_id, &key).await?;
                password::verify(&self.work, &pool_id, username, password, String::new()).await?;
                attempt.failed().await?;
                return Err(incorrect_credentials());
            }
        };
        // An imported user has no password yet: as in Cognito, any sign-in asks for the reset.
        if user.status == "RESET_REQUIRED" && user.password_hash.is_empty() {
            return Err(password_reset_required());
        }
        self.pre_authentication(pool, client, &user, client_metadata)
            .await?;
        let password = match secret {
            Secret::Srp(srp_a) => {
                return self
                    .start_srp(&pool_id, client, &user, srp_a, device_key, None)
                    .await;
            }
            Secret::Password(password) => password,
        };
        let attempt = self.password_attempt(&pool_id, &user.sub).await?;
        let correct = password::verify(
            &self.work,
            &pool_id,
            &user.username,
            password.clone(),
            user.password_hash.clone(),
        )
        .await?;
        count_attempt(attempt, correct).await?;
        if legacy_hash::is_legacy(&user.password_hash) {
            self.upgrade_password(&pool_id, &user, password.clone())
                .await?;
        }
        self.screen_sign_in(pool, client, &user, password).await?;
        self.authenticated(pool, client, &user, device_key.as_deref())
            .await
    }

    /// An imported legacy hash just proven: the directory swaps it for the SRP verifier.
    async fn upgrade_password(
        &self,
        pool_id: &str,
        user: &internal::UserRecord,
        password: String,
    ) -> CognitoResult<()> {
        self.directory
            .clone()
            .upgrade_password(internal::UpgradePasswordRequest {
                user_pool_id: pool_id.to_owned(),
                username: user.username.clone(),
                password,
                previous_hash: user.password_hash.clone(),
            })
            .await
            .map_err(CognitoError::from)?;
        Ok(())
    }

    /// Compromised-credentials detection on a proven password, for pools with threat
    /// protection (SRP sign-in never shows the password, so, as in Cognito, it isn't checked).
    async fn screen_sign_in(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        password: String,
    ) -> CognitoResult<()> {
        let mode = pool
            .user_pool_add_ons
            .as_ref()
            .and_then(|add_ons| add_ons.advanced_security_mode.as_deref());
        if mode.is_none_or(|mode| mode == "OFF") {
            return Ok(());
        }
        let screened = self
            .directory
            .clone()
            .screen_sign_in(internal::ScreenSignInRequest {
                user_pool_id: pool.id.clone().unwrap_or_default(),
                client_id: client.client_id.clone().unwrap_or_default(),
                username: user.username.clone(),
                password,
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        if screened.blocked {
            return Err(password_reset_required());
        }
        Ok(())
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

    pub(crate) async fn save_session(
        &self,
        client: &idp::UserPoolClientType,
        session: &Session,
        key: &str,
    ) -> CognitoResult<()> {
        let minutes = u64::try_from(client.auth_session_validity.unwrap_or(3)).unwrap_or(3);
        let value = serde_json::to_string(session)
            .map_err(|error| cognate_common::error::internal("session encoding", error))?;
        self.ephemeral
            .put(
                Kind::AuthSession,
                key,
                &value,
                Duration::from_secs(minutes * 60),
            )
            .await
    }

    /// USER_SRP_AUTH: the PASSWORD_VERIFIER challenge. The SECRET_BLOCK names the session.
    /// `custom`: the CUSTOM_AUTH state to go on with once the proof checks out.
    pub(crate) async fn start_srp(
        &self,
        pool_id: &str,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        srp_a: String,
        device_key: Option<String>,
        custom: Option<Json>,
    ) -> CognitoResult<Json> {
        let verifier =
            password::srp_verifier(&user.password_hash).ok_or_else(incorrect_credentials)?;
        self.password_verifier(
            pool_id,
            client,
            &user.username,
            verifier,
            srp_a,
            None,
            device_key,
            custom,
        )
        .await
    }

    /// USER_SRP_AUTH for a user who does not exist, when the client hides existence: a
    /// simulated SALT and USER_ID_FOR_SRP, stable per pool and username (RFC 5054 §2.5.1.3),
    /// derived from a pool secret, and a fresh SRP_B as a real user gets; the proof then fails
    /// like a wrong password. The simulated verifier costs no exponentiation, as a real one
    /// read from storage costs none, and the challenge is the same code as a real user's.
    pub(crate) async fn decoy_srp(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        username: &str,
        srp_a: String,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let user_id = self.decoy_user_id(pool, username).await?;
        let keys = self
            .keys
            .for_pool(pool_id, Algorithm::of_pool(pool))
            .await?;
        let verifier = srp::simulated_verifier(&keys.derive(&format!("verifier\0{username}")));
        let decoy = Some((verifier.salt.clone(), verifier.verifier.clone()));
        self.password_verifier(
            pool_id, client, &user_id, verifier, srp_a, decoy, None, None,
        )
        .await
    }

    /// The USER_ID_FOR_SRP of a user who does not exist, when the client hides existence. A real
    /// user's is their username, or their sub where email or phone is the username: the decoy
    /// looks the same, and stays the same per pool and name.
    pub(crate) async fn decoy_user_id(
        &self,
        pool: &idp::UserPoolType,
        username: &str,
    ) -> CognitoResult<String> {
        if pool.username_attributes.is_empty() {
            return Ok(username.to_owned());
        }
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let keys = self
            .keys
            .for_pool(pool_id, Algorithm::of_pool(pool))
            .await?;
        let seed = keys.derive(&format!("user\0{username}"));
        Ok(uuid::Uuid::from_slice(&seed[..16])
            .unwrap_or_default()
            .to_string())
    }

    /// The PASSWORD_VERIFIER challenge for `verifier`, a real user's or a decoy's alike. Its
    /// SECRET_BLOCK names the session.
    #[allow(clippy::too_many_arguments)]
    async fn password_verifier(
        &self,
        pool_id: &str,
        client: &idp::UserPoolClientType,
        user_id: &str,
        verifier: srp::Verifier,
        srp_a: String,
        decoy: Option<(String, String)>,
        device_key: Option<String>,
        custom: Option<Json>,
    ) -> CognitoResult<Json> {
        let salt = verifier.salt.clone();
        let challenge = self
            .work
            .run(move || srp::server_challenge(&verifier))
            .await?
            .map_err(|error| {
                cognate_common::error::internal("stored SRP verifier unusable", error)
            })?;
        let secret_block = random_token(48);
        let session = Session {
            pool_id: pool_id.to_owned(),
            client_id: client.client_id.clone().unwrap_or_default(),
            username: user_id.to_owned(),
            challenge: "PASSWORD_VERIFIER".into(),
            srp_a,
            srp_b_secret: challenge.b.to_hex(),
            srp_big_b: challenge.big_b.clone(),
            decoy,
            custom,
            otp: None,
            device_key,
            first_factor: false,
            simulated: false,
        };
        self.save_session(client, &session, &secret_block).await?;
        Ok(json!({
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": salt,
                "SECRET_BLOCK": secret_block,
                "SRP_B": challenge.big_b,
                "USERNAME": user_id,
                "USER_ID_FOR_SRP": user_id,
            },
        }))
    }

    pub(crate) async fn respond(&self, request: Response<'_>) -> CognitoResult<Json> {
        // The user the answer names comes with the client's configuration, in one call; the
        // session decides whether it is the user signing in.
        let (pool, client, named) = self
            .client_and_user(
                request.pool_id,
                request.client_id,
                request.responses.get("USERNAME").map_or("", String::as_str),
            )
            .await?;
        let pool_id = pool.id.clone().unwrap_or_default();
        let key = match request.challenge {
            "PASSWORD_VERIFIER" => parameter(request.responses, "PASSWORD_CLAIM_SECRET_BLOCK")?,
            "NEW_PASSWORD_REQUIRED"
            | "SOFTWARE_TOKEN_MFA"
            | "SMS_MFA"
            | "EMAIL_OTP"
            | "SMS_OTP"
            | "SELECT_CHALLENGE"
            | "PASSWORD"
            | "PASSWORD_SRP"
            | "SELECT_MFA_TYPE"
            | "MFA_SETUP"
            | "CUSTOM_CHALLENGE"
            | "DEVICE_SRP_AUTH"
            | "DEVICE_PASSWORD_VERIFIER" => request
                .session
                .filter(|session| !session.is_empty())
                .ok_or_else(expired_session)?,
            other => {
                return Err(CognitoError::invalid_parameter(format!(
                    "Cognate does not support the {other} challenge yet."
                )));
            }
        };
        // An unknown device is refused before the session is used up: clients forget the device
        // and send the same answer again without it.
        let given_device = if request.challenge == "PASSWORD_VERIFIER" {
            self.device_in_pool(&pool, request.responses.get("DEVICE_KEY"))
                .await?
        } else {
            None
        };
        let stored = self
            .ephemeral
            .take(Kind::AuthSession, key)
            .await?
            .ok_or_else(expired_session)?;
        let session: Session = serde_json::from_str(&stored)
            .map_err(|error| cognate_common::error::internal("session decoding", error))?;
        // PASSWORD and PASSWORD_SRP may be answered directly instead of through SELECT_CHALLENGE.
        let selected = session.challenge == "SELECT_CHALLENGE"
            && matches!(request.challenge, "PASSWORD" | "PASSWORD_SRP");
        if session.pool_id != pool_id
            || session.client_id != request.client_id
            || (session.challenge != request.challenge && !selected)
        {
            return Err(expired_session());
        }
        let username = parameter(request.responses, "USERNAME")?;
        check_secret_hash(&client, username, request.responses.get("SECRET_HASH"))?;
        if session.challenge == "SELECT_CHALLENGE" {
            let answer = if selected {
                request.challenge
            } else {
                parameter(request.responses, "ANSWER")?
            };
            return self
                .select_challenge(&pool, &client, &session, answer, request.responses)
                .await;
        }
        let pool_name = password::pool_name(&pool_id);
        if let Some((salt, verifier)) = &session.decoy {
            // No such user: the same proof check against the simulated verifier, then refused.
            let decoy = srp::Verifier {
                salt: salt.clone(),
                verifier: verifier.clone(),
            };
            let claim = Claim::from(request.responses, key)?;
            let counted = lockout::unknown_user_key(&pool, &session.username);
            let attempt = self.password_attempt(&pool_id, &counted).await?;
            check_claim(
                &self.work,
                pool_name,
                &session.username,
                decoy,
                session.server_challenge()?,
                &session.srp_a,
                claim,
            )
            .await?;
            attempt.failed().await?;
            return Err(incorrect_credentials());
        }
        if session.simulated {
            return self
                .refuse_simulated_code(&pool, &client, &session, request.responses, key)
                .await;
        }
        if let Some(decoy) = crate::custom::decoy_of(&session) {
            let answer = parameter(request.responses, "ANSWER")?;
            return self
                .answer_custom(&pool, &client, &decoy, &session, answer)
                .await;
        }
        let user = match named.filter(|user| user.username == session.username) {
            Some(user) => user,
            None => self.find_user(&pool_id, &session.username).await?,
        };
        if request.challenge == "PASSWORD_VERIFIER" {
            let verifier =
                password::srp_verifier(&user.password_hash).ok_or_else(incorrect_credentials)?;
            let challenge = session.server_challenge()?;
            let claim = Claim::from(request.responses, key)?;
            let attempt = self.password_attempt(&pool_id, &user.sub).await?;
            let correct = check_claim(
                &self.work,
                pool_name,
                &user.username,
                verifier,
                challenge,
                &session.srp_a,
                claim,
            )
            .await?;
            count_attempt(attempt, correct).await?;
            if let Some(state) = &session.custom {
                return self
                    .custom_after_password(&pool, &client, &user, state)
                    .await;
            }
            let device_key = given_device.or_else(|| session.device_key.clone());
            return self
                .authenticated(&pool, &client, &user, device_key.as_deref())
                .await;
        }
        match request.challenge {
            "SOFTWARE_TOKEN_MFA" | "SMS_MFA" | "EMAIL_OTP" | "SMS_OTP" => {
                let member = match request.challenge {
                    "SOFTWARE_TOKEN_MFA" => "SOFTWARE_TOKEN_MFA_CODE",
                    "SMS_MFA" => "SMS_MFA_CODE",
                    "SMS_OTP" => "SMS_OTP_CODE",
                    _ => "EMAIL_OTP_CODE",
                };
                let code = parameter(request.responses, member)?;
                return self
                    .answer_mfa_code(&pool, &client, &user, &session, code, key)
                    .await;
            }
            "SELECT_MFA_TYPE" => {
                let answer = parameter(request.responses, "ANSWER")?;
                return self
                    .select_mfa_type(&pool, &client, &user, answer, session.device_key.as_deref())
                    .await;
            }
            "MFA_SETUP" => {
                return self
                    .finish_mfa_setup(&pool, &client, &user, session.device_key.as_deref())
                    .await;
            }
            "DEVICE_SRP_AUTH" => {
                return self
                    .device_password_verifier(&client, &user, &session, request.responses)
                    .await;
            }
            "DEVICE_PASSWORD_VERIFIER" => {
                return self
                    .check_device_claim(&pool, &client, &user, &session, key, request.responses)
                    .await;
            }
            "CUSTOM_CHALLENGE" => {
                let answer = parameter(request.responses, "ANSWER")?;
                return self
                    .answer_custom(&pool, &client, &user, &session, answer)
                    .await;
            }
            _ => {}
        }
        let new_password = parameter(request.responses, "NEW_PASSWORD")?;
        let set = self
            .directory
            .clone()
            .set_password(internal::SetPasswordRequest {
                user_pool_id: pool_id.clone(),
                username: user.username.clone(),
                password: new_password.to_owned(),
                permanent: true,
                client_id: client.client_id.clone().unwrap_or_default(),
            })
            .await;
        if let Err(status) = set {
            // A password the policy refuses doesn't end the challenge: the user may try another.
            self.save_session(&client, &session, key).await?;
            let error = CognitoError::from(status);
            return Err(match error.code {
                ErrorCode::InvalidPasswordException => CognitoError::new(
                    ErrorCode::InvalidPasswordException,
                    error
                        .message
                        .replace("did not conform with policy", "does not conform to policy"),
                ),
                _ => error,
            });
        }
        let user = self.find_user(&pool_id, &user.username).await?;
        self.authenticated(&pool, &client, &user, session.device_key.as_deref())
            .await
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

    /// A refresh token's stored row, or `None` for a token never issued. Sign-in reads it before
    /// the client's configuration, so that the token's user comes in the same call.
    pub(crate) async fn stored_refresh_token(
        &self,
        token: &str,
    ) -> CognitoResult<Option<StoredRefreshToken>> {
        if token.is_empty() {
            return Ok(None);
        }
        let token_hash = tokens::hash_refresh_token(token);
        let row = sqlx::query(
            "SELECT user_pool_id, client_id, sub, origin_jti, auth_time, expires_at, revoked, rotated_at, device_key \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?;
        row.map(|row| {
            Ok(StoredRefreshToken {
                token_hash,
                pool_id: row.read("user_pool_id")?,
                client_id: row.read("client_id")?,
                sub: row.read("sub")?,
                origin_jti: row.read("origin_jti")?,
                auth_time: row.read("auth_time")?,
                expires_at: row.read("expires_at")?,
                revoked: row.flag("revoked")?,
                rotated_at: row.read("rotated_at")?,
                device_key: row.read("device_key")?,
            })
        })
        .transpose()
    }

    /// REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken: new ID and access tokens from a live
    /// refresh token of this client, and with rotation on (GetTokensFromRefreshToken only) a new
    /// refresh token that replaces it after the client's grace period. `stored` is the token's
    /// row (see [`Auth::stored_refresh_token`]), `user` its user as the directory has it now.
    pub(crate) async fn refresh(
        &self,
        pool: &idp::UserPoolType,
        client: &crate::AppClient,
        stored: Option<StoredRefreshToken>,
        user: Option<internal::UserRecord>,
        proof: ClientProof<'_>,
        rotation_allowed: bool,
    ) -> CognitoResult<Json> {
        let invalid = || CognitoError::not_authorized("Invalid Refresh Token");
        let pool_id = pool.id.clone().unwrap_or_default();
        let client_id = client.client_id.clone().unwrap_or_default();
        let stored = stored
            .filter(|stored| stored.pool_id == pool_id && stored.client_id == client_id)
            .ok_or_else(invalid)?;
        let now_millis = unix_millis(self.clock.now());
        let now = now_millis / 1000;
        if stored.revoked {
            return Err(CognitoError::not_authorized(
                "Refresh Token has been revoked",
            ));
        }
        let expires_at = stored.expires_at;
        if expires_at <= now {
            return Err(CognitoError::not_authorized("Refresh Token has expired"));
        }
        let rotation = client.refresh_token_rotation.clone().unwrap_or_default();
        let grace_millis = i64::from(rotation.retry_grace_period_seconds.unwrap_or(0)) * 1000;
        if stored.rotated_at != 0 && now_millis > stored.rotated_at + grace_millis {
            return Err(invalid());
        }
        let user = user
            .filter(|user| user.sub == stored.sub)
            .ok_or_else(invalid)?;
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        match proof {
            ClientProof::SecretHash(given) => check_secret_hash(client, &user.username, given)?,
            ClientProof::ClientSecret(given) => check_client_secret(client, given)?,
        }
        let grant = Grant {
            issuer: self.issuer(&pool_id),
            client,
            user: &user,
            origin_jti: stored.origin_jti,
            auth_time: stored.auth_time,
            now,
            device_key: Some(stored.device_key).filter(|key| !key.is_empty()),
        };
        let successor = if rotation_allowed && rotation.feature.as_deref() == Some("ENABLED") {
            let successor = tokens::new_refresh_token();
            let mut transaction = self.db.begin().await.map_err(store_error)?;
            let first_use = sqlx::query(
                "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at = 0",
            )
            .bind(now_millis)
            .bind(&stored.token_hash)
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?
            .rows_affected()
                == 1;
            // Racing uses of one token: only the first rotates it, unless a grace period lets the
            // others retry.
            if !first_use && grace_millis == 0 {
                return Err(invalid());
            }
            // The family keeps its origin_jti (RevokeToken on any member ends it) and its
            // absolute expiry.
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, user_pool_id, client_id, sub, origin_jti, auth_time, issued_at, expires_at, device_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(tokens::hash_refresh_token(&successor))
            .bind(&pool_id)
            .bind(&client_id)
            .bind(&user.sub)
            .bind(&grant.origin_jti)
            .bind(grant.auth_time)
            .bind(now)
            .bind(expires_at)
            .bind(grant.device_key.as_deref().unwrap_or_default())
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
            transaction.commit().await.map_err(store_error)?;
            Some(successor)
        } else {
            None
        };
        let customization = self
            .token_customization(pool, client, &user, "TokenGeneration_RefreshTokens")
            .await?;
        let keys = self
            .keys
            .for_pool(&pool_id, Algorithm::of_pool(pool))
            .await?;
        let result = grant.authentication_result(&keys, successor.as_deref(), &customization)?;
        Ok(json!({ "ChallengeParameters": {}, "AuthenticationResult": result }))
    }
}

impl Auth {
    /// The user's (or an unknown name's) turn at a password check, now; see [`lockout`].
    async fn password_attempt(&self, pool_id: &str, key: &str) -> CognitoResult<Attempt> {
        self.lockout
            .begin(
                pool_id,
                key,
                Factor::Password,
                unix_millis(self.clock.now()),
            )
            .await
    }
}

/// Ends a password check: a correct one forgets the failures, a wrong one counts.
async fn count_attempt(attempt: Attempt, correct: bool) -> CognitoResult<()> {
    if correct {
        return attempt.passed().await;
    }
    attempt.failed().await?;
    Err(incorrect_credentials())
}

fn password_reset_required() -> CognitoError {
    CognitoError::new(
        ErrorCode::PasswordResetRequiredException,
        "Password reset required for the user",
    )
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
}
