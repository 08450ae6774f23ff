//! `--scale`: the latency of user look-ups as a pool grows. Each size gets its own topology and
//! database with one pool (email as a verified alias): a few users through the API, then the
//! directory's bulk loader fills it to its size. AdminGetUser (by username and by email),
//! USER_PASSWORD_AUTH and a prefix-filtered ListUsers page are driven on each size in turn,
//! round by round, and their percentiles reported side by side.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use cognate_common::config::Secret;
use cognate_common::{Config, ServiceKind};
use cognate_directory::{Directory, User};

use crate::api::{Edge, text};
use crate::flows::PASSWORD;
use crate::percentile;
use crate::topology::{Backends, Layout, Topology};

/// Filler users handed to the bulk loader per call.
const FILL_CHUNK: usize = 20_000;

#[derive(Debug, Clone, Copy)]
enum Operation {
    GetByUsername,
    GetByEmail,
    PasswordSignIn,
    ListByEmailPrefix,
}

impl Operation {
    const ALL: [Operation; 4] = [
        Operation::GetByUsername,
        Operation::GetByEmail,
        Operation::PasswordSignIn,
        Operation::ListByEmailPrefix,
    ];

    fn name(self) -> &'static str {
        match self {
            Operation::GetByUsername => "AdminGetUser by username",
            Operation::GetByEmail => "AdminGetUser by email alias",
            Operation::PasswordSignIn => "USER_PASSWORD_AUTH",
            Operation::ListByEmailPrefix => "ListUsers email ^= \"fill-0\", Limit 60",
        }
    }
}

struct ScaleFixture {
    pool_id: String,
    client_id: String,
    users: usize,
}

fn measured_username(index: usize) -> String {
    format!("scale{index:05}")
}

fn measured_email(index: usize) -> String {
    format!("scale-{index:05}@bench.example")
}

async fn setup(edge: &Edge, users: usize) -> anyhow::Result<ScaleFixture> {
    let pool = edge
        .call(
            "CreateUserPool",
            &json!({"PoolName": "bench-scale", "AliasAttributes": ["email"]}),
            true,
        )
        .await?;
    let pool_id = text(&pool, "/UserPool/Id")?.to_owned();
    let client = edge
        .call(
            "CreateUserPoolClient",
            &json!({
                "UserPoolId": pool_id,
                "ClientName": "bench-scale",
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            }),
            true,
        )
        .await?;
    let client_id = text(&client, "/UserPoolClient/ClientId")?.to_owned();
    for index in 0..users {
        edge.call(
            "AdminCreateUser",
            &json!({
                "UserPoolId": pool_id,
                "Username": measured_username(index),
                "TemporaryPassword": PASSWORD,
                "MessageAction": "SUPPRESS",
                "UserAttributes": [
                    {"Name": "email", "Value": measured_email(index)},
                    {"Name": "email_verified", "Value": "true"},
                ],
            }),
            true,
        )
        .await?;
        edge.call(
            "AdminSetUserPassword",
            &json!({
                "UserPoolId": pool_id,
                "Username": measured_username(index),
                "Password": PASSWORD,
                "Permanent": true,
            }),
            true,
        )
        .await?;
    }
    Ok(ScaleFixture {
        pool_id,
        client_id,
        users,
    })
}

/// A directory on the bench database, for its bulk loader.
async fn bulk_loader(topology: &Topology) -> anyhow::Result<Directory> {
    let config = Config {
        database_url: Some(Secret::new(topology.database_url.clone())),
        ..Config::default()
    };
    let db = cognate_common::store::connect(&config, ServiceKind::Directory).await?;
    // The loader writes users and their attributes, no sealed secret: a key of its own serves.
    let key = cognate_common::sealing::MasterKey::generate()?;
    Ok(Directory::new(
        db,
        Arc::new(cognate_common::clock::SystemClock),
        Arc::new(config),
        cognate_common::sealing::Sealer::new(&key, &[])?,
    ))
}

/// After a fill, what a database settles into before it is measured: the new rows vacuumed (so
/// autovacuum doesn't run during the measurement, and index-only scans see visible pages) and
/// the dirty pages written out by a checkpoint.
async fn settle(topology: &Topology) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&topology.database_url).await?;
    for statement in [
        "VACUUM (ANALYZE) directory.users, directory.user_aliases, directory.user_attribute_index",
        "CHECKPOINT",
    ] {
        sqlx::query(statement).execute(&mut connection).await?;
    }
    connection.close().await?;
    Ok(())
}

/// Filler users `from..to`: a verified email each, no password.
fn fillers(from: usize, to: usize) -> Vec<User> {
    (from..to)
        .map(|number| {
            let sub = uuid::Uuid::new_v4().to_string();
            User {
                username: format!("fill{number:08}"),
                attributes: vec![
                    json!({"Name": "sub", "Value": sub}),
                    json!({"Name": "email", "Value": format!("fill-{number:08}@bench.example")}),
                    json!({"Name": "email_verified", "Value": "true"}),
                ],
                sub,
                status: "CONFIRMED".into(),
                enabled: true,
                password_hash: String::new(),
                created_at: 0,
                updated_at: 0,
            }
        })
        .collect()
}

async fn run_once(
    operation: Operation,
    edge: &Edge,
    fixture: &ScaleFixture,
    number: usize,
) -> anyhow::Result<()> {
    let index = number % fixture.users.max(1);
    match operation {
        Operation::GetByUsername | Operation::GetByEmail => {
            let name = match operation {
                Operation::GetByUsername => measured_username(index),
                _ => measured_email(index),
            };
            let user = edge
                .call(
                    "AdminGetUser",
                    &json!({"UserPoolId": fixture.pool_id, "Username": name}),
                    true,
                )
                .await?;
            anyhow::ensure!(text(&user, "/Username")? == measured_username(index));
        }
        Operation::PasswordSignIn => {
            let answer = edge
                .call(
                    "InitiateAuth",
                    &json!({
                        "AuthFlow": "USER_PASSWORD_AUTH",
                        "ClientId": fixture.client_id,
                        "AuthParameters": {"USERNAME": measured_username(index), "PASSWORD": PASSWORD},
                    }),
                    false,
                )
                .await?;
            text(&answer, "/AuthenticationResult/AccessToken")?;
        }
        Operation::ListByEmailPrefix => {
            let page = edge
                .call(
                    "ListUsers",
                    &json!({
                        "UserPoolId": fixture.pool_id,
                        "Filter": "email ^= \"fill-0\"",
                        "Limit": 60,
                    }),
                    true,
                )
                .await?;
            let listed = page["Users"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(listed == 60, "a page of {listed} users");
        }
    }
    Ok(())
}

/// What one size measured: per operation, its sorted latencies and errors.
struct AtSize {
    size: usize,
    fill_seconds: f64,
    by_operation: Vec<(Vec<Duration>, u64, Vec<String>)>,
}

/// One size's topology and pool.
struct Sized {
    topology: Topology,
    edge: Edge,
    fixture: Arc<ScaleFixture>,
}

pub async fn run(
    cli: &crate::Cli,
    command: &str,
    binary: &Path,
    backends: &Backends,
) -> anyhow::Result<()> {
    let mut sizes = cli.scale.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let mut started = Vec::new();
    let outcome = measure_sizes(cli, &sizes, binary, backends, &mut started).await;
    for sized in &mut started {
        sized.topology.stop().await;
    }
    report(cli, command, &outcome?);
    Ok(())
}

/// Starts a topology per size (kept in `started`, for the caller to stop), fills each pool,
/// then measures every operation on each size in turn.
async fn measure_sizes(
    cli: &crate::Cli,
    sizes: &[usize],
    binary: &Path,
    backends: &Backends,
    started: &mut Vec<Sized>,
) -> anyhow::Result<Vec<AtSize>> {
    let mut results = Vec::new();
    for &size in sizes {
        let mut topology = Topology::start(binary, backends, Layout::Split).await?;
        eprintln!(
            "cognate-bench: a topology for {size} users, edge at {}, logs in {}",
            topology.endpoint,
            topology.log_dir.display()
        );
        let prepared = async {
            let edge = Edge::new(&topology.endpoint, cli.concurrency)?;
            let fixture = Arc::new(setup(&edge, cli.users).await?);
            let loader = bulk_loader(&topology).await?;
            anyhow::Ok((edge, fixture, loader))
        }
        .await;
        let (edge, fixture, loader) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                topology.stop().await;
                return Err(error);
            }
        };
        started.push(Sized {
            topology,
            edge,
            fixture: fixture.clone(),
        });
        let wanted = size.saturating_sub(fixture.users);
        let fill_started = Instant::now();
        let mut filled = 0;
        while filled < wanted {
            let to = (filled + FILL_CHUNK).min(wanted);
            loader
                .insert_users_in_bulk(&fixture.pool_id, &fillers(filled, to))
                .await
                .map_err(|error| anyhow::anyhow!("bulk loading users: {error:?}"))?;
            filled = to;
        }
        let fill_seconds = fill_started.elapsed().as_secs_f64();
        eprintln!("cognate-bench: {size} users in the pool (filled in {fill_seconds:.1} s)");
        results.push(AtSize {
            size,
            fill_seconds,
            by_operation: Operation::ALL
                .iter()
                .map(|_| (Vec::new(), 0, Vec::new()))
                .collect(),
        });
    }
    for sized in started.iter() {
        settle(&sized.topology).await?;
    }
    // Each round measures every size in turn, so a drift in the machine's speed during the run
    // weighs on all sizes alike.
    for (position, &operation) in Operation::ALL.iter().enumerate() {
        let make = |sized: &Sized| {
            let (edge, fixture) = (sized.edge.clone(), sized.fixture.clone());
            move |number: usize| {
                let (edge, fixture) = (edge.clone(), fixture.clone());
                async move { run_once(operation, &edge, &fixture, number).await }
            }
        };
        for sized in started.iter() {
            crate::drive(
                make(sized),
                cli.concurrency,
                Duration::from_secs_f64(cli.warmup),
            )
            .await;
        }
        for _ in 0..cli.rounds.max(1) {
            for (sized, result) in started.iter().zip(&mut results) {
                let (_, errors, first_errors, mut latencies, _) = crate::drive(
                    make(sized),
                    cli.concurrency,
                    Duration::from_secs_f64(cli.seconds),
                )
                .await;
                let measured = &mut result.by_operation[position];
                measured.0.append(&mut latencies);
                measured.1 += errors;
                measured.2.extend(first_errors);
            }
        }
        for result in &mut results {
            result.by_operation[position].0.sort_unstable();
        }
    }
    Ok(results)
}

#[allow(clippy::print_stdout)] // The report is the program's output.
fn report(cli: &crate::Cli, command: &str, results: &[AtSize]) {
    println!();
    println!("Command: `{command}`");
    println!();
    println!(
        "{} round(s) of {} s per operation and size (the sizes measured in turn each round), concurrency {}; a topology and database per size, {} users made through the API, the rest bulk-loaded (each with a verified email alias).",
        cli.rounds, cli.seconds, cli.concurrency, cli.users
    );
    println!();
    let (Some(first), Some(last)) = (results.first(), results.last()) else {
        return;
    };
    let mut header = String::from("| operation |");
    for result in results {
        header.push_str(&format!(" p50 ms @{0} | p99 ms @{0} |", result.size));
    }
    header.push_str(&format!(
        " p50 ratio {}/{} | p99 ratio |",
        last.size, first.size
    ));
    println!("{header}");
    println!("|---|{}---:|---:|", "---:|---:|".repeat(results.len()));
    for (position, operation) in Operation::ALL.iter().enumerate() {
        let mut row = format!("| {} |", operation.name());
        for result in results {
            let latencies = &result.by_operation[position].0;
            row.push_str(&format!(
                " {:.2} | {:.2} |",
                percentile(latencies, 0.50),
                percentile(latencies, 0.99)
            ));
        }
        let ratio = |fraction: f64| {
            percentile(&last.by_operation[position].0, fraction)
                / percentile(&first.by_operation[position].0, fraction)
        };
        row.push_str(&format!(" {:.2} | {:.2} |", ratio(0.50), ratio(0.99)));
        println!("{row}");
    }
    println!();
    for result in results {
        let requests: usize = result
            .by_operation
            .iter()
            .map(|(latencies, _, _)| latencies.len())
            .sum();
        let errors: u64 = result
            .by_operation
            .iter()
            .map(|(_, errors, _)| errors)
            .sum();
        println!(
            "- {} users: bulk fill {:.1} s, {requests} requests measured, {errors} errors",
            result.size, result.fill_seconds
        );
        for (_, _, first_errors) in &result.by_operation {
            for error in first_errors.iter().take(3) {
                println!("  - error: {error}");
            }
        }
    }
}
