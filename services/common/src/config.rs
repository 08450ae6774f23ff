//! Typed configuration: defaults, then a TOML file, then `COGNATE_*` variables and flags (the
//! binary layers those two with clap). Validated before any port is bound.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// The six services; one process runs any subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Edge,
    Directory,
    Auth,
    Triggers,
    Federation,
    IdentityPools,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 6] = [
        ServiceKind::Edge,
        ServiceKind::Directory,
        ServiceKind::Auth,
        ServiceKind::Triggers,
        ServiceKind::Federation,
        ServiceKind::IdentityPools,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Edge => "edge",
            ServiceKind::Directory => "directory",
            ServiceKind::Auth => "auth",
            ServiceKind::Triggers => "triggers",
            ServiceKind::Federation => "federation",
            ServiceKind::IdentityPools => "identity-pools",
        }
    }

    /// Whether the service keeps durable state (and so has migrations).
    pub fn has_store(self) -> bool {
        !matches!(self, ServiceKind::Edge | ServiceKind::Triggers)
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for ServiceKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown service `{text}` (expected one of edge, directory, auth, triggers, federation, identity-pools)"
                )
            })
    }
}

/// Where `/metrics` is served: beside the service on its port (the default), on an address of
/// its own (a port only the scraper can reach), or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsListen {
    #[default]
    SamePort,
    Off,
    Address(SocketAddr),
}

impl FromStr for MetricsListen {
    type Err = String;

    /// `off`, or an address such as `10.0.0.5:9300`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        text.parse().map(Self::Address).map_err(|_| {
            format!("metrics_listen is `off` or an address like 127.0.0.1:9300, not `{text}`")
        })
    }
}

impl<'de> Deserialize<'de> for MetricsListen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

/// An access key that may sign management and `Admin*` requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

impl FromStr for AccessKey {
    type Err = String;

    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY`, the form of `COGNATE_ACCESS_KEYS` entries.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (id, secret) = text
            .split_once(':')
            .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
            .ok_or("an access key is written ACCESS_KEY_ID:SECRET_ACCESS_KEY")?;
        Ok(Self {
            access_key_id: id.to_owned(),
            secret_access_key: Secret::new(secret),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where this process listens: AWS protocol, OAuth2 and gRPC share the port.
    pub listen: SocketAddr,
    /// Home of the embedded SQLite databases (one file per service).
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; unset means SQLite files in `data_dir`.
    pub database_url: Option<Secret>,
    /// `redis://...`; unset keeps ephemeral state in-process.
    pub redis_url: Option<Secret>,
    /// `nats://...` (credentials may be in it); unset delivers triggers by webhook only.
    pub nats_url: Option<Secret>,
    /// Base of issuers and hosted pages; defaults to `http://<listen>`.
    pub public_url: Option<String>,
    pub region: String,
    pub account_id: String,
    pub access_keys: Vec<AccessKey>,
    /// The services this process runs.
    pub services: Vec<ServiceKind>,
    /// gRPC base URLs of the services this process does not run, several for a balanced set.
    pub peers: BTreeMap<ServiceKind, Vec<String>>,
    /// Lambda ARNs become NATS subjects `<prefix>.<function name>`.
    pub trigger_subject_prefix: String,
    /// How long in-flight requests may take to finish after SIGTERM.
    #[serde(with = "seconds")]
    pub shutdown_grace: Duration,
    /// Email delivery: `smtp://[user:password@]host[:port]` (STARTTLS when the server offers
    /// it; `?tls=required` insists), or `smtps://...` (TLS from the first byte). Unset: no
    /// email is sent (development mode still records it in the dev outbox).
    pub smtp_url: Option<Secret>,
    /// A PEM CA certificate trusted for the SMTP server besides the web's roots (a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of emails from pools whose `EmailConfiguration` names no `From`.
    pub email_from: String,
    /// SMS delivery: `nats:<subject>`, a Lambda ARN or an `http(s)://` webhook, called like a
    /// trigger with `{"phoneNumber", "message", ...}`. Unset: no SMS is sent.
    pub sms_sender: Option<String>,
    /// Keys for the CustomEmailSender and CustomSMSSender triggers: a pool's `KMSKeyID` → a
    /// base64 AES-256 key the code is encrypted with.
    pub sender_keys: BTreeMap<String, Secret>,
    /// A Have-I-Been-Pwned-format file (`SHA1HEX:count` lines sorted by hash) checked beside the
    /// bundled list of common passwords where a pool's risk configuration asks for it.
    pub breached_passwords_file: Option<PathBuf>,
    /// Days each signing key signs before its successor takes over; 0 never rotates.
    pub signing_key_rotation_days: u32,
    /// Development mode (`--dev`): with no access keys any well-formed SigV4 signature is
    /// accepted, and the dev outbox is served. Never implied by the listen address.
    pub dev: bool,
    /// Password and SRP computations one process runs at once; 0 means twice its cores.
    pub password_check_concurrency: usize,
    /// How long a sign-in waits for a free slot before `TooManyRequestsException`.
    #[serde(rename = "password_check_wait_ms", with = "milliseconds")]
    pub password_check_wait: Duration,
    /// Codes of one purpose (confirmation, reset, verification) one user may be sent an hour.
    pub code_sends_per_hour: u32,
    /// Where `/metrics` is served.
    pub metrics_listen: MetricsListen,
    /// Requests that send a code (SignUp, ResendConfirmationCode, ForgotPassword, ...) one
    /// source address may make a minute; 0 turns the limit off. Counted in Redis when it is
    /// configured (shared by every edge replica), otherwise per process.
    pub code_requests_per_address_per_minute: u32,
    /// Proxies (addresses or networks) in front of the edge whose `X-Forwarded-For` is
    /// believed: a request through one is counted against the client it names.
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A file holding the peer token (its surrounding whitespace ignored); read into
    /// `peer_token` by `load_peer_token` before validation.
    pub peer_token_file: Option<PathBuf>,
    /// The secret every process of an installation shares: sent with each internal gRPC call
    /// and required of every call this process serves to peers. From `COGNATE_PEER_TOKEN` or
    /// `peer_token_file`; never a file key, so it is not written beside the rest.
    #[serde(skip)]
    pub peer_token: Option<Secret>,
    /// The master key secrets are sealed with at rest (32 bytes, base64); see `sealing`.
    pub master_key: Option<Secret>,
    /// Keys values may still be sealed with during a rotation: read, never used to seal.
    pub previous_master_keys: Vec<Secret>,
    /// A file of master keys, one base64 key a line: the first seals, the others are previous
    /// keys. Instead of `master_key`.
    pub master_key_file: Option<PathBuf>,
}

mod milliseconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9229)),
            data_dir: PathBuf::from("cognate-data"),
            database_url: None,
            redis_url: None,
            nats_url: None,
            public_url: None,
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            access_keys: Vec::new(),
            services: ServiceKind::ALL.to_vec(),
            peers: BTreeMap::new(),
            trigger_subject_prefix: "cognate.trigger".to_owned(),
            shutdown_grace: Duration::from_secs(30),
            smtp_url: None,
            smtp_ca_file: None,
            email_from: "no-reply@verificationemail.com".to_owned(),
            sms_sender: None,
            sender_keys: BTreeMap::new(),
            breached_passwords_file: None,
            signing_key_rotation_days: 90,
            dev: false,
            password_check_concurrency: 0,
            password_check_wait: Duration::from_secs(2),
            code_sends_per_hour: 10,
            metrics_listen: MetricsListen::SamePort,
            code_requests_per_address_per_minute: 60,
            trusted_proxies: Vec::new(),
            peer_token_file: None,
            peer_token: None,
            master_key: None,
            previous_master_keys: Vec::new(),
            master_key_file: None,
        }
    }
}

/// A network (`10.0.0.0/8`) or one address (`10.0.0.5`, as a /32 or /128).
pub fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is neither an IP address nor a network like 10.0.0.0/8"))
}

fn networks<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| parse_network(text).map_err(serde::de::Error::custom))
        .collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "no access keys are configured and {0} is not a loopback address; set COGNATE_ACCESS_KEYS (ID:SECRET), or pass --dev to accept any signature for local development"
    )]
    NoAccessKeys(SocketAddr),
    #[error("service {needed} is needed by {by} but neither runs here nor has a peer address")]
    MissingPeer {
        needed: ServiceKind,
        by: ServiceKind,
    },
    #[error("no services to run")]
    NoServices,
    #[error("region `{0}` is not a region name like us-east-1")]
    BadRegion(String),
    #[error(
        "this process issues tokens (auth) but does not serve the edge, so it cannot know the public URL its tokens' issuer and JWKS live under; set --public-url (COGNATE_PUBLIC_URL) to the edge's public base URL"
    )]
    PublicUrlRequired,
    #[error(
        "this process serves internal gRPC on {0}, which is not a loopback address, without a peer token; set COGNATE_PEER_TOKEN_FILE (or COGNATE_PEER_TOKEN) to the secret every process shares"
    )]
    NoPeerToken(SocketAddr),
    #[error("the peer token is shorter than {MIN_PEER_TOKEN_LENGTH} characters")]
    ShortPeerToken,
    #[error("both COGNATE_PEER_TOKEN and a peer token file are set; set one")]
    PeerTokenTwice,
    #[error("reading the peer token file {path}: {reason}")]
    PeerTokenFile { path: PathBuf, reason: String },
    #[error(
        "the auth and directory services seal their secrets at rest with a master key, and none is configured; set COGNATE_MASTER_KEY to 32 random bytes in base64 (`openssl rand -base64 32`) or --master-key-file to a file holding one, or pass --dev to have one generated in the data directory"
    )]
    MasterKeyRequired,
    #[error("{setting}: {error}")]
    BadMasterKey {
        setting: &'static str,
        error: crate::sealing::SealingError,
    },
    #[error(
        "both COGNATE_MASTER_KEY and --master-key-file are set; configure the master keys in one place"
    )]
    TwoMasterKeySources,
}

/// The shortest peer token accepted: `openssl rand -hex 32` gives 64 characters, and a short
/// word (or a placeholder left in a compose file) must not pass for a secret.
pub const MIN_PEER_TOKEN_LENGTH: usize = 32;

impl Config {
    /// The bound on password and SRP work this process's services share.
    pub fn work(&self) -> crate::work::Work {
        let concurrency = match self.password_check_concurrency {
            0 => 2 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            given => given,
        };
        crate::work::Work::new(concurrency, self.password_check_wait)
    }

    pub fn runs(&self, kind: ServiceKind) -> bool {
        self.services.contains(&kind)
    }

    /// Development mode without access keys: any well-formed SigV4 signature is accepted.
    pub fn accepts_any_signature(&self) -> bool {
        self.dev && self.access_keys.is_empty()
    }

    /// Development mode, asked for with `--dev`: turns on conveniences that must never run in
    /// production, such as the dev outbox.
    pub fn development_mode(&self) -> bool {
        self.dev
    }

    /// Whether development mode answers a request addressed to `host` (a `Host` header or
    /// authority): loopback names and addresses, and the public URL's host. Any other name
    /// may be a DNS-rebinding page in a developer's browser reaching the loopback listener.
    pub fn dev_answers_host(&self, host: &str) -> bool {
        let name = host_name(host);
        let loopback = name.eq_ignore_ascii_case("localhost")
            || name.to_ascii_lowercase().ends_with(".localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback());
        loopback
            || self.public_url.as_deref().is_some_and(|url| {
                url.split_once("://")
                    .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
                    .is_some_and(|public| host_name(public).eq_ignore_ascii_case(name))
            })
    }

    /// Whether this process serves its services' gRPC to peers on its port. A process with the
    /// edge never does: its own services are reached in-process, and internal gRPC must not sit
    /// beside the public AWS protocol.
    pub fn serves_peers(&self) -> bool {
        !self.runs(ServiceKind::Edge)
    }

    /// Reads `peer_token_file` into `peer_token`. Done once, before validation; calling it again
    /// does nothing, since the path is taken.
    pub fn load_peer_token(&mut self) -> Result<(), ConfigError> {
        let Some(path) = self.peer_token_file.take() else {
            return Ok(());
        };
        if self.peer_token.is_some() {
            return Err(ConfigError::PeerTokenTwice);
        }
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::PeerTokenFile {
            reason: error.to_string(),
            path: path.clone(),
        })?;
        self.peer_token = Some(Secret::new(text.trim()));
        Ok(())
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The services a service calls.
    pub fn dependencies(kind: ServiceKind) -> &'static [ServiceKind] {
        match kind {
            ServiceKind::Edge => &[
                ServiceKind::Directory,
                ServiceKind::Auth,
                ServiceKind::Federation,
                ServiceKind::IdentityPools,
            ],
            // Token-authorized operations (GetUser, ChangePassword) check access tokens with auth.
            ServiceKind::Directory => &[ServiceKind::Triggers, ServiceKind::Auth],
            ServiceKind::Auth => &[ServiceKind::Directory, ServiceKind::Triggers],
            ServiceKind::Triggers => &[],
            ServiceKind::Federation => &[ServiceKind::Directory],
            ServiceKind::IdentityPools => &[],
        }
    }

    /// Whether this process stores sealed secrets (and so needs a master key).
    pub fn seals_secrets(&self) -> bool {
        self.runs(ServiceKind::Auth) || self.runs(ServiceKind::Directory)
    }

    /// The master-key settings: one source, well-formed keys (so a placeholder such as
    /// `change-me` is refused), and a key at all where secrets are sealed, unless development
    /// mode may generate one. A key file is read when the sealer is built.
    fn validate_master_keys(&self) -> Result<(), ConfigError> {
        if self.master_key.is_some() && self.master_key_file.is_some() {
            return Err(ConfigError::TwoMasterKeySources);
        }
        let keys = self
            .master_key
            .iter()
            .map(|key| ("COGNATE_MASTER_KEY", key))
            .chain(
                self.previous_master_keys
                    .iter()
                    .map(|key| ("COGNATE_PREVIOUS_MASTER_KEYS", key)),
            );
        for (setting, key) in keys {
            crate::sealing::MasterKey::parse(key.expose())
                .map_err(|error| ConfigError::BadMasterKey { setting, error })?;
        }
        if self.seals_secrets()
            && !self.dev
            && self.master_key.is_none()
            && self.master_key_file.is_none()
        {
            return Err(ConfigError::MasterKeyRequired);
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.services.is_empty() {
            return Err(ConfigError::NoServices);
        }
        if self.runs(ServiceKind::Edge)
            && self.access_keys.is_empty()
            && !self.dev
            && !self.listen.ip().is_loopback()
        {
            return Err(ConfigError::NoAccessKeys(self.listen));
        }
        let region_ok = self.region.split('-').count() >= 3
            && self.region.chars().all(|character| {
                character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
            });
        if !region_ok {
            return Err(ConfigError::BadRegion(self.region.clone()));
        }
        if let Some(token) = &self.peer_token
            && token.expose().chars().count() < MIN_PEER_TOKEN_LENGTH
        {
            return Err(ConfigError::ShortPeerToken);
        }
        // Internal gRPC carries password verifiers and admin operations: on an address others can
        // reach it must know its callers. (On loopback only this machine can call it.)
        if self.serves_peers() && self.peer_token.is_none() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::NoPeerToken(self.listen));
        }
        for &kind in &self.services {
            for &needed in Self::dependencies(kind) {
                if !self.runs(needed) && self.peers.get(&needed).is_none_or(Vec::is_empty) {
                    return Err(ConfigError::MissingPeer { needed, by: kind });
                }
            }
        }
        if self.runs(ServiceKind::Auth)
            && !self.runs(ServiceKind::Edge)
            && self.public_url.is_none()
        {
            return Err(ConfigError::PublicUrlRequired);
        }
        self.validate_master_keys()
    }
}

/// The name in a `Host` value, without its port or IPv6 brackets.
fn host_name(host: &str) -> &str {
    if let Some(bracketed) = host.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed master key (32 bytes of 7s).
    const MASTER_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

    fn keyed() -> Config {
        Config {
            master_key: Some(Secret::new(MASTER_KEY)),
            ..Config::default()
        }
    }

    /// Trusted proxies are networks or single addresses, in the file as on the command line.
    #[test]
    fn trusted_proxies_are_networks_or_addresses() {
        let config: Config =
            toml::from_str("trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::1\"]")
                .expect("parses");
        let shown: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128"]);
        let refused = toml::from_str::<Config>("trusted_proxies = [\"10.0.0.0/33\"]")
            .expect_err("no /33")
            .to_string();
        assert!(
            refused
                .contains("`10.0.0.0/33` is neither an IP address nor a network like 10.0.0.0/8"),
            "{refused}"
        );
        assert_eq!(
            parse_network("proxy.internal"),
            Err(
                "`proxy.internal` is neither an IP address nor a network like 10.0.0.0/8"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_default_runs_everything_on_loopback() {
        assert_eq!(keyed().validate(), Ok(()));
    }

    #[test]
    fn sealing_services_need_a_well_formed_master_key_outside_development_mode() {
        assert_eq!(
            Config::default().validate(),
            Err(ConfigError::MasterKeyRequired)
        );
        let dev = Config {
            dev: true,
            ..Config::default()
        };
        assert_eq!(dev.validate(), Ok(()), "development mode generates one");
        let edge_only = Config {
            services: vec![ServiceKind::Edge],
            peers: [
                ServiceKind::Directory,
                ServiceKind::Auth,
                ServiceKind::Federation,
                ServiceKind::IdentityPools,
            ]
            .into_iter()
            .map(|kind| (kind, vec!["http://10.0.0.1:9229".to_owned()]))
            .collect(),
            ..Config::default()
        };
        assert_eq!(edge_only.validate(), Ok(()), "the edge stores no secret");
        let placeholder = Config {
            master_key: Some(Secret::new("change-me-to-a-random-key")),
            ..dev.clone()
        };
        assert_eq!(
            placeholder.validate(),
            Err(ConfigError::BadMasterKey {
                setting: "COGNATE_MASTER_KEY",
                error: crate::sealing::SealingError::KeyFormat("not base64"),
            }),
            "a placeholder is refused even in development mode"
        );
        assert_eq!(
            placeholder
                .validate()
                .err()
                .map(|error| error.to_string())
                .as_deref(),
            Some(
                "COGNATE_MASTER_KEY: a master key is 32 random bytes in base64 (generate one with `openssl rand -base64 32`); this one is not base64"
            )
        );
        let short_previous = Config {
            previous_master_keys: vec![Secret::new("AAAA")],
            ..keyed()
        };
        assert_eq!(
            short_previous.validate(),
            Err(ConfigError::BadMasterKey {
                setting: "COGNATE_PREVIOUS_MASTER_KEYS",
                error: crate::sealing::SealingError::KeyFormat("not 32 bytes long"),
            })
        );
        let both = Config {
            master_key_file: Some(PathBuf::from("/run/secrets/cognate-master-key")),
            ..keyed()
        };
        assert_eq!(both.validate(), Err(ConfigError::TwoMasterKeySources));
        let file = Config {
            master_key_file: Some(PathBuf::from("/run/secrets/cognate-master-key")),
            ..Config::default()
        };
        assert_eq!(file.validate(), Ok(()), "the file is read at start-up");
    }

    #[test]
    fn a_public_listener_needs_access_keys() {
        let config = Config {
            listen: "0.0.0.0:9229".parse().expect("address"),
            ..keyed()
        };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::NoAccessKeys(_))
        ));
    }

    #[test]
    fn only_development_mode_accepts_any_signature() {
        let plain = Config::default();
        assert!(
            !plain.accepts_any_signature(),
            "loopback alone opens nothing"
        );
        assert!(!plain.development_mode());
        let dev = Config {
            dev: true,
            ..Config::default()
        };
        assert!(dev.accepts_any_signature() && dev.development_mode());
        let keyed = Config {
            access_keys: vec!["AKID:s3cret".parse().expect("key")],
            ..dev.clone()
        };
        assert!(
            !keyed.accepts_any_signature(),
            "keys are checked in dev mode too"
        );
        let public = Config {
            listen: "0.0.0.0:9229".parse().expect("address"),
            ..dev
        };
        assert!(public.master_key.is_none(), "generated in development mode");
        assert_eq!(public.validate(), Ok(()), "asked for explicitly");
    }

    #[test]
    fn development_mode_answers_loopback_names_and_the_public_host() {
        let config = Config {
            dev: true,
            public_url: Some("https://auth.example.test:8443/base".into()),
            ..Config::default()
        };
        for host in [
            "localhost",
            "LOCALHOST:9229",
            "app.localhost:3000",
            "127.0.0.1:9229",
            "127.9.9.9",
            "[::1]:9229",
            "auth.example.test",
            "auth.example.test:8443",
        ] {
            assert!(config.dev_answers_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "auth.example.test.evil.example",
            "10.0.0.1:9229",
            "[::2]",
            "",
        ] {
            assert!(!config.dev_answers_host(host), "{host}");
        }
    }

    #[test]
    fn a_subset_needs_peers_for_what_it_calls() {
        let mut config = Config {
            services: vec![ServiceKind::Auth],
            ..keyed()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::MissingPeer {
                needed: ServiceKind::Directory,
                by: ServiceKind::Auth
            })
        );
        config
            .peers
            .insert(ServiceKind::Directory, vec!["http://10.0.0.1:9229".into()]);
        config
            .peers
            .insert(ServiceKind::Triggers, vec!["http://10.0.0.2:9229".into()]);
        assert_eq!(
            config.validate(),
            Err(ConfigError::PublicUrlRequired),
            "an issuer apart from the edge must be told the public URL"
        );
        config.public_url = Some("https://auth.example.com".into());
        assert_eq!(config.validate(), Ok(()));
    }

    /// A process without the edge serves internal gRPC on its port.
    fn directory_on(listen: &str) -> Config {
        Config {
            listen: listen.parse().expect("address"),
            services: vec![ServiceKind::Directory],
            peers: [ServiceKind::Auth, ServiceKind::Triggers]
                .into_iter()
                .map(|kind| (kind, vec!["http://10.0.0.1:9229".to_owned()]))
                .collect(),
            master_key: Some(Secret::new(MASTER_KEY)),
            ..Config::default()
        }
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn internal_grpc_on_a_reachable_address_needs_a_peer_token() {
        let mut config = directory_on("0.0.0.0:9229");
        assert_eq!(
            config.validate(),
            Err(ConfigError::NoPeerToken(config.listen))
        );
        config.peer_token = Some(Secret::new(TOKEN));
        assert_eq!(config.validate(), Ok(()));
        // On loopback only this machine can call it.
        assert_eq!(directory_on("127.0.0.1:9229").validate(), Ok(()));
        // The edge serves no internal gRPC (it has access keys for its own check).
        let edge = Config {
            listen: "0.0.0.0:9229".parse().expect("address"),
            access_keys: vec!["AKID:s3cret".parse().expect("key")],
            master_key: Some(Secret::new(MASTER_KEY)),
            ..Config::default()
        };
        assert_eq!(edge.validate(), Ok(()));
    }

    #[test]
    fn a_peer_token_is_long_and_comes_from_one_place() {
        let mut config = directory_on("10.0.0.9:9229");
        config.peer_token = Some(Secret::new("change-me"));
        assert_eq!(config.validate(), Err(ConfigError::ShortPeerToken));

        let file =
            std::env::temp_dir().join(format!("cognate-peer-token-{}", uuid::Uuid::new_v4()));
        std::fs::write(&file, format!("{TOKEN}\n")).expect("written");
        let mut from_file = directory_on("10.0.0.9:9229");
        from_file.peer_token_file = Some(file.clone());
        assert_eq!(from_file.load_peer_token(), Ok(()));
        assert_eq!(from_file.peer_token, Some(Secret::new(TOKEN)));
        assert_eq!(from_file.validate(), Ok(()));
        assert!(!format!("{from_file:?}").contains(TOKEN));

        let mut twice = directory_on("10.0.0.9:9229");
        twice.peer_token_file = Some(file.clone());
        twice.peer_token = Some(Secret::new(TOKEN));
        assert_eq!(twice.load_peer_token(), Err(ConfigError::PeerTokenTwice));
        std::fs::remove_file(&file).expect("removed");

        let mut missing = directory_on("10.0.0.9:9229");
        missing.peer_token_file = Some(file.clone());
        assert!(matches!(
            missing.load_peer_token(),
            Err(ConfigError::PeerTokenFile { path, .. }) if path == file
        ));
    }

    #[test]
    fn file_keys_are_checked_and_secrets_never_print() {
        let config: Config = toml::from_str(
            "region = \"eu-west-1\"\nmaster_key = \"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\"\n[[access_keys]]\naccess_key_id = \"AKID\"\nsecret_access_key = \"hunter2\"\n",
        )
        .expect("parses");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{config:?}").contains(MASTER_KEY));
        assert_eq!(config.validate(), Ok(()));
        assert!(toml::from_str::<Config>("lisen = \"127.0.0.1:1\"").is_err());
        // The token's file is a file key; the token itself is not written beside the rest.
        let with_file: Config =
            toml::from_str("peer_token_file = \"/run/secrets/peer-token\"").expect("parses");
        assert_eq!(
            with_file.peer_token_file,
            Some(PathBuf::from("/run/secrets/peer-token"))
        );
        let refused = toml::from_str::<Config>("peer_token = \"x\"")
            .expect_err("the token itself is never a file key")
            .to_string();
        assert!(refused.contains("unknown field `peer_token`"), "{refused}");
        assert_eq!(
            "AKID:s3cret"
                .parse::<AccessKey>()
                .map(|key| key.access_key_id),
            Ok("AKID".into())
        );
    }
}
