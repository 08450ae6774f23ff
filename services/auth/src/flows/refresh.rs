//! REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken: the stored token family and its rotation.

use super::*;

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

impl Auth {
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
