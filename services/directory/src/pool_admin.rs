//! Changes to existing pools and clients beyond UpdateUserPool: UpdateUserPoolClient,
//! AddCustomAttributes, the MFA configuration and tags. All of it lives in the pool's or the
//! client's stored Cognito JSON.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::config_cache::Change;
use crate::pools::{check_client_request, fill_client, parse_stored};
use crate::{Directory, schema};

/// SetUserPoolMfaConfig's members, kept in the pool JSON under the same names (members that are
/// not part of `UserPoolType` are ignored when the pool is described).
const MFA_MEMBERS: &[&str] = &[
    "SmsMfaConfiguration",
    "SoftwareTokenMfaConfiguration",
    "EmailMfaConfiguration",
    "MfaConfiguration",
    "WebAuthnConfiguration",
];

const MFA_MODES: &[&str] = &["OFF", "ON", "OPTIONAL"];
/// How often a compare-and-set write is tried before ConcurrentModificationException.
const WRITE_ATTEMPTS: u32 = 20;

/// A random pause after a lost compare-and-set, growing with the attempt (at most ~16 ms), so
/// writers that keep colliding spread out.
async fn back_off(attempt: u32) {
    let ceiling = 1u64 << attempt.min(4);
    let millis = rand::Rng::random_range(&mut rand::rng(), 0..=ceiling);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}
const MAX_TAGS: usize = 50;

fn as_object(value: Json, what: &str) -> CognitoResult<Map<String, Json>> {
    match value {
        Json::Object(object) => Ok(object),
        _ => Err(cognate_common::error::internal(
            "stored JSON is not an object",
            what,
        )),
    }
}

pub(crate) fn text<'a>(request: &'a Map<String, Json>, member: &str) -> &'a str {
    request
        .get(member)
        .and_then(Json::as_str)
        .unwrap_or_default()
}

impl Directory {
    /// Rewrites a pool's stored JSON with `change`, stamping `LastModifiedDate`, only if nothing
    /// else wrote it since it was read (a compare-and-set on the stored text), so concurrent
    /// changes (tags, custom attributes, MFA settings, UpdateUserPool) never undo each other; a
    /// lost race is retried on the fresh state.
    pub(crate) async fn modify_pool<T>(
        &self,
        pool_id: &str,
        mut change: impl FnMut(&mut Map<String, Json>) -> CognitoResult<T>,
    ) -> CognitoResult<T> {
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let stored = self.load_pool_text(pool_id).await?;
            let mut pool = as_object(parse_stored(&stored)?, pool_id)?;
            let outcome = change(&mut pool)?;
            pool.insert(
                "LastModifiedDate".into(),
                json!(epoch_seconds(unix_millis(self.clock.now()))),
            );
            let name = text(&pool, "Name").to_owned();
            let written = sqlx::query(
                "UPDATE user_pools SET name = $1, pool_json = $2 WHERE id = $3 AND pool_json = $4",
            )
            .bind(name)
            .bind(Json::Object(pool).to_string())
            .bind(pool_id)
            .bind(&stored)
            .execute(&self.db)
            .await
            .map_err(store_error)?
            .rows_affected();
            if written == 1 {
                self.config_changed(Change::Pool(pool_id.to_owned())).await;
                return Ok(outcome);
            }
        }
        Err(CognitoError::new(
            ErrorCode::ConcurrentModificationException,
            format!("User pool {pool_id} is being changed by another request; try again."),
        ))
    }

    /// Rewrites a client's stored JSON with `change`, only if nothing else wrote it since it was
    /// read (a compare-and-set on the stored text), so concurrent changes never undo each
    /// other; a lost race is retried on the fresh state. Answers the written client.
    pub(crate) async fn modify_client<T>(
        &self,
        pool_id: &str,
        client_id: &str,
        mut change: impl FnMut(&mut Map<String, Json>) -> CognitoResult<T>,
    ) -> CognitoResult<(Json, T)> {
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let stored = self.load_client_text(Some(pool_id), client_id).await?;
            let mut client = as_object(parse_stored(&stored)?, client_id)?;
            let outcome = change(&mut client)?;
            let client = Json::Object(client);
            let written = sqlx::query(
                "UPDATE app_clients SET client_json = $1 WHERE client_id = $2 AND client_json = $3",
            )
            .bind(client.to_string())
            .bind(client_id)
            .bind(&stored)
            .execute(&self.db)
            .await
            .map_err(store_error)?
            .rows_affected();
            if written == 1 {
                self.config_changed(Change::Client(client_id.to_owned()))
                    .await;
                return Ok((client, outcome));
            }
        }
        Err(CognitoError::new(
            ErrorCode::ConcurrentModificationException,
            format!("User pool client {client_id} is being changed by another request; try again."),
        ))
    }

    /// Every setting of the request replaces the client's; those it leaves out go back to
    /// Cognito's defaults. The id, secrets, pool and creation date stay.
    pub async fn update_user_pool_client(&self, request: Map<String, Json>) -> CognitoResult<Json> {
        let pool_id = text(&request, "UserPoolId");
        let client_id = text(&request, "ClientId");
        self.load_pool(pool_id).await?;
        self.check_oauth_scopes(pool_id, &request).await?;
        let now = json!(epoch_seconds(unix_millis(self.clock.now())));
        let (client, ()) = self
            .modify_client(pool_id, client_id, |old| {
                let name = request
                    .get("ClientName")
                    .and_then(Json::as_str)
                    .or_else(|| old.get("ClientName").and_then(Json::as_str))
                    .unwrap_or_default()
                    .to_owned();
                check_client_request(&name, &request)?;
                let mut client = Map::new();
                for member in [
                    "UserPoolId",
                    "ClientName",
                    "ClientId",
                    "ClientSecret",
                    "ClientSecrets",
                    "CreationDate",
                ] {
                    if let Some(value) = old.get(member) {
                        client.insert(member.into(), value.clone());
                    }
                }
                client.insert("ClientName".into(), json!(name));
                client.insert("LastModifiedDate".into(), now.clone());
                fill_client(&mut client, &request);
                *old = client;
                Ok(())
            })
            .await?;
        Ok(client)
    }

    pub async fn add_custom_attributes(
        &self,
        pool_id: &str,
        requested: &[Json],
    ) -> CognitoResult<()> {
        if requested.is_empty() {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        self.modify_pool(pool_id, |pool| {
            let mut attributes = pool
                .get("SchemaAttributes")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            for entry in requested {
                let attribute = schema::custom_attribute(entry)?;
                let name = attribute
                    .get("Name")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let bare = name
                    .trim_start_matches("dev:")
                    .trim_start_matches("custom:");
                let taken = attributes.iter().any(|existing| {
                    existing["Name"] == format!("custom:{bare}")
                        || existing["Name"] == format!("dev:custom:{bare}")
                });
                if taken {
                    return Err(CognitoError::invalid_parameter(format!(
                        "{name}: Existing attribute already has name {name}."
                    )));
                }
                attributes.push(Json::Object(attribute));
            }
            let custom = attributes
                .iter()
                .filter(|attribute| {
                    attribute["Name"]
                        .as_str()
                        .is_some_and(|name| !schema::is_standard(name))
                })
                .count();
            if custom > schema::MAX_CUSTOM_ATTRIBUTES {
                return Err(CognitoError::new(
                    ErrorCode::LimitExceededException,
                    format!(
                        "A user pool can have at most {} custom attributes.",
                        schema::MAX_CUSTOM_ATTRIBUTES
                    ),
                ));
            }
            pool.insert("SchemaAttributes".into(), Json::Array(attributes));
            Ok(())
        })
        .await
    }

    /// GetUserPoolMfaConfig's answer: the pool's MFA members.
    pub async fn get_user_pool_mfa_config(&self, pool_id: &str) -> CognitoResult<Json> {
        let pool = self.load_pool(pool_id).await?;
        let mut answer = Map::new();
        for member in MFA_MEMBERS {
            if let Some(value) = pool.get(*member) {
                answer.insert((*member).to_owned(), value.clone());
            }
        }
        answer
            .entry("MfaConfiguration")
            .or_insert_with(|| json!("OFF"));
        Ok(Json::Object(answer))
    }

    /// Replaces the MFA members the request gives and keeps the others; answers as Get does.
    pub async fn set_user_pool_mfa_config(
        &self,
        request: Map<String, Json>,
    ) -> CognitoResult<Json> {
        let pool_id = text(&request, "UserPoolId");
        if let Some(mode) = request.get("MfaConfiguration")
            && !mode.as_str().is_some_and(|mode| MFA_MODES.contains(&mode))
        {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]",
            ));
        }
        self.modify_pool(pool_id, |pool| {
            for member in MFA_MEMBERS {
                if let Some(value) = request.get(*member) {
                    pool.insert((*member).to_owned(), value.clone());
                }
            }
            // As in Cognito, the SMS MFA message set here is the pool's SmsAuthenticationMessage.
            if let Some(message) = request
                .get("SmsMfaConfiguration")
                .and_then(|sms| sms.get("SmsAuthenticationMessage"))
            {
                pool.insert("SmsAuthenticationMessage".into(), message.clone());
            }
            Ok(())
        })
        .await?;
        self.get_user_pool_mfa_config(pool_id).await
    }

    /// The pool an ARN names, checked against the pool's own ARN.
    async fn pool_of_arn(&self, arn: &str) -> CognitoResult<(String, Map<String, Json>)> {
        let not_found = || CognitoError::not_found(format!("Resource {arn} does not exist."));
        let pool_id = arn
            .strip_prefix("arn:aws:cognito-idp:")
            .and_then(|rest| rest.split_once(":userpool/"))
            .map(|(_, id)| id.to_owned())
            .ok_or_else(|| {
                CognitoError::invalid_parameter(format!("Invalid ResourceArn: {arn}"))
            })?;
        let pool = match self.load_pool(&pool_id).await {
            Ok(pool) => as_object(Json::clone(&pool), &pool_id)?,
            Err(error) if error.code == ErrorCode::ResourceNotFoundException => {
                return Err(not_found());
            }
            Err(error) => return Err(error),
        };
        if pool.get("Arn").and_then(Json::as_str) != Some(arn) {
            return Err(not_found());
        }
        Ok((pool_id, pool))
    }

    pub async fn tag_resource(&self, arn: &str, tags: &Map<String, Json>) -> CognitoResult<()> {
        let (pool_id, _) = self.pool_of_arn(arn).await?;
        for (key, value) in tags {
            let value = value.as_str().unwrap_or_default();
            if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
                return Err(CognitoError::invalid_parameter(
                    "Tag keys must be 1 to 128 characters and values at most 256.",
                ));
            }
        }
        self.modify_tags(&pool_id, |current| {
            for (key, value) in tags {
                current.insert(key.clone(), value.clone());
            }
            if current.len() > MAX_TAGS {
                return Err(CognitoError::invalid_parameter(format!(
                    "A user pool can have at most {MAX_TAGS} tags."
                )));
            }
            Ok(())
        })
        .await
    }

    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> CognitoResult<()> {
        let (pool_id, _) = self.pool_of_arn(arn).await?;
        self.modify_tags(&pool_id, |current| {
            for key in keys {
                current.remove(key);
            }
            Ok(())
        })
        .await
    }

    async fn modify_tags(
        &self,
        pool_id: &str,
        mut change: impl FnMut(&mut Map<String, Json>) -> CognitoResult<()>,
    ) -> CognitoResult<()> {
        self.modify_pool(pool_id, |pool| {
            let mut current = pool
                .get("UserPoolTags")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            change(&mut current)?;
            pool.insert("UserPoolTags".into(), Json::Object(current));
            Ok(())
        })
        .await
    }

    pub async fn list_tags_for_resource(&self, arn: &str) -> CognitoResult<Json> {
        let (_, pool) = self.pool_of_arn(arn).await?;
        Ok(pool
            .get("UserPoolTags")
            .cloned()
            .unwrap_or_else(|| json!({})))
    }
}
