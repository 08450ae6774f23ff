//! ID, access and refresh tokens with Cognito's claims and lifetimes. Refresh tokens are random
//! and stored only as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value as Json, json};

use cognate_proto::idp::v1::UserPoolClientType;
use cognate_proto::internal::v1::{GroupRole, UserRecord};

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

/// Cognito's longest ID or access token lifetime, one day; signing keys stay published this long
/// after they stop signing.
pub const MAX_TOKEN_SECONDS: i64 = 86_400;

impl Lifetimes {
    pub fn of(client: &UserPoolClientType) -> Self {
        let units = client.token_validity_units.clone().unwrap_or_default();
        Self {
            id: seconds(
                client.id_token_validity,
                units.id_token.as_deref(),
                "hours",
                3600,
            )
            .min(MAX_TOKEN_SECONDS),
            access: seconds(
                client.access_token_validity,
                units.access_token.as_deref(),
                "hours",
                3600,
            )
            .min(MAX_TOKEN_SECONDS),
            refresh: seconds(
                client.refresh_token_validity,
                units.refresh_token.as_deref(),
                "days",
                30 * 86_400,
            ),
        }
    }
}

/// `cognito:roles` (every role of the user's groups, by precedence) and `cognito:preferred_role`
/// as Cognito makes them: the role of the group with the lowest precedence value, a group without
/// precedence ranking after every group with one. Groups tied for first place give their role
/// only if they all have the same one; otherwise there is no preferred role.
fn role_claims(group_roles: &[GroupRole]) -> (Vec<&str>, Option<&str>) {
    let mut roles: Vec<&str> = Vec::with_capacity(group_roles.len());
    for group in group_roles {
        if !roles.contains(&group.role_arn.as_str()) {
            roles.push(&group.role_arn);
        }
    }
    let rank = |group: &GroupRole| group.precedence.map_or(i64::MAX, i64::from);
    let preferred = group_roles.iter().map(rank).min().and_then(|best| {
        let mut first = group_roles
            .iter()
            .filter(|group| rank(group) == best)
            .map(|group| group.role_arn.as_str());
        let role = first.next()?;
        first.all(|other| other == role).then_some(role)
    });
    (roles, preferred)
}

/// What one sign-in (or refresh) shares between its tokens.
pub struct Grant<'a> {
    pub issuer: String,
    pub client: &'a UserPoolClientType,
    pub user: &'a UserRecord,
    pub origin_jti: String,
    pub auth_time: i64,
    pub now: i64,
    /// The device the sign-in used or was handed, for the access token's `device_key`.
    pub device_key: Option<String>,
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
        let (roles, preferred_role) = role_claims(&self.user.group_roles);
        if !roles.is_empty() {
            claims.insert("cognito:roles".into(), json!(roles));
        }
        if let Some(role) = preferred_role {
            claims.insert("cognito:preferred_role".into(), json!(role));
        }
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
        if let Some(device_key) = &self.device_key {
            claims.insert("device_key".into(), json!(device_key));
        }
        Json::Object(claims)
    }

    /// Cognito's `AuthenticationResult` with fresh ID and access tokens, plus `refresh_token`
    /// when one was issued.
    pub fn authentication_result(
        &self,
        keys: &PoolKeys,
        refresh_token: Option<&str>,
        customization: &Customization,
    ) -> CognitoResult<Json> {
        let lifetimes = Lifetimes::of(self.client);
        let mut access = self.access_claims(lifetimes.access);
        let mut id = self.id_claims(lifetimes.id);
        customization.apply(&mut id, false);
        customization.apply(&mut access, true);
        let mut result = json!({
            "AccessToken": keys.access.sign(&access)?,
            "ExpiresIn": lifetimes.access,
            "TokenType": "Bearer",
            "IdToken": keys.id.sign(&id)?,
        });
        if let Some(token) = refresh_token {
            result["RefreshToken"] = json!(token);
        }
        Ok(result)
    }
}

/// Claims a PreTokenGeneration handler may not add, change or suppress.
const PROTECTED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "auth_time",
    "aud",
    "azp",
    "c_hash",
    "client_id",
    "device_key",
    "cognito:username",
    "event_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nonce",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
];

/// What a PreTokenGeneration handler asked for: V1's `claimsOverrideDetails` (ID token claims
/// and groups) or V2/V3's `claimsAndScopeOverrideDetails` (ID and access token claims, scopes
/// and groups).
#[derive(Debug, Default)]
pub struct Customization {
    id: TokenChanges,
    access: TokenChanges,
    scopes_to_add: Vec<String>,
    scopes_to_suppress: Vec<String>,
    groups: Option<Json>,
    roles: Option<Json>,
    preferred_role: Option<Json>,
}

#[derive(Debug, Default)]
struct TokenChanges {
    add_or_override: Map<String, Json>,
    suppress: Vec<String>,
}

impl TokenChanges {
    fn from(details: &Json) -> Self {
        Self {
            add_or_override: details["claimsToAddOrOverride"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
            suppress: strings(&details["claimsToSuppress"]),
        }
    }
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl Customization {
    /// From the handler's `response`.
    pub fn from_reply(response: &Json) -> Self {
        let (v1, v2) = (
            &response["claimsOverrideDetails"],
            &response["claimsAndScopeOverrideDetails"],
        );
        let groups = if v2.is_object() {
            &v2["groupOverrideDetails"]
        } else {
            &v1["groupOverrideDetails"]
        };
        let access = &v2["accessTokenGeneration"];
        Self {
            id: if v2.is_object() {
                TokenChanges::from(&v2["idTokenGeneration"])
            } else {
                TokenChanges::from(v1)
            },
            access: TokenChanges::from(access),
            scopes_to_add: strings(&access["scopesToAdd"]),
            scopes_to_suppress: strings(&access["scopesToSuppress"]),
            groups: groups
                .get("groupsToOverride")
                .filter(|value| value.is_array())
                .cloned(),
            roles: groups
                .get("iamRolesToOverride")
                .filter(|value| value.is_array())
                .cloned(),
            preferred_role: groups
                .get("preferredRole")
                .filter(|value| value.is_string())
                .cloned(),
        }
    }

    fn apply(&self, claims: &mut Json, access_token: bool) {
        let Some(claims) = claims.as_object_mut() else {
            return;
        };
        let changes = if access_token { &self.access } else { &self.id };
        for (name, value) in &changes.add_or_override {
            if !PROTECTED_CLAIMS.contains(&name.as_str()) {
                claims.insert(name.clone(), value.clone());
            }
        }
        for name in &changes.suppress {
            if !PROTECTED_CLAIMS.contains(&name.as_str()) {
                claims.remove(name);
            }
        }
        for (name, value) in [
            ("cognito:groups", &self.groups),
            ("cognito:roles", &self.roles),
            ("cognito:preferred_role", &self.preferred_role),
        ] {
            match value {
                Some(Json::Array(items)) if items.is_empty() => {
                    claims.remove(name);
                }
                Some(value) => {
                    claims.insert(name.to_owned(), value.clone());
                }
                None => {}
            }
        }
        if access_token && !(self.scopes_to_add.is_empty() && self.scopes_to_suppress.is_empty()) {
            let mut scopes: Vec<String> = claims["scope"]
                .as_str()
                .unwrap_or_default()
                .split(' ')
                .map(str::to_owned)
                .collect();
            scopes.retain(|scope| !scope.is_empty() && !self.scopes_to_suppress.contains(scope));
            for scope in &self.scopes_to_add {
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
            claims.insert("scope".into(), json!(scopes.join(" ")));
        }
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
    fn preferred_roles_follow_precedence_and_ties_as_cognito_documents() {
        let group = |role: &str, precedence: Option<i32>| GroupRole {
            role_arn: role.to_owned(),
            precedence,
        };
        let groups = [
            group("arn:admin", Some(1)),
            group("arn:staff", Some(5)),
            group("arn:admin", None),
        ];
        let (roles, preferred) = role_claims(&groups);
        assert_eq!(roles, ["arn:admin", "arn:staff"], "each role once");
        assert_eq!(preferred, Some("arn:admin"));
        let tie = [group("arn:a", Some(2)), group("arn:b", Some(2))];
        assert_eq!(
            role_claims(&tie).1,
            None,
            "a tie between roles prefers none"
        );
        let same = [
            group("arn:a", Some(2)),
            group("arn:a", Some(2)),
            group("arn:b", Some(3)),
        ];
        assert_eq!(
            role_claims(&same).1,
            Some("arn:a"),
            "a tie on one role keeps it"
        );
        let unranked = [group("arn:a", None), group("arn:b", Some(9))];
        assert_eq!(
            role_claims(&unranked).1,
            Some("arn:b"),
            "no precedence ranks last"
        );
        assert_eq!(role_claims(&[group("arn:a", None)]).1, Some("arn:a"));
        assert_eq!(role_claims(&[]), (Vec::<&str>::new(), None));
    }

    #[test]
    fn version_1_changes_the_id_token_and_groups_only() {
        let customization = Customization::from_reply(&json!({"claimsOverrideDetails": {
            "claimsToAddOrOverride": {"tenant": "acme", "iss": "https://evil"},
            "claimsToSuppress": ["email"],
            "groupOverrideDetails": {"groupsToOverride": ["admins"]},
        }}));
        let mut id = json!({"iss": "https://issuer", "email": "a@b.c"});
        customization.apply(&mut id, false);
        assert_eq!(
            id,
            json!({"iss": "https://issuer", "tenant": "acme", "cognito:groups": ["admins"]})
        );
        let mut access = json!({"scope": "aws.cognito.signin.user.admin"});
        customization.apply(&mut access, true);
        assert_eq!(
            access,
            json!({"scope": "aws.cognito.signin.user.admin", "cognito:groups": ["admins"]})
        );
    }

    #[test]
    fn version_2_changes_both_tokens_and_scopes() {
        let customization = Customization::from_reply(&json!({"claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {"claimsToAddOrOverride": {"plan": "pro"}},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"tier": "gold"},
                "scopesToAdd": ["orders/read"],
                "scopesToSuppress": ["aws.cognito.signin.user.admin"],
            },
        }}));
        let mut access = json!({"scope": "aws.cognito.signin.user.admin"});
        customization.apply(&mut access, true);
        assert_eq!(access, json!({"scope": "orders/read", "tier": "gold"}));
        let mut id = json!({});
        customization.apply(&mut id, false);
        assert_eq!(id, json!({"plan": "pro"}));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let token = new_refresh_token();
        assert_ne!(token, new_refresh_token());
        assert_eq!(hash_refresh_token(&token).len(), 64);
        assert_ne!(hash_refresh_token(&token), token);
    }
}
