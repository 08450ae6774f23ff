//! `cognate`: run any subset of Cognate's services (`cognate` alone runs them all on SQLite),
//! migrate their stores, or check a running node's health.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use cognate_common::config::{AccessKey, ConfigError, MetricsListen, Secret};
use cognate_common::sealing::Sealer;
use cognate_common::{Config, ServiceKind};

#[derive(Parser, Debug)]
#[command(
    name = "cognate",
    version,
    about = "A self-hosted identity service that speaks Amazon Cognito's protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run services (the default).
    Run(Options),
    /// Bring the stores' schemas up to date and exit.
    Migrate(Options),
    /// Exit 0 if the node at --listen answers /health.
    Healthcheck(Options),
    /// Write a user pool (configuration, users, groups, passwords, MFA) to a JSON-lines file.
    Export(ExportArgs),
    /// Read a file written by `cognate export` into this installation.
    Import(ImportArgs),
    /// Re-seal every stored secret with the current master key (after a rotation, or to seal
    /// secrets stored before sealing); safe while the services run.
    Rewrap(Options),
}

#[derive(Args, Debug)]
struct ExportArgs {
    #[arg(long)]
    pool_id: String,
    /// The file to write.
    #[arg(short = 'o', long)]
    output: PathBuf,
    #[command(flatten)]
    options: Options,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// A file written by `cognate export`.
    file: PathBuf,
    #[command(flatten)]
    options: Options,
}

/// What `main` was asked to do, once its options are merged.
enum Action {
    Run,
    Migrate,
    Healthcheck,
    Export { pool_id: String, output: PathBuf },
    Import { file: PathBuf },
    Rewrap,
}

/// Flags and their `COGNATE_*` variables; each overrides the config file.
#[derive(Args, Debug, Clone, Default)]
struct Options {
    /// A TOML configuration file.
    #[arg(long, env = "COGNATE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[arg(long, env = "COGNATE_LISTEN", global = true)]
    listen: Option<SocketAddr>,
    #[arg(long, env = "COGNATE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[arg(
        long,
        env = "COGNATE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    #[arg(long, env = "COGNATE_REDIS_URL", global = true, hide_env_values = true)]
    redis_url: Option<String>,
    #[arg(long, env = "COGNATE_NATS_URL", global = true, hide_env_values = true)]
    nats_url: Option<String>,
    #[arg(long, env = "COGNATE_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    #[arg(long, env = "COGNATE_REGION", global = true)]
    region: Option<String>,
    #[arg(long, env = "COGNATE_ACCOUNT_ID", global = true)]
    account_id: Option<String>,
    /// `ACCESS_KEY_ID:SECRET,...`: keys that may sign management and Admin* requests.
    #[arg(
        long,
        env = "COGNATE_ACCESS_KEYS",
        global = true,
        value_delimiter = ',',
        hide_env_values = true
    )]
    access_keys: Option<Vec<AccessKey>>,
    /// Services to run: edge, directory, auth, triggers, federation, identity-pools.
    #[arg(long, env = "COGNATE_SERVICES", global = true, value_delimiter = ',')]
    services: Option<Vec<ServiceKind>>,
    /// Where the services this process doesn't run are: `service=url[|url],...`.
    #[arg(long, env = "COGNATE_PEERS", global = true, value_delimiter = ',')]
    peers: Option<Vec<String>>,
    #[arg(long, env = "COGNATE_TRIGGER_SUBJECT_PREFIX", global = true)]
    trigger_subject_prefix: Option<String>,
    /// Seconds in-flight requests may take after SIGTERM.
    #[arg(long, env = "COGNATE_SHUTDOWN_GRACE", global = true)]
    shutdown_grace: Option<u64>,
    /// `smtp://user:password@host:587` or `smtps://...`: where emails go.
    #[arg(long, env = "COGNATE_SMTP_URL", global = true, hide_env_values = true)]
    smtp_url: Option<String>,
    /// A PEM CA certificate trusted for the SMTP server (a private CA).
    #[arg(long, env = "COGNATE_SMTP_CA_FILE", global = true)]
    smtp_ca_file: Option<PathBuf>,
    /// The sender address of emails when a pool names none.
    #[arg(long, env = "COGNATE_EMAIL_FROM", global = true)]
    email_from: Option<String>,
    /// `nats:<subject>` or an `http(s)://` webhook: where SMS messages go.
    #[arg(long, env = "COGNATE_SMS_SENDER", global = true)]
    sms_sender: Option<String>,
    /// `KMSKeyID=base64 AES-256 key,...`: keys for the custom sender triggers.
    #[arg(
        long,
        env = "COGNATE_SENDER_KEYS",
        global = true,
        value_delimiter = ',',
        hide_env_values = true
    )]
    sender_keys: Option<Vec<String>>,
    /// A Have I Been Pwned SHA-1 file (sorted by hash) of breached passwords.
    #[arg(long, env = "COGNATE_BREACHED_PASSWORDS_FILE", global = true)]
    breached_passwords_file: Option<PathBuf>,
    /// Days each signing key signs before it is replaced (0: never).
    #[arg(long, env = "COGNATE_SIGNING_KEY_ROTATION_DAYS", global = true)]
    signing_key_rotation_days: Option<u32>,
    /// Password and SRP computations run at once (0: twice the cores).
    #[arg(long, env = "COGNATE_PASSWORD_CHECK_CONCURRENCY", global = true)]
    password_check_concurrency: Option<usize>,
    /// Milliseconds a sign-in waits for a free computation before TooManyRequestsException.
    #[arg(long, env = "COGNATE_PASSWORD_CHECK_WAIT_MS", global = true)]
    password_check_wait_ms: Option<u64>,
    /// Where /metrics is served: `off`, or an address of its own (default: the main port).
    #[arg(long, env = "COGNATE_METRICS_LISTEN", global = true)]
    metrics_listen: Option<MetricsListen>,
    /// Codes of one purpose one user may be sent an hour.
    #[arg(long, env = "COGNATE_CODE_SENDS_PER_HOUR", global = true)]
    code_sends_per_hour: Option<u32>,
    /// Code requests (SignUp, ForgotPassword, ...) one address may make a minute (0: no limit).
    #[arg(
        long,
        env = "COGNATE_CODE_REQUESTS_PER_ADDRESS_PER_MINUTE",
        global = true
    )]
    code_requests_per_address_per_minute: Option<u32>,
    /// Proxies in front of the edge (addresses or networks, comma-separated) whose
    /// X-Forwarded-For names the client that the per-address limit counts.
    #[arg(
        long,
        env = "COGNATE_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ',',
        value_parser = cognate_common::config::parse_network
    )]
    trusted_proxies: Option<Vec<ipnet::IpNet>>,
    /// Development mode: without access keys any signature is accepted, and /_dev/outbox
    /// shows the messages sent.
    #[arg(long, env = "COGNATE_DEV", global = true)]
    dev: bool,
    /// A file holding the secret every process shares for internal gRPC (the peer token).
    #[arg(long, env = "COGNATE_PEER_TOKEN_FILE", global = true)]
    peer_token_file: Option<PathBuf>,
    /// The peer token itself. Hidden: a value on a command line shows in `ps`, so the
    /// documented ways are this variable and the file.
    #[arg(
        long,
        env = "COGNATE_PEER_TOKEN",
        global = true,
        hide = true,
        hide_env_values = true
    )]
    peer_token: Option<String>,
    /// The master key secrets are sealed with at rest: 32 random bytes, base64.
    #[arg(
        long,
        env = "COGNATE_MASTER_KEY",
        global = true,
        hide_env_values = true
    )]
    master_key: Option<String>,
    /// Master keys values may still be sealed with (read, never sealed with): base64, `,`-separated.
    #[arg(
        long,
        env = "COGNATE_PREVIOUS_MASTER_KEYS",
        global = true,
        value_delimiter = ',',
        hide_env_values = true
    )]
    previous_master_keys: Option<Vec<String>>,
    /// A file of base64 master keys, one a line: the first seals, the others are previous keys.
    #[arg(long, env = "COGNATE_MASTER_KEY_FILE", global = true)]
    master_key_file: Option<PathBuf>,
}

impl Options {
    /// Defaults, then the file, then these flags and variables.
    fn into_config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(data_dir) = self.data_dir {
            config.data_dir = data_dir;
        }
        if let Some(url) = self.database_url {
            config.database_url = Some(Secret::new(url));
        }
        if let Some(url) = self.redis_url {
            config.redis_url = Some(Secret::new(url));
        }
        if let Some(url) = self.nats_url {
            config.nats_url = Some(Secret::new(url));
        }
        config.public_url = self.public_url.or(config.public_url);
        if let Some(region) = self.region {
            config.region = region;
        }
        if let Some(account_id) = self.account_id {
            config.account_id = account_id;
        }
        if let Some(keys) = self.access_keys {
            config.access_keys = keys;
        }
        if let Some(services) = self.services {
            config.services = services;
        }
        if let Some(peers) = self.peers {
            config.peers = parse_peers(&peers)?;
        }
        if let Some(prefix) = self.trigger_subject_prefix {
            config.trigger_subject_prefix = prefix;
        }
        if let Some(seconds) = self.shutdown_grace {
            config.shutdown_grace = std::time::Duration::from_secs(seconds);
        }
        if let Some(url) = self.smtp_url {
            config.smtp_url = Some(Secret::new(url));
        }
        config.smtp_ca_file = self.smtp_ca_file.or(config.smtp_ca_file);
        if let Some(from) = self.email_from {
            config.email_from = from;
        }
        config.sms_sender = self.sms_sender.or(config.sms_sender);
        if let Some(keys) = self.sender_keys {
            config.sender_keys = parse_sender_keys(&keys)?;
        }
        config.breached_passwords_file = self
            .breached_passwords_file
            .or(config.breached_passwords_file);
        if let Some(days) = self.signing_key_rotation_days {
            config.signing_key_rotation_days = days;
        }
        if let Some(concurrency) = self.password_check_concurrency {
            config.password_check_concurrency = concurrency;
        }
        if let Some(millis) = self.password_check_wait_ms {
            config.password_check_wait = std::time::Duration::from_millis(millis);
        }
        if let Some(metrics_listen) = self.metrics_listen {
            config.metrics_listen = metrics_listen;
        }
        if let Some(sends) = self.code_sends_per_hour {
            config.code_sends_per_hour = sends;
        }
        if let Some(requests) = self.code_requests_per_address_per_minute {
            config.code_requests_per_address_per_minute = requests;
        }
        if let Some(proxies) = self.trusted_proxies {
            config.trusted_proxies = proxies;
        }
        config.dev |= self.dev;
        config.peer_token_file = self.peer_token_file.or(config.peer_token_file);
        if let Some(token) = self.peer_token {
            config.peer_token = Some(Secret::new(token));
        }
        config.load_peer_token()?;
        if let Some(key) = self.master_key {
            config.master_key = Some(Secret::new(key));
        }
        if let Some(keys) = self.previous_master_keys {
            config.previous_master_keys = keys.into_iter().map(Secret::new).collect();
        }
        config.master_key_file = self.master_key_file.or(config.master_key_file);
        Ok(config)
    }

    /// Flags given after a subcommand win over those before it.
    fn or(self, outer: Options) -> Options {
        Options {
            config: self.config.or(outer.config),
            listen: self.listen.or(outer.listen),
            data_dir: self.data_dir.or(outer.data_dir),
            database_url: self.database_url.or(outer.database_url),
            redis_url: self.redis_url.or(outer.redis_url),
            nats_url: self.nats_url.or(outer.nats_url),
            public_url: self.public_url.or(outer.public_url),
            region: self.region.or(outer.region),
            account_id: self.account_id.or(outer.account_id),
            access_keys: self.access_keys.or(outer.access_keys),
            services: self.services.or(outer.services),
            peers: self.peers.or(outer.peers),
            trigger_subject_prefix: self.trigger_subject_prefix.or(outer.trigger_subject_prefix),
            shutdown_grace: self.shutdown_grace.or(outer.shutdown_grace),
            smtp_url: self.smtp_url.or(outer.smtp_url),
            smtp_ca_file: self.smtp_ca_file.or(outer.smtp_ca_file),
            email_from: self.email_from.or(outer.email_from),
            sms_sender: self.sms_sender.or(outer.sms_sender),
            sender_keys: self.sender_keys.or(outer.sender_keys),
            breached_passwords_file: self
                .breached_passwords_file
                .or(outer.breached_passwords_file),
            signing_key_rotation_days: self
                .signing_key_rotation_days
                .or(outer.signing_key_rotation_days),
            password_check_concurrency: self
                .password_check_concurrency
                .or(outer.password_check_concurrency),
            password_check_wait_ms: self.password_check_wait_ms.or(outer.password_check_wait_ms),
            metrics_listen: self.metrics_listen.or(outer.metrics_listen),
            code_sends_per_hour: self.code_sends_per_hour.or(outer.code_sends_per_hour),
            code_requests_per_address_per_minute: self
                .code_requests_per_address_per_minute
                .or(outer.code_requests_per_address_per_minute),
            trusted_proxies: self.trusted_proxies.or(outer.trusted_proxies),
            dev: self.dev || outer.dev,
            peer_token_file: self.peer_token_file.or(outer.peer_token_file),
            peer_token: self.peer_token.or(outer.peer_token),
            master_key: self.master_key.or(outer.master_key),
            previous_master_keys: self.previous_master_keys.or(outer.previous_master_keys),
            master_key_file: self.master_key_file.or(outer.master_key_file),
        }
    }
}

fn parse_peers(entries: &[String]) -> anyhow::Result<BTreeMap<ServiceKind, Vec<String>>> {
    let mut peers = BTreeMap::new();
    for entry in entries {
        let (service, urls) = entry
            .split_once('=')
            .with_context(|| format!("a peer is written service=url[|url]; got `{entry}`"))?;
        let kind: ServiceKind = service.parse().map_err(anyhow::Error::msg)?;
        peers.insert(kind, urls.split('|').map(str::to_owned).collect());
    }
    Ok(peers)
}

fn parse_sender_keys(entries: &[String]) -> anyhow::Result<BTreeMap<String, Secret>> {
    entries
        .iter()
        .map(|entry| {
            let (key_id, key) = entry
                .split_once('=')
                .context("a sender key is written KMSKeyID=base64 key")?;
            Ok((key_id.to_owned(), Secret::new(key)))
        })
        .collect()
}

async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let mut address = config.listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let response = reqwest::Client::builder()
        .timeout(cognate::HEALTHCHECK_TIMEOUT)
        .build()?
        .get(format!("http://{address}/health"))
        .send()
        .await
        .with_context(|| format!("no answer from {address}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "{address} answered {}",
        response.status()
    );
    Ok(())
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[allow(clippy::print_stdout)] // Announcing the endpoint is the binary's job.
async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let services: Vec<&str> = config.services.iter().map(|kind| kind.as_str()).collect();
    let edge = config.runs(ServiceKind::Edge);
    let dev_signatures = edge && config.accepts_any_signature();
    let locked = edge && !config.dev && config.access_keys.is_empty();
    let listen = config.listen;
    let mut node = cognate::start(config, listener).await?;
    println!(
        "cognate listening on http://{} (services: {})",
        node.address(),
        services.join(", ")
    );
    if dev_signatures {
        println!(
            "development mode: no access keys are configured, so any well-formed SigV4 signature is accepted"
        );
        if !listen.ip().is_loopback() {
            println!(
                "warning: development mode on {listen}, which is not a loopback address: anyone who can reach it may call admin operations"
            );
        }
    }
    if locked {
        println!(
            "no access keys are configured: management and Admin* calls are refused; set COGNATE_ACCESS_KEYS=ID:SECRET, or pass --dev for local development"
        );
    }
    tokio::select! {
        outcome = node.wait() => return outcome,
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down: draining in-flight requests");
    node.request_stop();
    node.wait().await
}

async fn export(config: &Config, pool_id: &str, output: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let started = std::time::Instant::now();
    let users = cognate::transfer::export(config, pool_id, &mut writer).await?;
    eprintln!(
        "cognate: exported user pool {pool_id} with {users} users to {} in {:.1} s",
        output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn import(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let started = std::time::Instant::now();
    let summary = cognate::transfer::import(config, reader).await?;
    for rejection in &summary.rejected {
        eprintln!("cognate: rejected {rejection}");
    }
    eprintln!(
        "cognate: imported user pool {} with {} users in {:.1} s",
        summary.user_pool_id,
        summary.imported,
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(
        summary.rejected.is_empty(),
        "{} users were rejected",
        summary.rejected.len()
    );
    Ok(())
}

async fn rewrap(config: &Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let rewrapped = cognate::rewrap(config).await?;
    eprintln!(
        "cognate: re-sealed {} rows with master key {} in {:.1} s; every stored secret is sealed with it now",
        rewrapped.rows,
        rewrapped.key_id,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = match cognate_common::telemetry::init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("cognate: telemetry: {error:#}");
            return ExitCode::from(1);
        }
    };
    let (action, options) = match cli.command {
        None => (Action::Run, cli.options),
        Some(Command::Run(options)) => (Action::Run, options.or(cli.options)),
        Some(Command::Migrate(options)) => (Action::Migrate, options.or(cli.options)),
        Some(Command::Healthcheck(options)) => (Action::Healthcheck, options.or(cli.options)),
        Some(Command::Export(args)) => (
            Action::Export {
                pool_id: args.pool_id,
                output: args.output,
            },
            args.options.or(cli.options),
        ),
        Some(Command::Import(args)) => (
            Action::Import { file: args.file },
            args.options.or(cli.options),
        ),
        Some(Command::Rewrap(options)) => (Action::Rewrap, options.or(cli.options)),
    };
    let needs_sealer = match action {
        Action::Run => None,
        Action::Import { .. } | Action::Rewrap => Some(true),
        Action::Migrate | Action::Healthcheck | Action::Export { .. } => Some(false),
    };
    let config = match options.into_config().and_then(|config| {
        match config.validate() {
            // Health checks, migrations and exports open no sealed value: no key needed.
            Err(ConfigError::MasterKeyRequired) if needs_sealer == Some(false) => {}
            checked => checked?,
        }
        // The key file is read (and development mode's key made) before anything starts, so
        // an unreadable key is a configuration error like any other.
        if needs_sealer.unwrap_or_else(|| config.seals_secrets()) {
            Sealer::from_config(&config)?;
        }
        Ok(config)
    }) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("cognate: configuration: {error:#}");
            // EX_CONFIG: nothing was started.
            return ExitCode::from(64);
        }
    };
    let outcome = match action {
        Action::Migrate => cognate::migrate(&config).await,
        Action::Healthcheck => healthcheck(&config).await,
        Action::Export { pool_id, output } => export(&config, &pool_id, &output).await,
        Action::Import { file } => import(&config, &file).await,
        Action::Rewrap => rewrap(&config).await,
        Action::Run => run(config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cognate: {error:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_peers_parse() {
        let cli = Cli::try_parse_from([
            "cognate",
            "run",
            "--services",
            "edge,auth",
            "--peers",
            "directory=http://a:1|http://b:1,triggers=http://c:1",
            "--listen",
            "127.0.0.1:0",
        ])
        .expect("parses");
        let Some(Command::Run(options)) = cli.command else {
            panic!("run");
        };
        let config = options.into_config().expect("valid");
        assert_eq!(config.services, vec![ServiceKind::Edge, ServiceKind::Auth]);
        assert_eq!(config.peers[&ServiceKind::Directory].len(), 2);
        assert_eq!(
            config.validate().err().map(|error| error.to_string()),
            Some(
                "service federation is needed by edge but neither runs here nor has a peer address"
                    .to_owned()
            )
        );
        assert!(parse_peers(&["nonsense".into()]).is_err());
    }

    #[test]
    fn a_service_port_on_a_reachable_address_refuses_to_start_without_a_peer_token() {
        let arguments = [
            "cognate",
            "run",
            "--services",
            "identity-pools",
            "--listen",
            "0.0.0.0:9229",
        ];
        let Some(Command::Run(options)) = Cli::try_parse_from(arguments).expect("parses").command
        else {
            panic!("run");
        };
        let config = options.into_config().expect("read");
        assert_eq!(
            config.validate().err().map(|error| error.to_string()),
            Some(
                "this process serves internal gRPC on 0.0.0.0:9229, which is not a loopback address, without a peer token; set COGNATE_PEER_TOKEN_FILE (or COGNATE_PEER_TOKEN) to the secret every process shares"
                    .to_owned()
            )
        );
    }

    #[test]
    fn master_keys_come_from_flags_after_the_subcommand_first() {
        let key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
        let cli = Cli::try_parse_from([
            "cognate",
            "--master-key-file",
            "/outer",
            "rewrap",
            "--master-key-file",
            "/run/secrets/master",
            "--previous-master-keys",
            &format!("{key},{key}"),
        ])
        .expect("parses");
        let Some(Command::Rewrap(options)) = cli.command else {
            panic!("rewrap");
        };
        let config = options.or(cli.options).into_config().expect("valid");
        assert_eq!(
            config.master_key_file,
            Some(PathBuf::from("/run/secrets/master"))
        );
        assert_eq!(config.previous_master_keys.len(), 2);
        assert!(!format!("{config:?}").contains(key), "keys never print");
    }
}
