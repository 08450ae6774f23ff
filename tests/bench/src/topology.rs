//! The topologies as real processes: split (one `cognate run` per service, a scratch Postgres
//! database they share, a schema each, with Redis and NATS), colocated (edge, auth and directory
//! in one process, the other services apart, on the same backends) or embedded (one process,
//! SQLite), and their CPU time from `/proc`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::Connection;
use tokio::process::{Child, Command};

/// How the six services are laid out in processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// One process, every service, SQLite.
    Embedded,
    /// Edge, auth and directory in one process; triggers, federation and identity pools apart,
    /// with a replica of directory and auth serving them (a process with the edge serves no
    /// internal gRPC); Postgres, Redis and NATS.
    Colocated,
    /// One process per service; Postgres, Redis and NATS.
    Split,
}

impl Layout {
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Embedded => "embedded (one process, SQLite)",
            Layout::Colocated => {
                "colocated (edge+auth+directory in one process; triggers, federation, identity pools and a directory+auth replica apart; Postgres, Redis, NATS)"
            }
            Layout::Split => "split (six processes, Postgres, Redis, NATS)",
        }
    }

    /// The processes, in the order they are started (the edge's last): each a name and the
    /// services it runs. The embedded one runs every service on SQLite.
    fn processes(self) -> Vec<(&'static str, &'static [&'static str])> {
        match self {
            Layout::Embedded => vec![("embedded", &[])],
            Layout::Colocated => vec![
                ("triggers", &["triggers"]),
                ("directory+auth", &["directory", "auth"]),
                ("federation", &["federation"]),
                ("identity-pools", &["identity-pools"]),
                ("edge+auth+directory", &["edge", "auth", "directory"]),
            ],
            Layout::Split => vec![
                ("triggers", &["triggers"]),
                ("directory", &["directory"]),
                ("auth", &["auth"]),
                ("federation", &["federation"]),
                ("identity-pools", &["identity-pools"]),
                ("edge", &["edge"]),
            ],
        }
    }
}

/// Where the shared backends are.
pub struct Backends {
    /// The Postgres server (no database path), e.g. `postgres://postgres@127.0.0.1:5432`.
    pub postgres: String,
    pub redis: String,
    pub nats: String,
}

/// A running process of one service.
pub struct Server {
    pub service: &'static str,
    pub port: u16,
    pub child: Child,
    pub log: PathBuf,
}

pub struct Topology {
    pub servers: Vec<Server>,
    pub endpoint: String,
    pub database: String,
    /// The database's URL, as the processes were given it.
    pub database_url: String,
    admin_url: String,
    pub log_dir: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Topology {
    /// Creates the database, starts the layout's processes and waits for each `/health` (the
    /// embedded layout makes the database but leaves it unused).
    pub async fn start(
        binary: &Path,
        backends: &Backends,
        layout: Layout,
    ) -> anyhow::Result<Topology> {
        anyhow::ensure!(
            binary.is_file(),
            "no cognate binary at {} (see --cognate-bin)",
            binary.display()
        );
        let database = format!("cognate_bench_{}", uuid::Uuid::new_v4().simple());
        let admin_url = format!("{}/postgres", backends.postgres.trim_end_matches('/'));
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url}"))?;
        // The name is ours: a fixed prefix and a UUID's hex.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .context("creating the scratch database")?;
        admin.close().await.ok();
        let database_url = format!("{}/{database}", backends.postgres.trim_end_matches('/'));

        let log_dir = std::env::temp_dir().join(&database);
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("creating {}", log_dir.display()))?;

        let processes = layout.processes();
        let mut ports = Vec::new();
        for _ in &processes {
            ports.push(free_port()?);
        }
        // The edge's process is the last.
        let edge_port = *ports.last().context("no process")?;
        let endpoint = format!("http://127.0.0.1:{edge_port}");

        let mut topology = Topology {
            servers: Vec::new(),
            endpoint: endpoint.clone(),
            database,
            database_url: database_url.clone(),
            admin_url,
            log_dir: log_dir.clone(),
        };
        for (&(service, runs), &port) in processes.iter().zip(&ports) {
            // Peers are the other processes without the edge: one with it serves no gRPC.
            let peers: Vec<String> = processes
                .iter()
                .zip(&ports)
                .filter(|((name, others), _)| *name != service && !others.contains(&"edge"))
                .flat_map(|((_, others), peer_port)| {
                    others
                        .iter()
                        .map(move |peer| format!("{peer}=http://127.0.0.1:{peer_port}"))
                })
                .collect();
            let log = log_dir.join(format!("{service}.log"));
            let out = std::fs::File::create(&log)
                .with_context(|| format!("creating {}", log.display()))?;
            let err = out.try_clone()?;
            let mut command = Command::new(binary);
            command
                .arg("run")
                // The bench signs its Admin* calls with a development signature.
                .arg("--dev")
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--data-dir")
                .arg(log_dir.join(format!("{service}-data")));
            if layout != Layout::Embedded {
                command
                    .arg("--services")
                    .arg(runs.join(","))
                    .arg("--peers")
                    .arg(peers.join(","))
                    .arg("--database-url")
                    .arg(&database_url)
                    .arg("--redis-url")
                    .arg(&backends.redis)
                    .arg("--nats-url")
                    .arg(&backends.nats)
                    .arg("--public-url")
                    .arg(&endpoint);
            }
            let child = command
                // The edge logs each refused request at info, and the floor flow is made of
                // them: the line (about 0.07 ms of the edge's CPU here) is not part of what a
                // sign-in crosses. No successful request logs at info.
                .env(
                    "RUST_LOG",
                    std::env::var("RUST_LOG")
                        .unwrap_or_else(|_| "info,cognate_edge::aws=warn".to_owned()),
                )
                .env_remove("COGNATE_ACCESS_KEYS")
                .env_remove("COGNATE_CONFIG")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            topology.servers.push(Server {
                service,
                port,
                child,
                log,
            });
        }
        if let Err(error) = topology.wait_healthy(Duration::from_secs(90)).await {
            topology.stop().await;
            return Err(error);
        }
        Ok(topology)
    }

    async fn wait_healthy(&mut self, limit: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + limit;
        for server in &mut self.servers {
            loop {
                if let Some(status) = server.child.try_wait()? {
                    bail!(
                        "{} exited ({status}) before it was healthy:\n{}",
                        server.service,
                        tail(&server.log)
                    );
                }
                let url = format!("http://127.0.0.1:{}/health", server.port);
                if let Ok(response) = client.get(&url).send().await
                    && response.status().is_success()
                {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "{} not healthy after {limit:?}:\n{}",
                        server.service,
                        tail(&server.log)
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// The process ids, by service.
    pub fn pids(&self) -> Vec<(&'static str, u32)> {
        self.servers
            .iter()
            .filter_map(|server| server.child.id().map(|pid| (server.service, pid)))
            .collect()
    }

    /// Postgres backends serving this topology's database (they live as long as the pools).
    pub fn postgres_backends(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let needle = format!(" {} ", self.database);
        entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
                    .unwrap_or(false)
            })
            .collect()
    }

    /// Stops the processes and drops the database.
    pub async fn stop(&mut self) {
        for server in &mut self.servers {
            if let Some(pid) = server.child.id() {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status()
                    .await;
            }
        }
        for server in &mut self.servers {
            if tokio::time::timeout(Duration::from_secs(5), server.child.wait())
                .await
                .is_err()
            {
                let _ = server.child.kill().await;
            }
        }
        match sqlx::PgConnection::connect(&self.admin_url).await {
            Ok(mut admin) => {
                if let Err(error) = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.database
                )))
                .execute(&mut admin)
                .await
                {
                    eprintln!("cognate-bench: dropping {}: {error}", self.database);
                }
                admin.close().await.ok();
            }
            Err(error) => eprintln!("cognate-bench: dropping {}: {error}", self.database),
        }
    }
}

/// The last lines of a log, for errors.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// utime + stime of a process, in clock ticks (0 if it is gone).
pub fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name is in parentheses and may contain spaces; fields resume after the last ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// `getconf CLK_TCK`, normally 100.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}
