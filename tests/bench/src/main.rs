//! `cognate-bench`: starts Cognate in the topologies asked for (split: six `cognate`
//! processes; colocated: edge+auth+directory in one; embedded: one on SQLite), drives
//! USER_SRP_AUTH, USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH, AdminCreateUser and AdminGetUser
//! through the edge, and reports per flow throughput, latency, the servers' CPU time per request and, measured in
//! the same run, the crypto-only cost of the flow: the ratio says how much of the servers' CPU
//! is the unavoidable cryptography. The `floor` flow measures what every sign-in crosses without
//! its own work, and from it each sign-in flow's ceiling (see `tests/bench/README.md`).

mod api;
mod crypto;
mod flows;
mod scale;
mod topology;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

use crate::flows::{Fixture, Flow};
use crate::topology::{Backends, Layout, Topology, clock_ticks_per_second, cpu_ticks};

#[derive(Parser, Debug)]
#[command(name = "cognate-bench", about)]
pub(crate) struct Cli {
    /// The cognate binary [default: $CARGO_TARGET_DIR/release/cognate, else target/release/cognate].
    #[arg(long)]
    cognate_bin: Option<PathBuf>,
    /// Seconds each flow is driven.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Users created for the sign-in flows.
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Unmeasured seconds of each flow before its measurement.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// CPU seconds spent timing each flow's crypto-only cost.
    #[arg(long, default_value_t = 2.0)]
    crypto_seconds: f64,
    /// A check, not a measurement: 1 s per flow at concurrency 2, 4 users, short warm-up and
    /// crypto timing; fails if any flow has an error or no success.
    #[arg(long)]
    smoke: bool,
    /// Postgres server (without database); a scratch database is created and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres_url: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Keep the servers' logs (their directory is printed on stderr).
    #[arg(long)]
    keep_logs: bool,
    /// The topologies measured, one after another, each with its own report: embedded (one
    /// process, SQLite), colocated (edge, auth and directory in one process, the others
    /// apart), split (six processes); the last two on Postgres, Redis and NATS.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "split")]
    topology: Vec<Layout>,
    /// Only these flows (USER_SRP_AUTH, USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH, AdminCreateUser,
    /// AdminGetUser, floor).
    #[arg(long, value_delimiter = ',')]
    flows: Vec<String>,
    /// Instead of the flows, look-up latency at these pool sizes (e.g. 1000,1000000): each size
    /// gets its own topology and database, bulk-loaded, then they are measured in turn, round by
    /// round.
    #[arg(long, value_delimiter = ',')]
    scale: Vec<usize>,
    /// With --scale: measurement rounds per operation and size, pooled.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

/// What one flow's run measured.
struct Measurement {
    flow: Flow,
    ok: u64,
    errors: u64,
    first_errors: Vec<String>,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// Server CPU seconds by service.
    cpu_by_service: Vec<(&'static str, f64)>,
    /// CPU seconds of the Postgres backends of the bench database.
    postgres_cpu: f64,
    crypto_per_op: f64,
    crypto_iterations: u32,
}

impl Measurement {
    fn server_cpu(&self) -> f64 {
        self.cpu_by_service.iter().map(|(_, seconds)| seconds).sum()
    }

    fn per_op(&self, seconds: f64) -> f64 {
        if self.ok == 0 {
            f64::NAN
        } else {
            seconds / self.ok as f64
        }
    }

    fn percentile(&self, fraction: f64) -> f64 {
        percentile(&self.latencies, fraction)
    }
}

/// The `fraction` percentile of `sorted` latencies, in milliseconds (NaN for none).
fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * fraction).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

fn default_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("release").join("cognate")
}

/// Drives `operation` (given a sequence number) for `duration` with `concurrency` workers.
async fn drive<Operation, Outcome>(
    operation: Operation,
    concurrency: usize,
    duration: Duration,
) -> (u64, u64, Vec<String>, Vec<Duration>, Duration)
where
    Operation: Fn(usize) -> Outcome + Clone + Send + 'static,
    Outcome: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let sequence = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let operation = operation.clone();
        let sequence = sequence.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut first_errors = Vec::new();
            while Instant::now() < deadline {
                let number = sequence.fetch_add(1, Ordering::Relaxed);
                let begun = Instant::now();
                match operation(number).await {
                    Ok(()) => latencies.push(begun.elapsed()),
                    Err(error) => {
                        errors += 1;
                        if first_errors.len() < 3 {
                            first_errors.push(format!("{error:#}"));
                        }
                    }
                }
            }
            (latencies, errors, first_errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_errors = Vec::new();
    for worker in workers {
        match worker.await {
            Ok((mut worker_latencies, worker_errors, worker_first)) => {
                latencies.append(&mut worker_latencies);
                errors += worker_errors;
                for error in worker_first {
                    if first_errors.len() < 3 && !first_errors.contains(&error) {
                        first_errors.push(error);
                    }
                }
            }
            Err(error) => {
                errors += 1;
                first_errors.push(format!("worker failed: {error}"));
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    (
        latencies.len() as u64,
        errors,
        first_errors,
        latencies,
        elapsed,
    )
}

/// One operation of `flow` as [`drive`] runs it.
fn flow_operation(
    flow: Flow,
    edge: &api::Edge,
    fixture: &Arc<Fixture>,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
+ Clone
+ Send
+ 'static {
    let (edge, fixture) = (edge.clone(), fixture.clone());
    move |number| {
        let (edge, fixture) = (edge.clone(), fixture.clone());
        Box::pin(async move { flows::run_once(flow, &edge, &fixture, number).await })
    }
}

async fn measure(
    flow: Flow,
    cli: &Cli,
    topology: &Topology,
    edge: &api::Edge,
    fixture: &Arc<Fixture>,
    ticks_per_second: u64,
) -> anyhow::Result<Measurement> {
    if cli.warmup > 0.0 {
        drive(
            flow_operation(flow, edge, fixture),
            cli.concurrency,
            Duration::from_secs_f64(cli.warmup),
        )
        .await;
    }
    // In the same run, with the servers idle, half just before and half just after the load:
    // the flow's unavoidable cryptography.
    let (minimum, budget) = if cli.smoke {
        (4, Duration::from_millis(300))
    } else {
        (20, Duration::from_secs_f64(cli.crypto_seconds))
    };
    // The floor and AdminGetUser have no cryptography to time (a SigV4 check is a few HMACs).
    let time_crypto = || match flow {
        Flow::Floor | Flow::AdminGetUser => Ok((Vec::new(), 0)),
        _ => tokio::task::block_in_place(|| crypto::batches(flow, budget / 2, minimum / 2, 5)),
    };
    let (mut crypto_batches, mut crypto_iterations) = time_crypto()?;
    let pids = topology.pids();
    let before: Vec<u64> = pids.iter().map(|(_, pid)| cpu_ticks(*pid)).collect();
    let postgres_before: HashMap<u32, u64> = topology
        .postgres_backends()
        .into_iter()
        .map(|pid| (pid, cpu_ticks(pid)))
        .collect();
    let (ok, errors, first_errors, latencies, elapsed) = drive(
        flow_operation(flow, edge, fixture),
        cli.concurrency,
        Duration::from_secs_f64(cli.seconds),
    )
    .await;
    let ticks = ticks_per_second as f64;
    let cpu_by_service = pids
        .iter()
        .zip(before)
        .map(|((service, pid), before)| {
            (
                *service,
                cpu_ticks(*pid).saturating_sub(before) as f64 / ticks,
            )
        })
        .collect();
    let postgres_cpu = topology
        .postgres_backends()
        .into_iter()
        .map(|pid| {
            cpu_ticks(pid).saturating_sub(postgres_before.get(&pid).copied().unwrap_or(0)) as f64
                / ticks
        })
        .sum();
    let (after, iterations) = time_crypto()?;
    crypto_batches.extend(after);
    crypto_iterations += iterations;
    let crypto_per_op = crypto::median(crypto_batches);
    Ok(Measurement {
        flow,
        ok,
        errors,
        first_errors,
        elapsed,
        latencies,
        cpu_by_service,
        postgres_cpu,
        crypto_per_op,
        crypto_iterations,
    })
}

/// The commit the bench runs at (`git describe`), or "unknown" outside a checkout.
fn commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[allow(clippy::print_stdout)] // The report is the program's output.
fn report(
    cli: &Cli,
    layout: Layout,
    command: &str,
    results: &[Measurement],
    ticks_per_second: u64,
) {
    println!();
    println!("Command: `{command}`");
    println!();
    println!(
        "Topology: {}; {} cores; commit {}. {} s per flow, concurrency {}, {} users; server CPU = Δ(utime+stime) of the cognate processes from /proc/<pid>/stat (CLK_TCK {ticks_per_second}); crypto-only = single-thread CPU time in-process, median of 10 batches timed just before (5) and just after (5) each flow's load.",
        layout.describe(),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        commit(),
        cli.seconds,
        cli.concurrency,
        cli.users
    );
    println!();
    println!(
        "| flow | requests/s | p50 ms | p99 ms | server CPU ms/req | crypto-only ms/req | ratio | ceiling |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let floor = results
        .iter()
        .find(|result| result.flow == Flow::Floor)
        .map(|result| result.per_op(result.server_cpu()) * 1e3);
    // The floor has no crypto-only cost, ratio or ceiling.
    let figure = |value: f64, decimals: usize| {
        if value.is_finite() {
            format!("{value:.decimals$}")
        } else {
            "–".to_owned()
        }
    };
    for result in results {
        let server = result.per_op(result.server_cpu()) * 1e3;
        let crypto = result.crypto_per_op * 1e3;
        let calls = f64::from(result.flow.sign_in_calls());
        let ceiling = match floor {
            Some(floor) if calls > 0.0 => crypto / (crypto + calls * floor),
            _ => f64::NAN,
        };
        println!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.3} | {} | {} | {} |",
            result.flow.name(),
            result.ok as f64 / result.elapsed.as_secs_f64(),
            result.percentile(0.50),
            result.percentile(0.99),
            server,
            figure(crypto, 3),
            figure(crypto / server, 2),
            figure(ceiling, 2),
        );
    }
    println!();
    println!(
        "Server CPU by process, ms per request (and Postgres backends of the bench database, not in the total):"
    );
    println!();
    let services: Vec<&str> = results
        .first()
        .map(|result| {
            result
                .cpu_by_service
                .iter()
                .map(|(name, _)| *name)
                .collect()
        })
        .unwrap_or_default();
    println!("| flow | {} | postgres |", services.join(" | "));
    println!("|---|{}---:|", "---:|".repeat(services.len()));
    for result in results {
        let cells: Vec<String> = result
            .cpu_by_service
            .iter()
            .map(|(_, seconds)| format!("{:.3}", result.per_op(*seconds) * 1e3))
            .collect();
        println!(
            "| {} | {} | {:.3} |",
            result.flow.name(),
            cells.join(" | "),
            result.per_op(result.postgres_cpu) * 1e3
        );
    }
    println!();
    println!("| flow | successes | errors | elapsed s | crypto iterations |");
    println!("|---|---:|---:|---:|---:|");
    for result in results {
        println!(
            "| {} | {} | {} | {:.2} | {} |",
            result.flow.name(),
            result.ok,
            result.errors,
            result.elapsed.as_secs_f64(),
            result.crypto_iterations
        );
    }
    for result in results {
        for error in &result.first_errors {
            println!("- {} error: {error}", result.flow.name());
        }
    }
    println!();
    println!(
        "USER_SRP_AUTH counts a whole sign-in (InitiateAuth + RespondToAuthChallenge) as one request."
    );
    println!(
        "floor: an InitiateAuth the client refuses, edge → auth → directory (one query) and back, no cryptography, no writes. ceiling = crypto-only / (crypto-only + the floor's server CPU × the flow's calls to auth): the best ratio the flow could reach if its own work cost nothing beyond its cryptography (an upper bound: the floor runs at a higher request rate, where each call costs least)."
    );
}

/// CPU seconds per second the six processes spend with no requests (background work).
async fn idle_cpu(topology: &Topology, ticks_per_second: u64, seconds: f64) -> f64 {
    let pids = topology.pids();
    let before: u64 = pids.iter().map(|(_, pid)| cpu_ticks(*pid)).sum();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let after: u64 = pids.iter().map(|(_, pid)| cpu_ticks(*pid)).sum();
    after.saturating_sub(before) as f64 / ticks_per_second as f64 / started.elapsed().as_secs_f64()
}

#[allow(clippy::print_stdout)] // The report is the program's output.
fn report_idle(idle: f64) {
    println!(
        "Idle baseline before the flows: the processes used {:.1} ms of CPU per second with no requests (included in the figures above).",
        idle * 1e3
    );
}

async fn run(cli: &Cli, command: &str) -> anyhow::Result<()> {
    let flows: Vec<Flow> = if cli.flows.is_empty() {
        Flow::ALL.to_vec()
    } else {
        let mut chosen = Vec::new();
        for name in &cli.flows {
            let flow = Flow::ALL
                .into_iter()
                .find(|flow| flow.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| anyhow::anyhow!("unknown flow {name}"))?;
            chosen.push(flow);
        }
        chosen
    };
    let binary = cli.cognate_bin.clone().unwrap_or_else(default_binary);
    let backends = Backends {
        postgres: cli.postgres_url.clone(),
        redis: cli.redis_url.clone(),
        nats: cli.nats_url.clone(),
    };
    if !cli.scale.is_empty() {
        return scale::run(cli, command, &binary, &backends).await;
    }
    let ticks_per_second = clock_ticks_per_second();
    let mut failed_flows = Vec::new();
    for &layout in &cli.topology {
        let (results, idle) =
            run_topology(cli, layout, &flows, &binary, &backends, ticks_per_second).await?;
        report(cli, layout, command, &results, ticks_per_second);
        report_idle(idle);
        failed_flows.extend(
            results
                .iter()
                .filter(|result| result.errors > 0 || result.ok == 0)
                .map(|result| format!("{} in {layout:?}", result.flow.name())),
        );
    }
    // A smoke run is a check: every flow must complete without an error.
    if cli.smoke && !failed_flows.is_empty() {
        anyhow::bail!(
            "flows with errors or no successes: {}",
            failed_flows.join(", ")
        );
    }
    Ok(())
}

/// Starts `layout`, measures `flows` on it and stops it.
async fn run_topology(
    cli: &Cli,
    layout: Layout,
    flows: &[Flow],
    binary: &std::path::Path,
    backends: &Backends,
    ticks_per_second: u64,
) -> anyhow::Result<(Vec<Measurement>, f64)> {
    eprintln!(
        "cognate-bench: starting {} of {}",
        layout.describe(),
        binary.display()
    );
    let mut topology = Topology::start(binary, backends, layout).await?;
    eprintln!(
        "cognate-bench: edge at {}, logs in {}",
        topology.endpoint,
        topology.log_dir.display()
    );
    let outcome = async {
        let edge = api::Edge::new(&topology.endpoint, cli.concurrency)?;
        eprintln!(
            "cognate-bench: creating a pool, a client and {} users",
            cli.users
        );
        let fixture = Arc::new(flows::setup(&edge, cli.users).await?);
        let idle = idle_cpu(
            &topology,
            ticks_per_second,
            if cli.smoke { 1.0 } else { 3.0 },
        )
        .await;
        let mut results = Vec::new();
        for &flow in flows {
            eprintln!("cognate-bench: {}", flow.name());
            results.push(measure(flow, cli, &topology, &edge, &fixture, ticks_per_second).await?);
        }
        anyhow::Ok((results, idle))
    }
    .await;
    topology.stop().await;
    if !cli.keep_logs {
        let _ = std::fs::remove_dir_all(&topology.log_dir);
    }
    outcome
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    if cli.smoke {
        cli.seconds = 1.0;
        cli.concurrency = 2;
        cli.users = cli.users.min(4);
        cli.warmup = cli.warmup.min(0.3);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    match run(&cli, &command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cognate-bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
