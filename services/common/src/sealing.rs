//! Secrets sealed at rest (envelope encryption): token-signing private keys, TOTP secrets and
//! the existence-hiding secret are stored encrypted with AES-256-GCM under a master key that is
//! not in the database (`COGNATE_MASTER_KEY`, `--master-key-file`), so a copy of the database
//! alone (a backup, a replica, a leaked dump) signs no token and passes no MFA.
//!
//! A sealed value is text: `sealed:v1:<master key id>:<base64 of nonce ‖ ciphertext ‖ tag>`.
//! The associated data binds it to its table and row (e.g. the pool and `kid` of a signing
//! key), so a sealed value copied into another row does not open. A value without the
//! `sealed:` prefix is plaintext stored before sealing existed; it is read as it is and sealed
//! by the next write or by `cognate rewrap`. Empty values (a TOTP slot with no secret) hold no
//! secret and stay empty.
//!
//! Rotation: the sealer seals with its current key and opens with any configured key, so
//! values sealed with a previous key stay readable while `cognate rewrap` re-seals them.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::{AnyPool, Row};

use crate::config::Config;

/// What every sealed value starts with.
pub const SEALED_PREFIX: &str = "sealed:";
/// The current form's prefix; any other version is refused rather than guessed at.
const V1_PREFIX: &str = "sealed:v1:";
/// Hex digits of a master key's id.
const KEY_ID_LEN: usize = 8;
/// The file development mode keeps its generated master key in, inside the data directory.
pub const DEV_KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealingError {
    #[error(
        "a master key is 32 random bytes in base64 (generate one with `openssl rand -base64 32`); this one is {0}"
    )]
    KeyFormat(&'static str),
    #[error(
        "no master key: the auth and directory services seal their secrets at rest; set COGNATE_MASTER_KEY (32 random bytes in base64, e.g. from `openssl rand -base64 32`) or --master-key-file, or pass --dev to have one generated in the data directory"
    )]
    NoKey,
    #[error("master key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("two configured master keys have the same id {0}; remove the duplicate")]
    DuplicateKey(String),
    #[error(
        "a value was sealed with master key {id}, which this process does not have (it has {known}); configure that key (as COGNATE_MASTER_KEY, or in COGNATE_PREVIOUS_MASTER_KEYS while rotating)"
    )]
    UnknownKey { id: String, known: String },
    #[error(
        "a value sealed with master key {id} does not open: it was altered, or copied from another row"
    )]
    Unopenable { id: String },
    #[error("a sealed value is malformed: {0}")]
    Malformed(&'static str),
    #[error("sealing failed")]
    Seal,
}

/// One master key: 32 bytes and its id, a short hash that names it in sealed values (the key
/// itself never leaves the process).
pub struct MasterKey {
    id: String,
    bytes: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key from its base64 form (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, SealingError> {
        let decoded = STANDARD
            .decode(text.trim())
            // The decoder's own message would quote a character of the key.
            .map_err(|_decode_error| SealingError::KeyFormat("not base64"))?;
        let bytes: [u8; 32] = decoded
            .try_into()
            .map_err(|_wrong_length: Vec<u8>| SealingError::KeyFormat("not 32 bytes long"))?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut hashed = b"cognate master key\n".to_vec();
        hashed.extend_from_slice(&bytes);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &hashed);
        let mut id = hex::encode(digest.as_ref());
        id.truncate(KEY_ID_LEN);
        Self { id, bytes }
    }

    /// A new random key.
    pub fn generate() -> Result<Self, SealingError> {
        let mut bytes = [0_u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_unspecified| SealingError::Seal)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The base64 form, as `parse` reads it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }
}

struct OpenKey {
    id: String,
    key: RandomizedNonceKey,
}

impl OpenKey {
    fn new(master: &MasterKey) -> Result<Self, SealingError> {
        Ok(Self {
            id: master.id.clone(),
            key: RandomizedNonceKey::new(&AES_256_GCM, &master.bytes)
                .map_err(|_unspecified| SealingError::KeyFormat("refused by AES-256-GCM"))?,
        })
    }
}

struct Keys {
    current: OpenKey,
    previous: Vec<OpenKey>,
}

/// Seals with the current master key and opens with it or any previous one. Built once at
/// start-up from the configuration and passed to the services that store secrets.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<Keys>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Sealer")
            .field("current", &self.keys.current.id)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    pub fn new(current: &MasterKey, previous: &[MasterKey]) -> Result<Self, SealingError> {
        let mut ids = BTreeSet::from([current.id.as_str()]);
        for key in previous {
            if !ids.insert(&key.id) {
                return Err(SealingError::DuplicateKey(key.id.clone()));
            }
        }
        Ok(Self {
            keys: Arc::new(Keys {
                current: OpenKey::new(current)?,
                previous: previous
                    .iter()
                    .map(OpenKey::new)
                    .collect::<Result<_, _>>()?,
            }),
        })
    }

    /// The sealer the configuration describes: `master_key` (and `previous_master_keys`), else
    /// the keys of `master_key_file` (the first line current, later lines previous), else in
    /// development mode a key generated once into the data directory.
    pub fn from_config(config: &Config) -> Result<Self, SealingError> {
        let mut previous = config
            .previous_master_keys
            .iter()
            .map(|key| MasterKey::parse(key.expose()))
            .collect::<Result<Vec<_>, _>>()?;
        let current = if let Some(key) = &config.master_key {
            MasterKey::parse(key.expose())?
        } else if let Some(path) = &config.master_key_file {
            let mut keys = read_key_file(path)?.into_iter();
            let current = keys.next().ok_or_else(|| SealingError::KeyFile {
                path: path.clone(),
                reason: "holds no key".to_owned(),
            })?;
            previous.extend(keys);
            current
        } else if config.dev {
            development_key(&config.data_dir)?
        } else {
            return Err(SealingError::NoKey);
        };
        Self::new(&current, &previous)
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.keys.current.id
    }

    fn known_ids(&self) -> String {
        std::iter::once(&self.keys.current)
            .chain(&self.keys.previous)
            .map(|key| key.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn key(&self, id: &str) -> Result<&OpenKey, SealingError> {
        std::iter::once(&self.keys.current)
            .chain(&self.keys.previous)
            .find(|key| key.id == id)
            .ok_or_else(|| SealingError::UnknownKey {
                id: id.to_owned(),
                known: self.known_ids(),
            })
    }

    /// Whether this process can open values sealed with the master key `id`.
    pub fn has_key(&self, id: &str) -> bool {
        self.key(id).is_ok()
    }

    /// `plaintext` sealed with the current key, bound to `binding` (see [`SealedColumns`]).
    fn seal(&self, plaintext: &str, binding: &[u8]) -> Result<String, SealingError> {
        if plaintext.is_empty() {
            return Ok(String::new());
        }
        let current = &self.keys.current;
        let mut in_out = plaintext.as_bytes().to_vec();
        let nonce = current
            .key
            .seal_in_place_append_tag(
                Aad::from(associated_data(&current.id, binding)),
                &mut in_out,
            )
            .map_err(|_unspecified| SealingError::Seal)?;
        let mut blob = nonce.as_ref().to_vec();
        blob.extend_from_slice(&in_out);
        Ok(format!(
            "{V1_PREFIX}{}:{}",
            current.id,
            STANDARD.encode(blob)
        ))
    }

    /// The plaintext of a stored value: opened if sealed, as it is if stored before sealing.
    fn open(&self, stored: &str, binding: &[u8]) -> Result<String, SealingError> {
        let Some(sealed) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let rest = sealed
            .strip_prefix("v1:")
            .ok_or(SealingError::Malformed("unknown version"))?;
        let (id, encoded) = rest
            .split_once(':')
            .ok_or(SealingError::Malformed("no key id"))?;
        let key = self.key(id)?;
        let mut blob = STANDARD
            .decode(encoded)
            .map_err(|_decode_error| SealingError::Malformed("not base64"))?;
        if blob.len() < NONCE_LEN {
            return Err(SealingError::Malformed("too short"));
        }
        let mut ciphertext = blob.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&blob)
            .map_err(|_unspecified| SealingError::Malformed("bad nonce"))?;
        let unopenable = || SealingError::Unopenable { id: id.to_owned() };
        let plaintext = key
            .key
            .open_in_place(
                nonce,
                Aad::from(associated_data(id, binding)),
                &mut ciphertext,
            )
            .map_err(|_unspecified| unopenable())?;
        String::from_utf8(plaintext.to_vec()).map_err(|_not_utf8| unopenable())
    }

    /// Whether `stored` is not (yet) sealed with the current key: plaintext or an older key.
    pub fn needs_rewrap(&self, stored: &str) -> bool {
        !stored.is_empty() && key_id_of(stored) != Some(self.current_id())
    }
}

/// The master key id a stored value names, if it is sealed.
pub fn key_id_of(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(V1_PREFIX)?;
    rest.split_once(':').map(|(id, _)| id)
}

/// Authenticated with the ciphertext: the format version, the key id and where the value lives.
fn associated_data(key_id: &str, binding: &[u8]) -> Vec<u8> {
    let mut data = format!("cognate-sealed-v1\n{key_id}\n").into_bytes();
    data.extend_from_slice(binding);
    data
}

/// Non-empty, non-comment lines, each a key.
fn read_key_file(path: &Path) -> Result<Vec<MasterKey>, SealingError> {
    let text = std::fs::read_to_string(path).map_err(|error| SealingError::KeyFile {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(MasterKey::parse)
        .collect()
}

/// Development mode's key: read from the data directory, or generated there (readable by its
/// owner only) on first start, with a warning: a key beside the data it protects protects
/// nothing from whoever copies the directory.
fn development_key(data_dir: &Path) -> Result<MasterKey, SealingError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = data_dir.join(DEV_KEY_FILE);
    let file_error = |error: std::io::Error| SealingError::KeyFile {
        path: path.clone(),
        reason: error.to_string(),
    };
    std::fs::create_dir_all(data_dir).map_err(file_error)?;
    let key = MasterKey::generate()?;
    // `create_new`: two processes starting at once keep the first key, never overwrite it.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            writeln!(file, "{}", key.to_base64()).map_err(file_error)?;
            tracing::warn!(
                path = %path.display(),
                key_id = key.id(),
                "development mode: generated a master key in the data directory; in production set COGNATE_MASTER_KEY or --master-key-file to a key kept apart from the data"
            );
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut keys = read_key_file(&path)?.into_iter();
            keys.next().ok_or_else(|| SealingError::KeyFile {
                path: path.clone(),
                reason: "holds no key".to_owned(),
            })
        }
        Err(error) => Err(file_error(error)),
    }
}

/// A table's sealed columns: the one place that says how its values are bound, used both by
/// the service that reads and writes them and by `cognate rewrap`.
#[derive(Debug)]
pub struct SealedColumns {
    pub table: &'static str,
    /// The primary key: how rewrap pages through the table and finds a row again.
    pub key: &'static [&'static str],
    /// The columns a value is bound to besides the table (e.g. pool id and `kid`); a value
    /// copied to a row that differs in any of them does not open.
    pub binding: &'static [&'static str],
    pub sealed: &'static [&'static str],
}

/// Values of a page of rewrap.
const REWRAP_PAGE: i64 = 500;
/// Attempts at one row that other writers keep changing before rewrap gives up on it.
const REWRAP_ATTEMPTS: usize = 5;

impl SealedColumns {
    fn binding_bytes(&self, values: &[&str]) -> Vec<u8> {
        debug_assert_eq!(values.len(), self.binding.len());
        let mut parts = vec![self.table];
        parts.extend_from_slice(values);
        // JSON keeps the parts apart whatever characters they hold.
        serde_json::to_vec(&parts).unwrap_or_default()
    }

    /// `plaintext` sealed for the row whose binding columns hold `values`.
    pub fn seal(
        &self,
        sealer: &Sealer,
        plaintext: &str,
        values: &[&str],
    ) -> Result<String, SealingError> {
        sealer.seal(plaintext, &self.binding_bytes(values))
    }

    /// The plaintext of `stored`, read from the row whose binding columns hold `values`.
    pub fn open(
        &self,
        sealer: &Sealer,
        stored: &str,
        values: &[&str],
    ) -> Result<String, SealingError> {
        sealer.open(stored, &self.binding_bytes(values))
    }

    /// `stored` sealed with the current key, when it is not already.
    pub fn reseal(
        &self,
        sealer: &Sealer,
        stored: &str,
        values: &[&str],
    ) -> Result<Option<String>, SealingError> {
        if !sealer.needs_rewrap(stored) {
            return Ok(None);
        }
        let plaintext = self.open(sealer, stored, values)?;
        self.seal(sealer, &plaintext, values).map(Some)
    }

    fn selected_columns(&self) -> Vec<&'static str> {
        let mut columns: Vec<&'static str> = Vec::new();
        for column in self.key.iter().chain(self.binding).chain(self.sealed) {
            if !columns.contains(column) {
                columns.push(column);
            }
        }
        columns
    }

    /// The ids of the master keys the table's values are sealed with.
    pub async fn stored_key_ids(&self, db: &AnyPool) -> anyhow::Result<BTreeSet<String>> {
        let mut ids = BTreeSet::new();
        let start = V1_PREFIX.len() + 1;
        for column in self.sealed {
            let statement = format!(
                "SELECT DISTINCT substr({column}, {start}, {KEY_ID_LEN}) AS id FROM {} WHERE {column} LIKE 'sealed:%'",
                self.table
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(statement))
                .fetch_all(db)
                .await
                .with_context(|| format!("reading {}.{column}", self.table))?;
            for row in rows {
                ids.insert(row.try_get::<String, _>("id")?);
            }
        }
        Ok(ids)
    }

    /// Refuses to go on when the table holds values sealed with a key this process lacks: every
    /// read of them would fail, so say so at start-up, naming the key.
    pub async fn check_keys(&self, db: &AnyPool, sealer: &Sealer) -> anyhow::Result<()> {
        for id in self.stored_key_ids(db).await? {
            if !sealer.has_key(&id) {
                return Err(SealingError::UnknownKey {
                    id,
                    known: sealer.known_ids(),
                })
                .with_context(|| format!("the secrets in {}", self.table));
            }
        }
        Ok(())
    }

    /// Re-seals every value not sealed with the current key (plaintext included), one row per
    /// statement, each only if the row still holds what was read: a concurrent write (sealed
    /// by a running replica) is read again and re-sealed, never overwritten. The number of
    /// rows re-sealed.
    pub async fn rewrap(&self, db: &AnyPool, sealer: &Sealer) -> anyhow::Result<u64> {
        let columns = self.selected_columns();
        let order = self.key.join(", ");
        let select = format!("SELECT {} FROM {}", columns.join(", "), self.table);
        let key_match = self
            .key
            .iter()
            .enumerate()
            .map(|(index, column)| format!("{column} = ${}", index + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        let after = format!(
            "({order}) > ({})",
            (1..=self.key.len())
                .map(|index| format!("${index}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut last: Option<Vec<String>> = None;
        let mut rewrapped = 0;
        loop {
            let statement = match &last {
                None => format!("{select} ORDER BY {order} LIMIT {REWRAP_PAGE}"),
                Some(_) => format!("{select} WHERE {after} ORDER BY {order} LIMIT {REWRAP_PAGE}"),
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
            for value in last.iter().flatten() {
                query = query.bind(value.clone());
            }
            let rows = query
                .fetch_all(db)
                .await
                .with_context(|| format!("reading {}", self.table))?;
            let Some(final_row) = rows.last() else {
                break;
            };
            last = Some(
                self.key
                    .iter()
                    .map(|column| final_row.try_get::<String, _>(*column))
                    .collect::<Result<_, _>>()?,
            );
            for row in &rows {
                let key: Vec<String> = self
                    .key
                    .iter()
                    .map(|column| row.try_get::<String, _>(*column))
                    .collect::<Result<_, _>>()?;
                if self.rewrap_row(db, sealer, &key, &key_match, row).await? {
                    rewrapped += 1;
                }
            }
        }
        Ok(rewrapped)
    }

    /// Re-seals one row, reading it again while other writers change it under us.
    async fn rewrap_row(
        &self,
        db: &AnyPool,
        sealer: &Sealer,
        key: &[String],
        key_match: &str,
        first_read: &sqlx::any::AnyRow,
    ) -> anyhow::Result<bool> {
        let columns = self.selected_columns();
        let reread = format!(
            "SELECT {} FROM {} WHERE {key_match}",
            columns.join(", "),
            self.table
        );
        let mut current = Some(first_read.clone());
        for _ in 0..REWRAP_ATTEMPTS {
            let Some(row) = current.take() else {
                // Deleted meanwhile: nothing left to seal.
                return Ok(false);
            };
            let binding: Vec<String> = self
                .binding
                .iter()
                .map(|column| row.try_get::<String, _>(*column))
                .collect::<Result<_, _>>()?;
            let binding: Vec<&str> = binding.iter().map(String::as_str).collect();
            let mut changes = Vec::new();
            for column in self.sealed {
                let stored: String = row.try_get(*column)?;
                let resealed = self
                    .reseal(sealer, &stored, &binding)
                    .with_context(|| format!("{}.{column} of {}", self.table, key.join("/")))?;
                if let Some(resealed) = resealed {
                    changes.push((*column, stored, resealed));
                }
            }
            if changes.is_empty() {
                return Ok(false);
            }
            let assignments = changes
                .iter()
                .enumerate()
                .map(|(index, (column, _, _))| format!("{column} = ${}", key.len() + index + 1))
                .collect::<Vec<_>>()
                .join(", ");
            let unchanged = changes
                .iter()
                .enumerate()
                .map(|(index, (column, _, _))| {
                    format!("{column} = ${}", key.len() + changes.len() + index + 1)
                })
                .collect::<Vec<_>>()
                .join(" AND ");
            let statement = format!(
                "UPDATE {} SET {assignments} WHERE {key_match} AND {unchanged}",
                self.table
            );
            let mut update = sqlx::query(sqlx::AssertSqlSafe(statement));
            for value in key {
                update = update.bind(value.clone());
            }
            for (_, _, resealed) in &changes {
                update = update.bind(resealed.clone());
            }
            for (_, stored, _) in &changes {
                update = update.bind(stored.clone());
            }
            let updated = update
                .execute(db)
                .await
                .with_context(|| format!("writing {}", self.table))?;
            if updated.rows_affected() == 1 {
                return Ok(true);
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(reread.clone()));
            for value in key {
                query = query.bind(value.clone());
            }
            current = query
                .fetch_optional(db)
                .await
                .with_context(|| format!("reading {}", self.table))?;
        }
        anyhow::bail!(
            "{} row {} kept changing while being re-sealed; run rewrap again",
            self.table,
            key.join("/")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKENS: SealedColumns = SealedColumns {
        table: "software_tokens",
        key: &["user_pool_id", "sub"],
        binding: &["user_pool_id", "sub"],
        sealed: &["secret"],
    };

    fn sealer(seed: u8) -> (Sealer, MasterKey) {
        let key = MasterKey::from_bytes([seed; 32]);
        (Sealer::new(&key, &[]).expect("sealer"), key)
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_row_and_hides_its_plaintext() {
        let (sealer, key) = sealer(1);
        let sealed = TOKENS
            .seal(&sealer, "JBSWY3DPEHPK3PXP", &["p", "u"])
            .expect("sealed");
        assert!(sealed.starts_with(&format!("sealed:v1:{}:", key.id())));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            TOKENS
                .seal(&sealer, "JBSWY3DPEHPK3PXP", &["p", "u"])
                .expect("sealed"),
            "a fresh nonce each time"
        );
        assert_eq!(
            TOKENS.open(&sealer, &sealed, &["p", "u"]),
            Ok("JBSWY3DPEHPK3PXP".to_owned())
        );
        assert_eq!(
            TOKENS.open(&sealer, &sealed, &["p", "other"]),
            Err(SealingError::Unopenable {
                id: key.id().to_owned()
            })
        );
        // One ciphertext character changed, well inside the base64 (so it still decodes).
        let at = sealed.len() - 10;
        let changed = if sealed.as_bytes()[at] == b'A' {
            "B"
        } else {
            "A"
        };
        let mut tampered = sealed.clone();
        tampered.replace_range(at..=at, changed);
        assert_eq!(
            TOKENS.open(&sealer, &tampered, &["p", "u"]),
            Err(SealingError::Unopenable {
                id: key.id().to_owned()
            })
        );
        assert_eq!(
            TOKENS.open(&sealer, "JBSWY3DPEHPK3PXP", &["p", "u"]),
            Ok("JBSWY3DPEHPK3PXP".to_owned()),
            "plaintext from before sealing reads as it is"
        );
        assert_eq!(TOKENS.seal(&sealer, "", &["p", "u"]), Ok(String::new()));
    }

    #[test]
    fn a_wrong_master_key_is_named_not_a_panic() {
        let (first, first_key) = sealer(1);
        let (second, second_key) = sealer(2);
        let sealed = TOKENS.seal(&first, "secret", &["p", "u"]).expect("sealed");
        assert_eq!(
            TOKENS.open(&second, &sealed, &["p", "u"]),
            Err(SealingError::UnknownKey {
                id: first_key.id().to_owned(),
                known: second_key.id().to_owned(),
            })
        );
        assert_eq!(
            TOKENS.open(&second, "sealed:v9:abc:def", &["p", "u"]),
            Err(SealingError::Malformed("unknown version"))
        );
    }

    #[test]
    fn rotation_reads_old_values_and_reseals_them_with_the_new_key() {
        let old = MasterKey::from_bytes([1; 32]);
        let new = MasterKey::from_bytes([2; 32]);
        let before = Sealer::new(&old, &[]).expect("sealer");
        let during = Sealer::new(&new, &[MasterKey::from_bytes([1; 32])]).expect("sealer");
        let sealed = TOKENS.seal(&before, "secret", &["p", "u"]).expect("sealed");
        assert!(during.needs_rewrap(&sealed) && during.needs_rewrap("plain"));
        assert!(!during.needs_rewrap(""), "nothing to seal");
        let resealed = TOKENS
            .reseal(&during, &sealed, &["p", "u"])
            .expect("opens")
            .expect("re-sealed");
        assert_eq!(key_id_of(&resealed), Some(new.id()));
        assert_eq!(
            TOKENS.reseal(&during, &resealed, &["p", "u"]),
            Ok(None),
            "already current"
        );
        let after = Sealer::new(&new, &[]).expect("sealer");
        assert_eq!(
            TOKENS.open(&after, &resealed, &["p", "u"]),
            Ok("secret".to_owned())
        );
        assert_eq!(
            Sealer::new(&new, &[MasterKey::from_bytes([2; 32])]).map(|_| ()),
            Err(SealingError::DuplicateKey(new.id().to_owned()))
        );
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let key = MasterKey::from_bytes([7; 32]);
        let parsed = MasterKey::parse(&format!(" {}\n", key.to_base64())).expect("parses");
        assert_eq!(parsed.id(), key.id());
        assert_eq!(key.id().len(), KEY_ID_LEN);
        assert_eq!(
            MasterKey::parse("change-me").map(|key| key.id),
            Err(SealingError::KeyFormat("not base64"))
        );
        assert_eq!(
            MasterKey::parse(&STANDARD.encode([7; 16])).map(|key| key.id),
            Err(SealingError::KeyFormat("not 32 bytes long"))
        );
        let sealer = Sealer::new(&key, &[]).expect("sealer");
        let printed = format!("{key:?} {sealer:?}");
        assert!(!printed.contains(&key.to_base64()), "{printed}");
    }

    #[test]
    fn development_mode_generates_one_owner_only_key_and_keeps_it() {
        use std::os::unix::fs::PermissionsExt;

        let directory =
            std::env::temp_dir().join(format!("cognate-sealing-{}", uuid::Uuid::new_v4().simple()));
        let first = development_key(&directory).expect("generated");
        let path = directory.join(DEV_KEY_FILE);
        let mode = std::fs::metadata(&path)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = development_key(&directory).expect("read back");
        assert_eq!(first.id(), again.id());
        let _ = std::fs::remove_dir_all(&directory);
    }
}
