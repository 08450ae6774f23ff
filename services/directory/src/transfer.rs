//! The directory's part of `cognate export` / `cognate import`: which tables hold a pool's
//! configuration and its users, read and written as stored (see `cognate_common::transfer`).

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::Value as Json;
use sqlx::AnyPool;

use cognate_common::legacy_hash::LegacyHash;
use cognate_common::password;
use cognate_common::transfer::{self, Tables};

/// A pool's configuration: each table with the column naming the pool. Import jobs, codes and
/// the dev outbox are transient and stay behind.
const POOL_TABLES: [(&str, &str); 6] = [
    ("user_pools", "id"),
    ("app_clients", "user_pool_id"),
    ("user_groups", "user_pool_id"),
    ("user_pool_domains", "user_pool_id"),
    ("resource_servers", "user_pool_id"),
    ("risk_configurations", "user_pool_id"),
];

/// A user's rows, keyed by pool and `sub`.
const USER_TABLES: [(&str, &str); 5] = [
    ("users", "user_pool_id"),
    ("user_aliases", "user_pool_id"),
    ("user_attribute_index", "user_pool_id"),
    ("group_members", "user_pool_id"),
    ("password_history", "user_pool_id"),
];

/// Users read per page of an export.
pub const PAGE_SIZE: i64 = 500;

/// Whether a pool with this id exists.
pub async fn pool_exists(db: &AnyPool, pool_id: &str) -> anyhow::Result<bool> {
    Ok(!transfer::rows_where(db, "user_pools", "id", pool_id)
        .await?
        .is_empty())
}

/// The pool's configuration rows; an error if there is no such pool.
pub async fn export_pool(db: &AnyPool, pool_id: &str) -> anyhow::Result<Tables> {
    let mut tables = Tables::new();
    for (table, key_column) in POOL_TABLES {
        let rows = transfer::rows_where(db, table, key_column, pool_id).await?;
        tables.insert(table.to_owned(), rows);
    }
    anyhow::ensure!(
        tables
            .get("user_pools")
            .is_some_and(|rows| !rows.is_empty()),
        "no user pool {pool_id}"
    );
    Ok(tables)
}

/// The users after `after` (by sub), at most `PAGE_SIZE`, each with its rows.
pub async fn export_users(
    db: &AnyPool,
    pool_id: &str,
    after: &str,
) -> anyhow::Result<BTreeMap<String, Tables>> {
    let subs: Vec<String> = sqlx::query_scalar(
        "SELECT sub FROM users WHERE user_pool_id = $1 AND sub > $2 ORDER BY sub LIMIT $3",
    )
    .bind(pool_id)
    .bind(after)
    .bind(PAGE_SIZE)
    .fetch_all(db)
    .await
    .context("reading users")?;
    let Some(last) = subs.last() else {
        return Ok(BTreeMap::new());
    };
    let tables: Vec<&str> = USER_TABLES.iter().map(|(table, _)| *table).collect();
    transfer::user_rows(db, &tables, pool_id, after, last).await
}

/// Writes a pool's configuration in one transaction; refuses a pool id already present.
pub async fn import_pool(db: &AnyPool, pool_id: &str, tables: &Tables) -> anyhow::Result<()> {
    anyhow::ensure!(
        !pool_exists(db, pool_id).await?,
        "user pool {pool_id} already exists here"
    );
    let mut transaction = db.begin().await?;
    transfer::insert_tables(
        &mut transaction,
        &POOL_TABLES,
        tables,
        &[("user_pool_id", pool_id)],
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Checks the stored password an imported user arrives with: none, Cognate's SRP verifier, or
/// a legacy hash within the cost bounds.
fn check_password(stored: &str) -> anyhow::Result<()> {
    if stored.is_empty() || password::srp_verifier(stored).is_some() {
        return Ok(());
    }
    LegacyHash::parse(stored).context("password_hash")?;
    Ok(())
}

/// Writes one user's rows in one transaction: all of them or none.
pub async fn import_user(
    db: &AnyPool,
    pool_id: &str,
    sub: &str,
    tables: &Tables,
) -> anyhow::Result<()> {
    let users = tables.get("users").map(Vec::as_slice).unwrap_or_default();
    let [user] = users else {
        anyhow::bail!("a user needs exactly one `users` row");
    };
    check_password(
        user.get("password_hash")
            .and_then(Json::as_str)
            .unwrap_or_default(),
    )?;
    transfer::insert_user(db, &USER_TABLES, pool_id, sub, tables).await
}

/// Removes what `import_user` wrote, when the user's other half (auth's rows) failed.
pub async fn forget_user(db: &AnyPool, pool_id: &str, sub: &str) -> anyhow::Result<()> {
    let mut transaction = db.begin().await?;
    for (table, _) in USER_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_pool_id = $1 AND sub = $2"
        )))
        .bind(pool_id)
        .bind(sub)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}
