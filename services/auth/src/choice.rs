//! USER_AUTH, choice-based sign-in: a user signs in with any first factor that the pool's
//! `SignInPolicy.AllowedFirstAuthFactors` allows (PASSWORD when it has none) and that they can
//! use: their password (PASSWORD, or PASSWORD_SRP), or a code by email (EMAIL_OTP) or SMS
//! (SMS_OTP). With `PREFERRED_CHALLENGE` the sign-in goes straight to that factor; otherwise
//! SELECT_CHALLENGE lists `AvailableChallenges` and the answer picks one. As in Cognito, a
//! passwordless factor replaces MFA, where a password goes on to it.

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use cognate_common::{CognitoError, CognitoResult, password};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::flows::{Secret, Session, incorrect_credentials, parameter, random_token};
use crate::{Auth, factors};

/// The first factors (`AuthFactorType`) `user` can sign in with in `pool`. `None` is a user who
/// does not exist, when the client hides that: it gets what a user with only a password gets.
pub(crate) fn first_factors(
    pool: &idp::UserPoolType,
    user: Option<&internal::UserRecord>,
) -> Vec<&'static str> {
    let allowed = pool
        .policies
        .as_ref()
        .and_then(|policies| policies.sign_in_policy.as_ref())
        .map(|policy| policy.allowed_first_auth_factors.clone())
        .filter(|allowed| !allowed.is_empty())
        .unwrap_or_else(|| vec!["PASSWORD".to_owned()]);
    let has = |name: &str| {
        user.is_some_and(|user| {
            user.attributes.iter().any(|attribute| {
                attribute.name.as_deref() == Some(name)
                    && attribute.value.as_deref().is_some_and(|v| !v.is_empty())
            })
        })
    };
    let has_password =
        user.is_none_or(|user| password::srp_verifier(&user.password_hash).is_some());
    [
        ("PASSWORD", has_password),
        (factors::EMAIL, has("email")),
        (factors::SMS_OTP, has("phone_number")),
    ]
    .into_iter()
    .filter(|(factor, usable)| *usable && allowed.iter().any(|allowed| allowed == factor))
    .map(|(factor, _)| factor)
    .collect()
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
        let available = challenges(&first_factors(pool, user.as_ref()));
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
        let available = challenges(&first_factors(pool, user.as_ref()));
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
        let hide_existence = client.prevent_user_existence_errors.as_deref() == Some("ENABLED");
        match self.find_user(pool_id, username).await {
            Ok(user) => Ok(Some(user)),
            Err(error) if hide_existence && error.error_type == "UserNotFoundException" => Ok(None),
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
            "PASSWORD_SRP" => Secret::Srp(parameter(given, "SRP_A")?.to_owned()),
            code_factor => {
                // Codes are offered only to users who exist.
                let user = user.ok_or_else(incorrect_credentials)?;
                self.pre_authentication(pool, client, user, client_metadata)
                    .await?;
                let device_key = self.device_in_pool(pool, device).await?;
                return self
                    .start_factor(pool, client, user, code_factor, device_key.as_deref(), true)
                    .await;
            }
        };
        self.password_factor(pool, client, username, secret, device, client_metadata)
            .await
    }
}
