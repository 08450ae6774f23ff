//! Bulk loading: many new users stored with multi-row INSERTs, a few thousand per transaction,
//! for benchmarks and large migrations. No triggers run and no invitations are sent. The
//! planner's statistics are refreshed afterwards, so the first queries on a grown pool don't plan
//! for the empty one.

use serde_json::Value as Json;
use sqlx::AnyConnection;

use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::users::{Naming, User};
use crate::{Directory, user_index};

/// Users per transaction.
const USERS_PER_TRANSACTION: usize = 2000;

/// Rows per INSERT statement: 500 rows of 10 columns stay under SQLite's 32,766 parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// A value bound into a multi-row INSERT.
enum Bound {
    Text(String),
    Integer(i64),
}

/// Inserts `rows` (each `columns` values) into `table (column list)` in statements of
/// [`ROWS_PER_STATEMENT`] rows.
async fn insert_rows(
    connection: &mut AnyConnection,
    table_and_columns: &str,
    columns: usize,
    rows: Vec<Vec<Bound>>,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let tuples = (0..chunk.len())
            .map(|row| {
                let placeholders = (1..=columns)
                    .map(|column| format!("${}", row * columns + column))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({placeholders})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!("INSERT INTO {table_and_columns} VALUES {tuples}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
        for value in chunk.iter().flatten() {
            query = match value {
                Bound::Text(text) => query.bind(text.clone()),
                Bound::Integer(number) => query.bind(*number),
            };
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

impl Directory {
    /// Stores `users` (their `sub` among their attributes, as [`User`] keeps it) with their
    /// sign-in aliases and attribute index rows, [`USERS_PER_TRANSACTION`] per transaction. A
    /// taken username or alias fails its transaction with `UsernameExistsException`; the
    /// transactions before it stay committed. The three tables are analysed at the end.
    pub async fn insert_users_in_bulk(&self, pool_id: &str, users: &[User]) -> CognitoResult<()> {
        let pool = self.load_pool(pool_id).await?;
        let naming = Naming::of(&pool);
        for batch in users.chunks(USERS_PER_TRANSACTION) {
            let mut user_rows = Vec::with_capacity(batch.len());
            let mut alias_rows = Vec::new();
            let mut index_rows = Vec::new();
            for user in batch {
                let username_key = naming.key(&user.username);
                for alias_key in naming.aliases(&user.attributes) {
                    alias_rows.push(vec![
                        Bound::Text(pool_id.to_owned()),
                        Bound::Text(alias_key),
                        Bound::Text(user.sub.clone()),
                    ]);
                }
                for (name, value_key) in user_index::index_entries(&user.attributes) {
                    index_rows.push(vec![
                        Bound::Text(pool_id.to_owned()),
                        Bound::Text(name.to_owned()),
                        Bound::Text(value_key),
                        Bound::Text(username_key.clone()),
                        Bound::Text(user.sub.clone()),
                    ]);
                }
                user_rows.push(vec![
                    Bound::Text(pool_id.to_owned()),
                    Bound::Text(username_key),
                    Bound::Text(user.username.clone()),
                    Bound::Text(user.sub.clone()),
                    Bound::Text(user.status.clone()),
                    Bound::Integer(i64::from(user.enabled)),
                    Bound::Text(Json::Array(user.attributes.clone()).to_string()),
                    Bound::Text(user.password_hash.clone()),
                    Bound::Integer(user.created_at),
                    Bound::Integer(user.updated_at),
                ]);
            }
            let mut transaction = self.db.begin().await.map_err(store_error)?;
            let stored = async {
                insert_rows(
                    &mut transaction,
                    "users (user_pool_id, username_key, username, sub, status, enabled, attributes_json, password_hash, created_at, updated_at)",
                    10,
                    user_rows,
                )
                .await?;
                insert_rows(
                    &mut transaction,
                    "user_aliases (user_pool_id, alias_key, sub)",
                    3,
                    alias_rows,
                )
                .await?;
                insert_rows(
                    &mut transaction,
                    "user_attribute_index (user_pool_id, attribute_name, value_key, username_key, sub)",
                    5,
                    index_rows,
                )
                .await
            }
            .await;
            match stored {
                Err(error) if is_unique_violation(&error) => {
                    return Err(CognitoError::new(
                        ErrorCode::UsernameExistsException,
                        "User account already exists",
                    ));
                }
                other => other.map_err(store_error)?,
            }
            transaction.commit().await.map_err(store_error)?;
        }
        for table in ["users", "user_aliases", "user_attribute_index"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                .execute(&self.db)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }
}
