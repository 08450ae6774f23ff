//! Access-token checks for token-authorized operations, and revocation: RevokeToken (a refresh
//! token and every token derived from it), GlobalSignOut and AdminUserGlobalSignOut (all of a
//! user's tokens). Revocations live in the SQL store, so no cache loss or replica can undo them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value as Json;

use cognate_common::clock::unix_millis;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode};
use cognate_proto::internal::v1 as internal;

use crate::Auth;
use crate::keys::Purpose;
use crate::tokens::hash_refresh_token;

fn invalid_token() -> CognitoError {
    CognitoError::not_authorized("Invalid Access Token")
}

fn revoked_token() -> CognitoError {
    CognitoError::not_authorized("Access Token has been revoked")
}

/// The claims of a compact JWS, unverified, and its signing input, signature and `kid`.
struct Parsed {
    algorithm: String,
    signing_input: String,
    signature: Vec<u8>,
    kid: String,
    claims: Json,
}

fn parse(token: &str) -> Option<Parsed> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Json = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    // RS256 or ES256 only, and then the key's own, which `SigningKey::verifies` checks.
    let algorithm = header["alg"]
        .as_str()
        .filter(|alg| matches!(*alg, "RS256" | "ES256"))?
        .to_owned();
    Some(Parsed {
        algorithm,
        signing_input: format!("{}.{payload}", token.split('.').next()?),
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        kid: header["kid"].as_str()?.to_owned(),
        claims: serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?,
    })
}

impl Auth {
    /// An access token for the user's own operations (MFA settings, devices, sign-out): valid as
    /// [`Auth::verify_access_token`] checks, and with the `aws.cognito.signin.user.admin` scope,
    /// as the directory's self-service operations demand.
    pub(crate) async fn user_access_token(
        &self,
        token: &str,
    ) -> CognitoResult<internal::AccessTokenClaims> {
        let claims = self.verify_access_token(token).await?;
        cognate_common::error::require_user_admin_scope(&claims.scopes)?;
        Ok(claims)
    }

    /// Checks an access token: signature by the pool's access key, issuer, `token_use`, expiry,
    /// revocation, global sign-out, and that its user still exists and is enabled. A token from a
    /// revoked refresh-token family is refused with its family.
    pub(crate) async fn verify_access_token(
        &self,
        token: &str,
    ) -> CognitoResult<internal::AccessTokenClaims> {
        let parsed = parse(token).ok_or_else(invalid_token)?;
        let claims = &parsed.claims;
        let issuer = claims["iss"].as_str().unwrap_or_default();
        let pool_id = issuer.rsplit('/').next().unwrap_or_default().to_owned();
        if pool_id.is_empty() || issuer != self.issuer(&pool_id) || claims["token_use"] != "access"
        {
            return Err(invalid_token());
        }
        let keys = self
            .keys
            .verifying_key(&pool_id, Purpose::Access, &parsed.kid)
            .await?
            .ok_or_else(invalid_token)?;
        let verified = keys
            .published(Purpose::Access, &parsed.kid)
            .is_some_and(|key| {
                key.verifies(&parsed.algorithm, &parsed.signing_input, &parsed.signature)
            });
        if !verified {
            return Err(invalid_token());
        }
        let now = unix_millis(self.clock.now()) / 1000;
        if claims["exp"].as_i64().is_none_or(|expires| expires <= now) {
            return Err(CognitoError::not_authorized("Access Token has expired"));
        }
        let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
        let issued_at = claims["iat"].as_i64().unwrap_or_default();
        let origin_jti = claims["origin_jti"].as_str().unwrap_or_default().to_owned();
        // A token of a refresh-token family is refused with its family, which sign-out revokes
        // whole; one without (its client does not enable revocation) by the sign-out instant,
        // which is whole seconds like `iat`, so a token of the sign-out's own second is refused
        // too (a sign-in just after it in that second must sign in again).
        let revoked = if origin_jti.is_empty() {
            sqlx::query(
                "SELECT 1 AS hit FROM user_sign_outs \
                 WHERE user_pool_id = $1 AND sub = $2 AND signed_out_at >= $3",
            )
            .bind(&pool_id)
            .bind(&sub)
            .bind(issued_at)
            .fetch_optional(&self.db)
            .await
        } else {
            sqlx::query(
                "SELECT 1 AS hit FROM refresh_tokens WHERE origin_jti = $1 AND revoked <> 0",
            )
            .bind(&origin_jti)
            .fetch_optional(&self.db)
            .await
        }
        .map_err(store_error)?;
        if revoked.is_some() {
            return Err(revoked_token());
        }
        let user = self
            .directory
            .clone()
            .find_user(internal::FindUserRequest {
                user_pool_id: pool_id.clone(),
                username: sub.clone(),
            })
            .await
            .map_err(|_| CognitoError::not_authorized("User does not exist."))?
            .into_inner();
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        Ok(internal::AccessTokenClaims {
            user_pool_id: pool_id,
            sub,
            username: claims["username"].as_str().unwrap_or_default().to_owned(),
            client_id: claims["client_id"].as_str().unwrap_or_default().to_owned(),
            scopes: claims["scope"]
                .as_str()
                .unwrap_or_default()
                .split(' ')
                .map(str::to_owned)
                .collect(),
            origin_jti,
        })
    }

    /// Ends every session of a user: all refresh tokens revoked, and tokens issued until now refused.
    pub(crate) async fn sign_out_everywhere(&self, pool_id: &str, sub: &str) -> CognitoResult<()> {
        let now = unix_millis(self.clock.now()) / 1000;
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE user_pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
        sqlx::query(
            "INSERT INTO user_sign_outs (user_pool_id, sub, signed_out_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_pool_id, sub) DO UPDATE SET signed_out_at = excluded.signed_out_at",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(now)
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }

    /// RevokeToken: the refresh token, its rotated predecessors and successors, and every ID and
    /// access token derived from them (they share its `origin_jti`); other sessions of the user
    /// are untouched.
    pub(crate) async fn revoke_refresh_token(
        &self,
        token: &str,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> CognitoResult<()> {
        let (_, client) = self.client_config(None, client_id).await?;
        crate::flows::check_client_secret(&client, client_secret).map_err(|_| {
            CognitoError::new(ErrorCode::UnauthorizedException, "Invalid client secret.")
        })?;
        if client.enable_token_revocation == Some(false) {
            return Err(CognitoError::new(
                ErrorCode::UnsupportedOperationException,
                "Token revocation is not enabled for this client.",
            ));
        }
        let revoked = sqlx::query(
            "UPDATE refresh_tokens SET revoked = 1 WHERE origin_jti = \
             (SELECT origin_jti FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2)",
        )
        .bind(hash_refresh_token(token))
        .bind(client_id)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        // As RFC 7009 asks, an unknown token is not an error: there is nothing left to revoke.
        tracing::debug!(
            revoked = revoked.rows_affected(),
            "refresh token revocation"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rs256_and_es256_compact_tokens_parse() {
        let encode = |json: &str| URL_SAFE_NO_PAD.encode(json);
        for alg in ["RS256", "ES256"] {
            let good = format!(
                "{}.{}.{}",
                encode(&format!(r#"{{"kid":"k","alg":"{alg}"}}"#)),
                encode(r#"{"sub":"x"}"#),
                encode("sig")
            );
            assert!(parse(&good).is_some_and(|parsed| parsed.algorithm == alg));
        }
        let none = format!(
            "{}.{}.",
            encode(r#"{"kid":"k","alg":"none"}"#),
            encode(r#"{"sub":"x"}"#)
        );
        assert!(parse(&none).is_none());
        let hmac = format!(
            "{}.{}.{}",
            encode(r#"{"kid":"k","alg":"HS256"}"#),
            encode(r#"{"sub":"x"}"#),
            encode("sig")
        );
        assert!(parse(&hmac).is_none());
        assert!(parse("not a token").is_none());
        let good = format!(
            "{}.{}.{}",
            encode(r#"{"kid":"k","alg":"ES256"}"#),
            encode("{}"),
            encode("sig")
        );
        assert!(parse(&format!("{good}.extra")).is_none());
    }
}
