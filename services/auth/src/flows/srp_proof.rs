//! SRP: the PASSWORD_VERIFIER challenge (a real user's verifier or a decoy's alike) and the
//! proof's check on the blocking pool.

use super::*;

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

impl Auth {
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
        let user_id = self.decoy_user_id(pool, username).await?;
        self.decoy_srp_for(pool, client, &user_id, srp_a).await
    }

    /// The decoy's PASSWORD_VERIFIER for its USER_ID_FOR_SRP (`decoy_user_id` of the name
    /// given), whichever flow asks: the SALT is derived from that id, so USER_SRP_AUTH and
    /// CUSTOM_AUTH with SRP first show the same one for the same name.
    pub(crate) async fn decoy_srp_for(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user_id: &str,
        srp_a: String,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let keys = self
            .keys
            .for_pool(pool_id, Algorithm::of_pool(pool))
            .await?;
        let verifier = srp::simulated_verifier(&keys.derive(&format!("verifier\0{user_id}")));
        let decoy = Some((verifier.salt.clone(), verifier.verifier.clone()));
        self.password_verifier(pool_id, client, user_id, verifier, srp_a, decoy, None, None)
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
}
