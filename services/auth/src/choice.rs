//! USER_AUTH, choice-based sign-in: a user signs in with any first factor that the pool's
//! `SignInPolicy.AllowedFirstAuthFactors` allows (PASSWORD when it has none) and that they can
//! use: their password (PASSWORD, or PASSWORD_SRP), or a code by email (EMAIL_OTP) or SMS
//! (SMS_OTP). With `PREFERRED_CHALLENGE` the sign-in goes straight to that factor; otherwise
//! SELECT_CHALLENGE lists `AvailableChallenges` and the answer picks one. As in Cognito, a
//! passwordless factor replaces MFA, where a password goes on to it. A client that hides which
//! users exist offers every allowed factor to everyone, and a factor the user can't use (any, for
//! an unknown name) fails as a wrong password or a wrong code would.

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::{CognitoError, CognitoResult, ErrorCode, legacy_hash, password};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::flows::{
    Secret, Session, incorrect_credentials, parameter, random_token, srp_a_parameter,
};
use crate::lockout::{self, Factor};
use crate::{Auth, factors, mfa};

/// The first factors the pool allows, in Cognito's order: its
/// `SignInPolicy.AllowedFirstAuthFactors`, or PASSWORD when it names none.
fn allowed_factors(pool: &idp::UserPoolType) -> Vec<&'static str> {
    let allowed = pool
        .policies
        .as_ref()
        .and_then(|policies| policies.sign_in_policy.as_ref())
        .map(|policy| policy.allowed_first_auth_factors.clone())
        .filter(|allowed| !allowed.is_empty())
        .unwrap_or_else(|| vec!["PASSWORD".to_owned()]);
    ["PASSWORD", factors::EMAIL, factors::SMS_OTP]
        .into_iter()
        .filter(|factor| allowed.iter().any(|allowed| allowed == factor))
        .collect()
}

/// The first factors (`AuthFactorType`) `user` can sign in with in `pool`.
pub(crate) fn first_factors(
    pool: &idp::UserPoolType,
    user: &internal::UserRecord,
) -> Vec<&'static str> {
    let has = |name: &str| {
        user.attributes.iter().any(|attribute| {
            attribute.name.as_deref() == Some(name)
                && attribute.value.as_deref().is_some_and(|v| !v.is_empty())
        })
    };
    allowed_factors(pool)
        .into_iter()
        .filter(|factor| match *factor {
            "PASSWORD" => {
                password::srp_verifier(&user.password_hash).is_some()
                    || legacy_hash::is_legacy(&user.password_hash)
            }
            factors::EMAIL => has("email"),
            _ => has("phone_number"),
        })
        .collect()
}

/// The first factors offered to `user` (`None`: no such user, and the client hides that). A
/// client that hides existence offers every factor the pool allows to everyone, so the offer
/// tells nothing of the user; a factor they can't use then fails as a wrong answer would.
fn offered_factors(
    pool: &idp::UserPoolType,
    client: &idp::UserPoolClientType,
    user: Option<&internal::UserRecord>,
) -> Vec<&'static str> {
    match user {
        Some(user) if !hides_existence(client) => first_factors(pool, user),
        _ => allowed_factors(pool),
    }
}

pub(crate) fn hides_existence(client: &idp::UserPoolClientType) -> bool {
    client.prevent_user_existence_errors.as_deref() == Some("ENABLED")
}

/// The challenges of those factors: a password is proven directly or by SRP.
fn challenges(factors: &[&'static str]) -> Vec<&'static str> {
    factors
        .iter()
        .flat_map(|factor| match *factor {
            "PASSWORD" => vec!["PASSWORD", "PASSWORD_SRP"],
            other => vec![other],
        })
        .collect()
}

impl Auth {
    /// InitiateAuth or AdminInitiateAuth with USER_AUTH.
    pub(crate) async fn start_user_auth(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        username: &str,
        parameters: &HashMap<String, String>,
        client_metadata: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let user = self.user_choosing(client, pool_id, username).await?;
        let available = challenges(&offered_factors(pool, client, user.as_ref()));
        if available.is_empty() {
            return Err(incorrect_credentials());
        }
        let device = parameters.get("DEVICE_KEY");
        let preferred = parameters
            .get("PREFERRED_CHALLENGE")
            .and_then(|preferred| available.iter().find(|c| *c == preferred));
        if let Some(challenge) = preferred {
            return self
                .begin_challenge(
                    pool,
                    client,
                    username,
                    user.as_ref(),
                    challenge,
                    parameters,
                    device,
                    client_metadata,
                )
                .await;
        }
        let mut session = Session::for_challenge(pool_id, client, username, "SELECT_CHALLENGE");
        session.device_key = device.cloned();
        let token = random_token(48);
        self.save_session(client, &session, &token).await?;
        Ok(json!({
            "ChallengeName": "SELECT_CHALLENGE",
            "Session": token,
            "ChallengeParameters": {},
            "AvailableChallenges": available,
        }))
    }

    /// SELECT_CHALLENGE answered with `answer` (or PASSWORD / PASSWORD_SRP answered directly).
    pub(crate) async fn select_challenge(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        session: &Session,
        answer: &str,
        responses: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let user = self
            .user_choosing(client, &session.pool_id, &session.username)
            .await?;
        let available = challenges(&offered_factors(pool, client, user.as_ref()));
        let Some(challenge) = available.into_iter().find(|challenge| *challenge == answer) else {
            return Err(CognitoError::invalid_parameter(format!(
                "The challenge {answer} is not available for this user."
            )));
        };
        let device = responses.get("DEVICE_KEY").or(session.device_key.as_ref());
        self.begin_challenge(
            pool,
            client,
            &session.username,
            user.as_ref(),
            challenge,
            responses,
            device,
            &HashMap::new(),
        )
        .await
    }

    /// The user signing in, or `None` for one who does not exist when the client hides that.
    async fn user_choosing(
        &self,
        client: &idp::UserPoolClientType,
        pool_id: &str,
        username: &str,
    ) -> CognitoResult<Option<internal::UserRecord>> {
        match self.find_user(pool_id, username).await {
            Ok(user) => Ok(Some(user)),
            Err(error)
                if hides_existence(client) && error.code == ErrorCode::UserNotFoundException =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The chosen first factor: a password with `PASSWORD` or `SRP_A` from `given`, or a code
    /// sent now.
    #[allow(clippy::too_many_arguments)] // The sign-in's parts, each of them needed.
    async fn begin_challenge(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        username: &str,
        user: Option<&internal::UserRecord>,
        challenge: &str,
        given: &HashMap<String, String>,
        device: Option<&String>,
        client_metadata: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let secret = match challenge {
            "PASSWORD" => Secret::Password(parameter(given, "PASSWORD")?.to_owned()),
            "PASSWORD_SRP" => Secret::Srp(srp_a_parameter(given)?),
            code_factor => {
                if let Some(user) = user {
                    self.pre_authentication(pool, client, user, client_metadata)
                        .await?;
                }
                let device_key = self.device_in_pool(pool, device).await?;
                return match user.filter(|user| first_factors(pool, user).contains(&code_factor)) {
                    Some(user) => {
                        self.start_factor(
                            pool,
                            client,
                            user,
                            code_factor,
                            device_key.as_deref(),
                            true,
                        )
                        .await
                    }
                    // Offered only by a client that hides existence.
                    None => {
                        self.simulated_code(pool, client, username, user, code_factor, device_key)
                            .await
                    }
                };
            }
        };
        self.password_factor(
            pool,
            client,
            (username, user.cloned()),
            secret,
            device,
            client_metadata,
        )
        .await
    }

    /// An EMAIL_OTP or SMS_OTP challenge that sends nothing, for a user who does not exist or
    /// has no such address: a simulated destination, stable per name, as the directory derives
    /// it for existence hiding. Every code is then refused.
    async fn simulated_code(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        username: &str,
        user: Option<&internal::UserRecord>,
        factor: &str,
        device_key: Option<String>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let user_id = match user {
            Some(user) => user.username.clone(),
            None => self.decoy_user_id(pool, username).await?,
        };
        let delivery = self
            .directory
            .clone()
            .simulate_code_delivery(internal::SimulateCodeDeliveryRequest {
                user_pool_id: pool_id.to_owned(),
                username: username.to_owned(),
                medium: mfa::medium(factor).to_owned(),
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        let name = user.map_or(username, |user| user.username.as_str());
        let mut session = Session::for_challenge(pool_id, client, name, factor);
        session.device_key = device_key;
        session.simulated = true;
        let token = random_token(48);
        self.save_session(client, &session, &token).await?;
        Ok(json!({
            "ChallengeName": factor,
            "Session": token,
            "ChallengeParameters": {
                "USER_ID_FOR_SRP": user_id,
                "CODE_DELIVERY_DELIVERY_MEDIUM": delivery.delivery_medium,
                "CODE_DELIVERY_DESTINATION": delivery.destination,
            },
        }))
    }

    /// A code for a simulated challenge: counted as a wrong code (for an unknown name, against
    /// a decoy of that name, so it locks as a user would) and refused; the session stays usable.
    pub(crate) async fn refuse_simulated_code(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        session: &Session,
        responses: &HashMap<String, String>,
        session_key: &str,
    ) -> CognitoResult<Json> {
        let member = if session.challenge == factors::SMS_OTP {
            "SMS_OTP_CODE"
        } else {
            "EMAIL_OTP_CODE"
        };
        parameter(responses, member)?;
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let counted = match self.find_user(pool_id, &session.username).await {
            Ok(user) => user.sub,
            Err(error) if error.code == ErrorCode::UserNotFoundException => {
                lockout::unknown_user_key(pool, &session.username)
            }
            Err(error) => return Err(error),
        };
        let now = unix_millis(self.clock.now());
        self.lockout
            .begin(pool_id, &counted, Factor::Code, now)
            .await?
            .failed()
            .await?;
        self.save_session(client, session, session_key).await?;
        Err(mfa::code_mismatch())
    }
}
