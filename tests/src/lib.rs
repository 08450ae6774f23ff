//! Cognate's sandbox: starts the services in-process in either topology on port 0 and hands out
//! AWS SDK clients pointed at the edge. All-in-one runs on SQLite files; split runs six nodes
//! (one per service, talking gRPC over TCP) on a fresh Postgres database, Redis and NATS.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use cognate::Node;
use cognate_common::clock::{SharedClock, SystemClock};
use cognate_common::config::{AccessKey, Secret};
use cognate_common::{Config, ServiceKind};

pub use cognate_common::testing::{ScratchDatabase, ScratchDir};

pub const ACCESS_KEY_ID: &str = "AKIDSANDBOX";
pub const SECRET_ACCESS_KEY: &str = "sandbox-secret-access-key";
pub const REGION: &str = "us-east-1";
/// The peer token every sandbox node shares, so split topologies run authenticated internal gRPC
/// as production does.
pub const PEER_TOKEN: &str = "sandbox-peer-token-0123456789abcdef";
/// The master key sandbox nodes seal their secrets with (32 bytes of 0x5a, base64).
pub const MASTER_KEY: &str = "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// Every service in one node on SQLite.
    AllInOne,
    /// One node per service on Postgres, Redis and NATS.
    Split,
}

pub fn redis_url() -> String {
    std::env::var("COGNATE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn nats_url() -> String {
    std::env::var("COGNATE_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Running services and clients for them.
pub struct Sandbox {
    pub topology: Topology,
    pub endpoint: String,
    nodes: Vec<Node>,
    /// Where each node listens (split: one per service; all-in-one: none, it serves no gRPC).
    pub service_addresses: std::collections::BTreeMap<ServiceKind, SocketAddr>,
    pub data_dir: ScratchDir,
    pub database: Option<ScratchDatabase>,
}

/// The configuration all sandbox nodes share.
pub fn base_config(data_dir: &ScratchDir) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.0.clone(),
        region: REGION.into(),
        account_id: "123456789012".into(),
        access_keys: vec![AccessKey {
            access_key_id: ACCESS_KEY_ID.into(),
            secret_access_key: Secret::new(SECRET_ACCESS_KEY),
        }],
        nats_url: Some(Secret::new(nats_url())),
        peer_token: Some(Secret::new(PEER_TOKEN)),
        // Every request comes from 127.0.0.1, and the rank tests send many codes to one user;
        // the per-address and per-user limits have their own tests.
        code_requests_per_address_per_minute: 0,
        code_sends_per_hour: 10_000,
        master_key: Some(Secret::new(MASTER_KEY)),
        ..Config::default()
    }
}

/// Development mode (`--dev`) without access keys.
pub fn development_mode(config: &mut Config) {
    config.dev = true;
    config.access_keys.clear();
}

impl Sandbox {
    pub async fn start(topology: Topology) -> anyhow::Result<Self> {
        Self::start_configured(topology, |_| {}).await
    }

    /// Like `start_dev`, with every node reading time from `clock`, which the test moves
    /// (development mode, so SigV4 dates are not held against it).
    pub async fn start_dev_with_clock(
        topology: Topology,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let data_dir = ScratchDir::new();
        let mut config = base_config(&data_dir);
        development_mode(&mut config);
        Self::launch(topology, config, data_dir, clock).await
    }

    /// Like `start`, but in development mode without access keys: signatures are not checked
    /// and the dev outbox records messages.
    pub async fn start_dev(topology: Topology) -> anyhow::Result<Self> {
        Self::start_configured(topology, development_mode).await
    }

    /// Like `start`, with the configuration adjusted first (senders, keys, development mode).
    pub async fn start_configured(
        topology: Topology,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let data_dir = ScratchDir::new();
        let mut config = base_config(&data_dir);
        adjust(&mut config);
        Self::launch(topology, config, data_dir, Arc::new(SystemClock)).await
    }

    async fn launch(
        topology: Topology,
        config: Config,
        data_dir: ScratchDir,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        match topology {
            Topology::AllInOne => Self::all_in_one_with_clock(config, data_dir, clock).await,
            Topology::Split => Self::split(config, data_dir, clock).await,
        }
    }

    /// The six-digit code in the newest dev-outbox message to `name` (a username or address).
    pub async fn latest_code(&self, pool_id: &str, name: &str) -> String {
        let (status, body) = self
            .dev_outbox(pool_id, name)
            .await
            .expect("outbox answers");
        assert_eq!(status, 200, "{body}");
        let text = body[0]["body"].as_str().expect("a message").to_owned();
        six_digits(&text).expect("a six-digit code")
    }

    /// The six-digit code in the newest dev-outbox message to `name` once it has `count`
    /// messages: for codes delivered after the answer. Waits up to five seconds.
    pub async fn awaited_code(&self, pool_id: &str, name: &str, count: usize) -> String {
        for _ in 0..100 {
            let (_, messages) = self.dev_outbox(pool_id, name).await.expect("outbox");
            if messages.as_array().is_some_and(|list| list.len() >= count) {
                let text = messages[0]["body"].as_str().unwrap_or_default();
                return six_digits(text).expect("a six-digit code");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("message {count} to {name} did not arrive");
    }

    /// A configuration that reaches this sandbox's stores (what `cognate export` and
    /// `cognate import` would be given).
    pub fn store_config(&self) -> Config {
        Config {
            database_url: self
                .database
                .as_ref()
                .map(|database| Secret::new(database.url.clone())),
            ..base_config(&self.data_dir)
        }
    }

    /// How many rows `table` in `kind`'s store holds for the pool, and for the user `sub` when
    /// given: what a service forgets, which no API shows.
    pub async fn stored_rows(
        &self,
        kind: ServiceKind,
        table: &str,
        pool_id: &str,
        sub: Option<&str>,
    ) -> i64 {
        let store = cognate_common::store::connect(&self.store_config(), kind)
            .await
            .expect("store connects");
        let filter = if sub.is_some() { " AND sub = $2" } else { "" };
        let query = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE user_pool_id = $1{filter}"
        )))
        .bind(pool_id);
        let query = match sub {
            Some(sub) => query.bind(sub),
            None => query,
        };
        let rows = query.fetch_one(&store).await.expect("rows counted");
        store.close().await;
        rows
    }

    /// The pool's `/.well-known/jwks.json`.
    pub async fn jwks(&self, pool_id: &str) -> serde_json::Value {
        reqwest::get(format!("{}/{pool_id}/.well-known/jwks.json", self.endpoint))
            .await
            .expect("jwks answers")
            .json()
            .await
            .expect("jwks is JSON")
    }

    /// The dev outbox (`GET /_dev/outbox`) for a pool and user: its status and JSON body.
    pub async fn dev_outbox(
        &self,
        pool_id: &str,
        username: &str,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let encode = |text: &str| -> String {
            text.bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        char::from(byte).to_string()
                    }
                    _ => format!("%{byte:02X}"),
                })
                .collect()
        };
        let response = reqwest::Client::new()
            .get(format!(
                "{}/_dev/outbox?userPoolId={}&username={}",
                self.endpoint,
                encode(pool_id),
                encode(username)
            ))
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    /// Every service in one node, from `config` (tests may adjust it first).
    pub async fn all_in_one(config: Config, data_dir: ScratchDir) -> anyhow::Result<Self> {
        Self::all_in_one_with_clock(config, data_dir, Arc::new(SystemClock)).await
    }

    async fn all_in_one_with_clock(
        mut config: Config,
        data_dir: ScratchDir,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        config.listen = listener.local_addr()?;
        let node = cognate::start_with_clock(config, listener, clock).await?;
        Ok(Self {
            topology: Topology::AllInOne,
            endpoint: format!("http://{}", node.address()),
            nodes: vec![node],
            service_addresses: std::collections::BTreeMap::new(),
            data_dir,
            database: None,
        })
    }

    async fn split(
        config: Config,
        data_dir: ScratchDir,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let database = ScratchDatabase::create().await?;
        let mut listeners = Vec::new();
        for kind in ServiceKind::ALL {
            listeners.push((kind, tokio::net::TcpListener::bind("127.0.0.1:0").await?));
        }
        let mut addresses = std::collections::BTreeMap::new();
        for (kind, listener) in &listeners {
            addresses.insert(*kind, vec![format!("http://{}", listener.local_addr()?)]);
        }
        let mut nodes = Vec::new();
        let mut endpoint = String::new();
        let mut service_addresses = std::collections::BTreeMap::new();
        for (kind, listener) in listeners {
            let address = listener.local_addr()?;
            service_addresses.insert(kind, address);
            let node_config = Config {
                listen: address,
                services: vec![kind],
                peers: addresses
                    .iter()
                    .filter(|(peer, _)| **peer != kind)
                    .map(|(peer, urls)| (*peer, urls.clone()))
                    .collect(),
                database_url: Some(Secret::new(database.url.clone())),
                redis_url: Some(Secret::new(redis_url())),
                public_url: Some(addresses[&ServiceKind::Edge][0].clone()),
                ..config.clone()
            };
            if kind == ServiceKind::Edge {
                endpoint = format!("http://{address}");
            }
            nodes.push(cognate::start_with_clock(node_config, listener, clock.clone()).await?);
        }
        Ok(Self {
            topology: Topology::Split,
            endpoint,
            nodes,
            service_addresses,
            data_dir,
            database: Some(database),
        })
    }

    /// Stops every node, draining requests.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        for node in self.nodes.drain(..) {
            node.shutdown().await?;
        }
        Ok(())
    }

    /// A cognito-idp client signed with the sandbox's access key.
    pub fn idp(&self) -> aws_sdk_cognitoidentityprovider::Client {
        self.idp_with(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    }

    pub fn idp_with(
        &self,
        access_key_id: &str,
        secret: &str,
    ) -> aws_sdk_cognitoidentityprovider::Client {
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                access_key_id,
                secret,
                None,
                None,
                "sandbox",
            ))
            .endpoint_url(&self.endpoint)
            .retry_config(aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(config)
    }

    /// A cognito-identity client signed with the sandbox's access key.
    pub fn identity(&self) -> aws_sdk_cognitoidentity::Client {
        let config = aws_sdk_cognitoidentity::Config::builder()
            .behavior_version(aws_sdk_cognitoidentity::config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentity::config::Region::new(REGION))
            .credentials_provider(aws_sdk_cognitoidentity::config::Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "sandbox",
            ))
            .endpoint_url(&self.endpoint)
            .retry_config(aws_sdk_cognitoidentity::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_cognitoidentity::Client::from_conf(config)
    }
}

/// Runs one scenario against both topologies: `both_topologies!(name, scenario_fn)` makes
/// `name::all_in_one` and `name::split` tests.
#[macro_export]
macro_rules! both_topologies {
    ($name:ident, $scenario:ident) => {
        $crate::both_topologies!($name, $scenario, start);
    };
    // `$start` is a Sandbox constructor taking the topology, e.g. `start_dev`.
    ($name:ident, $scenario:ident, $start:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn all_in_one() {
                let sandbox = $crate::Sandbox::$start($crate::Topology::AllInOne)
                    .await
                    .expect("sandbox starts");
                super::$scenario(&sandbox).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn split() {
                let sandbox = $crate::Sandbox::$start($crate::Topology::Split)
                    .await
                    .expect("sandbox starts");
                super::$scenario(&sandbox).await;
            }
        }
    };
}

/// Runs `scenario(topology)` as a test per topology, for scenarios that start their own
/// sandbox (after starting what it must be configured with).
#[macro_export]
macro_rules! each_topology {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn all_in_one() {
                super::$scenario($crate::Topology::AllInOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn split() {
                super::$scenario($crate::Topology::Split).await;
            }
        }
    };
}

/// The AWS error code of an SDK error, e.g. `ResourceNotFoundException`.
pub fn error_code<E, R>(error: &aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> String
where
    E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata,
{
    use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
    error.code().unwrap_or("<no code>").to_owned()
}

/// Verifies a JWT's RS256 or ES256 signature against a JWKS document (the key named by `kid`,
/// of the header's `alg`) and returns its claims.
pub fn verify_jwt(token: &str, jwks: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
    use base64::Engine;
    let decode = |part: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part);
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        anyhow::bail!("not a compact JWS");
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(header)?)?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|key| key["kid"] == header["kid"]))
        .ok_or_else(|| anyhow::anyhow!("kid {} not in the JWKS", header["kid"]))?;
    anyhow::ensure!(
        header["alg"] == key["alg"],
        "alg {} for a {} key",
        header["alg"],
        key["alg"]
    );
    let signing_input = format!(
        "{}.{}",
        token.split('.').next().unwrap_or_default(),
        payload
    );
    let field = |name: &str| decode(key[name].as_str().unwrap_or_default());
    let verified = match (header["alg"].as_str(), key["kty"].as_str()) {
        (Some("RS256"), Some("RSA")) => aws_lc_rs::signature::RsaPublicKeyComponents {
            n: field("n")?.as_slice(),
            e: field("e")?.as_slice(),
        }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signing_input.as_bytes(),
            &decode(signature)?,
        ),
        (Some("ES256"), Some("EC")) => {
            anyhow::ensure!(key["crv"] == "P-256", "curve {}", key["crv"]);
            // The uncompressed point 0x04 ‖ x ‖ y; the signature is r ‖ s.
            let point = [vec![4], field("x")?, field("y")?].concat();
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(signing_input.as_bytes(), &decode(signature)?)
        }
        (alg, kty) => anyhow::bail!("unexpected alg {alg:?} with key type {kty:?}"),
    };
    verified.map_err(|_| anyhow::anyhow!("signature does not verify"))?;
    Ok(serde_json::from_slice(&decode(payload)?)?)
}

/// `SECRET_HASH` as clients compute it: `Base64(HMAC-SHA256(secret, username ‖ client id))`.
pub fn secret_hash(secret: &str, username: &str, client_id: &str) -> String {
    use base64::Engine;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// The current 30-second TOTP step.
pub fn totp_step() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(now / 30).expect("fits")
}

/// A TOTP code (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) for a base32 secret at a step: an
/// authenticator app, written apart from the server's code (which makes the same codes).
pub fn totp_code(secret_base32: &str, step: i64) -> String {
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_base32.as_bytes())
        .expect("base32");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret);
    let digest = aws_lc_rs::hmac::sign(&key, &step.to_be_bytes());
    let digest = digest.as_ref();
    let offset = usize::from(digest[19] & 0x0f);
    let number = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", number % 1_000_000)
}

/// Events a NATS trigger handler received.
pub type Events = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// A Lambda-style handler on NATS subject `subject`: records every event and answers what
/// `handle` returns for it. Returns the record.
pub async fn nats_handler(
    subject: &str,
    handle: impl Fn(&serde_json::Value) -> serde_json::Value + Send + 'static,
) -> Events {
    use futures::StreamExt;
    let nats = async_nats::connect(nats_url()).await.expect("NATS");
    let mut subscription = nats
        .subscribe(subject.to_owned())
        .await
        .expect("subscribed");
    nats.flush().await.expect("subscription registered");
    let events = Events::default();
    let seen = events.clone();
    tokio::spawn(async move {
        while let Some(message) = subscription.next().await {
            let event: serde_json::Value =
                serde_json::from_slice(&message.payload).expect("event is JSON");
            let reply = handle(&event);
            seen.lock().expect("lock").push(event);
            if let Some(inbox) = message.reply {
                nats.publish(inbox, reply.to_string().into())
                    .await
                    .expect("replied");
            }
        }
    });
    events
}

/// Waits up to five seconds for the handler to have received `count` events.
pub async fn wait_for_events(events: &Events, count: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let received = events.lock().expect("lock").clone();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "expected {count} trigger events, got {:?}",
        events.lock().expect("lock")
    );
}

/// The first run of exactly six digits in `text`: a code in a message.
pub fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 6)
        .map(str::to_owned)
}

/// A Cognito attribute.
pub fn attribute(name: &str, value: &str) -> aws_sdk_cognitoidentityprovider::types::AttributeType {
    aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("valid")
}

/// Sends a CreateUserPool and returns the new pool's id.
pub async fn create_pool(
    request: aws_sdk_cognitoidentityprovider::operation::create_user_pool::builders::CreateUserPoolFluentBuilder,
) -> String {
    request
        .send()
        .await
        .expect("pool created")
        .user_pool
        .and_then(|pool| pool.id)
        .expect("pool id")
}

/// USER_PASSWORD_AUTH; the tokens, or the error code.
pub async fn password_sign_in(
    idp: &aws_sdk_cognitoidentityprovider::Client,
    client_id: &str,
    username: &str,
    password: &str,
) -> Result<aws_sdk_cognitoidentityprovider::types::AuthenticationResultType, String> {
    idp.initiate_auth()
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map_err(|error| error_code(&error))?
        .authentication_result
        .ok_or_else(|| "a challenge instead of tokens".to_owned())
}

/// Sends a CreateUserPoolClient and returns the new client's id.
pub async fn create_client(
    request: aws_sdk_cognitoidentityprovider::operation::create_user_pool_client::builders::CreateUserPoolClientFluentBuilder,
) -> String {
    request
        .send()
        .await
        .expect("client created")
        .user_pool_client
        .and_then(|client| client.client_id)
        .expect("client id")
}

/// Creates an app client allowing USER_PASSWORD_AUTH and refresh; its id.
pub async fn password_auth_client(
    idp: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
) -> String {
    use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
    create_client(
        idp.create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await
}

/// Answers a PASSWORD_VERIFIER challenge, given its `parameters`, with `client`'s proof (re-keyed
/// to USER_ID_FOR_SRP by the caller when it differs); the answer, or the error code.
pub async fn answer_password_verifier(
    idp: &aws_sdk_cognitoidentityprovider::Client,
    client_id: &str,
    client: &cognate_common::srp::client::Client,
    parameters: &std::collections::HashMap<String, String>,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput,
    String,
>{
    let timestamp = cognate_common::srp::timestamp(time::OffsetDateTime::now_utc());
    let signature = client.signature(
        &parameters["SALT"],
        &parameters["SRP_B"],
        &parameters["SECRET_BLOCK"],
        &timestamp,
    );
    idp.respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(aws_sdk_cognitoidentityprovider::types::ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", &parameters["USER_ID_FOR_SRP"])
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &parameters["SECRET_BLOCK"])
        .challenge_responses("TIMESTAMP", &timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &signature)
        .send()
        .await
        .map_err(|error| error_code(&error))
}

/// A six-digit code other than `code`, for a wrong answer.
pub fn other_code(code: &str) -> String {
    if code == "000000" { "000001" } else { "000000" }.to_owned()
}

/// Creates `username` with `attributes` and a permanent `password`, sending no invitation.
pub async fn user_with_attributes(
    idp: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
    username: &str,
    attributes: Vec<aws_sdk_cognitoidentityprovider::types::AttributeType>,
    password: &str,
) {
    idp.admin_create_user()
        .user_pool_id(pool_id)
        .username(username)
        .set_user_attributes(Some(attributes))
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .expect("user");
    idp.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .expect("password");
}

/// Creates `jane`, with a phone number and an email address, and `bob`, with neither, both with
/// `password`: users for the code factors.
pub async fn jane_and_bob(
    idp: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
    password: &str,
) {
    let jane = vec![
        attribute("phone_number", "+15555550123"),
        attribute("email", "jane@example.com"),
    ];
    user_with_attributes(idp, pool_id, "jane", jane, password).await;
    user_with_attributes(idp, pool_id, "bob", Vec::new(), password).await;
}

/// Creates `username` with a permanent `password` (status CONFIRMED).
pub async fn confirmed_user(
    idp: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
    username: &str,
    password: &str,
) {
    idp.admin_create_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .expect("user created");
    idp.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .expect("password set");
}
