//! What a flow between two calls remembers, kept single-use in the ephemeral store.

use super::*;

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
    pub(super) decoy: Option<(String, String)>,
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

pub(crate) fn expired_session() -> CognitoError {
    CognitoError::not_authorized("Invalid session for the user, session is expired.")
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut buffer);
    base64::engine::general_purpose::STANDARD.encode(buffer)
}

impl Auth {
    /// Takes the session stored under `key`, once: one that is gone, expired or already taken
    /// is Cognito's expired-session error.
    pub(crate) async fn take_session(&self, key: &str) -> CognitoResult<Session> {
        let stored = self
            .ephemeral
            .take(Kind::AuthSession, key)
            .await?
            .ok_or_else(expired_session)?;
        serde_json::from_str(&stored)
            .map_err(|error| cognate_common::error::internal("session decoding", error))
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
}
