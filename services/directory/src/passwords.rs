//! What happens to a password a user or an admin chooses beyond the pool's policy: password
//! history (`PasswordPolicy.PasswordHistorySize`) and compromised-credentials detection
//! (Set/DescribeRiskConfiguration), and storing it in place of the old one.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode, legacy_hash, password};

use crate::Directory;
use crate::pools::parse_stored;
use crate::users::{RESET_REQUIRED, User};

/// The events a compromised-credentials configuration filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RiskEvent {
    SignIn,
    SignUp,
    PasswordChange,
}

impl RiskEvent {
    fn name(self) -> &'static str {
        match self {
            Self::SignIn => "SIGN_IN",
            Self::SignUp => "SIGN_UP",
            Self::PasswordChange => "PASSWORD_CHANGE",
        }
    }
}

/// What the pool's configuration says about a breached password for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    Block,
}

/// The row key of the pool-wide configuration; DescribeRiskConfiguration shows it as Cognito
/// does, with `ClientId` `ALL`.
const WHOLE_POOL: &str = "";
const ALL_CLIENTS: &str = "ALL";

/// Cognito's answer when a breached password is refused.
pub(crate) fn compromised() -> CognitoError {
    CognitoError::new(
        ErrorCode::InvalidPasswordException,
        "Provided password cannot be used for security reasons.",
    )
}

fn history_size(pool: &Json) -> usize {
    pool["Policies"]["PasswordPolicy"]["PasswordHistorySize"]
        .as_u64()
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(0)
}

/// Threat protection as the pool's add-ons set it: `OFF`, `AUDIT` or `ENFORCED`.
fn security_mode(pool: &Json) -> &str {
    pool["UserPoolAddOns"]["AdvancedSecurityMode"]
        .as_str()
        .unwrap_or("OFF")
}

impl Directory {
    /// SetRiskConfiguration: a configuration for the pool, or for one of its clients (which then
    /// ignores the pool's). A request with nothing to set returns the pool or client to defaults.
    pub async fn set_risk_configuration(&self, request: &Map<String, Json>) -> CognitoResult<Json> {
        let pool_id = request["UserPoolId"].as_str().unwrap_or_default();
        let pool = self.load_pool(pool_id).await?;
        if security_mode(&pool) == "OFF" {
            return Err(CognitoError::new(
                ErrorCode::UserPoolAddOnNotEnabledException,
                "Advanced security features are not enabled for this user pool.",
            ));
        }
        let client_id = match request.get("ClientId").and_then(Json::as_str) {
            Some(client_id) => {
                self.load_client(Some(pool_id), client_id).await?;
                client_id
            }
            None => WHOLE_POOL,
        };
        let config: Map<String, Json> = request
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "UserPoolId" | "ClientId"))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if config.is_empty() {
            sqlx::query(
                "DELETE FROM risk_configurations WHERE user_pool_id = $1 AND client_id = $2",
            )
            .bind(pool_id)
            .bind(client_id)
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        } else {
            sqlx::query(
                "INSERT INTO risk_configurations (user_pool_id, client_id, config_json) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_pool_id, client_id) DO UPDATE SET config_json = excluded.config_json",
            )
            .bind(pool_id)
            .bind(client_id)
            .bind(Json::Object(config.clone()).to_string())
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        }
        Ok(risk_configuration(pool_id, client_id, config))
    }

    /// DescribeRiskConfiguration: the client's own configuration, else the pool's.
    pub async fn describe_risk_configuration(
        &self,
        pool_id: &str,
        client_id: Option<&str>,
    ) -> CognitoResult<Json> {
        self.load_pool(pool_id).await?;
        if let Some(client_id) = client_id {
            self.load_client(Some(pool_id), client_id).await?;
        }
        let (row_client, config) = self.effective_risk(pool_id, client_id).await?;
        Ok(risk_configuration(pool_id, &row_client, config))
    }

    /// The configuration that applies to a client (or the whole pool) and the row it came from.
    async fn effective_risk(
        &self,
        pool_id: &str,
        client_id: Option<&str>,
    ) -> CognitoResult<(String, Map<String, Json>)> {
        let rows = sqlx::query(
            "SELECT client_id, config_json FROM risk_configurations \
             WHERE user_pool_id = $1 AND client_id IN ($2, $3) ORDER BY client_id DESC",
        )
        .bind(pool_id)
        .bind(WHOLE_POOL)
        .bind(client_id.unwrap_or(WHOLE_POOL))
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        // A client's own row sorts before the pool's ('' is the smallest key).
        let Some(row) = rows.first() else {
            return Ok((WHOLE_POOL.to_owned(), Map::new()));
        };
        let config = match parse_stored(row.read::<String>("config_json")?.as_str())? {
            Json::Object(config) => config,
            _ => Map::new(),
        };
        Ok((row.read("client_id")?, config))
    }

    /// Checks a password against the compromised-credentials configuration for `event`. A
    /// breached password is logged in AUDIT mode and under NO_ACTION, and refused only in
    /// ENFORCED mode with BLOCK. Pools without threat protection skip the check.
    pub(crate) async fn screen_compromised(
        &self,
        pool_id: &str,
        pool: &Json,
        client_id: Option<&str>,
        event: RiskEvent,
        candidate: &str,
    ) -> CognitoResult<Verdict> {
        let mode = security_mode(pool);
        if mode == "OFF" {
            return Ok(Verdict::Allow);
        }
        let (_, config) = self.effective_risk(pool_id, client_id).await?;
        let Some(compromised) = config.get("CompromisedCredentialsRiskConfiguration") else {
            return Ok(Verdict::Allow);
        };
        let watched = compromised["EventFilter"]
            .as_array()
            .is_none_or(|events| events.iter().any(|name| name == event.name()));
        if !watched || !self.breached.is_breached(candidate).await? {
            return Ok(Verdict::Allow);
        }
        let blocks = mode == "ENFORCED" && compromised["Actions"]["EventAction"] == "BLOCK";
        tracing::info!(
            pool_id,
            client_id,
            event = event.name(),
            blocked = blocks,
            "compromised credentials detected"
        );
        Ok(if blocks {
            Verdict::Block
        } else {
            Verdict::Allow
        })
    }

    /// A password just proven at sign-in: when the configuration blocks it, the user must reset
    /// their password before signing in again (Cognito's RESET_REQUIRED).
    pub async fn screen_sign_in(
        &self,
        pool_id: &str,
        client_id: &str,
        username: &str,
        candidate: &str,
    ) -> CognitoResult<bool> {
        let pool = self.load_pool(pool_id).await?;
        let verdict = self
            .screen_compromised(
                pool_id,
                &pool,
                Some(client_id),
                RiskEvent::SignIn,
                candidate,
            )
            .await?;
        if verdict == Verdict::Allow {
            return Ok(false);
        }
        let user = self.find_user(pool_id, username).await?;
        self.set_status(pool_id, &user.sub, RESET_REQUIRED).await?;
        Ok(true)
    }

    /// Replaces an imported legacy hash, just proven by a plaintext sign-in, with the SRP
    /// verifier of the same password, so USER_SRP_AUTH works from now on. Compare-and-set on the
    /// previous hash: if the password changed meanwhile, the newer one stays.
    pub async fn upgrade_password(
        &self,
        pool_id: &str,
        username: &str,
        password: &str,
        previous_hash: &str,
    ) -> CognitoResult<()> {
        let user = self.find_user(pool_id, username).await?;
        if user.password_hash != previous_hash || !legacy_hash::is_legacy(previous_hash) {
            return Ok(());
        }
        let stored =
            password::stored_form(&self.work, pool_id, &user.username, password.to_owned()).await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2 \
             WHERE user_pool_id = $3 AND sub = $4 AND password_hash = $5",
        )
        .bind(&stored)
        .bind(unix_millis(self.clock.now()))
        .bind(pool_id)
        .bind(&user.sub)
        .bind(previous_hash)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Moves the user `sub` to `status` whatever their status was.
    pub(crate) async fn set_status(
        &self,
        pool_id: &str,
        sub: &str,
        status: &str,
    ) -> CognitoResult<()> {
        sqlx::query(
            "UPDATE users SET status = $1, updated_at = $2 WHERE user_pool_id = $3 AND sub = $4",
        )
        .bind(status)
        .bind(unix_millis(self.clock.now()))
        .bind(pool_id)
        .bind(sub)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Refuses a new password that repeats the user's current one or one of the earlier ones
    /// the pool's `PasswordHistorySize` counts (the current password is one of them).
    async fn screen_history(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        candidate: &str,
    ) -> CognitoResult<()> {
        let size = history_size(pool);
        if size == 0 {
            return Ok(());
        }
        let earlier = sqlx::query(
            "SELECT password_hash FROM password_history WHERE user_pool_id = $1 AND sub = $2 \
             ORDER BY replaced_at DESC LIMIT $3",
        )
        .bind(pool_id)
        .bind(&user.sub)
        .bind(i64::try_from(size - 1).unwrap_or(0))
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        let mut remembered = vec![user.password_hash.clone()];
        for row in &earlier {
            remembered.push(row.read::<String>("password_hash")?);
        }
        for stored in remembered.into_iter().filter(|stored| !stored.is_empty()) {
            if password::verify(
                &self.work,
                pool_id,
                &user.username,
                candidate.to_owned(),
                stored,
            )
            .await?
            {
                return Err(CognitoError::new(
                    ErrorCode::PasswordHistoryPolicyViolationException,
                    "The password you've entered matches a previous password. Choose a different password.",
                ));
            }
        }
        Ok(())
    }

    /// The checks a chosen password for an existing user passes beyond the policy (history, and
    /// compromised credentials when a client's end user chose it), then its stored form.
    pub(crate) async fn screened_password(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        client_id: Option<&str>,
        candidate: &str,
    ) -> CognitoResult<String> {
        self.screen_history(pool_id, pool, user, candidate).await?;
        if client_id.is_some() {
            let verdict = self
                .screen_compromised(
                    pool_id,
                    pool,
                    client_id,
                    RiskEvent::PasswordChange,
                    candidate,
                )
                .await?;
            if verdict == Verdict::Block {
                return Err(compromised());
            }
        }
        password::stored_form(&self.work, pool_id, &user.username, candidate.to_owned()).await
    }

    /// Replaces the user's password and status in one transaction, keeping the replaced stored
    /// form in the history while the pool counts one.
    pub(crate) async fn replace_password(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        stored: &str,
        status: &str,
    ) -> CognitoResult<()> {
        let now = unix_millis(self.clock.now());
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, status = $2, updated_at = $3 WHERE user_pool_id = $4 AND sub = $5",
        )
        .bind(stored)
        .bind(status)
        .bind(now)
        .bind(pool_id)
        .bind(&user.sub)
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?;
        let keep = history_size(pool).saturating_sub(1);
        if keep > 0 && !user.password_hash.is_empty() {
            sqlx::query(
                "INSERT INTO password_history (user_pool_id, sub, password_hash, replaced_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_pool_id, sub, password_hash) DO NOTHING",
            )
            .bind(pool_id)
            .bind(&user.sub)
            .bind(&user.password_hash)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
        }
        // Older entries than the pool counts are of no further use; keep none beyond them.
        sqlx::query(
            "DELETE FROM password_history WHERE user_pool_id = $1 AND sub = $2 AND password_hash NOT IN \
             (SELECT password_hash FROM password_history WHERE user_pool_id = $1 AND sub = $2 \
              ORDER BY replaced_at DESC LIMIT $3)",
        )
        .bind(pool_id)
        .bind(&user.sub)
        .bind(i64::try_from(keep).unwrap_or(0))
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }
}

fn risk_configuration(pool_id: &str, client_id: &str, mut config: Map<String, Json>) -> Json {
    config.insert("UserPoolId".to_owned(), json!(pool_id));
    let shown = if client_id == WHOLE_POOL {
        ALL_CLIENTS
    } else {
        client_id
    };
    config.insert("ClientId".to_owned(), json!(shown));
    json!({ "RiskConfiguration": config })
}
