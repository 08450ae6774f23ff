//! ID, access and refresh tokens with Cognito's claims and lifetimes. Refresh tokens are random
//! and stored only as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value as Json, json};

use cognate_proto::idp::v1::UserPoolClientType;
use cognate_proto::internal::v1::UserRecord;

use crate::keys::PoolKeys;
use cognate_common::CognitoResult;

/// Attributes that appear in the ID token as JSON booleans rather than strings.
const BOOLEAN_ATTRIBUTES: &[&str] = &["email_verified", "phone_number_verified"];

/// The validity in seconds of one token kind: `value` in `unit`, or the default.
fn seconds(value: Option<i32>, unit: Option<&str>, default_unit: &str, default_value: i64) -> i64 {
    let Some(value) = value else {
        return default_value;
    };
    let multiplier = match unit.unwrap_or(default_unit) {
        "seconds" => 1,
        "minutes" => 60,
        "hours" => 3600,
        _ => 86_400,
    };
    i64::from(value) * multiplier
}

/// Lifetimes of one client's tokens, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub id: i64,
    pub access: i64,
    pub refresh: i64,
}

impl Lifetimes {
    pub fn of(client: &UserPoolClientType) -> Self {
        let units = client.token_validity_units.clone().unwrap_or_default();
        Self {
            id: seconds(
                client.id_token_validity,
                units.id_token.as_deref(),
                "hours",
                3600,
            ),
            access: seconds(
                client.access_token_validity,
                units.access_token.as_deref(),
                "hours",
                3600,
            ),
            refresh: seconds(
                client.refresh_token_validity,
                units.refresh_token.as_deref(),
                "days",
                30 * 86_400,
            ),
        }
    }
}

/// What one sign-in (or refresh) shares between its tokens.
pub struct Grant<'a> {
    pub issuer: String,
    pub client: &'a UserPoolClientType,
    pub user: &'a UserRecord,
    pub origin_jti: String,
    pub auth_time: i64,
    pub now: i64,
}

impl Grant<'_> {
    fn revocable(&self) -> bool {
        self.client.enable_token_revocation.unwrap_or(true)
    }

    fn common(&self, claims: &mut Map<String, Json>, lifetime: i64) {
        claims.insert("sub".into(), json!(self.user.sub));
        if !self.user.groups.is_empty() {
            claims.insert("cognito:groups".into(), json!(self.user.groups));
        }
        claims.insert("iss".into(), json!(self.issuer));
        if self.revocable() {
            claims.insert("origin_jti".into(), json!(self.origin_jti));
        }
        claims.insert("event_id".into(), json!(uuid::Uuid::new_v4().to_string()));
        claims.insert("auth_time".into(), json!(self.auth_time));
        claims.insert("exp".into(), json!(self.now + lifetime));
        claims.insert("iat".into(), json!(self.now));
        if self.revocable() {
            claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        }
    }

    pub fn id_claims(&self, lifetime: i64) -> Json {
        let mut claims = Map::new();
        self.common(&mut claims, lifetime);
        claims.insert("cognito:username".into(), json!(self.user.username));
        claims.insert("aud".into(), json!(self.client.client_id));
        claims.insert("token_use".into(), json!("id"));
        for attribute in &self.user.attributes {
            let (Some(name), Some(value)) = (&attribute.name, &attribute.value) else {
                continue;
            };
            if name == "sub" || name.starts_with("dev:") {
                continue;
            }
            let value = if BOOLEAN_ATTRIBUTES.contains(&name.as_str()) {
                json!(value == "true")
            } else {
                json!(value)
            };
            claims.insert(name.clone(), value);
        }
        Json::Object(claims)
    }

    pub fn access_claims(&self, lifetime: i64) -> Json {
        let mut claims = Map::new();
        self.common(&mut claims, lifetime);
        claims.insert("client_id".into(), json!(self.client.client_id));
        claims.insert("token_use".into(), json!("access"));
        claims.insert("scope".into(), json!("aws.cognito.signin.user.admin"));
        claims.insert("username".into(), json!(self.user.username));
        Json::Object(claims)
    }

    /// Cognito's `AuthenticationResult` with fresh ID and access tokens, plus `refresh_token`
    /// when one was issued.
    pub fn authentication_result(
        &self,
        keys: &PoolKeys,
        refresh_token: Option<&str>,
    ) -> CognitoResult<Json> {
        let lifetimes = Lifetimes::of(self.client);
        let mut result = json!({
            "AccessToken": keys.access.sign(&self.access_claims(lifetimes.access))?,
            "ExpiresIn": lifetimes.access,
            "TokenType": "Bearer",
            "IdToken": keys.id.sign(&self.id_claims(lifetimes.id))?,
        });
        if let Some(token) = refresh_token {
            result["RefreshToken"] = json!(token);
        }
        Ok(result)
    }
}

/// A new opaque refresh token (384 random bits).
pub fn new_refresh_token() -> String {
    let bytes: [u8; 48] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex_lower(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognate_proto::idp::v1::TokenValidityUnitsType;

    #[test]
    fn lifetimes_follow_the_clients_units_and_cognitos_defaults() {
        let client = UserPoolClientType::default();
        assert_eq!(
            Lifetimes::of(&client),
            Lifetimes {
                id: 3600,
                access: 3600,
                refresh: 30 * 86_400
            }
        );
        let client = UserPoolClientType {
            access_token_validity: Some(5),
            refresh_token_validity: Some(60),
            token_validity_units: Some(TokenValidityUnitsType {
                access_token: Some("minutes".into()),
                refresh_token: Some("minutes".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            Lifetimes::of(&client),
            Lifetimes {
                id: 3600,
                access: 300,
                refresh: 3600
            }
        );
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let token = new_refresh_token();
        assert_ne!(token, new_refresh_token());
        assert_eq!(hash_refresh_token(&token).len(), 64);
        assert_ne!(hash_refresh_token(&token), token);
    }
}
