//! The identity-pool and identity tables (see `migrations/`). SQL written once for SQLite and
//! Postgres; every function takes a connection so the caller decides the transaction's scope.

use cognate_common::CognitoResult;
use cognate_common::error::internal;
use cognate_common::store::store_error;
use cognate_proto::awsjson;
use cognate_proto::identity::v1::IdentityPool;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// An identity pool as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolRecord {
    pub pool: IdentityPool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// One identity as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityRecord {
    pub identity_id: String,
    pub identity_pool_id: String,
    /// Login providers linked to the identity; empty for unauthenticated identities.
    pub logins: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// A keyset position: the creation time and id of the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct After {
    pub created_at: i64,
    pub id: String,
}

fn pool_json(pool: &IdentityPool) -> String {
    awsjson::to_json(pool).to_string()
}

fn pool_from_row(row: &AnyRow) -> CognitoResult<PoolRecord> {
    let text: String = row.try_get("pool_json").map_err(store_error)?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| internal("stored identity pool is not JSON", error))?;
    let pool = awsjson::from_json::<IdentityPool>(&json)
        .map_err(|error| internal("stored identity pool does not decode", error))?;
    Ok(PoolRecord {
        pool,
        created_at: row.try_get("created_at").map_err(store_error)?,
    })
}

fn identity_from_row(row: &AnyRow) -> CognitoResult<IdentityRecord> {
    let logins: String = row.try_get("logins_json").map_err(store_error)?;
    Ok(IdentityRecord {
        identity_id: row.try_get("identity_id").map_err(store_error)?,
        identity_pool_id: row.try_get("identity_pool_id").map_err(store_error)?,
        logins: serde_json::from_str(&logins)
            .map_err(|error| internal("stored identity logins are not JSON", error))?,
        created_at: row.try_get("created_at").map_err(store_error)?,
        updated_at: row.try_get("updated_at").map_err(store_error)?,
    })
}

/// Inserts a new pool. Its id is a fresh UUID, so it cannot collide.
pub(crate) async fn insert_pool(
    connection: &mut AnyConnection,
    record: &PoolRecord,
) -> CognitoResult<()> {
    sqlx::query(
        "INSERT INTO identity_pools (identity_pool_id, pool_json, created_at) VALUES ($1, $2, $3)",
    )
    .bind(record.pool.identity_pool_id.as_deref().unwrap_or_default())
    .bind(pool_json(&record.pool))
    .bind(record.created_at)
    .execute(&mut *connection)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn find_pool(
    connection: &mut AnyConnection,
    identity_pool_id: &str,
) -> CognitoResult<Option<PoolRecord>> {
    let row =
        sqlx::query("SELECT pool_json, created_at FROM identity_pools WHERE identity_pool_id = $1")
            .bind(identity_pool_id)
            .fetch_optional(&mut *connection)
            .await
            .map_err(store_error)?;
    row.as_ref().map(pool_from_row).transpose()
}

/// Up to `limit` pools in creation order, after `after`.
pub(crate) async fn list_pools(
    connection: &mut AnyConnection,
    after: Option<&After>,
    limit: i64,
) -> CognitoResult<Vec<PoolRecord>> {
    let rows = match after {
        Some(after) => {
            sqlx::query(
                "SELECT pool_json, created_at FROM identity_pools \
                 WHERE created_at > $1 OR (created_at = $2 AND identity_pool_id > $3) \
                 ORDER BY created_at, identity_pool_id LIMIT $4",
            )
            .bind(after.created_at)
            .bind(after.created_at)
            .bind(&after.id)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
        None => {
            sqlx::query(
                "SELECT pool_json, created_at FROM identity_pools \
                 ORDER BY created_at, identity_pool_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
    }
    .map_err(store_error)?;
    rows.iter().map(pool_from_row).collect()
}

/// Replaces a pool's configuration; `false` when there is no such pool.
pub(crate) async fn replace_pool(
    connection: &mut AnyConnection,
    pool: &IdentityPool,
) -> CognitoResult<bool> {
    let updated =
        sqlx::query("UPDATE identity_pools SET pool_json = $1 WHERE identity_pool_id = $2")
            .bind(pool_json(pool))
            .bind(pool.identity_pool_id.as_deref().unwrap_or_default())
            .execute(&mut *connection)
            .await
            .map_err(store_error)?;
    Ok(updated.rows_affected() > 0)
}

/// Deletes a pool and its identities; `false` when there was no such pool. Run it in a
/// transaction so both go or neither does.
pub(crate) async fn delete_pool(
    connection: &mut AnyConnection,
    identity_pool_id: &str,
) -> CognitoResult<bool> {
    sqlx::query("DELETE FROM identities WHERE identity_pool_id = $1")
        .bind(identity_pool_id)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    let deleted = sqlx::query("DELETE FROM identity_pools WHERE identity_pool_id = $1")
        .bind(identity_pool_id)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    Ok(deleted.rows_affected() > 0)
}

/// Inserts an identity if its pool still exists (one statement, so a pool deleted since it was
/// read is noticed); `false` when the pool is gone.
pub(crate) async fn insert_identity(
    connection: &mut AnyConnection,
    record: &IdentityRecord,
) -> CognitoResult<bool> {
    let logins = serde_json::to_string(&record.logins)
        .map_err(|error| internal("encoding identity logins", error))?;
    let inserted = sqlx::query(
        "INSERT INTO identities (identity_id, identity_pool_id, logins_json, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
         (SELECT 1 FROM identity_pools WHERE identity_pool_id = $6)",
    )
    .bind(&record.identity_id)
    .bind(&record.identity_pool_id)
    .bind(logins)
    .bind(record.created_at)
    .bind(record.updated_at)
    .bind(&record.identity_pool_id)
    .execute(&mut *connection)
    .await
    .map_err(store_error)?;
    Ok(inserted.rows_affected() > 0)
}

pub(crate) async fn find_identity(
    connection: &mut AnyConnection,
    identity_id: &str,
) -> CognitoResult<Option<IdentityRecord>> {
    let row = sqlx::query(
        "SELECT identity_id, identity_pool_id, logins_json, created_at, updated_at \
         FROM identities WHERE identity_id = $1",
    )
    .bind(identity_id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(store_error)?;
    row.as_ref().map(identity_from_row).transpose()
}

/// Up to `limit` identities of a pool in creation order, after `after`.
pub(crate) async fn list_identities(
    connection: &mut AnyConnection,
    identity_pool_id: &str,
    after: Option<&After>,
    limit: i64,
) -> CognitoResult<Vec<IdentityRecord>> {
    let rows = match after {
        Some(after) => {
            sqlx::query(
                "SELECT identity_id, identity_pool_id, logins_json, created_at, updated_at \
                 FROM identities WHERE identity_pool_id = $1 \
                 AND (created_at > $2 OR (created_at = $3 AND identity_id > $4)) \
                 ORDER BY created_at, identity_id LIMIT $5",
            )
            .bind(identity_pool_id)
            .bind(after.created_at)
            .bind(after.created_at)
            .bind(&after.id)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
        None => {
            sqlx::query(
                "SELECT identity_id, identity_pool_id, logins_json, created_at, updated_at \
                 FROM identities WHERE identity_pool_id = $1 \
                 ORDER BY created_at, identity_id LIMIT $2",
            )
            .bind(identity_pool_id)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
    }
    .map_err(store_error)?;
    rows.iter().map(identity_from_row).collect()
}
