//! The durable store of one service: SQLite (embedded default, one file per service in the data
//! directory) or Postgres (one schema per service). Queries are written once in SQL both accept
//! (`$n` placeholders, TEXT/BIGINT columns) and run through sqlx's `Any` driver.

use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Connection};

use crate::config::{Config, ServiceKind};
use crate::error::{CognitoError, internal};

/// The SQL backend, chosen by URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a pool was connected to, read from its URL.
    pub fn of(pool: &AnyPool) -> Self {
        if pool
            .connect_options()
            .database_url
            .scheme()
            .starts_with("postgres")
        {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// Where a service's data lives: the URL (with Postgres's per-service schema applied).
pub fn database_url(config: &Config, kind: ServiceKind) -> anyhow::Result<(Backend, String)> {
    let Some(url) = &config.database_url else {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("creating the data directory {}", config.data_dir.display())
        })?;
        let path = config.data_dir.join(format!("{kind}.sqlite"));
        return Ok((
            Backend::Sqlite,
            format!("sqlite://{}?mode=rwc", path.display()),
        ));
    };
    let url = url.expose();
    if url.starts_with("sqlite:") {
        Ok((Backend::Sqlite, url.to_owned()))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok((
            Backend::Postgres,
            format!(
                "{url}{separator}options=-c%20search_path%3D{}",
                schema_name(kind)
            ),
        ))
    } else {
        anyhow::bail!("database URL must start with sqlite: or postgres://")
    }
}

fn schema_name(kind: ServiceKind) -> String {
    kind.as_str().replace('-', "_")
}

/// A pooled connection idle this long is pinged before use; a busy one is trusted.
const CHECK_IDLE_CONNECTIONS_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects the service's pool, creating its Postgres schema or SQLite file when missing.
pub async fn connect(config: &Config, kind: ServiceKind) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let (backend, url) = database_url(config, kind)?;
    if backend == Backend::Postgres {
        let base = config
            .database_url
            .as_ref()
            .map(|url| url.expose())
            .unwrap_or_default();
        let mut connection = AnyConnectOptions::from_str(base)?
            .connect()
            .await
            .context("connecting to Postgres")?;
        // The schema name is one of six fixed service names, never user input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            schema_name(kind)
        )))
        .execute(&mut connection)
        .await
        .context("creating the service's schema")?;
        connection.close().await?;
    }
    let options = AnyConnectOptions::from_str(&url)?;
    let max_connections = if backend == Backend::Sqlite { 4 } else { 16 };
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        // sqlx pings every connection before handing it out, a round trip per query; only one
        // that sat idle long enough to have been dropped by the server or a proxy is checked.
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IDLE_CONNECTIONS_AFTER {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the one writer; the busy timeout queues writers.
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *connection)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 5000")
                        .execute(&mut *connection)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .with_context(|| format!("connecting the {kind} store"))?;
    Ok(pool)
}

/// Connects and brings the schema up to date.
pub async fn connect_and_migrate(
    config: &Config,
    kind: ServiceKind,
    migrator: &Migrator,
) -> anyhow::Result<AnyPool> {
    let pool = connect(config, kind).await?;
    migrator
        .run(&pool)
        .await
        .with_context(|| format!("migrating the {kind} store"))?;
    Ok(pool)
}

/// Whether a database error is a unique-constraint violation (SQLite 2067/1555, Postgres 23505):
/// the store's answer to two writers racing for one name.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database) => {
            matches!(database.code().as_deref(), Some("23505" | "2067" | "1555"))
                || database.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// Maps a store failure to the opaque internal error, logging its cause.
pub fn store_error(error: sqlx::Error) -> CognitoError {
    internal("store query failed", error)
}

/// Reading a row's columns without panicking: a column that is missing or doesn't decode is
/// an internal error (logged with the column's name), never a crash of the request.
pub trait Columns {
    fn read<'r, T>(&'r self, name: &str) -> Result<T, CognitoError>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>;

    /// A 0/1 INTEGER column as a bool.
    fn flag(&self, name: &str) -> Result<bool, CognitoError> {
        Ok(self.read::<i64>(name)? != 0)
    }
}

impl Columns for sqlx::any::AnyRow {
    fn read<'r, T>(&'r self, name: &str) -> Result<T, CognitoError>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        sqlx::Row::try_get(self, name)
            .map_err(|error| internal(&format!("reading the column {name}"), error))
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[tokio::test]
    async fn dollar_placeholders_and_unique_violations_work_on_sqlite() {
        let directory =
            std::env::temp_dir().join(format!("cognate-store-{}", uuid::Uuid::new_v4()));
        let config = Config {
            data_dir: directory.clone(),
            ..Config::default()
        };
        let pool = connect(&config, ServiceKind::Directory)
            .await
            .expect("connects");
        sqlx::query("CREATE TABLE t (a TEXT PRIMARY KEY, b BIGINT NOT NULL)")
            .execute(&pool)
            .await
            .expect("creates");
        sqlx::query("INSERT INTO t (a, b) VALUES ($1, $2)")
            .bind("x")
            .bind(7_i64)
            .execute(&pool)
            .await
            .expect("inserts");
        let error = sqlx::query("INSERT INTO t (a, b) VALUES ($1, $2)")
            .bind("x")
            .bind(8_i64)
            .execute(&pool)
            .await
            .expect_err("duplicate");
        assert!(is_unique_violation(&error));
        let row = sqlx::query("SELECT b FROM t WHERE a = $1")
            .bind("x")
            .fetch_one(&pool)
            .await
            .expect("selects");
        assert_eq!(row.read::<i64>("b").expect("an integer"), 7);
        pool.close().await;
        let _ = std::fs::remove_dir_all(directory);
    }
}
