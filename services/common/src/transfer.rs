//! Rows as JSON for `cognate export` / `cognate import`: each service lists the tables a pool's
//! data lives in (it owns the schema), and these helpers move their rows as they are stored, so
//! an export from SQLite imports into Postgres and back. Every column is TEXT or BIGINT, so a
//! value is a string, an integer or null.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::{Map, Value as Json};
use sqlx::{AnyConnection, AnyPool, Column, Row};

/// One stored row: column name to value.
pub type Rows = Vec<Map<String, Json>>;
/// Rows by table name.
pub type Tables = BTreeMap<String, Rows>;

fn row_to_json(row: &sqlx::any::AnyRow) -> Map<String, Json> {
    let mut object = Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let value = match row.try_get::<Option<i64>, _>(index) {
            Ok(Some(number)) => Json::from(number),
            Ok(None) => Json::Null,
            Err(_) => row
                .try_get::<Option<String>, _>(index)
                .ok()
                .flatten()
                .map_or(Json::Null, Json::String),
        };
        object.insert(column.name().to_owned(), value);
    }
    object
}

/// The rows of `table` whose `key_column` is `key`. Table and column names are the caller's
/// constants.
pub async fn rows_where(
    db: &AnyPool,
    table: &str,
    key_column: &str,
    key: &str,
) -> anyhow::Result<Rows> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM {table} WHERE {key_column} = $1"
    )))
    .bind(key)
    .fetch_all(db)
    .await
    .with_context(|| format!("reading {table}"))?;
    Ok(rows.iter().map(row_to_json).collect())
}

/// The per-user rows of `tables` for users of the pool whose `sub` is in `(after, up_to]`,
/// grouped by sub then table: one page of an export.
pub async fn user_rows(
    db: &AnyPool,
    tables: &[&str],
    pool_id: &str,
    after: &str,
    up_to: &str,
) -> anyhow::Result<BTreeMap<String, Tables>> {
    let mut by_sub: BTreeMap<String, Tables> = BTreeMap::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM {table} WHERE user_pool_id = $1 AND sub > $2 AND sub <= $3"
        )))
        .bind(pool_id)
        .bind(after)
        .bind(up_to)
        .fetch_all(db)
        .await
        .with_context(|| format!("reading {table}"))?;
        for row in &rows {
            let object = row_to_json(row);
            let sub = object
                .get("sub")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            by_sub
                .entry(sub)
                .or_default()
                .entry((*table).to_owned())
                .or_default()
                .push(object);
        }
    }
    Ok(by_sub)
}

/// Inserts `row` into `table`. Column names come from a file, so they must be plain
/// identifiers; nulls are left to the column's default.
pub async fn insert_row(
    connection: &mut AnyConnection,
    table: &str,
    row: &Map<String, Json>,
) -> anyhow::Result<()> {
    let present: Vec<(&String, &Json)> = row.iter().filter(|(_, value)| !value.is_null()).collect();
    for (column, _) in &present {
        anyhow::ensure!(
            !column.is_empty()
                && column
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'),
            "{table}: `{column}` is not a column name"
        );
    }
    let columns: Vec<&str> = present.iter().map(|(column, _)| column.as_str()).collect();
    let placeholders: Vec<String> = (1..=present.len())
        .map(|index| format!("${index}"))
        .collect();
    let statement = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
    for (column, value) in &present {
        query = match value {
            Json::Number(number) => query.bind(
                number
                    .as_i64()
                    .with_context(|| format!("{table}.{column}: not an integer"))?,
            ),
            Json::String(text) => query.bind(text.clone()),
            other => anyhow::bail!("{table}.{column}: unexpected value {other}"),
        };
    }
    query
        .execute(connection)
        .await
        .with_context(|| format!("writing {table}"))?;
    Ok(())
}

/// Inserts every row of `tables` (only those named in `allowed`), forcing `key_column` to
/// `key` so a file cannot write into another pool or user.
pub async fn insert_tables(
    connection: &mut AnyConnection,
    allowed: &[(&str, &str)],
    tables: &Tables,
    forced: &[(&str, &str)],
) -> anyhow::Result<()> {
    for (table, rows) in tables {
        let Some((table, key_column)) = allowed.iter().find(|(name, _)| name == table) else {
            anyhow::bail!("unknown table `{table}`");
        };
        for row in rows {
            let mut row = row.clone();
            for (column, value) in forced {
                let column = if *column == "user_pool_id" {
                    key_column
                } else {
                    column
                };
                row.insert((*column).to_owned(), Json::from(*value));
            }
            insert_row(connection, table, &row).await?;
        }
    }
    Ok(())
}

/// Writes one user's rows of `tables` (only those named in `allowed`) in one transaction, all
/// of them or none, forced into the pool `pool_id` and the user `sub`.
pub async fn insert_user(
    db: &AnyPool,
    allowed: &[(&str, &str)],
    pool_id: &str,
    sub: &str,
    tables: &Tables,
) -> anyhow::Result<()> {
    let mut transaction = db.begin().await?;
    insert_tables(
        &mut transaction,
        allowed,
        tables,
        &[("user_pool_id", pool_id), ("sub", sub)],
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}
