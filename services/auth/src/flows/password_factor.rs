//! A password proven directly (USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH's
//! PASSWORD) or started by SRP: the lockout's attempts, legacy hashes upgraded, the user's state.

use super::*;

/// What proves a password: the password itself, or SRP's `SRP_A` to start PASSWORD_VERIFIER.
pub(crate) enum Secret {
    Password(String),
    Srp(String),
}

impl Auth {
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
}

impl Auth {
    /// The user's (or an unknown name's) turn at a password check, now; see [`lockout`].
    pub(super) async fn password_attempt(
        &self,
        pool_id: &str,
        key: &str,
    ) -> CognitoResult<Attempt> {
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
pub(super) async fn count_attempt(attempt: Attempt, correct: bool) -> CognitoResult<()> {
    if correct {
        return attempt.passed().await;
    }
    attempt.failed().await?;
    Err(incorrect_credentials())
}

pub(super) fn password_reset_required() -> CognitoError {
    CognitoError::new(
        ErrorCode::PasswordResetRequiredException,
        "Password reset required for the user",
    )
}
