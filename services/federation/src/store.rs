//! The identity-provider tables (see `migrations/`). SQL written once for SQLite and Postgres;
//! every function takes a connection so the caller decides the transaction's scope.

use std::collections::BTreeMap;

use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult, ErrorCode};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// One identity provider as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderRecord {
    pub user_pool_id: String,
    pub provider_name: String,
    pub provider_type: String,
    pub provider_details: BTreeMap<String, String>,
    pub attribute_mapping: BTreeMap<String, String>,
    pub idp_identifiers: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Cognito's answer to a second provider of the same name. The wording is the one an emulator
/// checked against live Cognito (floci-io/floci#2858); "tenant" is Cognito's own word here.
pub(crate) fn duplicate_provider(user_pool_id: &str, provider_name: &str) -> CognitoError {
    CognitoError::new(
        ErrorCode::DuplicateProviderException,
        format!("{provider_name} already exists for tenant {user_pool_id}."),
    )
}

/// An identifier already routes to another provider of the pool. The error type and text are
/// a best estimate (Cognito's is unconfirmed).
fn identifier_taken(identifier: &str) -> CognitoError {
    CognitoError::new(
        ErrorCode::DuplicateProviderException,
        format!(
            "IdpIdentifier {identifier} is already used by another provider in this user pool."
        ),
    )
}

fn to_json<T: serde::Serialize>(value: &T) -> CognitoResult<String> {
    serde_json::to_string(value)
        .map_err(|error| cognate_common::error::internal("encoding provider config", error))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> CognitoResult<T> {
    serde_json::from_str(text).map_err(|error| {
        cognate_common::error::internal("stored provider config is not JSON", error)
    })
}

fn record_from_row(row: &AnyRow) -> CognitoResult<ProviderRecord> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(store_error);
    Ok(ProviderRecord {
        user_pool_id: text("user_pool_id")?,
        provider_name: text("provider_name")?,
        provider_type: text("provider_type")?,
        provider_details: from_json(&text("provider_details_json")?)?,
        attribute_mapping: from_json(&text("attribute_mapping_json")?)?,
        idp_identifiers: from_json(&text("idp_identifiers_json")?)?,
        created_at: row.try_get::<i64, _>("created_at").map_err(store_error)?,
        updated_at: row.try_get::<i64, _>("updated_at").map_err(store_error)?,
    })
}

const COLUMNS: &str = "user_pool_id, provider_name, provider_type, provider_details_json, \
                       attribute_mapping_json, idp_identifiers_json, created_at, updated_at";

/// Claims each identifier for the provider; the primary key refuses one another provider holds.
async fn insert_identifiers(
    connection: &mut AnyConnection,
    record: &ProviderRecord,
) -> CognitoResult<()> {
    for identifier in &record.idp_identifiers {
        sqlx::query(
            "INSERT INTO idp_identifiers (user_pool_id, idp_identifier, provider_name) \
             VALUES ($1, $2, $3)",
        )
        .bind(&record.user_pool_id)
        .bind(identifier)
        .bind(&record.provider_name)
        .execute(&mut *connection)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                identifier_taken(identifier)
            } else {
                store_error(error)
            }
        })?;
    }
    Ok(())
}

/// Inserts a new provider with its identifiers. Run it in a transaction: a refused identifier
/// leaves the provider row behind otherwise.
pub(crate) async fn insert_provider(
    connection: &mut AnyConnection,
    record: &ProviderRecord,
) -> CognitoResult<()> {
    sqlx::query(
        "INSERT INTO identity_providers (user_pool_id, provider_name, provider_type, \
         provider_details_json, attribute_mapping_json, idp_identifiers_json, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&record.user_pool_id)
    .bind(&record.provider_name)
    .bind(&record.provider_type)
    .bind(to_json(&record.provider_details)?)
    .bind(to_json(&record.attribute_mapping)?)
    .bind(to_json(&record.idp_identifiers)?)
    .bind(record.created_at)
    .bind(record.updated_at)
    .execute(&mut *connection)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            duplicate_provider(&record.user_pool_id, &record.provider_name)
        } else {
            store_error(error)
        }
    })?;
    insert_identifiers(connection, record).await
}

pub(crate) async fn find_provider(
    connection: &mut AnyConnection,
    user_pool_id: &str,
    provider_name: &str,
) -> CognitoResult<Option<ProviderRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM identity_providers WHERE user_pool_id = $1 AND provider_name = $2"
    )))
    .bind(user_pool_id)
    .bind(provider_name)
    .fetch_optional(&mut *connection)
    .await
    .map_err(store_error)?;
    row.as_ref().map(record_from_row).transpose()
}

pub(crate) async fn find_provider_by_identifier(
    connection: &mut AnyConnection,
    user_pool_id: &str,
    identifier: &str,
) -> CognitoResult<Option<ProviderRecord>> {
    let provider_name: Option<String> = sqlx::query(
        "SELECT provider_name FROM idp_identifiers WHERE user_pool_id = $1 AND idp_identifier = $2",
    )
    .bind(user_pool_id)
    .bind(identifier)
    .fetch_optional(&mut *connection)
    .await
    .map_err(store_error)?
    .map(|row| row.try_get::<String, _>("provider_name"))
    .transpose()
    .map_err(store_error)?;
    match provider_name {
        Some(name) => find_provider(connection, user_pool_id, &name).await,
        None => Ok(None),
    }
}

/// Up to `limit` providers of a pool in name order, starting after `after` (keyset paging).
pub(crate) async fn list_providers(
    connection: &mut AnyConnection,
    user_pool_id: &str,
    after: Option<&str>,
    limit: i64,
) -> CognitoResult<Vec<ProviderRecord>> {
    let rows = match after {
        Some(after) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM identity_providers \
                 WHERE user_pool_id = $1 AND provider_name > $2 \
                 ORDER BY provider_name LIMIT $3"
            )))
            .bind(user_pool_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM identity_providers \
                 WHERE user_pool_id = $1 ORDER BY provider_name LIMIT $2"
            )))
            .bind(user_pool_id)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
    }
    .map_err(store_error)?;
    rows.iter().map(record_from_row).collect()
}

/// Replaces a provider's configuration and identifiers; `false` when there is no such provider.
/// Run it in a transaction with the read that produced `record`.
pub(crate) async fn replace_provider(
    connection: &mut AnyConnection,
    record: &ProviderRecord,
) -> CognitoResult<bool> {
    let updated = sqlx::query(
        "UPDATE identity_providers SET provider_details_json = $1, attribute_mapping_json = $2, \
         idp_identifiers_json = $3, updated_at = $4 WHERE user_pool_id = $5 AND provider_name = $6",
    )
    .bind(to_json(&record.provider_details)?)
    .bind(to_json(&record.attribute_mapping)?)
    .bind(to_json(&record.idp_identifiers)?)
    .bind(record.updated_at)
    .bind(&record.user_pool_id)
    .bind(&record.provider_name)
    .execute(&mut *connection)
    .await
    .map_err(store_error)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    delete_identifiers(connection, &record.user_pool_id, &record.provider_name).await?;
    insert_identifiers(connection, record).await?;
    Ok(true)
}

async fn delete_identifiers(
    connection: &mut AnyConnection,
    user_pool_id: &str,
    provider_name: &str,
) -> CognitoResult<()> {
    sqlx::query("DELETE FROM idp_identifiers WHERE user_pool_id = $1 AND provider_name = $2")
        .bind(user_pool_id)
        .bind(provider_name)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Deletes a provider and its identifiers; `false` when there was no such provider.
pub(crate) async fn delete_provider(
    connection: &mut AnyConnection,
    user_pool_id: &str,
    provider_name: &str,
) -> CognitoResult<bool> {
    let deleted = sqlx::query(
        "DELETE FROM identity_providers WHERE user_pool_id = $1 AND provider_name = $2",
    )
    .bind(user_pool_id)
    .bind(provider_name)
    .execute(&mut *connection)
    .await
    .map_err(store_error)?;
    delete_identifiers(connection, user_pool_id, provider_name).await?;
    Ok(deleted.rows_affected() > 0)
}
