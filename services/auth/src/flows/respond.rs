//! RespondToAuthChallenge and AdminRespondToAuthChallenge: the session names the challenge,
//! the answer is checked by the flow that asked it.

use super::*;

/// The challenges RespondToAuthChallenge answers, parsed once from its `ChallengeName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // Cognito's names: SELECT_CHALLENGE, CUSTOM_CHALLENGE.
pub(crate) enum Challenge {
    PasswordVerifier,
    NewPasswordRequired,
    SoftwareTokenMfa,
    SmsMfa,
    EmailOtp,
    SmsOtp,
    SelectChallenge,
    Password,
    PasswordSrp,
    SelectMfaType,
    MfaSetup,
    CustomChallenge,
    DeviceSrpAuth,
    DevicePasswordVerifier,
}

impl Challenge {
    const ALL: [Challenge; 14] = [
        Challenge::PasswordVerifier,
        Challenge::NewPasswordRequired,
        Challenge::SoftwareTokenMfa,
        Challenge::SmsMfa,
        Challenge::EmailOtp,
        Challenge::SmsOtp,
        Challenge::SelectChallenge,
        Challenge::Password,
        Challenge::PasswordSrp,
        Challenge::SelectMfaType,
        Challenge::MfaSetup,
        Challenge::CustomChallenge,
        Challenge::DeviceSrpAuth,
        Challenge::DevicePasswordVerifier,
    ];

    /// Cognito's `ChallengeName`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Challenge::PasswordVerifier => "PASSWORD_VERIFIER",
            Challenge::NewPasswordRequired => "NEW_PASSWORD_REQUIRED",
            Challenge::SoftwareTokenMfa => "SOFTWARE_TOKEN_MFA",
            Challenge::SmsMfa => "SMS_MFA",
            Challenge::EmailOtp => "EMAIL_OTP",
            Challenge::SmsOtp => "SMS_OTP",
            Challenge::SelectChallenge => "SELECT_CHALLENGE",
            Challenge::Password => "PASSWORD",
            Challenge::PasswordSrp => "PASSWORD_SRP",
            Challenge::SelectMfaType => "SELECT_MFA_TYPE",
            Challenge::MfaSetup => "MFA_SETUP",
            Challenge::CustomChallenge => "CUSTOM_CHALLENGE",
            Challenge::DeviceSrpAuth => "DEVICE_SRP_AUTH",
            Challenge::DevicePasswordVerifier => "DEVICE_PASSWORD_VERIFIER",
        }
    }

    fn parse(name: &str) -> CognitoResult<Self> {
        Self::ALL
            .into_iter()
            .find(|challenge| challenge.name() == name)
            .ok_or_else(|| {
                CognitoError::invalid_parameter(format!(
                    "Cognate does not support the {name} challenge yet."
                ))
            })
    }

    /// The response member holding the code, for the challenges answered with one.
    fn code_member(self) -> Option<&'static str> {
        match self {
            Challenge::SoftwareTokenMfa => Some("SOFTWARE_TOKEN_MFA_CODE"),
            Challenge::SmsMfa => Some("SMS_MFA_CODE"),
            Challenge::EmailOtp => Some("EMAIL_OTP_CODE"),
            Challenge::SmsOtp => Some("SMS_OTP_CODE"),
            _ => None,
        }
    }
}

/// One RespondToAuthChallenge or AdminRespondToAuthChallenge request.
pub(crate) struct Response<'a> {
    pub pool_id: Option<&'a str>,
    pub client_id: &'a str,
    pub challenge: &'a str,
    pub session: Option<&'a str>,
    pub responses: &'a HashMap<String, String>,
}

impl Auth {
    /// Checks an answer against the session its challenge started, then goes on with the flow
    /// that asked it: the SRP proof, an MFA code, a device, a custom challenge, a new password,
    /// or a choice (SELECT_CHALLENGE, SELECT_MFA_TYPE).
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
        let challenge = Challenge::parse(request.challenge)?;
        // PASSWORD_VERIFIER's session is named by its SECRET_BLOCK; every other by `Session`.
        let key = match challenge {
            Challenge::PasswordVerifier => {
                parameter(request.responses, "PASSWORD_CLAIM_SECRET_BLOCK")?
            }
            _ => request
                .session
                .filter(|session| !session.is_empty())
                .ok_or_else(expired_session)?,
        };
        // An unknown device is refused before the session is used up: clients forget the device
        // and send the same answer again without it.
        let given_device = if challenge == Challenge::PasswordVerifier {
            self.device_in_pool(&pool, request.responses.get("DEVICE_KEY"))
                .await?
        } else {
            None
        };
        let session = self.take_session(key).await?;
        // PASSWORD and PASSWORD_SRP may be answered directly instead of through SELECT_CHALLENGE.
        let selected = session.challenge == Challenge::SelectChallenge.name()
            && matches!(challenge, Challenge::Password | Challenge::PasswordSrp);
        if session.pool_id != pool_id
            || session.client_id != request.client_id
            || (session.challenge != challenge.name() && !selected)
        {
            return Err(expired_session());
        }
        let username = parameter(request.responses, "USERNAME")?;
        check_secret_hash(&client, username, request.responses.get("SECRET_HASH"))?;
        if session.challenge == Challenge::SelectChallenge.name() {
            let answer = if selected {
                challenge.name()
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
        if let Some(member) = challenge.code_member() {
            let code = parameter(request.responses, member)?;
            return self
                .answer_mfa_code(&pool, &client, &user, &session, code, key)
                .await;
        }
        match challenge {
            Challenge::PasswordVerifier => {}
            Challenge::SelectMfaType => {
                let answer = parameter(request.responses, "ANSWER")?;
                return self
                    .select_mfa_type(&pool, &client, &user, answer, session.device_key.as_deref())
                    .await;
            }
            Challenge::MfaSetup => {
                return self
                    .finish_mfa_setup(&pool, &client, &user, session.device_key.as_deref())
                    .await;
            }
            Challenge::DeviceSrpAuth => {
                return self
                    .device_password_verifier(&client, &user, &session, request.responses)
                    .await;
            }
            Challenge::DevicePasswordVerifier => {
                return self
                    .check_device_claim(&pool, &client, &user, &session, key, request.responses)
                    .await;
            }
            Challenge::CustomChallenge => {
                let answer = parameter(request.responses, "ANSWER")?;
                return self
                    .answer_custom(&pool, &client, &user, &session, answer)
                    .await;
            }
            Challenge::NewPasswordRequired => {
                return self
                    .answer_new_password(&pool, &client, &user, &session, key, request.responses)
                    .await;
            }
            // The session's challenge matched the answer's, and these sessions are handled
            // above (SELECT_CHALLENGE and its PASSWORD / PASSWORD_SRP) or by `code_member`.
            Challenge::SelectChallenge
            | Challenge::Password
            | Challenge::PasswordSrp
            | Challenge::SoftwareTokenMfa
            | Challenge::SmsMfa
            | Challenge::EmailOtp
            | Challenge::SmsOtp => return Err(expired_session()),
        }
        // PASSWORD_VERIFIER: the SRP proof.
        let verifier =
            password::srp_verifier(&user.password_hash).ok_or_else(incorrect_credentials)?;
        let server = session.server_challenge()?;
        let claim = Claim::from(request.responses, key)?;
        let attempt = self.password_attempt(&pool_id, &user.sub).await?;
        let correct = check_claim(
            &self.work,
            pool_name,
            &user.username,
            verifier,
            server,
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
        self.authenticated(&pool, &client, &user, device_key.as_deref())
            .await
    }

    /// NEW_PASSWORD_REQUIRED: the new password set as the user's, then the sign-in goes on.
    async fn answer_new_password(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        session: &Session,
        key: &str,
        responses: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.clone().unwrap_or_default();
        let new_password = parameter(responses, "NEW_PASSWORD")?;
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
            self.save_session(client, session, key).await?;
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
        self.authenticated(pool, client, &user, session.device_key.as_deref())
            .await
    }
}
