//! Multi-factor sign-in with TOTP authenticators: the SOFTWARE_TOKEN_MFA and MFA_SETUP
//! challenges, AssociateSoftwareToken, VerifySoftwareToken and the MFA preferences. The pool's
//! MfaConfiguration decides: OFF never asks, OPTIONAL asks users who enabled an authenticator,
//! ON asks everyone and makes users without one set it up during sign-in.

use serde_json::{Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::ephemeral::Kind;
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::flows::{Session, expired_session, random_token};
use crate::{Auth, lockout, totp};

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
        let challenge = if totp::enabled(&self.db, pool_id, &user.sub).await? {
            "SOFTWARE_TOKEN_MFA"
        } else if mode == "ON" {
            "MFA_SETUP"
        } else {
            return Ok(None);
        };
        let token = random_token(48);
        let mut session = Session::for_challenge(pool_id, client, &user.username, challenge);
        session.device_key = device_key.map(str::to_owned);
        self.save_session(client, &session, &token).await?;
        let mut parameters = json!({ "USER_ID_FOR_SRP": user.username });
        if challenge == "MFA_SETUP" {
            parameters["MFAS_CAN_SETUP"] = json!("[\"SOFTWARE_TOKEN_MFA\"]");
        }
        Ok(Some(
            json!({ "ChallengeName": challenge, "Session": token, "ChallengeParameters": parameters }),
        ))
    }

    /// SOFTWARE_TOKEN_MFA: the authenticator's code. A wrong code counts toward the lockout and
    /// leaves the session usable for another try.
    pub(crate) async fn answer_software_token(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        code: &str,
        session_key: &str,
        session: &Session,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let now = unix_millis(self.clock.now());
        lockout::begin(&self.db, pool_id, &user.sub, now).await?;
        if let Err(error) = totp::redeem(&self.db, pool_id, &user.sub, code, now / 1000).await {
            self.save_session(client, session, session_key).await?;
            return Err(error);
        }
        lockout::succeeded(&self.db, pool_id, &user.sub).await?;
        self.after_factors(pool, client, user, session.device_key.as_deref())
            .await
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
            let claims = self.verify_access_token(token).await?;
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
        let stored = self
            .ephemeral
            .take(Kind::AuthSession, key)
            .await?
            .ok_or_else(expired_session)?;
        let session: Session = serde_json::from_str(&stored)
            .map_err(|error| cognate_common::error::internal("session decoding", error))?;
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
            session: Some((session, client)),
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
