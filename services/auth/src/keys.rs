//! Signing keys: RS256 key pairs per pool (one for ID tokens, one for access tokens, as Cognito
//! has), created on first use, kept durably so tokens verify across restarts and replicas, and
//! cached parsed in memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value as Json, json};
use sqlx::{AnyPool, Row};

use cognate_common::CognitoResult;
use cognate_common::clock::SharedClock;
use cognate_common::error::internal;
use cognate_common::store::store_error;

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

pub struct SigningKey {
    pub kid: String,
    pair: KeyPair,
    /// A secret of this key's own, for values that must be stable per pool yet unguessable.
    derivation_key: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_pkcs8(kid: String, der: &[u8]) -> CognitoResult<Self> {
        let pair = KeyPair::from_pkcs8(der)
            .map_err(|error| internal("stored signing key is unreadable", error))?;
        let secret = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let derivation_key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_ref());
        Ok(Self {
            kid,
            pair,
            derivation_key,
        })
    }

    /// A compact JWS (RS256) of `claims`.
    pub fn sign(&self, claims: &Json) -> CognitoResult<String> {
        let header = json!({"kid": self.kid, "alg": "RS256"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
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

    /// Whether `signature` is this key's RS256 signature of `signing_input`.
    pub fn verifies(&self, signing_input: &str, signature: &[u8]) -> bool {
        let public = self.pair.public_key();
        let components = signature::RsaPublicKeyComponents {
            n: public.modulus().big_endian_without_leading_zero(),
            e: public.exponent().big_endian_without_leading_zero(),
        };
        components
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                signature,
            )
            .is_ok()
    }

    /// The public key as a JWK, as Cognito's jwks.json lists it.
    pub fn jwk(&self) -> Json {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }
}

/// A pool's two current keys.
#[derive(Debug)]
pub struct PoolKeys {
    pub id: SigningKey,
    pub access: SigningKey,
}

#[derive(Debug, Clone)]
pub struct KeyStore {
    db: AnyPool,
    clock: SharedClock,
    cache: Arc<RwLock<HashMap<String, Arc<PoolKeys>>>>,
}

impl KeyStore {
    pub fn new(db: AnyPool, clock: SharedClock) -> Self {
        Self {
            db,
            clock,
            cache: Arc::default(),
        }
    }

    /// The pool's keys, created the first time any replica needs them. The caller has checked
    /// that the pool exists.
    pub async fn for_pool(&self, pool_id: &str) -> CognitoResult<Arc<PoolKeys>> {
        if let Some(keys) = self
            .cache
            .read()
            .ok()
            .and_then(|cache| cache.get(pool_id).cloned())
        {
            return Ok(keys);
        }
        let keys = Arc::new(PoolKeys {
            id: self.load_or_create(pool_id, Purpose::Id).await?,
            access: self.load_or_create(pool_id, Purpose::Access).await?,
        });
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(pool_id.to_owned(), keys.clone());
        }
        Ok(keys)
    }

    /// The pool's keys if it has any, never creating them: for checking tokens, which a pool
    /// without keys cannot have issued.
    pub async fn existing(&self, pool_id: &str) -> CognitoResult<Option<Arc<PoolKeys>>> {
        if let Some(keys) = self
            .cache
            .read()
            .ok()
            .and_then(|cache| cache.get(pool_id).cloned())
        {
            return Ok(Some(keys));
        }
        let (Some(id), Some(access)) = (
            self.load(pool_id, Purpose::Id).await?,
            self.load(pool_id, Purpose::Access).await?,
        ) else {
            return Ok(None);
        };
        let keys = Arc::new(PoolKeys { id, access });
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(pool_id.to_owned(), keys.clone());
        }
        Ok(Some(keys))
    }

    async fn load_or_create(&self, pool_id: &str, purpose: Purpose) -> CognitoResult<SigningKey> {
        if let Some(key) = self.load(pool_id, purpose).await? {
            return Ok(key);
        }
        let der = tokio::task::spawn_blocking(|| {
            let pair = KeyPair::generate(KeySize::Rsa2048)?;
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                .map(|der| der.as_ref().to_vec())
        })
        .await
        .map_err(|error| internal("key generation task failed", error))?
        .map_err(|error| internal("key generation failed", error))?;
        let pair = KeyPair::from_pkcs8(&der)
            .map_err(|error| internal("generated key is unreadable", error))?;
        let kid = STANDARD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            pair.public_key().as_ref(),
        ));
        // Two replicas may race to create the key: the unique (pool, purpose) keeps one.
        sqlx::query(
            "INSERT INTO signing_keys (kid, user_pool_id, purpose, private_key, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&kid)
        .bind(pool_id)
        .bind(purpose.as_str())
        .bind(STANDARD.encode(&der))
        .bind(cognate_common::clock::unix_millis(self.clock.now()))
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        self.load(pool_id, purpose)
            .await?
            .ok_or_else(|| internal("signing key vanished after insert", pool_id))
    }

    async fn load(&self, pool_id: &str, purpose: Purpose) -> CognitoResult<Option<SigningKey>> {
        let row = sqlx::query(
            "SELECT kid, private_key FROM signing_keys WHERE user_pool_id = $1 AND purpose = $2",
        )
        .bind(pool_id)
        .bind(purpose.as_str())
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let der = STANDARD
            .decode(row.get::<String, _>("private_key"))
            .map_err(|error| internal("stored signing key is not base64", error))?;
        SigningKey::from_pkcs8(row.get("kid"), &der).map(Some)
    }
}
