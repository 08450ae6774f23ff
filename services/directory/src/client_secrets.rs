//! Client secret rotation (AddUserPoolClientSecret, ListUserPoolClientSecrets,
//! DeleteUserPoolClientSecret): a client with a secret may hold two at once, and a call proving
//! the client (`SECRET_HASH`, `client_secret`) may use either. The secrets live in the client's
//! stored JSON: `ClientSecrets` lists them oldest first with their ids and dates, and
//! `ClientSecret` is the oldest one, which DescribeUserPoolClient shows.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::{CognitoError, CognitoResult, ErrorCode, ids};

use crate::Directory;

/// Cognito's limit of active secrets per client.
const MAX_SECRETS: usize = 2;

/// The client's active secrets, oldest first, as `ClientSecretDescriptorType`s with their values.
pub(crate) fn descriptors(client: &Json) -> Vec<Json> {
    if let Some(list) = client.get("ClientSecrets").and_then(Json::as_array) {
        return list.clone();
    }
    // A client stored before rotation existed has only the secret it was created with.
    client
        .get("ClientSecret")
        .and_then(Json::as_str)
        .map(|secret| {
            let created = client["CreationDate"].as_f64().unwrap_or_default();
            #[allow(clippy::cast_possible_truncation)]
            let millis = (created * 1000.0).round() as i64;
            vec![json!({
                "ClientSecretId": format!("{}--{millis}", client["ClientId"].as_str().unwrap_or_default()),
                "ClientSecretValue": secret,
                "ClientSecretCreateDate": created,
            })]
        })
        .unwrap_or_default()
}

/// The values of the client's active secrets, oldest first.
pub(crate) fn values(client: &Json) -> Vec<String> {
    descriptors(client)
        .iter()
        .filter_map(|descriptor| descriptor["ClientSecretValue"].as_str().map(str::to_owned))
        .collect()
}

fn store(client: &mut Map<String, Json>, list: Vec<Json>) {
    match list
        .first()
        .map(|oldest| oldest["ClientSecretValue"].clone())
    {
        Some(oldest) => client.insert("ClientSecret".into(), oldest),
        None => client.remove("ClientSecret"),
    };
    client.insert("ClientSecrets".into(), Json::Array(list));
}

/// Adds `secret`, created at `now_millis`, and returns its descriptor. Its id is Cognito's
/// `<client id>--<creation time>`, made unique if two secrets share a millisecond.
pub(crate) fn add(
    client: &mut Map<String, Json>,
    client_id: &str,
    secret: String,
    now_millis: i64,
) -> Json {
    let mut list = descriptors(&Json::Object(client.clone()));
    let mut millis = now_millis;
    while list
        .iter()
        .any(|descriptor| descriptor["ClientSecretId"] == format!("{client_id}--{millis}"))
    {
        millis += 1;
    }
    let descriptor = json!({
        "ClientSecretId": format!("{client_id}--{millis}"),
        "ClientSecretValue": secret,
        "ClientSecretCreateDate": epoch_seconds(millis),
    });
    list.push(descriptor.clone());
    store(client, list);
    descriptor
}

/// A secret an administrator chooses: 24 to 64 characters of `[\w+]`, as Cognito requires.
fn check_chosen_secret(secret: &str) -> CognitoResult<()> {
    let invalid = |constraint: &str| {
        CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value at 'clientSecret' failed to satisfy constraint: {constraint}"
        ))
    };
    let length = secret.chars().count();
    if length < 24 {
        return Err(invalid(
            "Member must have length greater than or equal to 24",
        ));
    }
    if length > 64 {
        return Err(invalid("Member must have length less than or equal to 64"));
    }
    if !secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+')
    {
        return Err(invalid(
            "Member must satisfy regular expression pattern: [\\w+]+",
        ));
    }
    Ok(())
}

impl Directory {
    /// AddUserPoolClientSecret: a second secret beside the client's current one. The value is
    /// answered only when Cognate generated it.
    pub async fn add_user_pool_client_secret(
        &self,
        pool_id: &str,
        client_id: &str,
        chosen: Option<&str>,
    ) -> CognitoResult<Json> {
        if let Some(secret) = chosen {
            check_chosen_secret(secret)?;
        }
        self.load_pool(pool_id).await?;
        let secret = chosen.map_or_else(ids::client_secret, str::to_owned);
        let now = unix_millis(self.clock.now());
        let (_, mut descriptor) = self
            .modify_client(pool_id, client_id, |client| {
                let current = values(&Json::Object(client.clone()));
                if current.is_empty() {
                    return Err(CognitoError::invalid_parameter(format!(
                        "Client {client_id} has no client secret; secrets can only be added to a client created with GenerateSecret."
                    )));
                }
                if current.len() >= MAX_SECRETS {
                    return Err(CognitoError::new(
                        ErrorCode::LimitExceededException,
                        format!(
                            "Client {client_id} already has {MAX_SECRETS} client secrets; delete one before adding another."
                        ),
                    ));
                }
                if current.contains(&secret) {
                    return Err(CognitoError::invalid_parameter(
                        "The client secret is already in use by this client.",
                    ));
                }
                Ok(add(client, client_id, secret.clone(), now))
            })
            .await?;
        if chosen.is_some()
            && let Some(descriptor) = descriptor.as_object_mut()
        {
            descriptor.remove("ClientSecretValue");
        }
        Ok(descriptor)
    }

    /// ListUserPoolClientSecrets: ids and dates, never the values.
    pub async fn list_user_pool_client_secrets(
        &self,
        pool_id: &str,
        client_id: &str,
    ) -> CognitoResult<Vec<Json>> {
        self.load_pool(pool_id).await?;
        let client = self.load_client(Some(pool_id), client_id).await?;
        Ok(descriptors(&client)
            .into_iter()
            .map(|descriptor| {
                json!({
                    "ClientSecretId": descriptor["ClientSecretId"],
                    "ClientSecretCreateDate": descriptor["ClientSecretCreateDate"],
                })
            })
            .collect())
    }

    /// DeleteUserPoolClientSecret: retires one secret; the last one cannot go.
    pub async fn delete_user_pool_client_secret(
        &self,
        pool_id: &str,
        client_id: &str,
        secret_id: &str,
    ) -> CognitoResult<()> {
        self.load_pool(pool_id).await?;
        self.modify_client(pool_id, client_id, |client| {
            let mut list = descriptors(&Json::Object(client.clone()));
            let Some(index) = list
                .iter()
                .position(|descriptor| descriptor["ClientSecretId"] == secret_id)
            else {
                return Err(CognitoError::not_found(format!(
                    "Client secret {secret_id} does not exist."
                )));
            };
            if list.len() == 1 {
                return Err(CognitoError::invalid_parameter(
                    "The last client secret of an app client cannot be deleted.",
                ));
            }
            list.remove(index);
            store(client, list);
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_oldest_first_with_the_oldest_shown() {
        let mut client = Map::new();
        client.insert("ClientId".into(), json!("abc"));
        let first = add(&mut client, "abc", "one".into(), 1_000);
        let second = add(&mut client, "abc", "two".into(), 1_000);
        assert_eq!(first["ClientSecretId"], "abc--1000");
        assert_eq!(second["ClientSecretId"], "abc--1001", "ids stay unique");
        assert_eq!(client["ClientSecret"], "one");
        assert_eq!(values(&Json::Object(client.clone())), ["one", "two"]);
        store(&mut client, vec![second]);
        assert_eq!(client["ClientSecret"], "two");
    }

    #[test]
    fn a_client_stored_before_rotation_has_its_one_secret() {
        let client = json!({"ClientId": "abc", "ClientSecret": "s", "CreationDate": 1.5});
        let list = descriptors(&client);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["ClientSecretId"], "abc--1500");
        assert_eq!(values(&json!({"ClientId": "public"})), Vec::<String>::new());
    }

    #[test]
    fn chosen_secrets_follow_cognitos_constraints() {
        assert!(check_chosen_secret("short").is_err());
        assert!(check_chosen_secret(&"a".repeat(65)).is_err());
        assert!(check_chosen_secret("with spaces are not allowed here").is_err());
        assert!(check_chosen_secret("abcdefghijklmnopqrstuvwx_+12").is_ok());
    }
}
