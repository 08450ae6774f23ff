//! Signing keys: key pairs per pool (one for ID tokens, one for access tokens, as Cognito has),
//! created on first use, kept durably so tokens verify across restarts and replicas, and cached
//! parsed in memory. Keys are RS256, as Cognito's, unless the pool's tag
//! `cognate:signing-algorithm` is `ES256` (ECDSA P-256); a pool whose choice changes rotates to
//! keys of the new algorithm.
//!
//! Keys rotate every `signing_key_rotation_days` (0: never). A new key is published in the JWKS
//! an hour before it signs anything, so verifiers that cached the JWKS find it, and the key it
//! replaces stays published for a day after it stopped signing, the longest an ID or access
//! token lives: no token fails verification during a rotation. Every replica derives the same
//! schedule from the stored keys' creation times.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value as Json, json};
use sqlx::AnyPool;

use cognate_common::clock::SharedClock;
use cognate_common::clock::unix_millis;
use cognate_common::error::internal;
use cognate_common::sealing::Sealer;
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoResult, Config};
use cognate_proto::idp::v1 as idp;

use crate::sealed::SIGNING_KEYS;

/// The pool tag that chooses the signing algorithm: `ES256`, or RS256 when absent.
pub const ALGORITHM_TAG: &str = "cognate:signing-algorithm";

/// How a key signs: RS256 (RSA 2048, PKCS#1 v1.5, SHA-256) or ES256 (ECDSA P-256, SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rs256,
    Es256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Algorithm::Rs256),
            "ES256" => Some(Algorithm::Es256),
            _ => None,
        }
    }

    /// The algorithm `pool` chose with its tag; any other value than ES256 means RS256.
    pub fn of_pool(pool: &idp::UserPoolType) -> Self {
        match pool.user_pool_tags.get(ALGORITHM_TAG) {
            Some(value) if value.eq_ignore_ascii_case("ES256") => Algorithm::Es256,
            _ => Algorithm::Rs256,
        }
    }

    /// A new private key, PKCS#8 DER.
    fn generate(self) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        match self {
            Algorithm::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)?;
                aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                    .map(|der| der.as_ref().to_vec())
            }
            Algorithm::Es256 => EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map(|document| document.as_ref().to_vec()),
        }
    }
}

/// A private key of either algorithm.
enum Pair {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(EcdsaKeyPair),
}

impl Pair {
    fn from_pkcs8(algorithm: Algorithm, der: &[u8]) -> Result<Self, aws_lc_rs::error::KeyRejected> {
        Ok(match algorithm {
            Algorithm::Rs256 => Pair::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(der)?),
            Algorithm::Es256 => Pair::Ec(EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                der,
            )?),
        })
    }

    /// The public key's bytes: the DER RSA public key, or the uncompressed P-256 point.
    fn public_bytes(&self) -> &[u8] {
        match self {
            Pair::Rsa(pair) => pair.public_key().as_ref(),
            Pair::Ec(pair) => pair.public_key().as_ref(),
        }
    }
}

/// What a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Id,
    Access,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Id => "id",
            Purpose::Access => "access",
        }
    }
}

/// A replaced key stays published this long after its successor took over: the longest an ID
/// or access token lives.
const MAX_TOKEN_LIFETIME_MILLIS: i64 = crate::tokens::MAX_TOKEN_SECONDS * 1000;

/// How long a new key is published before it signs.
const PUBLICATION_LEAD_MILLIS: i64 = 3_600_000;

pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pair: Pair,
    /// A secret of this key's own, for values that must be stable per pool yet unguessable.
    derivation_key: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_pkcs8(kid: String, algorithm: Algorithm, der: &[u8]) -> CognitoResult<Self> {
        let pair = Pair::from_pkcs8(algorithm, der)
            .map_err(|error| internal("stored signing key is unreadable", error))?;
        let secret = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let derivation_key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_ref());
        Ok(Self {
            kid,
            algorithm,
            pair,
            derivation_key,
        })
    }

    /// A compact JWS of `claims`, in the key's algorithm.
    pub fn sign(&self, claims: &Json) -> CognitoResult<String> {
        let header = json!({"kid": self.kid, "alg": self.algorithm.as_str()});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let random = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &random,
                    signing_input.as_bytes(),
                    &mut signature,
                )
                .map(|()| signature)
            }
            // JWS wants ES256 signatures as r ‖ s, the FIXED encoding.
            Pair::Ec(pair) => pair
                .sign(&random, signing_input.as_bytes())
                .map(|signature| signature.as_ref().to_vec()),
        }
        .map_err(|error| internal("signing failed", error))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// 32 bytes determined by this key and `input` alone (HMAC-SHA256 under a hash of the key).
    pub fn derive(&self, input: &str) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(&self.derivation_key, input.as_bytes());
        let mut bytes = [0_u8; 32];
        bytes.copy_from_slice(tag.as_ref());
        bytes
    }

    /// Whether `signature` is this key's signature of `signing_input` by `algorithm`, which
    /// must be the key's own (a token can't pick another algorithm for a key).
    pub fn verifies(&self, algorithm: &str, signing_input: &str, signature: &[u8]) -> bool {
        if algorithm != self.algorithm.as_str() {
            return false;
        }
        let verification: &dyn signature::VerificationAlgorithm = match self.pair {
            Pair::Rsa(_) => &signature::RSA_PKCS1_2048_8192_SHA256,
            Pair::Ec(_) => &signature::ECDSA_P256_SHA256_FIXED,
        };
        signature::UnparsedPublicKey::new(verification, self.pair.public_bytes())
            .verify(signing_input.as_bytes(), signature)
            .is_ok()
    }

    /// The public key as a JWK, as Cognito's jwks.json lists it (RFC 7518 §6.2 for EC keys).
    pub fn jwk(&self) -> Json {
        match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "alg": "RS256",
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                    "kid": self.kid,
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "use": "sig",
                })
            }
            Pair::Ec(pair) => {
                // The uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each.
                let point = pair.public_key().as_ref();
                json!({
                    "alg": "ES256",
                    "crv": "P-256",
                    "kid": self.kid,
                    "kty": "EC",
                    "use": "sig",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                })
            }
        }
    }
}

/// One stored key and when it was created.
#[derive(Debug)]
struct StoredKey {
    key: Arc<SigningKey>,
    generation: i64,
    created_at: i64,
}

impl StoredKey {
    /// When it starts signing: at once for a pool's first key, else after the publication lead.
    fn active_from(&self) -> i64 {
        if self.generation == 0 {
            self.created_at
        } else {
            self.created_at + PUBLICATION_LEAD_MILLIS
        }
    }
}

/// A pool's keys at one instant: the two that sign, and every key the JWKS publishes.
#[derive(Debug)]
pub struct PoolKeys {
    pub id: Arc<SigningKey>,
    pub access: Arc<SigningKey>,
    published: Vec<(Purpose, Arc<SigningKey>)>,
    /// The first ID key: its derivation secret stays the pool's whatever the rotations.
    first_id: Arc<SigningKey>,
    /// When this view goes stale (unix milliseconds): a key starts signing, retires, or is due.
    refresh_at: i64,
    /// The algorithm of the newest keys, which the pool chose when they were made.
    newest_algorithm: Algorithm,
}

impl PoolKeys {
    /// 32 bytes determined by the pool and `input` alone, stable across rotations.
    pub fn derive(&self, input: &str) -> [u8; 32] {
        self.first_id.derive(input)
    }

    /// The published key of `purpose` named `kid`.
    pub fn published(&self, purpose: Purpose, kid: &str) -> Option<&SigningKey> {
        self.published
            .iter()
            .find(|(key_purpose, key)| *key_purpose == purpose && key.kid == kid)
            .map(|(_, key)| key.as_ref())
    }

    /// The JWKS document's keys.
    pub fn jwks(&self) -> Vec<Json> {
        self.published.iter().map(|(_, key)| key.jwk()).collect()
    }
}

/// One purpose's keys (oldest first) at `now`: the signing key, the published keys, and when
/// that changes next.
fn schedule(keys: &[StoredKey], now: i64) -> (Arc<SigningKey>, Vec<Arc<SigningKey>>, i64) {
    let current = keys
        .iter()
        .rposition(|key| key.active_from() <= now)
        .unwrap_or(0);
    let mut changes = i64::MAX;
    let mut published = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let retires_at = keys.get(index + 1).map_or(i64::MAX, |next| {
            next.active_from() + MAX_TOKEN_LIFETIME_MILLIS
        });
        if index >= current && key.active_from() > now {
            changes = changes.min(key.active_from());
        }
        if retires_at > now {
            published.push(key.key.clone());
            changes = changes.min(retires_at);
        }
    }
    (keys[current].key.clone(), published, changes)
}

#[derive(Debug, Clone)]
pub struct KeyStore {
    db: AnyPool,
    clock: SharedClock,
    /// `None`: keys never rotate.
    rotation_millis: Option<i64>,
    /// Private keys are stored sealed (see `sealed`).
    sealer: Sealer,
    cache: Arc<RwLock<HashMap<String, Arc<PoolKeys>>>>,
    /// Held while creating a key, so the requests that find a rotation due at the same moment
    /// generate one key between them rather than one each.
    creating: Arc<tokio::sync::Mutex<()>>,
}

impl KeyStore {
    pub fn new(db: AnyPool, clock: SharedClock, config: &Config, sealer: Sealer) -> Self {
        Self {
            db,
            clock,
            rotation_millis: (config.signing_key_rotation_days > 0)
                .then(|| i64::from(config.signing_key_rotation_days) * 86_400_000),
            sealer,
            cache: Arc::default(),
            creating: Arc::default(),
        }
    }

    fn now(&self) -> i64 {
        unix_millis(self.clock.now())
    }

    fn cached(&self, pool_id: &str) -> Option<Arc<PoolKeys>> {
        let now = self.now();
        self.cache
            .read()
            .ok()
            .and_then(|cache| cache.get(pool_id).cloned())
            .filter(|keys| now < keys.refresh_at)
    }

    /// The pool's keys, created the first time any replica needs them, in `algorithm`, the
    /// pool's choice: when it differs from the newest keys', keys of it are made now and sign
    /// after the publication lead, as in a rotation. The caller has checked that the pool exists.
    pub async fn for_pool(
        &self,
        pool_id: &str,
        algorithm: Algorithm,
    ) -> CognitoResult<Arc<PoolKeys>> {
        if let Some(keys) = self
            .cached(pool_id)
            .filter(|keys| keys.newest_algorithm == algorithm)
        {
            return Ok(keys);
        }
        for purpose in [Purpose::Id, Purpose::Access] {
            self.insert_generation(pool_id, purpose, 0, algorithm)
                .await?;
        }
        self.refresh(pool_id, Some(algorithm))
            .await?
            .ok_or_else(|| internal("signing keys vanished after insert", pool_id))
    }

    /// The pool's keys if it has any, never creating them: for checking tokens, which a pool
    /// without keys cannot have issued.
    pub async fn existing(&self, pool_id: &str) -> CognitoResult<Option<Arc<PoolKeys>>> {
        if let Some(keys) = self.cached(pool_id) {
            return Ok(Some(keys));
        }
        self.refresh(pool_id, None).await
    }

    /// The published key of `purpose` named `kid`, looking in the store when the cached view
    /// lacks it (another replica may have rotated a moment earlier).
    pub async fn verifying_key(
        &self,
        pool_id: &str,
        purpose: Purpose,
        kid: &str,
    ) -> CognitoResult<Option<Arc<PoolKeys>>> {
        let Some(keys) = self.existing(pool_id).await? else {
            return Ok(None);
        };
        if keys.published(purpose, kid).is_some() {
            return Ok(Some(keys));
        }
        Ok(self
            .refresh(pool_id, None)
            .await?
            .filter(|keys| keys.published(purpose, kid).is_some()))
    }

    /// Reads the pool's keys, rotating a purpose whose newest key is due or not of the `wanted`
    /// algorithm, and caches the view.
    async fn refresh(
        &self,
        pool_id: &str,
        wanted: Option<Algorithm>,
    ) -> CognitoResult<Option<Arc<PoolKeys>>> {
        let mut by_purpose = self.load(pool_id).await?;
        if by_purpose.iter().any(Vec::is_empty) {
            return Ok(None);
        }
        let now = self.now();
        let mut rotated = false;
        for (purpose, keys) in [Purpose::Id, Purpose::Access].into_iter().zip(&by_purpose) {
            let Some(newest) = keys.last() else {
                continue;
            };
            let algorithm = wanted.unwrap_or(newest.key.algorithm);
            // The successor is due a publication lead before the newest key's term ends.
            let due = self.rotation_millis.is_some_and(|rotation| {
                newest.created_at + rotation - PUBLICATION_LEAD_MILLIS <= now
            });
            if due || algorithm != newest.key.algorithm {
                self.insert_generation(pool_id, purpose, newest.generation + 1, algorithm)
                    .await?;
                rotated = true;
            }
        }
        if rotated {
            by_purpose = self.load(pool_id).await?;
        }
        let [id_keys, access_keys] = &by_purpose;
        let (id, id_published, id_changes) = schedule(id_keys, now);
        let (access, access_published, access_changes) = schedule(access_keys, now);
        let mut refresh_at = id_changes.min(access_changes);
        if let Some(rotation) = self.rotation_millis {
            for keys in &by_purpose {
                let newest = keys.last().map_or(0, |key| key.created_at);
                refresh_at = refresh_at.min(newest + rotation - PUBLICATION_LEAD_MILLIS);
            }
        }
        let published = id_published
            .into_iter()
            .map(|key| (Purpose::Id, key))
            .chain(
                access_published
                    .into_iter()
                    .map(|key| (Purpose::Access, key)),
            )
            .collect();
        let newest_algorithm = id_keys
            .last()
            .map_or(Algorithm::Rs256, |key| key.key.algorithm);
        let keys = Arc::new(PoolKeys {
            id,
            access,
            published,
            first_id: id_keys[0].key.clone(),
            refresh_at,
            newest_algorithm,
        });
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(pool_id.to_owned(), keys.clone());
        }
        Ok(Some(keys))
    }

    /// Creates the key of one generation, unless a replica got there first.
    async fn insert_generation(
        &self,
        pool_id: &str,
        purpose: Purpose,
        generation: i64,
        algorithm: Algorithm,
    ) -> CognitoResult<()> {
        let _creating = self.creating.lock().await;
        let exists = sqlx::query(
            "SELECT 1 AS hit FROM signing_keys WHERE user_pool_id = $1 AND purpose = $2 AND generation = $3",
        )
        .bind(pool_id)
        .bind(purpose.as_str())
        .bind(generation)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?;
        if exists.is_some() {
            return Ok(());
        }
        let der = tokio::task::spawn_blocking(move || algorithm.generate())
            .await
            .map_err(|error| internal("key generation task failed", error))?
            .map_err(|error| internal("key generation failed", error))?;
        let pair = Pair::from_pkcs8(algorithm, &der)
            .map_err(|error| internal("generated key is unreadable", error))?;
        let kid = STANDARD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            pair.public_bytes(),
        ));
        let sealed_key = SIGNING_KEYS
            .seal(&self.sealer, &STANDARD.encode(&der), &[pool_id, &kid])
            .map_err(|error| internal("sealing a signing key failed", error))?;
        // Replicas may race to create the key: the unique (pool, purpose, generation) keeps one.
        sqlx::query(
            "INSERT INTO signing_keys (kid, user_pool_id, purpose, generation, private_key, created_at, algorithm) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&kid)
        .bind(pool_id)
        .bind(purpose.as_str())
        .bind(generation)
        .bind(sealed_key)
        .bind(self.now())
        .bind(algorithm.as_str())
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// The pool's ID keys and access keys, oldest first.
    async fn load(&self, pool_id: &str) -> CognitoResult<[Vec<StoredKey>; 2]> {
        let rows = sqlx::query(
            "SELECT kid, purpose, generation, private_key, created_at, algorithm FROM signing_keys \
             WHERE user_pool_id = $1 ORDER BY generation",
        )
        .bind(pool_id)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        let mut by_purpose: [Vec<StoredKey>; 2] = [Vec::new(), Vec::new()];
        for row in rows {
            let index = if row.read::<String>("purpose")? == Purpose::Id.as_str() {
                0
            } else {
                1
            };
            let kid: String = row.read("kid")?;
            // Keys stored before sealing are plaintext base64 and read as they are.
            let encoded = SIGNING_KEYS
                .open(
                    &self.sealer,
                    &row.read::<String>("private_key")?,
                    &[pool_id, &kid],
                )
                .map_err(|error| internal("stored signing key does not open", error))?;
            let der = STANDARD
                .decode(encoded)
                .map_err(|error| internal("stored signing key is not base64", error))?;
            let stored_algorithm: String = row.read("algorithm")?;
            let algorithm = Algorithm::parse(&stored_algorithm).ok_or_else(|| {
                internal("stored signing key algorithm unknown", stored_algorithm)
            })?;
            by_purpose[index].push(StoredKey {
                key: Arc::new(SigningKey::from_pkcs8(kid, algorithm, &der)?),
                generation: row.read("generation")?,
                created_at: row.read("created_at")?,
            });
        }
        Ok(by_purpose)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use cognate_common::clock::{Clock, ManualClock};
    use cognate_common::sealing::{MasterKey, SealingError};

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    const HALF_HOUR: Duration = Duration::from_secs(1800);

    fn replicas(db: &AnyPool, clock: &Arc<ManualClock>, days: u32) -> [KeyStore; 2] {
        let config = Config {
            signing_key_rotation_days: days,
            ..Config::default()
        };
        let replica = || KeyStore::new(db.clone(), clock.clone(), &config, sealer(1));
        [replica(), replica()]
    }

    fn sealer(seed: u8) -> Sealer {
        Sealer::new(&MasterKey::from_bytes([seed; 32]), &[]).expect("sealer")
    }

    /// The stored rows hold the private keys sealed: neither the key's base64 DER nor a piece
    /// of it is in the row, and the sealed value opens to the key that signs.
    async fn private_keys_are_sealed_at_rest(db: &AnyPool) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let [store, _] = replicas(db, &clock, 0);
        let keys = store.for_pool("p", Algorithm::Es256).await.expect("keys");
        let rows =
            sqlx::query("SELECT kid, private_key FROM signing_keys WHERE user_pool_id = 'p'")
                .fetch_all(db)
                .await
                .expect("rows");
        assert_eq!(rows.len(), 2);
        for row in rows {
            let kid: String = row.read("kid").expect("kid");
            let stored: String = row.read("private_key").expect("private_key");
            assert!(stored.starts_with("sealed:v1:"), "{stored}");
            let encoded = SIGNING_KEYS
                .open(&sealer(1), &stored, &["p", &kid])
                .expect("opens");
            let der = STANDARD.decode(&encoded).expect("base64 DER");
            assert!(der.len() > 100, "a PKCS#8 document");
            for window in encoded.as_bytes().chunks(16) {
                let piece = std::str::from_utf8(window).expect("ascii");
                assert!(!stored.contains(piece), "plaintext {piece} in the row");
            }
            let reopened =
                SigningKey::from_pkcs8(kid.clone(), Algorithm::Es256, &der).expect("a key");
            assert!(
                keys.jwks().contains(&reopened.jwk()),
                "the sealed key is the published one"
            );
            assert_eq!(
                SIGNING_KEYS
                    .open(&sealer(1), &stored, &["other-pool", &kid])
                    .err(),
                Some(SealingError::Unopenable {
                    id: sealer(1).current_id().to_owned()
                }),
                "bound to its pool"
            );
        }
    }

    /// A database from before sealing: its plaintext keys keep signing, `rewrap` seals them in
    /// place (same kids, same derived secrets), and a process with another master key is told
    /// which key is missing instead of failing later.
    async fn plaintext_keys_keep_working_and_rewrap_seals_them(db: &AnyPool) {
        let der = Algorithm::Rs256.generate().expect("generated");
        for (purpose, kid) in [("id", "legacy-id"), ("access", "legacy-access")] {
            sqlx::query(
                "INSERT INTO signing_keys (kid, user_pool_id, purpose, generation, private_key, created_at, algorithm) \
                 VALUES ($1, 'p', $2, 0, $3, 0, 'RS256')",
            )
            .bind(kid)
            .bind(purpose)
            .bind(STANDARD.encode(&der))
            .execute(db)
            .await
            .expect("a legacy row");
        }
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let [before, _] = replicas(db, &clock, 0);
        let legacy = before.for_pool("p", Algorithm::Rs256).await.expect("keys");
        assert_eq!(legacy.access.kid, "legacy-access");
        let derived = legacy.derive("decoy");

        assert_eq!(
            crate::sealed::rewrap(db, &sealer(1)).await.expect("rewrap"),
            2
        );
        assert_eq!(
            crate::sealed::rewrap(db, &sealer(1)).await.expect("rewrap"),
            0,
            "nothing left to seal"
        );
        let stored: Vec<String> = sqlx::query_scalar("SELECT private_key FROM signing_keys")
            .fetch_all(db)
            .await
            .expect("rows");
        assert!(stored.iter().all(|value| value.starts_with("sealed:v1:")));
        let [after, _] = replicas(db, &clock, 0);
        let sealed = after.for_pool("p", Algorithm::Rs256).await.expect("keys");
        assert_eq!(sealed.access.kid, "legacy-access");
        assert_eq!(sealed.derive("decoy"), derived, "the same key, sealed");

        let stranger = sealer(2);
        let error = crate::sealed::check_keys(db, &stranger)
            .await
            .expect_err("another master key");
        assert_eq!(
            format!("{error:#}"),
            format!(
                "the secrets in signing_keys: a value was sealed with master key {}, which this process does not have (it has {}); configure that key (as COGNATE_MASTER_KEY, or in COGNATE_PREVIOUS_MASTER_KEYS while rotating)",
                sealer(1).current_id(),
                stranger.current_id()
            )
        );
        let config = Config::default();
        let wrong = KeyStore::new(db.clone(), clock.clone(), &config, stranger);
        assert_eq!(
            wrong.for_pool("p", Algorithm::Rs256).await.err(),
            Some(cognate_common::CognitoError::internal()),
            "an error, not a panic"
        );
    }

    fn kids(keys: &PoolKeys) -> HashSet<String> {
        keys.jwks()
            .iter()
            .filter_map(|jwk| jwk["kid"].as_str().map(str::to_owned))
            .collect()
    }

    /// Two replicas sign in turn every half hour for 65 days of 30-day rotations: each token
    /// verifies on both replicas for the day it lives, a key is published before it signs, and a
    /// replaced key leaves the JWKS a day after its last token.
    async fn no_token_fails_during_rotations(db: &AnyPool, algorithm: Algorithm) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let stores = replicas(db, &clock, 30);
        let first = stores[0].for_pool("p", algorithm).await.expect("keys");
        let secret = first.derive("decoy");
        let mut tokens: Vec<(i64, String, String)> = Vec::new();
        let mut published_before: HashSet<String> = kids(&first);
        let mut signing_kids = HashSet::new();
        for step in 0..(65 * 48) {
            let now = unix_millis(clock.now());
            let signer = &stores[step % 2];
            let keys = signer.for_pool("p", algorithm).await.expect("keys");
            assert!(
                published_before.contains(&keys.access.kid),
                "a key is published before it signs"
            );
            signing_kids.insert(keys.access.kid.clone());
            assert_eq!(
                keys.derive("decoy"),
                secret,
                "derived values outlive rotations"
            );
            let token = keys.access.sign(&json!({ "step": step })).expect("signed");
            tokens.push((now, keys.access.kid.clone(), token));
            tokens.retain(|(signed_at, _, _)| now - signed_at < MAX_TOKEN_LIFETIME_MILLIS);
            for store in &stores {
                for (_, kid, token) in &tokens {
                    let (signing_input, signature) = token.rsplit_once('.').expect("a compact JWS");
                    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64");
                    let keys = store
                        .verifying_key("p", Purpose::Access, kid)
                        .await
                        .expect("store answers")
                        .expect("the key of a live token is published");
                    assert!(
                        keys.published(Purpose::Access, kid)
                            .is_some_and(|key| key.verifies(
                                algorithm.as_str(),
                                signing_input,
                                &signature
                            ))
                    );
                }
            }
            let next = &stores[(step + 1) % 2];
            published_before = kids(&next.for_pool("p", algorithm).await.expect("keys"));
            assert!(
                published_before.len() <= 6,
                "at most three keys per purpose are ever published"
            );
            clock.advance(HALF_HOUR);
        }
        assert_eq!(signing_kids.len(), 3, "two rotations in 65 days");
        let first_kid = first.access.kid.clone();
        let retired = stores[0]
            .verifying_key("p", Purpose::Access, &first_kid)
            .await
            .expect("store answers");
        assert!(retired.is_none(), "the first key left the JWKS");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys")
            .fetch_one(db)
            .await
            .expect("count");
        assert_eq!(
            rows, 6,
            "one key per purpose and generation, though replicas raced"
        );
    }

    async fn rs256_tokens_survive_rotations(db: &AnyPool) {
        no_token_fails_during_rotations(db, Algorithm::Rs256).await;
    }

    async fn es256_tokens_survive_rotations(db: &AnyPool) {
        no_token_fails_during_rotations(db, Algorithm::Es256).await;
    }

    /// A pool that changes from RS256 to ES256: the EC keys are published at once, sign after
    /// the publication lead, and the RSA keys stay published for a day after, so an RS256 token
    /// still verifies; an RS256 signature never verifies under an ES256 key, nor the reverse.
    async fn a_changed_algorithm_rotates_the_keys(db: &AnyPool) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let [store, other] = replicas(db, &clock, 0);
        let rsa = store.for_pool("p", Algorithm::Rs256).await.expect("keys");
        let rsa_token = rsa.access.sign(&json!({"n": 1})).expect("signed");
        let switching = store.for_pool("p", Algorithm::Es256).await.expect("keys");
        assert_eq!(
            switching.access.algorithm,
            Algorithm::Rs256,
            "not signing yet"
        );
        let published: Vec<Json> = switching.jwks();
        assert_eq!(published.len(), 4);
        assert!(
            published
                .iter()
                .any(|jwk| jwk["kty"] == "EC" && jwk["crv"] == "P-256" && jwk["alg"] == "ES256")
        );
        clock.advance(HALF_HOUR * 3);
        let ec = other.for_pool("p", Algorithm::Es256).await.expect("keys");
        assert_eq!(ec.access.algorithm, Algorithm::Es256);
        let ec_token = ec.access.sign(&json!({"n": 2})).expect("signed");
        let check = |keys: &PoolKeys, token: &str| {
            let (header, _) = token.split_once('.').expect("JWS");
            let header: Json =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64"))
                    .expect("JSON");
            let (signing_input, signature) = token.rsplit_once('.').expect("JWS");
            let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64");
            let alg = header["alg"].as_str().expect("alg");
            let kid = header["kid"].as_str().expect("kid");
            let own = keys
                .published(Purpose::Access, kid)
                .is_some_and(|key| key.verifies(alg, signing_input, &signature));
            let other_algorithm = if alg == "RS256" { "ES256" } else { "RS256" };
            let confused = keys
                .published(Purpose::Access, kid)
                .is_some_and(|key| key.verifies(other_algorithm, signing_input, &signature));
            own && !confused
        };
        assert!(check(&ec, &ec_token));
        assert!(check(&ec, &rsa_token), "the RSA key is still published");
        clock.advance(DAY * 2);
        let later = store.for_pool("p", Algorithm::Es256).await.expect("keys");
        assert_eq!(later.jwks().len(), 2, "the RSA keys retired");
        assert!(later.jwks().iter().all(|jwk| jwk["kty"] == "EC"));
    }

    async fn keys_never_rotate_when_rotation_is_off(db: &AnyPool) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let [store, _] = replicas(db, &clock, 0);
        let before = store.for_pool("p", Algorithm::Rs256).await.expect("keys");
        clock.advance(DAY * 400);
        let after = store.for_pool("p", Algorithm::Rs256).await.expect("keys");
        assert_eq!(before.access.kid, after.access.kid);
        assert_eq!(kids(&after).len(), 2);
        // An ID key never verifies as an access key.
        assert!(after.published(Purpose::Access, &after.id.kid).is_none());
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Auth, crate::MIGRATOR;
        rs256_tokens_survive_rotations,
        es256_tokens_survive_rotations,
        a_changed_algorithm_rotates_the_keys,
        keys_never_rotate_when_rotation_is_off,
        private_keys_are_sealed_at_rest,
        plaintext_keys_keep_working_and_rewrap_seals_them,
    );
}
