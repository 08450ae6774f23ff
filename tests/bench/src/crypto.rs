//! The crypto-only cost of each flow: what the server cannot avoid computing, timed in-process
//! on one thread (thread CPU time from `/proc/thread-self/schedstat`), as the median of batches
//! timed just before and just after the flow's load (the machine's speed drifts when shared).

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use cognate_common::srp;

use crate::flows::{Flow, PASSWORD};

/// Nanoseconds this thread has run, if the kernel says.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A Cognito-sized signing input (header.claims of an access or ID token).
fn signing_input(kind: &str) -> String {
    let header = r#"{"kid":"bench0000000000000000000000000000000000000=","alg":"RS256"}"#;
    let claims = serde_json::json!({
        "sub": uuid::Uuid::new_v4().to_string(),
        "cognito:groups": [],
        "iss": "http://127.0.0.1:9229/us-east-1_ExAmPlE12",
        "client_id": "1example23456789example0abc",
        "origin_jti": uuid::Uuid::new_v4().to_string(),
        "event_id": uuid::Uuid::new_v4().to_string(),
        "token_use": kind,
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": 1_764_000_000,
        "exp": 1_764_003_600,
        "iat": 1_764_000_000,
        "jti": uuid::Uuid::new_v4().to_string(),
        "username": "user00001",
    });
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

struct Material {
    key: KeyPair,
    rng: SystemRandom,
    access_input: String,
    id_input: String,
    refresh_token: String,
    pool_name: String,
    username: String,
    verifier: srp::Verifier,
    /// A fixed challenge and a client's correct answer to it, for `verify_claim`.
    challenge: srp::ServerChallenge,
    srp_a: String,
    secret_block: String,
    timestamp: String,
    claim: String,
}

impl Material {
    fn new() -> anyhow::Result<Material> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|error| anyhow::anyhow!("generating an RSA key: {error}"))?;
        let pool_name = "ExAmPlE12".to_owned();
        let username = "user00001".to_owned();
        let verifier = srp::new_verifier(&pool_name, &username, PASSWORD);
        let challenge = srp::server_challenge(&verifier).context("server challenge")?;
        let client = srp::client::Client::new(&pool_name, &username, PASSWORD);
        let secret_block = STANDARD.encode([7u8; 1024]);
        let timestamp = srp::timestamp(time::OffsetDateTime::now_utc());
        let claim = client.signature(&verifier.salt, &challenge.big_b, &secret_block, &timestamp);
        let srp_a = client.big_a();
        let material = Material {
            key,
            rng: SystemRandom::new(),
            access_input: signing_input("access"),
            id_input: signing_input("id"),
            refresh_token: URL_SAFE_NO_PAD.encode([9u8; 48]),
            pool_name,
            username,
            verifier,
            challenge,
            srp_a,
            secret_block,
            timestamp,
            claim,
        };
        // The fixture must be right, or we would time an early rejection.
        material.verify_claim()?;
        Ok(material)
    }

    fn sign(&self, input: &str) -> anyhow::Result<()> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|error| anyhow::anyhow!("signing: {error}"))?;
        black_box(signature);
        Ok(())
    }

    fn two_tokens(&self) -> anyhow::Result<()> {
        self.sign(&self.access_input)?;
        self.sign(&self.id_input)
    }

    fn hash_refresh(&self) {
        black_box(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.refresh_token.as_bytes(),
        ));
    }

    fn verify_claim(&self) -> anyhow::Result<()> {
        srp::verify_claim(
            &self.pool_name,
            &self.username,
            &self.verifier,
            &self.challenge,
            &self.srp_a,
            &self.secret_block,
            &self.timestamp,
            &self.claim,
        )
        .context("verify_claim on the fixture")
    }

    /// What the server computes for one operation of `flow`.
    fn once(&self, flow: Flow) -> anyhow::Result<()> {
        match flow {
            Flow::Password => {
                let verifier = srp::verifier_with_salt(
                    &self.pool_name,
                    &self.username,
                    PASSWORD,
                    &self.verifier.salt,
                )
                .context("verifier_with_salt")?;
                black_box(verifier);
                self.two_tokens()?;
                self.hash_refresh();
            }
            Flow::Srp => {
                black_box(srp::server_challenge(&self.verifier).context("server challenge")?);
                self.verify_claim()?;
                self.two_tokens()?;
            }
            Flow::Refresh => {
                self.two_tokens()?;
                self.hash_refresh();
            }
            Flow::AdminCreateUser => {
                black_box(srp::new_verifier(&self.pool_name, &self.username, PASSWORD));
            }
            Flow::Floor | Flow::AdminGetUser => {}
        }
        Ok(())
    }
}

/// CPU seconds per operation of `flow`, single-threaded, in `batches` batches of at least
/// `budget / batches` and `minimum / batches` iterations each; and the iterations run.
pub fn batches(
    flow: Flow,
    budget: Duration,
    minimum: u32,
    batches: u32,
) -> anyhow::Result<(Vec<f64>, u32)> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| -> anyhow::Result<(Vec<f64>, u32)> {
                let material = Material::new()?;
                material.once(flow)?; // warm caches
                let batches = batches.max(1);
                let batch_budget = budget / batches;
                let batch_minimum = minimum.div_ceil(batches).max(1);
                let mut per_op = Vec::new();
                let mut total = 0u32;
                for _ in 0..batches {
                    let started_cpu = thread_cpu_ns();
                    let started = Instant::now();
                    let mut iterations = 0u32;
                    while iterations < batch_minimum || started.elapsed() < batch_budget {
                        material.once(flow)?;
                        iterations += 1;
                    }
                    let seconds = match (started_cpu, thread_cpu_ns()) {
                        (Some(before), Some(after)) => after.saturating_sub(before) as f64 / 1e9,
                        _ => started.elapsed().as_secs_f64(),
                    };
                    per_op.push(seconds / f64::from(iterations));
                    total += iterations;
                }
                Ok((per_op, total))
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the crypto thread panicked"))?
    })
}

/// The median of per-batch costs (NaN if there are none).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}
