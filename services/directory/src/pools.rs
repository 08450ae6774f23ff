//! User pools and app clients. Their configuration is kept as Cognito's own JSON
//! (`UserPoolType`, `UserPoolClientType`), so every field round-trips without a column each.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ids};

use std::sync::Arc;

use crate::config_cache::{self, CachedPool, Change, ClientView};
use crate::{Directory, client_secrets, schema};

/// Members of CreateUserPool/UpdateUserPool that UpdateUserPool may change. Cognito resets any
/// of them an update leaves out to its default.
const UPDATABLE: &[&str] = &[
    "Policies",
    "DeletionProtection",
    "LambdaConfig",
    "AutoVerifiedAttributes",
    "SmsVerificationMessage",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "VerificationMessageTemplate",
    "SmsAuthenticationMessage",
    "UserAttributeUpdateSettings",
    "MfaConfiguration",
    "DeviceConfiguration",
    "EmailConfiguration",
    "SmsConfiguration",
    "AdminCreateUserConfig",
    "UserPoolAddOns",
    "AccountRecoverySetting",
    "UserPoolTier",
];

/// Members only CreateUserPool sets.
const CREATE_ONLY: &[&str] = &[
    "AliasAttributes",
    "UsernameAttributes",
    "UsernameConfiguration",
    "UserPoolTags",
];

const ALIAS_ATTRIBUTES: &[&str] = &["phone_number", "email", "preferred_username"];
const USERNAME_ATTRIBUTES: &[&str] = &["phone_number", "email"];
const MAX_RESULTS: i64 = 60;

pub(crate) fn string_list(value: Option<&Json>) -> Vec<&str> {
    value
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

fn check_subset(member: &str, values: &[&str], allowed: &[&str]) -> CognitoResult<()> {
    match values.iter().find(|value| !allowed.contains(value)) {
        Some(value) => Err(CognitoError::invalid_parameter(format!(
            "{member} may only contain {}; got {value}.",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn default_object(pool: &mut Map<String, Json>, member: &str, defaults: Json) {
    let entry = pool.entry(member).or_insert_with(|| json!({}));
    if let (Some(object), Json::Object(defaults)) = (entry.as_object_mut(), defaults) {
        for (key, value) in defaults {
            object.entry(key).or_insert(value);
        }
    }
}

/// Applies the updatable settings of a CreateUserPool or UpdateUserPool request, with Cognito's
/// defaults for what it leaves out.
fn apply_settings(pool: &mut Map<String, Json>, request: &Map<String, Json>) -> CognitoResult<()> {
    for member in UPDATABLE {
        match request.get(*member) {
            Some(value) => pool.insert((*member).to_owned(), value.clone()),
            None => pool.remove(*member),
        };
    }
    check_subset(
        "AutoVerifiedAttributes",
        &string_list(pool.get("AutoVerifiedAttributes")),
        USERNAME_ATTRIBUTES,
    )?;
    let policies = pool.entry("Policies").or_insert_with(|| json!({}));
    // Cognito's default: USER_AUTH sign-in starts with a password only.
    if policies.get("SignInPolicy").is_none() {
        policies["SignInPolicy"] = json!({ "AllowedFirstAuthFactors": ["PASSWORD"] });
    }
    if policies.get("PasswordPolicy").is_none() {
        policies["PasswordPolicy"] = json!({
            "MinimumLength": 8, "RequireUppercase": true, "RequireLowercase": true,
            "RequireNumbers": true, "RequireSymbols": true,
        });
    }
    let password_policy = &mut policies["PasswordPolicy"];
    for flag in [
        "RequireUppercase",
        "RequireLowercase",
        "RequireNumbers",
        "RequireSymbols",
    ] {
        if password_policy.get(flag).is_none() {
            password_policy[flag] = json!(false);
        }
    }
    let minimum_length = password_policy
        .get("MinimumLength")
        .and_then(Json::as_i64)
        .unwrap_or(8);
    if !(6..=99).contains(&minimum_length) {
        return Err(CognitoError::invalid_parameter(
            "1 validation error detected: Value at 'policies.passwordPolicy.minimumLength' failed to satisfy constraint: Member must have value between 6 and 99",
        ));
    }
    password_policy["MinimumLength"] = json!(minimum_length);
    // Cognito treats 0 and absent alike: the default of 7 days.
    if password_policy
        .get("TemporaryPasswordValidityDays")
        .and_then(Json::as_i64)
        .unwrap_or(0)
        == 0
    {
        password_policy["TemporaryPasswordValidityDays"] = json!(7);
    }
    pool.entry("DeletionProtection")
        .or_insert_with(|| json!("INACTIVE"));
    pool.entry("LambdaConfig").or_insert_with(|| json!({}));
    default_object(
        pool,
        "VerificationMessageTemplate",
        json!({"DefaultEmailOption": "CONFIRM_WITH_CODE"}),
    );
    pool.entry("MfaConfiguration")
        .or_insert_with(|| json!("OFF"));
    default_object(
        pool,
        "EmailConfiguration",
        json!({"EmailSendingAccount": "COGNITO_DEFAULT"}),
    );
    default_object(
        pool,
        "AdminCreateUserConfig",
        json!({"AllowAdminCreateUserOnly": false, "UnusedAccountValidityDays": 7}),
    );
    pool.entry("UserPoolTier")
        .or_insert_with(|| json!("ESSENTIALS"));
    Ok(())
}

/// The pool's `PasswordPolicy` as rules to check.
pub fn password_policy(pool: &Json) -> cognate_common::password::Policy {
    let policy = &pool["Policies"]["PasswordPolicy"];
    let flag = |name: &str| policy[name].as_bool().unwrap_or(false);
    cognate_common::password::Policy {
        minimum_length: usize::try_from(policy["MinimumLength"].as_u64().unwrap_or(8)).unwrap_or(8),
        require_uppercase: flag("RequireUppercase"),
        require_lowercase: flag("RequireLowercase"),
        require_numbers: flag("RequireNumbers"),
        require_symbols: flag("RequireSymbols"),
    }
}

fn not_found(pool_id: &str) -> CognitoError {
    CognitoError::not_found(format!("User pool {pool_id} does not exist."))
}

pub(crate) fn parse_stored(text: &str) -> CognitoResult<Json> {
    serde_json::from_str(text)
        .map_err(|error| cognate_common::error::internal("stored JSON is corrupt", error))
}

/// Pagination tokens: the last key of the previous page, base64 so clients treat it as opaque.
pub fn encode_token(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_token(token: Option<&str>) -> CognitoResult<Option<String>> {
    use base64::Engine;
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(Some)
        .ok_or_else(|| CognitoError::invalid_parameter("Invalid pagination token."))
}

pub fn page_limit(requested: Option<i64>, member: &str) -> CognitoResult<i64> {
    match requested {
        None => Ok(MAX_RESULTS),
        Some(limit) if (1..=MAX_RESULTS).contains(&limit) => Ok(limit),
        Some(_) => Err(CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have value between 1 and {MAX_RESULTS}"
        ))),
    }
}

impl Directory {
    pub async fn create_user_pool(&self, request: Map<String, Json>) -> CognitoResult<Json> {
        let name = request
            .get("PoolName")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(CognitoError::invalid_parameter(
                "PoolName must be 1 to 128 characters.",
            ));
        }
        let aliases = string_list(request.get("AliasAttributes"));
        let username_attributes = string_list(request.get("UsernameAttributes"));
        if !aliases.is_empty() && !username_attributes.is_empty() {
            return Err(CognitoError::invalid_parameter(
                "Only one of AliasAttributes or UsernameAttributes can be set in a User Pool.",
            ));
        }
        check_subset("AliasAttributes", &aliases, ALIAS_ATTRIBUTES)?;
        check_subset(
            "UsernameAttributes",
            &username_attributes,
            USERNAME_ATTRIBUTES,
        )?;
        let requested_schema = request
            .get("Schema")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let schema_attributes = schema::build(&requested_schema)?;

        let id = ids::user_pool_id(&self.config.region);
        let now = unix_millis(self.clock.now());
        let mut pool = Map::new();
        pool.insert("Id".into(), json!(id));
        pool.insert("Name".into(), json!(name));
        apply_settings(&mut pool, &request)?;
        for member in CREATE_ONLY {
            if let Some(value) = request.get(*member) {
                pool.insert((*member).to_owned(), value.clone());
            }
        }
        pool.insert("LastModifiedDate".into(), json!(epoch_seconds(now)));
        pool.insert("CreationDate".into(), json!(epoch_seconds(now)));
        pool.insert("SchemaAttributes".into(), Json::Array(schema_attributes));
        pool.insert(
            "Arn".into(),
            json!(format!(
                "arn:aws:cognito-idp:{}:{}:userpool/{id}",
                self.config.region, self.config.account_id
            )),
        );
        let pool = Json::Object(pool);
        sqlx::query(
            "INSERT INTO user_pools (id, name, pool_json, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(name)
        .bind(pool.to_string())
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(with_user_count(pool, 0))
    }

    /// The stored pool (without the user count), at most `config_cache::MAX_AGE` old.
    pub(crate) async fn load_pool(&self, pool_id: &str) -> CognitoResult<Arc<CachedPool>> {
        if let Some(pool) = self.config_cache.pool(pool_id) {
            return Ok(pool);
        }
        let load = self.config_cache.start_load();
        let pool = CachedPool::new(parse_stored(&self.load_pool_text(pool_id).await?)?);
        Ok(self.config_cache.keep_pool(load, pool_id, pool))
    }

    /// The pool's stored JSON text, as compare-and-set writes compare it.
    pub(crate) async fn load_pool_text(&self, pool_id: &str) -> CognitoResult<String> {
        let row = sqlx::query("SELECT pool_json FROM user_pools WHERE id = $1")
            .bind(pool_id)
            .fetch_optional(&self.db)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(pool_id))?;
        row.read("pool_json")
    }

    /// Read from the store, not the cache: an admin sees their own change on any replica.
    pub async fn describe_user_pool(&self, pool_id: &str) -> CognitoResult<Json> {
        let pool = parse_stored(&self.load_pool_text(pool_id).await?)?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE user_pool_id = $1")
            .bind(pool_id)
            .fetch_one(&self.db)
            .await
            .map_err(store_error)?
            .read("n")?;
        let mut pool = with_user_count(pool, count);
        if let Some(pool) = pool.as_object_mut() {
            pool.extend(self.pool_domains(pool_id).await?);
        }
        Ok(pool)
    }

    pub async fn update_user_pool(&self, request: Map<String, Json>) -> CognitoResult<()> {
        let pool_id = request
            .get("UserPoolId")
            .and_then(Json::as_str)
            .unwrap_or_default();
        self.modify_pool(pool_id, |pool| {
            apply_settings(pool, &request)?;
            if let Some(name) = request.get("PoolName").and_then(Json::as_str) {
                pool.insert("Name".into(), json!(name));
            }
            if let Some(tags) = request.get("UserPoolTags") {
                pool.insert("UserPoolTags".into(), tags.clone());
            }
            Ok(())
        })
        .await
    }

    pub async fn delete_user_pool(&self, pool_id: &str) -> CognitoResult<()> {
        let pool = self.load_pool(pool_id).await?;
        if pool["DeletionProtection"] == "ACTIVE" {
            return Err(CognitoError::invalid_parameter(
                "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.",
            ));
        }
        if !self.pool_domains(pool_id).await?.is_empty() {
            return Err(CognitoError::invalid_parameter(
                "User pool cannot be deleted. It has a domain configured that should be deleted first.",
            ));
        }
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        for statement in [
            "DELETE FROM user_codes WHERE user_pool_id = $1",
            "DELETE FROM dev_outbox WHERE user_pool_id = $1",
            "DELETE FROM group_members WHERE user_pool_id = $1",
            "DELETE FROM user_groups WHERE user_pool_id = $1",
            "DELETE FROM user_aliases WHERE user_pool_id = $1",
            "DELETE FROM user_attribute_index WHERE user_pool_id = $1",
            "DELETE FROM password_history WHERE user_pool_id = $1",
            "DELETE FROM risk_configurations WHERE user_pool_id = $1",
            "DELETE FROM users WHERE user_pool_id = $1",
            "DELETE FROM app_clients WHERE user_pool_id = $1",
            "DELETE FROM user_pool_domains WHERE user_pool_id = $1",
            "DELETE FROM resource_servers WHERE user_pool_id = $1",
            "DELETE FROM user_import_chunks WHERE job_id IN \
             (SELECT job_id FROM user_import_jobs WHERE user_pool_id = $1)",
            "DELETE FROM user_import_jobs WHERE user_pool_id = $1",
            "DELETE FROM user_pools WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(pool_id)
                .execute(&mut *transaction)
                .await
                .map_err(store_error)?;
        }
        transaction.commit().await.map_err(store_error)?;
        self.config_changed(Change::Pool(pool_id.to_owned())).await;
        self.forget_in_auth(pool_id, None).await;
        Ok(())
    }

    /// A page of `UserPoolDescriptionType`s in creation order, and the next token.
    pub async fn list_user_pools(
        &self,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> CognitoResult<(Vec<Json>, Option<String>)> {
        let limit = page_limit(max_results, "maxResults")?;
        let after = decode_token(next_token)?.unwrap_or_default();
        let rows =
            sqlx::query("SELECT id, pool_json FROM user_pools WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(limit + 1)
                .fetch_all(&self.db)
                .await
                .map_err(store_error)?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let mut pools = Vec::with_capacity(rows.len());
        let mut last_id = None;
        for row in rows.iter().take(usize::try_from(limit).unwrap_or(0)) {
            let pool = parse_stored(row.read::<String>("pool_json")?.as_str())?;
            pools.push(json!({
                "Id": pool["Id"], "Name": pool["Name"], "LambdaConfig": pool["LambdaConfig"],
                "LastModifiedDate": pool["LastModifiedDate"], "CreationDate": pool["CreationDate"],
            }));
            last_id = Some(row.read::<String>("id")?);
        }
        Ok((pools, last_id.filter(|_| more).map(|id| encode_token(&id))))
    }

    pub async fn create_user_pool_client(&self, request: Map<String, Json>) -> CognitoResult<Json> {
        let pool_id = request
            .get("UserPoolId")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        self.load_pool(&pool_id).await?;
        let name = request
            .get("ClientName")
            .and_then(Json::as_str)
            .unwrap_or_default();
        check_client_request(name, &request)?;
        self.check_oauth_scopes(&pool_id, &request).await?;
        let client_id = ids::client_id();
        let now = unix_millis(self.clock.now());
        let mut client = Map::new();
        client.insert("UserPoolId".into(), json!(pool_id));
        client.insert("ClientName".into(), json!(name));
        client.insert("ClientId".into(), json!(client_id));
        if request.get("GenerateSecret").and_then(Json::as_bool) == Some(true) {
            client_secrets::add(&mut client, &client_id, ids::client_secret(), now);
        }
        client.insert("LastModifiedDate".into(), json!(epoch_seconds(now)));
        client.insert("CreationDate".into(), json!(epoch_seconds(now)));
        fill_client(&mut client, &request);
        let client = Json::Object(client);
        sqlx::query(
            "INSERT INTO app_clients (client_id, user_pool_id, client_json, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&client_id)
        .bind(&pool_id)
        .bind(client.to_string())
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(client)
    }

    /// The client, checked to belong to `pool_id` when one is given, at most
    /// `config_cache::MAX_AGE` old.
    pub(crate) async fn load_client(
        &self,
        pool_id: Option<&str>,
        client_id: &str,
    ) -> CognitoResult<Arc<ClientView>> {
        let client = match self.config_cache.client(client_id) {
            Some(client) => client,
            None => {
                let load = self.config_cache.start_load();
                let client = ClientView::new(parse_stored(
                    &self.load_client_text(None, client_id).await?,
                )?);
                self.config_cache.keep_client(load, client_id, client)
            }
        };
        if pool_id.is_some_and(|pool_id| client.pool_id != pool_id) {
            return Err(client_not_found(client_id));
        }
        Ok(client)
    }

    /// Forgets `change` here and tells the other replicas to forget it too.
    pub(crate) async fn config_changed(&self, change: Change) {
        self.config_cache.forget(&change);
        if let Some(nats) = &self.nats
            && let Err(error) = nats
                .publish(config_cache::SUBJECT, change.encode().into())
                .await
        {
            tracing::warn!(%error, "could not tell the other replicas of a config change");
        }
    }

    /// The client's stored JSON text, for writes that must not overwrite a concurrent one.
    pub(crate) async fn load_client_text(
        &self,
        pool_id: Option<&str>,
        client_id: &str,
    ) -> CognitoResult<String> {
        let row =
            sqlx::query("SELECT user_pool_id, client_json FROM app_clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.db)
                .await
                .map_err(store_error)?
                .ok_or_else(|| client_not_found(client_id))?;
        if let Some(pool_id) = pool_id
            && row.read::<String>("user_pool_id")? != pool_id
        {
            return Err(client_not_found(client_id));
        }
        row.read("client_json")
    }

    pub async fn list_user_pool_clients(
        &self,
        pool_id: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> CognitoResult<(Vec<Json>, Option<String>)> {
        self.load_pool(pool_id).await?;
        let limit = page_limit(max_results, "maxResults")?;
        let after = decode_token(next_token)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT client_id, client_json FROM app_clients WHERE user_pool_id = $1 AND client_id > $2 ORDER BY client_id LIMIT $3",
        )
        .bind(pool_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let mut clients = Vec::with_capacity(rows.len());
        let mut last_id = None;
        for row in rows.iter().take(usize::try_from(limit).unwrap_or(0)) {
            let client = parse_stored(row.read::<String>("client_json")?.as_str())?;
            clients.push(json!({
                "ClientId": client["ClientId"], "UserPoolId": client["UserPoolId"], "ClientName": client["ClientName"],
            }));
            last_id = Some(row.read::<String>("client_id")?);
        }
        Ok((
            clients,
            last_id.filter(|_| more).map(|id| encode_token(&id)),
        ))
    }

    pub async fn delete_user_pool_client(
        &self,
        pool_id: &str,
        client_id: &str,
    ) -> CognitoResult<()> {
        self.load_client(Some(pool_id), client_id).await?;
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        for statement in [
            "DELETE FROM risk_configurations WHERE client_id = $1",
            "DELETE FROM app_clients WHERE client_id = $1",
        ] {
            sqlx::query(statement)
                .bind(client_id)
                .execute(&mut *transaction)
                .await
                .map_err(store_error)?;
        }
        transaction.commit().await.map_err(store_error)?;
        self.config_changed(Change::Client(client_id.to_owned()))
            .await;
        Ok(())
    }
}

fn client_not_found(client_id: &str) -> CognitoError {
    CognitoError::not_found(format!("User pool client {client_id} does not exist."))
}

/// Checks a CreateUserPoolClient or UpdateUserPoolClient request's name and auth flows.
pub(crate) fn check_client_request(name: &str, request: &Map<String, Json>) -> CognitoResult<()> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err(CognitoError::invalid_parameter(
            "ClientName must be 1 to 128 characters.",
        ));
    }
    let flows = string_list(request.get("ExplicitAuthFlows"));
    let legacy = flows
        .iter()
        .filter(|flow| !flow.starts_with("ALLOW_"))
        .count();
    if legacy > 0 && legacy < flows.len() {
        return Err(CognitoError::invalid_parameter(
            "ExplicitAuthFlows cannot have both ALLOW_ prefixed and non ALLOW_ prefixed values.",
        ));
    }
    Ok(())
}

/// Copies a client request's settings into the client, with Cognito's defaults for the
/// settings it leaves out.
pub(crate) fn fill_client(client: &mut Map<String, Json>, request: &Map<String, Json>) {
    for (member, value) in request {
        if !matches!(
            member.as_str(),
            "UserPoolId" | "ClientId" | "ClientName" | "GenerateSecret"
        ) {
            client.insert(member.clone(), value.clone());
        }
    }
    for (member, default) in [
        ("RefreshTokenValidity", json!(30)),
        ("TokenValidityUnits", json!({})),
        ("AllowedOAuthFlowsUserPoolClient", json!(false)),
        ("EnableTokenRevocation", json!(true)),
        ("EnablePropagateAdditionalUserContextData", json!(false)),
        ("AuthSessionValidity", json!(3)),
    ] {
        client.entry(member).or_insert(default);
    }
}

fn with_user_count(mut pool: Json, count: i64) -> Json {
    pool["EstimatedNumberOfUsers"] = json!(count);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_left_out_of_an_update_fall_back_to_defaults() {
        let mut pool = Map::new();
        let request = json!({"MfaConfiguration": "OPTIONAL", "Policies": {"PasswordPolicy": {"MinimumLength": 10}}});
        apply_settings(&mut pool, request.as_object().expect("object")).expect("valid");
        assert_eq!(pool["MfaConfiguration"], "OPTIONAL");
        assert_eq!(pool["Policies"]["PasswordPolicy"]["RequireSymbols"], false);
        assert_eq!(
            pool["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"],
            7
        );
        apply_settings(&mut pool, &Map::new()).expect("valid");
        assert_eq!(pool["MfaConfiguration"], "OFF");
        assert_eq!(pool["Policies"]["PasswordPolicy"]["MinimumLength"], 8);
        assert_eq!(pool["Policies"]["PasswordPolicy"]["RequireSymbols"], true);
    }

    #[test]
    fn page_tokens_round_trip_and_bad_ones_are_refused() {
        assert_eq!(
            decode_token(Some(&encode_token("us-east-1_x"))).expect("valid"),
            Some("us-east-1_x".into())
        );
        assert!(decode_token(Some("%%%")).is_err());
        assert!(page_limit(Some(61), "maxResults").is_err());
    }
}
