//! Multi-factor sign-in: the SOFTWARE_TOKEN_MFA, SMS_MFA, EMAIL_OTP, SELECT_MFA_TYPE and
//! MFA_SETUP challenges, AssociateSoftwareToken and VerifySoftwareToken, and the codes of
//! USER_AUTH's EMAIL_OTP and SMS_OTP first factors. The pool's MfaConfiguration decides: OFF never asks, OPTIONAL asks users who enabled a factor, ON asks
//! everyone and makes users without one set up an authenticator during sign-in. A user's
//! preferred factor is asked for; with several enabled and none preferred, the user chooses.

use serde_json::{Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::{CognitoError, CognitoResult, ErrorCode};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::choice::hides_existence;
use crate::flows::{Session, expired_session, random_token};
use crate::lockout::Factor;
use crate::{Auth, factors, totp};

/// Whoever an MFA-management call is about: from an access token, or from an MFA_SETUP session.
pub(crate) struct Subject {
    pub pool_id: String,
    pub sub: String,
    /// The MFA_SETUP session to carry on under a new token, when the call came with one.
    pub session: Option<(Session, idp::UserPoolClientType)>,
}

impl Auth {
    /// The MFA challenge this sign-in needs, if any.
    pub(crate) async fn mfa_challenge(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device_key: Option<&str>,
    ) -> CognitoResult<Option<Json>> {
        let mode = pool.mfa_configuration.as_deref().unwrap_or("OFF");
        if mode == "OFF" {
            return Ok(None);
        }
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let factors = factors::load(&self.db, pool_id, &user.sub).await?;
        let chosen = factors
            .preferred
            .or_else(|| (factors.enabled.len() == 1).then(|| factors.enabled[0]));
        if let Some(factor) = chosen {
            return self
                .start_factor(pool, client, user, factor, device_key, false)
                .await
                .map(Some);
        }
        let (challenge, parameter, offered) = if factors.enabled.len() > 1 {
            ("SELECT_MFA_TYPE", "MFAS_CAN_CHOOSE", factors.enabled)
        } else if mode == "ON" {
            ("MFA_SETUP", "MFAS_CAN_SETUP", vec![factors::SOFTWARE_TOKEN])
        } else {
            return Ok(None);
        };
        let token = random_token(48);
        let mut session = Session::for_challenge(pool_id, client, &user.username, challenge);
        session.device_key = device_key.map(str::to_owned);
        self.save_session(client, &session, &token).await?;
        let mut parameters = json!({ "USER_ID_FOR_SRP": user.username });
        parameters[parameter] = json!(json!(offered).to_string());
        Ok(Some(
            json!({ "ChallengeName": challenge, "Session": token, "ChallengeParameters": parameters }),
        ))
    }

    /// SELECT_MFA_TYPE answered: the challenge of the chosen factor, which must be enabled.
    pub(crate) async fn select_mfa_type(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        answer: &str,
        device_key: Option<&str>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let factors = factors::load(&self.db, pool_id, &user.sub).await?;
        let Some(factor) = factors.enabled.into_iter().find(|factor| *factor == answer) else {
            return Err(CognitoError::invalid_parameter(format!(
                "The MFA type {answer} is not enabled for this user."
            )));
        };
        self.start_factor(pool, client, user, factor, device_key, false)
            .await
    }

    /// The challenge for one factor; for SMS and email the code goes out now and its hash
    /// stays in the session. `first_factor`: an EMAIL_OTP or SMS_OTP of USER_AUTH, not MFA; for
    /// a client that hides existence it goes out after the answer, which then takes as long as
    /// the simulated one an unknown name gets.
    pub(crate) async fn start_factor(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        factor: &str,
        device_key: Option<&str>,
        first_factor: bool,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let mut session = Session::for_challenge(pool_id, client, &user.username, factor);
        session.device_key = device_key.map(str::to_owned);
        session.first_factor = first_factor;
        let mut parameters = json!({ "USER_ID_FOR_SRP": user.username });
        if factor != factors::SOFTWARE_TOKEN {
            let code = cognate_common::ids::six_digit_code();
            let delivery = self
                .directory
                .clone()
                .send_authentication_code(internal::SendAuthenticationCodeRequest {
                    user_pool_id: pool_id.to_owned(),
                    username: user.username.clone(),
                    medium: medium(factor).to_owned(),
                    code: code.clone(),
                    client_id: client.client_id.clone().unwrap_or_default(),
                    client_metadata_json: "{}".to_owned(),
                    detached: first_factor && hides_existence(client),
                })
                .await
                .map_err(CognitoError::from)?
                .into_inner();
            session.otp = Some(otp_hash(&session.client_id, &user.sub, &code));
            parameters["CODE_DELIVERY_DELIVERY_MEDIUM"] = json!(delivery.delivery_medium);
            parameters["CODE_DELIVERY_DESTINATION"] = json!(delivery.destination);
        }
        let token = random_token(48);
        self.save_session(client, &session, &token).await?;
        Ok(json!({ "ChallengeName": factor, "Session": token, "ChallengeParameters": parameters }))
    }

    /// SOFTWARE_TOKEN_MFA, SMS_MFA or EMAIL_OTP: the code. A wrong code counts toward the
    /// lockout and leaves the session usable for another try.
    #[allow(clippy::too_many_arguments)] // The challenge's parts, each of them needed.
    pub(crate) async fn answer_mfa_code(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        session: &Session,
        code: &str,
        session_key: &str,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let now = unix_millis(self.clock.now());
        let attempt = self
            .lockout
            .begin(pool_id, &user.sub, Factor::Code, now)
            .await?;
        let checked = match &session.otp {
            None => {
                totp::redeem(&self.db, &self.sealer, pool_id, &user.sub, code, now / 1000).await
            }
            Some(expected) => {
                let given = otp_hash(&session.client_id, &user.sub, code);
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    given.as_bytes(),
                    expected.as_bytes(),
                )
                .map_err(|_| code_mismatch())
            }
        };
        if let Err(error) = checked {
            attempt.failed().await?;
            self.save_session(client, session, session_key).await?;
            return Err(error);
        }
        // The code's failures stand until tokens are issued.
        attempt.passed().await?;
        let device_key = session.device_key.as_deref();
        if session.first_factor {
            return self
                .first_factor_proven(pool, client, user, device_key, false)
                .await;
        }
        self.after_factors(pool, client, user, device_key).await
    }

    /// MFA_SETUP answered: the user must have verified an authenticator with this session.
    pub(crate) async fn finish_mfa_setup(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device_key: Option<&str>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        if !totp::enabled(&self.db, pool_id, &user.sub).await? {
            return Err(CognitoError::invalid_parameter(
                "No MFA has been set up for the user.",
            ));
        }
        self.after_factors(pool, client, user, device_key).await
    }

    /// The user an MFA-management call is about.
    pub(crate) async fn mfa_subject(
        &self,
        access_token: Option<&str>,
        session: Option<&str>,
    ) -> CognitoResult<Subject> {
        if let Some(token) = access_token.filter(|token| !token.is_empty()) {
            let claims = self.user_access_token(token).await?;
            return Ok(Subject {
                pool_id: claims.user_pool_id,
                sub: claims.sub,
                session: None,
            });
        }
        let key = session
            .filter(|session| !session.is_empty())
            .ok_or_else(|| {
                CognitoError::invalid_parameter("Either AccessToken or Session must be given.")
            })?;
        let session = self.take_session(key).await?;
        if session.challenge != "MFA_SETUP" {
            return Err(expired_session());
        }
        let (_, client) = self
            .client_config(Some(&session.pool_id), &session.client_id)
            .await?;
        let user = self.find_user(&session.pool_id, &session.username).await?;
        Ok(Subject {
            pool_id: session.pool_id.clone(),
            sub: user.sub,
            session: Some((session, client.into_config())),
        })
    }

    /// Carries an MFA_SETUP session on under a fresh token (sessions are single-use).
    pub(crate) async fn renew_session(&self, subject: &Subject) -> CognitoResult<Option<String>> {
        let Some((session, client)) = &subject.session else {
            return Ok(None);
        };
        let token = random_token(48);
        self.save_session(client, session, &token).await?;
        Ok(Some(token))
    }
}

/// How a code for `factor` is sent: SMS or EMAIL.
pub(crate) fn medium(factor: &str) -> &'static str {
    if factor == factors::SMS || factor == factors::SMS_OTP {
        "SMS"
    } else {
        "EMAIL"
    }
}

/// A wrong SMS, email or TOTP code.
pub(crate) fn code_mismatch() -> CognitoError {
    CognitoError::new(
        ErrorCode::CodeMismatchException,
        "Invalid code received for user",
    )
}

/// What a session keeps of an SMS or email code: a hash bound to the client and user, so the
/// session store never holds the code itself.
fn otp_hash(client_id: &str, sub: &str, code: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{client_id}\n{sub}\n{code}").as_bytes(),
    );
    hex::encode(digest.as_ref())
}
