//! `cognate export` and `cognate import`: a whole user pool (configuration, users, groups,
//! password verifiers or imported hashes, MFA secrets, devices) moved between installations as
//! JSON lines. The first line names the format, the second holds the pool's configuration, and
//! each further line is one user with every stored row that belongs to them.
//!
//! Secrets sealed at rest leave sealed, as stored; the header's `sealed` lists the fields that
//! hold them (`sealed:v1:<master key id>:...`, or plaintext if stored before sealing and not
//! yet re-wrapped), so the reader knows the import needs that master key.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;

use cognate_common::sealing::Sealer;
use cognate_common::transfer::Tables;
use cognate_common::{Config, ServiceKind, store};

/// The format named on the first line.
pub const FORMAT: &str = "cognate-user-pool-export";
/// Its version: an import refuses any other.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    user_pool_id: String,
    /// `<service>.<table>.<column>` of each sealed field; absent in files from before sealing.
    #[serde(default)]
    sealed: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct PoolLine {
    directory: Tables,
}

#[derive(Serialize, Deserialize)]
struct UserLine {
    sub: String,
    directory: Tables,
    #[serde(default)]
    auth: Tables,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub user_pool_id: String,
    pub imported: u64,
    /// `line N: reason` for each user left out.
    pub rejected: Vec<String>,
}

/// A counter on stderr, only when someone watches it.
struct Progress {
    shown: bool,
    verb: &'static str,
}

impl Progress {
    fn new(verb: &'static str) -> Self {
        Self {
            shown: std::io::stderr().is_terminal(),
            verb,
        }
    }

    fn tick(&self, done: u64) {
        if self.shown && done.is_multiple_of(100) {
            eprint!("\r{} {done} users", self.verb);
        }
    }

    fn finish(&self, done: u64) {
        if self.shown {
            eprintln!("\r{} {done} users", self.verb);
        }
    }
}

/// Writes the pool to `out`; the number of users written.
pub async fn export(config: &Config, pool_id: &str, out: &mut impl Write) -> anyhow::Result<u64> {
    let (directory, auth) = stores(config).await?;
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        user_pool_id: pool_id.to_owned(),
        sealed: cognate_auth::transfer::sealed_fields(),
    };
    write_line(out, &header)?;
    let pool = cognate_directory::transfer::export_pool(&directory, pool_id).await?;
    write_line(out, &PoolLine { directory: pool })?;
    let progress = Progress::new("exported");
    let mut after = String::new();
    let mut count = 0;
    loop {
        let users = cognate_directory::transfer::export_users(&directory, pool_id, &after).await?;
        let Some(last) = users.keys().next_back().cloned() else {
            break;
        };
        let mut auth_rows =
            cognate_auth::transfer::export_users(&auth, pool_id, &after, &last).await?;
        for (sub, tables) in users {
            let line = UserLine {
                auth: auth_rows.remove(&sub).unwrap_or_default(),
                sub,
                directory: tables,
            };
            write_line(out, &line)?;
            count += 1;
            progress.tick(count);
        }
        after = last;
    }
    out.flush()?;
    progress.finish(count);
    directory.close().await;
    auth.close().await;
    Ok(count)
}

/// The directory's and auth's stores, as the server would open them.
pub(crate) async fn stores(config: &Config) -> anyhow::Result<(AnyPool, AnyPool)> {
    let directory =
        store::connect_and_migrate(config, ServiceKind::Directory, &cognate_directory::MIGRATOR)
            .await?;
    let auth =
        store::connect_and_migrate(config, ServiceKind::Auth, &cognate_auth::MIGRATOR).await?;
    Ok((directory, auth))
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Reads an export into this installation. The pool must not exist here yet; each user is
/// written whole or not at all, and the ones refused are listed in the summary.
pub async fn import(config: &Config, input: impl BufRead) -> anyhow::Result<ImportSummary> {
    let mut lines = input.lines();
    let header: Header = serde_json::from_str(&lines.next().context("an empty file")??)
        .context("line 1: not an export header")?;
    anyhow::ensure!(
        header.format == FORMAT && header.version == VERSION,
        "line 1: expected {FORMAT} version {VERSION}, found {} version {}",
        header.format,
        header.version
    );
    let pool: PoolLine = serde_json::from_str(&lines.next().context("no pool line")??)
        .context("line 2: not a pool")?;
    // TOTP secrets are opened and sealed again with this installation's key.
    let sealer = Sealer::from_config(config)?;
    let (directory, auth) = stores(config).await?;
    let pool_id = header.user_pool_id;
    cognate_directory::transfer::import_pool(&directory, &pool_id, &pool.directory).await?;
    let mut summary = ImportSummary {
        user_pool_id: pool_id.clone(),
        ..ImportSummary::default()
    };
    let progress = Progress::new("imported");
    for (index, line) in lines.enumerate() {
        let number = index + 3;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let outcome = match serde_json::from_str::<UserLine>(&line) {
            Ok(user) => import_user(&directory, &auth, &sealer, &pool_id, &user).await,
            Err(error) => Err(anyhow::Error::new(error).context("not a user")),
        };
        match outcome {
            Ok(()) => {
                summary.imported += 1;
                progress.tick(summary.imported);
            }
            Err(error) => summary.rejected.push(format!("line {number}: {error:#}")),
        }
    }
    progress.finish(summary.imported);
    directory.close().await;
    auth.close().await;
    Ok(summary)
}

async fn import_user(
    directory: &AnyPool,
    auth: &AnyPool,
    sealer: &Sealer,
    pool_id: &str,
    user: &UserLine,
) -> anyhow::Result<()> {
    cognate_directory::transfer::import_user(directory, pool_id, &user.sub, &user.directory)
        .await?;
    if let Err(error) =
        cognate_auth::transfer::import_user(auth, sealer, pool_id, &user.sub, &user.auth).await
    {
        // The directory half alone would be a user without their MFA: take it back.
        cognate_directory::transfer::forget_user(directory, pool_id, &user.sub).await?;
        return Err(error);
    }
    Ok(())
}
