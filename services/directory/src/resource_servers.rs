//! Resource servers and their custom scopes (Create/Describe/List/Update/DeleteResourceServer),
//! kept as Cognito's `ResourceServerType` JSON, and the check that an app client's
//! `AllowedOAuthScopes` name only scopes that exist.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::store::Columns;
use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::Directory;
use crate::pool_admin::text;
use crate::pools::{decode_token, encode_token, parse_stored, string_list};

/// The scopes every pool has: OpenID Connect's and Cognito's own.
const STANDARD_SCOPES: &[&str] = &[
    "phone",
    "email",
    "openid",
    "profile",
    "aws.cognito.signin.user.admin",
];
const MAX_SCOPES: usize = 100;
const MAX_RESULTS: i64 = 50;

fn invalid(value: &str, member: &str, constraint: &str) -> CognitoError {
    CognitoError::invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// 1 to 256 characters, each one `allowed`; `pattern` is how Cognito spells the rule.
fn check_text(
    value: &str,
    member: &str,
    pattern: &str,
    allowed: impl Fn(char) -> bool,
) -> CognitoResult<()> {
    let length = value.chars().count();
    if length == 0 {
        return Err(invalid(
            value,
            member,
            "Member must have length greater than or equal to 1",
        ));
    }
    if length > 256 {
        return Err(invalid(
            value,
            member,
            "Member must have length less than or equal to 256",
        ));
    }
    if !value.chars().all(allowed) {
        return Err(invalid(
            value,
            member,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

/// Printable ASCII without space, `"` and `\`: `[\x21\x23-\x5B\x5D-\x7E]+`.
fn identifier_char(c: char) -> bool {
    c.is_ascii_graphic() && c != '"' && c != '\\'
}

fn check_identifier(identifier: &str) -> CognitoResult<()> {
    check_text(
        identifier,
        "identifier",
        "[\\x21\\x23-\\x5B\\x5D-\\x7E]+",
        identifier_char,
    )
}

/// The request's name and scopes as a `ResourceServerType`, checked as Cognito checks them.
fn server_of(request: &Map<String, Json>) -> CognitoResult<Json> {
    let pool_id = text(request, "UserPoolId");
    let identifier = text(request, "Identifier");
    let name = text(request, "Name");
    check_identifier(identifier)?;
    check_text(name, "name", "[\\w\\s+=,.@-]+", |c| {
        c.is_alphanumeric() || c == '_' || c.is_whitespace() || "+=,.@-".contains(c)
    })?;
    let scopes = request
        .get("Scopes")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if scopes.len() > MAX_SCOPES {
        return Err(CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value at 'scopes' failed to satisfy constraint: Member must have length less than or equal to {MAX_SCOPES}"
        )));
    }
    let mut names = Vec::with_capacity(scopes.len());
    for (index, scope) in scopes.iter().enumerate() {
        let scope_name = scope["ScopeName"].as_str().unwrap_or_default();
        let description = scope["ScopeDescription"].as_str().unwrap_or_default();
        let position = index + 1;
        // Scope names are Identifier's characters without `/`, which separates the two in tokens.
        check_text(
            scope_name,
            &format!("scopes.{position}.member.scopeName"),
            "[\\x21\\x23-\\x2E\\x30-\\x5B\\x5D-\\x7E]+",
            |c| identifier_char(c) && c != '/',
        )?;
        check_text(
            description,
            &format!("scopes.{position}.member.scopeDescription"),
            ".+",
            |_| true,
        )?;
        if names.contains(&scope_name) {
            return Err(CognitoError::invalid_parameter(format!(
                "Duplicate scope name {scope_name} in resource server {identifier}."
            )));
        }
        names.push(scope_name);
    }
    Ok(json!({
        "UserPoolId": pool_id,
        "Identifier": identifier,
        "Name": name,
        "Scopes": scopes,
    }))
}

fn not_found(identifier: &str) -> CognitoError {
    CognitoError::not_found(format!("Resource server {identifier} does not exist."))
}

impl Directory {
    pub async fn create_resource_server(&self, request: &Map<String, Json>) -> CognitoResult<Json> {
        let server = server_of(request)?;
        let pool_id = text(request, "UserPoolId");
        let identifier = text(request, "Identifier");
        self.load_pool(pool_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO resource_servers (user_pool_id, identifier, server_json, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(pool_id)
        .bind(identifier)
        .bind(server.to_string())
        .bind(unix_millis(self.clock.now()))
        .execute(&self.db)
        .await;
        match inserted {
            Ok(_) => Ok(server),
            Err(error) if is_unique_violation(&error) => Err(CognitoError::invalid_parameter(
                format!("{identifier} already exists in user pool {pool_id}."),
            )),
            Err(error) => Err(store_error(error)),
        }
    }

    async fn load_resource_server(
        &self,
        pool_id: &str,
        identifier: &str,
    ) -> CognitoResult<Option<Json>> {
        sqlx::query(
            "SELECT server_json FROM resource_servers WHERE user_pool_id = $1 AND identifier = $2",
        )
        .bind(pool_id)
        .bind(identifier)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?
        .map(|row| parse_stored(row.read::<String>("server_json")?.as_str()))
        .transpose()
    }

    pub async fn describe_resource_server(
        &self,
        pool_id: &str,
        identifier: &str,
    ) -> CognitoResult<Json> {
        self.load_pool(pool_id).await?;
        self.load_resource_server(pool_id, identifier)
            .await?
            .ok_or_else(|| not_found(identifier))
    }

    /// A page of the pool's resource servers by identifier, and the next token.
    pub async fn list_resource_servers(
        &self,
        pool_id: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> CognitoResult<(Vec<Json>, Option<String>)> {
        self.load_pool(pool_id).await?;
        let limit = max_results.unwrap_or(MAX_RESULTS);
        if !(1..=MAX_RESULTS).contains(&limit) {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {MAX_RESULTS}"
            )));
        }
        let after = decode_token(next_token)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT identifier, server_json FROM resource_servers WHERE user_pool_id = $1 AND identifier > $2 \
             ORDER BY identifier LIMIT $3",
        )
        .bind(pool_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        let page = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > page;
        let servers = rows
            .iter()
            .take(page)
            .map(|row| parse_stored(row.read::<String>("server_json")?.as_str()))
            .collect::<CognitoResult<Vec<Json>>>()?;
        let next = rows
            .get(page.saturating_sub(1))
            .filter(|_| more)
            .map(|row| {
                Ok::<_, CognitoError>(encode_token(row.read::<String>("identifier")?.as_str()))
            })
            .transpose()?;
        Ok((servers, next))
    }

    /// UpdateResourceServer replaces the name and every scope; scopes left out are removed.
    pub async fn update_resource_server(&self, request: &Map<String, Json>) -> CognitoResult<Json> {
        let server = server_of(request)?;
        let pool_id = text(request, "UserPoolId");
        let identifier = text(request, "Identifier");
        self.load_pool(pool_id).await?;
        let updated = sqlx::query(
            "UPDATE resource_servers SET server_json = $1 WHERE user_pool_id = $2 AND identifier = $3",
        )
        .bind(server.to_string())
        .bind(pool_id)
        .bind(identifier)
        .execute(&self.db)
        .await
        .map_err(store_error)?
        .rows_affected();
        if updated == 0 {
            return Err(not_found(identifier));
        }
        Ok(server)
    }

    pub async fn delete_resource_server(
        &self,
        pool_id: &str,
        identifier: &str,
    ) -> CognitoResult<()> {
        self.load_pool(pool_id).await?;
        let deleted =
            sqlx::query("DELETE FROM resource_servers WHERE user_pool_id = $1 AND identifier = $2")
                .bind(pool_id)
                .bind(identifier)
                .execute(&self.db)
                .await
                .map_err(store_error)?
                .rows_affected();
        if deleted == 0 {
            return Err(not_found(identifier));
        }
        Ok(())
    }

    /// A client request's `AllowedOAuthScopes` may name the standard scopes and
    /// `<resource server identifier>/<scope name>` of the pool's resource servers; anything else
    /// is ScopeDoesNotExistException, as in Cognito.
    pub(crate) async fn check_oauth_scopes(
        &self,
        pool_id: &str,
        request: &Map<String, Json>,
    ) -> CognitoResult<()> {
        for scope in string_list(request.get("AllowedOAuthScopes")) {
            if STANDARD_SCOPES.contains(&scope) {
                continue;
            }
            let exists = match scope.rsplit_once('/') {
                Some((identifier, name)) => self
                    .load_resource_server(pool_id, identifier)
                    .await?
                    .is_some_and(|server| {
                        server["Scopes"]
                            .as_array()
                            .is_some_and(|scopes| scopes.iter().any(|s| s["ScopeName"] == name))
                    }),
                None => false,
            };
            if !exists {
                return Err(CognitoError::new(
                    ErrorCode::ScopeDoesNotExistException,
                    format!("Invalid scope requested: {scope}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(value: Json) -> Map<String, Json> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn servers_are_checked_as_cognito_checks_them() {
        let good = request(json!({
            "UserPoolId": "p", "Identifier": "https://api.example.com", "Name": "API",
            "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read"}],
        }));
        assert_eq!(
            server_of(&good).expect("valid")["Scopes"][0]["ScopeName"],
            "read"
        );
        for bad in [
            json!({"Identifier": "has space", "Name": "API"}),
            json!({"Identifier": "api", "Name": ""}),
            json!({"Identifier": "api", "Name": "API", "Scopes": [{"ScopeName": "a/b", "ScopeDescription": "x"}]}),
            json!({"Identifier": "api", "Name": "API", "Scopes": [{"ScopeName": "a", "ScopeDescription": ""}]}),
            json!({"Identifier": "api", "Name": "API", "Scopes": [
                {"ScopeName": "a", "ScopeDescription": "x"}, {"ScopeName": "a", "ScopeDescription": "y"}]}),
        ] {
            assert!(server_of(&request(bad.clone())).is_err(), "{bad}");
        }
    }
}
