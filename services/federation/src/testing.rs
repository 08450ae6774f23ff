//! Test stores: a fresh SQLite file or a fresh Postgres database for every test, migrated, so
//! tests never see each other's rows. Postgres must be running: a test fails, never skips,
//! when it is not.

use std::path::PathBuf;
use std::str::FromStr;

use cognate_common::config::Secret;
use cognate_common::{Config, ServiceKind};
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection};

/// The server tests create their databases on; `COGNATE_TEST_POSTGRES_URL` overrides it.
fn postgres_server() -> String {
    std::env::var("COGNATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres(String),
}

pub(crate) struct TestStore {
    pub pool: AnyPool,
    cleanup: Cleanup,
}

impl TestStore {
    pub(crate) async fn sqlite() -> Self {
        let directory =
            std::env::temp_dir().join(format!("cognate-federation-{}", uuid::Uuid::new_v4()));
        let config = Config {
            data_dir: directory.clone(),
            ..Config::default()
        };
        let pool = cognate_common::store::connect_and_migrate(
            &config,
            ServiceKind::Federation,
            &crate::MIGRATOR,
        )
        .await
        .expect("the SQLite test store connects and migrates");
        Self {
            pool,
            cleanup: Cleanup::Sqlite(directory),
        }
    }

    pub(crate) async fn postgres() -> Self {
        sqlx::any::install_default_drivers();
        let server = postgres_server();
        let name = format!("cognate_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AnyConnectOptions::from_str(&format!("{server}/postgres"))
            .expect("a Postgres URL")
            .connect()
            .await
            .unwrap_or_else(|error| panic!("Postgres is not reachable at {server}: {error}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creates the test database");
        admin.close().await.expect("closes");
        let config = Config {
            database_url: Some(Secret::new(format!("{server}/{name}"))),
            ..Config::default()
        };
        let pool = cognate_common::store::connect_and_migrate(
            &config,
            ServiceKind::Federation,
            &crate::MIGRATOR,
        )
        .await
        .expect("the Postgres test store connects and migrates");
        Self {
            pool,
            cleanup: Cleanup::Postgres(name),
        }
    }

    /// Closes the pool and removes the database. A failed test skips this and leaves its
    /// database behind for inspection.
    pub(crate) async fn remove(self) {
        self.pool.close().await;
        match self.cleanup {
            Cleanup::Sqlite(directory) => {
                let _ = std::fs::remove_dir_all(directory);
            }
            Cleanup::Postgres(name) => {
                let server = postgres_server();
                if let Ok(mut admin) = AnyConnectOptions::from_str(&format!("{server}/postgres"))
                    .expect("a Postgres URL")
                    .connect()
                    .await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            }
        }
    }
}

/// Runs each named `async fn(&AnyPool)` of the enclosing module once on SQLite and once on
/// Postgres, each on a fresh store.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let store = crate::testing::TestStore::sqlite().await;
                    super::$test(&store.pool).await;
                    store.remove().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let store = crate::testing::TestStore::postgres().await;
                    super::$test(&store.pool).await;
                    store.remove().await;
                }
            )*
        }
    };
}

pub(crate) use on_every_backend;
