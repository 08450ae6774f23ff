//! Test stores (for the services' own tests and the sandbox): a fresh SQLite directory or a
//! fresh Postgres database per test, so tests never see each other's rows. Postgres must be
//! running: a test fails, never skips, when it is not.

use std::path::PathBuf;

use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection};

use crate::config::{Config, Secret, ServiceKind};

/// A database on the test server to connect to for creating others;
/// `COGNATE_TEST_POSTGRES_URL` overrides it.
pub fn postgres_admin_url() -> String {
    std::env::var("COGNATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A sealer with a fresh random master key, for stores that seal secrets in tests.
pub fn sealer() -> crate::sealing::Sealer {
    let key = crate::sealing::MasterKey::generate().expect("a random master key");
    crate::sealing::Sealer::new(&key, &[]).expect("a sealer")
}

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new() -> Self {
        Self(std::env::temp_dir().join(format!("cognate-test-{}", uuid::Uuid::new_v4().simple())))
    }
}

impl Default for ScratchDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Postgres database of its own, dropped (forcefully) on drop.
#[derive(Debug)]
pub struct ScratchDatabase {
    pub name: String,
    pub url: String,
}

impl ScratchDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let admin = postgres_admin_url();
        let name = format!("cognate_t_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(|error| anyhow::anyhow!("Postgres is not reachable at {admin}: {error}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await?;
        connection.close().await?;
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        Ok(Self {
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async; a thread of its own can block on the clean-up.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut connection) = sqlx::PgConnection::connect(&postgres_admin_url()).await
                {
                    let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                        .execute(&mut connection)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Where a test store lives; removed when the store is dropped.
#[derive(Debug)]
pub enum Scratch {
    Sqlite(ScratchDir),
    Postgres(ScratchDatabase),
}

/// A migrated store of one service on a fresh backend.
#[derive(Debug)]
pub struct TestStore {
    pub pool: AnyPool,
    _scratch: Scratch,
}

impl TestStore {
    pub async fn sqlite(kind: ServiceKind, migrator: &Migrator) -> Self {
        let directory = ScratchDir::new();
        let config = Config {
            data_dir: directory.0.clone(),
            ..Config::default()
        };
        let pool = crate::store::connect_and_migrate(&config, kind, migrator)
            .await
            .expect("the SQLite test store connects and migrates");
        Self {
            pool,
            _scratch: Scratch::Sqlite(directory),
        }
    }

    pub async fn postgres(kind: ServiceKind, migrator: &Migrator) -> Self {
        let database = ScratchDatabase::create()
            .await
            .expect("a scratch Postgres database");
        let config = Config {
            database_url: Some(Secret::new(database.url.clone())),
            ..Config::default()
        };
        let pool = crate::store::connect_and_migrate(&config, kind, migrator)
            .await
            .expect("the Postgres test store connects and migrates");
        Self {
            pool,
            _scratch: Scratch::Postgres(database),
        }
    }
}

/// Runs each named `async fn(&AnyPool)` of the enclosing module once on SQLite and once on
/// Postgres, each on a fresh store of the service `$kind` migrated by `$migrator`.
#[macro_export]
macro_rules! on_every_backend {
    ($kind:expr, $migrator:expr; $($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let store = $crate::testing::TestStore::sqlite($kind, &$migrator).await;
                    super::$test(&store.pool).await;
                    store.pool.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let store = $crate::testing::TestStore::postgres($kind, &$migrator).await;
                    super::$test(&store.pool).await;
                    store.pool.close().await;
                }
            )*
        }
    };
}
