//! User administration: deleting users, enabling and disabling them, changing and deleting their
//! attributes, and confirming sign-ups. Changes to a user's attributes rewrite their alias rows in
//! the same transaction, so the store's unique constraint decides who owns a sign-in name.

use serde_json::{Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::codes::Purpose;
use crate::outbox::{MessageKind, MessageRequest};
use crate::pools::string_list;
use crate::users::{CONFIRMED, Naming, User, check_attributes};
use crate::{Directory, schema};

pub const UNCONFIRMED: &str = "UNCONFIRMED";

/// Who changes a user's attributes: end users may not mark values verified themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updater<'a> {
    Admin,
    /// Through an app client, with the user's access token.
    EndUser {
        client_id: &'a str,
    },
}

impl<'a> Updater<'a> {
    fn client_id(self) -> Option<&'a str> {
        match self {
            Updater::Admin => None,
            Updater::EndUser { client_id } => Some(client_id),
        }
    }
}

/// Attributes whose new value is unverified unless the request says otherwise.
pub(crate) const VERIFIABLE: &[(&str, &str)] = &[
    ("email", "email_verified"),
    ("phone_number", "phone_number_verified"),
];

fn schema_of(pool: &Json) -> Vec<Json> {
    pool["SchemaAttributes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn refuse_immutable(schema: &[Json], name: &str) -> CognitoResult<()> {
    if schema::find(schema, name).is_some_and(|entry| entry["Mutable"] == false) {
        return Err(CognitoError::invalid_parameter(format!(
            "Cannot modify the non-mutable attribute {name}"
        )));
    }
    Ok(())
}

fn refuse_required(schema: &[Json], name: &str) -> CognitoResult<()> {
    if schema::find(schema, name).is_some_and(|entry| entry["Required"] == true) {
        return Err(CognitoError::invalid_parameter(format!(
            "Attributes did not conform to the schema: {name}: The attribute is required"
        )));
    }
    Ok(())
}

/// The attribute list after an update: blank values delete, others replace in place or append,
/// and a new email or phone number is unverified unless the update sets its `_verified` flag.
pub fn updated_attributes(current: &[Json], updates: &[Json]) -> Vec<Json> {
    let mut attributes = current.to_vec();
    let given = |name: &str| updates.iter().any(|update| update["Name"] == name);
    let mut effective: Vec<Json> = updates.to_vec();
    for (attribute, flag) in VERIFIABLE {
        let set = updates
            .iter()
            .find(|update| update["Name"] == *attribute)
            .map(|update| update["Value"].as_str().unwrap_or_default());
        match set {
            Some(value) if !given(flag) => {
                let flag_value = if value.is_empty() { "" } else { "false" };
                effective.push(json!({"Name": flag, "Value": flag_value}));
            }
            _ => {}
        }
    }
    for update in effective {
        let name = update["Name"].as_str().unwrap_or_default();
        let value = update["Value"].as_str().unwrap_or_default();
        let position = attributes
            .iter()
            .position(|attribute| attribute["Name"] == name);
        match (position, value.is_empty()) {
            (Some(index), true) => {
                attributes.remove(index);
            }
            (Some(index), false) => attributes[index] = json!({"Name": name, "Value": value}),
            (None, false) => attributes.push(json!({"Name": name, "Value": value})),
            (None, true) => {}
        }
    }
    attributes
}

impl Directory {
    /// Removes the user, their sign-in aliases and group memberships in one transaction, then
    /// has the auth service forget them.
    pub async fn admin_delete_user(&self, pool_id: &str, name: &str) -> CognitoResult<()> {
        let user = self.find_user(pool_id, name).await?;
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        for statement in [
            "DELETE FROM user_codes WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM user_aliases WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM user_attribute_index WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM group_members WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM password_history WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM users WHERE user_pool_id = $1 AND sub = $2",
        ] {
            sqlx::query(statement)
                .bind(pool_id)
                .bind(&user.sub)
                .execute(&mut *transaction)
                .await
                .map_err(store_error)?;
        }
        transaction.commit().await.map_err(store_error)?;
        self.forget_in_auth(pool_id, Some(&user.sub)).await;
        Ok(())
    }

    pub async fn admin_set_user_enabled(
        &self,
        pool_id: &str,
        name: &str,
        enabled: bool,
    ) -> CognitoResult<()> {
        let user = self.find_user(pool_id, name).await?;
        sqlx::query(
            "UPDATE users SET enabled = $1, updated_at = $2 WHERE user_pool_id = $3 AND sub = $4",
        )
        .bind(i64::from(enabled))
        .bind(unix_millis(self.clock.now()))
        .bind(pool_id)
        .bind(&user.sub)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// UNCONFIRMED → CONFIRMED; the update is conditional, so two confirmations can't both win.
    pub async fn admin_confirm_sign_up(&self, pool_id: &str, name: &str) -> CognitoResult<()> {
        let user = self.find_user(pool_id, name).await?;
        let changed = sqlx::query(
            "UPDATE users SET status = $1, updated_at = $2 WHERE user_pool_id = $3 AND sub = $4 AND status = $5",
        )
        .bind(CONFIRMED)
        .bind(unix_millis(self.clock.now()))
        .bind(pool_id)
        .bind(&user.sub)
        .bind(UNCONFIRMED)
        .execute(&self.db)
        .await
        .map_err(store_error)?
        .rows_affected();
        if changed == 0 {
            let status = if user.status == UNCONFIRMED {
                CONFIRMED
            } else {
                user.status.as_str()
            };
            return Err(CognitoError::not_authorized(format!(
                "User cannot be confirmed. Current status is {status}"
            )));
        }
        Ok(())
    }

    pub async fn admin_update_user_attributes(
        &self,
        pool_id: &str,
        name: &str,
        updates: &[Json],
        client_metadata: &Json,
    ) -> CognitoResult<Vec<Json>> {
        let pool = self.load_pool(pool_id).await?;
        let user = self.find_user(pool_id, name).await?;
        self.update_attributes(
            pool_id,
            &pool,
            &user,
            updates,
            Updater::Admin,
            client_metadata,
        )
        .await
    }

    /// Applies attribute updates and sends verification codes for changed emails and phone
    /// numbers the pool auto-verifies. Under `AttributesRequireVerificationBeforeUpdate` a new
    /// email or phone number stays pending (the old one stays in force) until it is verified,
    /// unless an administrator marks it verified in the same update. Returns Cognito's
    /// `CodeDeliveryDetailsList`.
    pub(crate) async fn update_attributes(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        updates: &[Json],
        updater: Updater<'_>,
        client_metadata: &Json,
    ) -> CognitoResult<Vec<Json>> {
        let schema = schema_of(pool);
        check_attributes(&schema, updates)?;
        for update in updates {
            let attribute = update["Name"].as_str().unwrap_or_default();
            refuse_immutable(&schema, attribute)?;
            if updater != Updater::Admin && VERIFIABLE.iter().any(|(_, flag)| *flag == attribute) {
                return Err(CognitoError::not_authorized(
                    "A client attempted to write unauthorized attribute",
                ));
            }
            let value = update["Value"].as_str().unwrap_or_default();
            if value.is_empty() {
                refuse_required(&schema, attribute)?;
            }
            let boolean = schema::find(&schema, attribute)
                .is_some_and(|entry| entry["AttributeDataType"] == "Boolean");
            if boolean && !value.is_empty() && value != "true" && value != "false" {
                return Err(CognitoError::invalid_parameter(format!(
                    "Attributes did not conform to the schema: {attribute}: Boolean attribute value must be true or false"
                )));
            }
        }
        let auto_verified = string_list(pool.get("AutoVerifiedAttributes"));
        let verify_first = string_list(
            pool["UserAttributeUpdateSettings"].get("AttributesRequireVerificationBeforeUpdate"),
        );
        let value_in = |attributes: &[Json], name: &str| {
            attributes
                .iter()
                .find(|attribute| attribute["Name"] == name)
                .and_then(|attribute| attribute["Value"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        // Split off the new values that must be verified before they take effect.
        let mut pending: Vec<(String, String)> = Vec::new();
        let mut immediate: Vec<Json> = Vec::new();
        for update in updates {
            let name = update["Name"].as_str().unwrap_or_default();
            let value = update["Value"].as_str().unwrap_or_default();
            let marked_verified = VERIFIABLE
                .iter()
                .find(|(attribute, _)| *attribute == name)
                .is_some_and(|(_, flag)| value_in(updates, flag) == "true");
            let held_back = verify_first.contains(&name)
                && auto_verified.contains(&name)
                && !value.is_empty()
                && value != value_in(&user.attributes, name)
                && !marked_verified;
            if held_back {
                pending.push((name.to_owned(), value.to_owned()));
            } else {
                immediate.push(update.clone());
            }
        }
        let attributes = updated_attributes(&user.attributes, &immediate);
        if attributes != user.attributes {
            self.store_attributes(pool_id, &Naming::of(pool), user, attributes.clone())
                .await?;
        }
        // Codes go to every changed, still unverified value the pool verifies.
        let mut to_verify = pending;
        for (attribute, flag) in VERIFIABLE {
            let value = value_in(&attributes, attribute);
            let changed = value != value_in(&user.attributes, attribute);
            if changed
                && !value.is_empty()
                && auto_verified.contains(attribute)
                && value_in(&attributes, flag) != "true"
            {
                to_verify.push(((*attribute).to_owned(), value));
            }
        }
        let mut deliveries = Vec::new();
        for (attribute, value) in to_verify {
            let Some(purpose) = Purpose::verify(&attribute) else {
                continue;
            };
            let message = MessageRequest {
                kind: MessageKind::UpdateUserAttribute,
                client_metadata,
                client_id: updater.client_id(),
            };
            deliveries.push(
                self.send_code(pool_id, pool, user, purpose, (&attribute, &value), message)
                    .await?,
            );
        }
        Ok(deliveries)
    }

    pub async fn admin_delete_user_attributes(
        &self,
        pool_id: &str,
        name: &str,
        names: &[String],
    ) -> CognitoResult<()> {
        let pool = self.load_pool(pool_id).await?;
        let schema = schema_of(&pool);
        let blanks: Vec<Json> = names
            .iter()
            .map(|attribute| json!({"Name": attribute, "Value": ""}))
            .collect();
        check_attributes(&schema, &blanks)?;
        for attribute in names {
            refuse_immutable(&schema, attribute)?;
            refuse_required(&schema, attribute)?;
        }
        let user = self.find_user(pool_id, name).await?;
        let mut attributes = user.attributes.clone();
        attributes.retain(|attribute| !names.iter().any(|name| attribute["Name"] == name.as_str()));
        self.store_attributes(pool_id, &Naming::of(&pool), &user, attributes)
            .await
    }

    /// Stores a user's new attributes and rewrites their alias rows in one transaction.
    pub(crate) async fn store_attributes(
        &self,
        pool_id: &str,
        naming: &Naming,
        user: &User,
        attributes: Vec<Json>,
    ) -> CognitoResult<()> {
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        sqlx::query(
            "UPDATE users SET attributes_json = $1, updated_at = $2 WHERE user_pool_id = $3 AND sub = $4",
        )
        .bind(Json::Array(attributes.clone()).to_string())
        .bind(unix_millis(self.clock.now()))
        .bind(pool_id)
        .bind(&user.sub)
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?;
        sqlx::query("DELETE FROM user_aliases WHERE user_pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(&user.sub)
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
        for alias_key in naming.aliases(&attributes) {
            let inserted = sqlx::query(
                "INSERT INTO user_aliases (user_pool_id, alias_key, sub) VALUES ($1, $2, $3)",
            )
            .bind(pool_id)
            .bind(&alias_key)
            .bind(&user.sub)
            .execute(&mut *transaction)
            .await;
            match inserted {
                Err(error) if is_unique_violation(&error) => {
                    let attribute = alias_key.split(':').next().unwrap_or("email");
                    return Err(CognitoError::new(
                        ErrorCode::AliasExistsException,
                        format!("An account with the given {attribute} already exists."),
                    ));
                }
                other => other.map_err(store_error)?,
            };
        }
        crate::user_index::write_index(
            &mut transaction,
            pool_id,
            &user.sub,
            &naming.key(&user.username),
            &attributes,
        )
        .await?;
        transaction.commit().await.map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_values(attributes: &[Json]) -> Vec<(String, String)> {
        attributes
            .iter()
            .map(|attribute| {
                (
                    attribute["Name"].as_str().unwrap_or_default().to_owned(),
                    attribute["Value"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_new_email_is_unverified_unless_the_update_says_so() {
        let current = [
            json!({"Name": "sub", "Value": "s"}),
            json!({"Name": "email", "Value": "old@example.com"}),
            json!({"Name": "email_verified", "Value": "true"}),
            json!({"Name": "name", "Value": "Jane"}),
        ];
        let updated = updated_attributes(
            &current,
            &[
                json!({"Name": "email", "Value": "new@example.com"}),
                json!({"Name": "name", "Value": ""}),
            ],
        );
        assert_eq!(
            names_and_values(&updated),
            [
                ("sub".to_owned(), "s".to_owned()),
                ("email".to_owned(), "new@example.com".to_owned()),
                ("email_verified".to_owned(), "false".to_owned()),
            ]
        );
        let verified = updated_attributes(
            &current,
            &[
                json!({"Name": "email", "Value": "new@example.com"}),
                json!({"Name": "email_verified", "Value": "true"}),
                json!({"Name": "phone_number", "Value": "+15550100"}),
            ],
        );
        assert_eq!(
            names_and_values(&verified)[2..],
            [
                ("email_verified".to_owned(), "true".to_owned()),
                ("name".to_owned(), "Jane".to_owned()),
                ("phone_number".to_owned(), "+15550100".to_owned()),
                ("phone_number_verified".to_owned(), "false".to_owned()),
            ]
        );
    }

    /// AdminConfirmSignUp's one allowed move, UNCONFIRMED → CONFIRMED, on a real store (the
    /// sandbox can't make UNCONFIRMED users until SignUp exists).
    async fn unconfirmed_users_are_confirmed_once(store: cognate_common::testing::TestStore) {
        use std::sync::Arc;
        let directory = Directory::new(
            store.pool.clone(),
            Arc::new(cognate_common::clock::SystemClock),
            Arc::new(cognate_common::Config::default()),
            cognate_common::testing::sealer(),
        );
        let pool = directory
            .create_user_pool(
                json!({"PoolName": "p"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .await
            .expect("pool");
        let pool_id = pool["Id"].as_str().expect("id");
        let request = json!({"UserPoolId": pool_id, "Username": "jane"});
        let user = directory
            .admin_create_user(request.as_object().cloned().unwrap_or_default())
            .await
            .expect("user");
        sqlx::query("UPDATE users SET status = $1 WHERE sub = $2")
            .bind(UNCONFIRMED)
            .bind(&user.sub)
            .execute(&store.pool)
            .await
            .expect("made unconfirmed");
        directory
            .admin_confirm_sign_up(pool_id, "jane")
            .await
            .expect("confirmed");
        let found = directory.find_user(pool_id, "jane").await.expect("found");
        assert_eq!(found.status, CONFIRMED);
        let again = directory
            .admin_confirm_sign_up(pool_id, "jane")
            .await
            .expect_err("already confirmed");
        assert_eq!(again.code, ErrorCode::NotAuthorizedException);
        assert_eq!(
            again.message,
            "User cannot be confirmed. Current status is CONFIRMED"
        );
    }

    #[tokio::test]
    async fn unconfirmed_users_are_confirmed_once_on_sqlite() {
        let store = cognate_common::testing::TestStore::sqlite(
            cognate_common::ServiceKind::Directory,
            &crate::MIGRATOR,
        )
        .await;
        unconfirmed_users_are_confirmed_once(store).await;
    }

    #[tokio::test]
    async fn unconfirmed_users_are_confirmed_once_on_postgres() {
        let store = cognate_common::testing::TestStore::postgres(
            cognate_common::ServiceKind::Directory,
            &crate::MIGRATOR,
        )
        .await;
        unconfirmed_users_are_confirmed_once(store).await;
    }
}
