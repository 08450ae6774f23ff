//! Password hashes imported from other systems (bcrypt, argon2, scrypt, PBKDF2), so users moved
//! into Cognate sign in with their old passwords. A hash is parsed, and its cost bounded, when it
//! is imported, so an imported hash cannot make each sign-in attempt arbitrarily expensive; after
//! the first successful plaintext sign-in the caller replaces it with Cognate's SRP verifier.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Sha256, Sha512};

/// The highest bcrypt cost accepted (cost 14 is about a second of one core).
pub const MAX_BCRYPT_COST: u32 = 14;
/// The most memory an argon2 hash may ask for, in KiB (256 MiB).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// The most argon2 passes.
pub const MAX_ARGON2_ITERATIONS: u32 = 10;
/// The most argon2 lanes.
pub const MAX_ARGON2_PARALLELISM: u32 = 8;
/// The highest scrypt `ln` (N = 2^20 with r = 8 needs 1 GiB: the bound is on memory, below).
pub const MAX_SCRYPT_LOG_N: u8 = 20;
/// The most memory an scrypt hash may need (128 · N · r bytes): 256 MiB.
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// The most scrypt parallelism.
pub const MAX_SCRYPT_PARALLELISM: u32 = 16;
/// The most PBKDF2 iterations.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// Digests and salts longer than this are not password hashes.
const MAX_DECODED_LENGTH: usize = 256;

/// Why an imported password hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyHashError {
    #[error(
        "unsupported password hash format (accepted: bcrypt $2a$/$2b$/$2y$, $argon2id$/$argon2i$/$argon2d$, $scrypt$, $pbkdf2-sha256$, $pbkdf2-sha512$, pbkdf2_sha256$)"
    )]
    Unsupported,
    #[error("malformed {0} password hash")]
    Malformed(&'static str),
    #[error("{0} password hash costs more than this server accepts ({1})")]
    TooCostly(&'static str, String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Digest {
    Sha256,
    Sha512,
}

/// A parsed legacy password hash, within the cost bounds.
pub struct LegacyHash {
    kind: Kind,
}

enum Kind {
    Bcrypt(String),
    Argon2 {
        algorithm: argon2::Algorithm,
        version: argon2::Version,
        params: argon2::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

impl std::fmt::Debug for LegacyHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self.kind {
            Kind::Bcrypt(_) => "LegacyHash(bcrypt, ***)",
            Kind::Argon2 { .. } => "LegacyHash(argon2, ***)",
            Kind::Scrypt { .. } => "LegacyHash(scrypt, ***)",
            Kind::Pbkdf2 { .. } => "LegacyHash(pbkdf2, ***)",
        })
    }
}

/// Whether a stored password looks like one of the legacy formats (as opposed to Cognate's own
/// `srp$` verifier or no password).
pub fn is_legacy(stored: &str) -> bool {
    stored.starts_with('$') || stored.starts_with("pbkdf2_sha256$")
}

impl LegacyHash {
    /// Parses a hash string and checks its cost bounds.
    pub fn parse(encoded: &str) -> Result<Self, LegacyHashError> {
        let kind = if encoded.starts_with("$2a$")
            || encoded.starts_with("$2b$")
            || encoded.starts_with("$2y$")
        {
            parse_bcrypt(encoded)?
        } else if let Some(rest) = encoded.strip_prefix("$argon2id$") {
            parse_argon2(argon2::Algorithm::Argon2id, rest)?
        } else if let Some(rest) = encoded.strip_prefix("$argon2i$") {
            parse_argon2(argon2::Algorithm::Argon2i, rest)?
        } else if let Some(rest) = encoded.strip_prefix("$argon2d$") {
            parse_argon2(argon2::Algorithm::Argon2d, rest)?
        } else if let Some(rest) = encoded.strip_prefix("$scrypt$") {
            parse_scrypt(rest)?
        } else if let Some(rest) = encoded.strip_prefix("$pbkdf2-sha256$") {
            parse_pbkdf2_phc(Digest::Sha256, rest)?
        } else if let Some(rest) = encoded.strip_prefix("$pbkdf2-sha512$") {
            parse_pbkdf2_phc(Digest::Sha512, rest)?
        } else if let Some(rest) = encoded.strip_prefix("pbkdf2_sha256$") {
            parse_django(rest)?
        } else {
            return Err(LegacyHashError::Unsupported);
        };
        Ok(Self { kind })
    }

    /// Whether `password` is the one hashed. Slow by design: call it off the async threads.
    pub fn verify(&self, password: &[u8]) -> bool {
        match &self.kind {
            // bcrypt's own verify compares in constant time.
            Kind::Bcrypt(encoded) => bcrypt::verify(password, encoded).unwrap_or(false),
            Kind::Argon2 {
                algorithm,
                version,
                params,
                salt,
                hash,
            } => {
                let mut computed = vec![0u8; hash.len()];
                argon2::Argon2::new(*algorithm, *version, params.clone())
                    .hash_password_into(password, salt, &mut computed)
                    .is_ok()
                    && equal(&computed, hash)
            }
            Kind::Scrypt { params, salt, hash } => {
                let mut computed = vec![0u8; hash.len()];
                scrypt::scrypt(password, salt, params, &mut computed).is_ok()
                    && equal(&computed, hash)
            }
            Kind::Pbkdf2 {
                digest,
                iterations,
                salt,
                hash,
            } => {
                let mut computed = vec![0u8; hash.len()];
                match digest {
                    Digest::Sha256 => {
                        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut computed)
                    }
                    Digest::Sha512 => {
                        pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut computed)
                    }
                }
                equal(&computed, hash)
            }
        }
    }
}

fn equal(computed: &[u8], expected: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(computed, expected).is_ok()
}

fn parse_bcrypt(encoded: &str) -> Result<Kind, LegacyHashError> {
    const NAME: &str = "bcrypt";
    // $2b$12$ + 22 characters of salt + 31 of hash.
    let malformed = LegacyHashError::Malformed(NAME);
    let cost: u32 = encoded
        .get(4..6)
        .and_then(|cost| cost.parse().ok())
        .ok_or_else(|| malformed.clone())?;
    if encoded.len() != 60 || encoded.as_bytes().get(6) != Some(&b'$') || cost < 4 {
        return Err(malformed);
    }
    if cost > MAX_BCRYPT_COST {
        return Err(LegacyHashError::TooCostly(
            NAME,
            format!("cost {cost} > {MAX_BCRYPT_COST}"),
        ));
    }
    Ok(Kind::Bcrypt(encoded.to_owned()))
}

/// Decodes PHC's B64 (standard alphabet, no padding).
fn b64(text: &str, name: &'static str) -> Result<Vec<u8>, LegacyHashError> {
    let bytes = STANDARD_NO_PAD
        .decode(text)
        .map_err(|_| LegacyHashError::Malformed(name))?;
    if bytes.is_empty() || bytes.len() > MAX_DECODED_LENGTH {
        return Err(LegacyHashError::Malformed(name));
    }
    Ok(bytes)
}

/// `k=v,k=v` parameters, each looked up by name.
fn phc_params(text: &str, name: &'static str) -> Result<Vec<(String, u32)>, LegacyHashError> {
    text.split(',')
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or(LegacyHashError::Malformed(name))?;
            let value = value
                .parse()
                .map_err(|_| LegacyHashError::Malformed(name))?;
            Ok((key.to_owned(), value))
        })
        .collect()
}

fn param(params: &[(String, u32)], key: &str, name: &'static str) -> Result<u32, LegacyHashError> {
    params
        .iter()
        .find(|(found, _)| found == key)
        .map(|(_, value)| *value)
        .ok_or(LegacyHashError::Malformed(name))
}

/// `[v=19$]m=..,t=..,p=..$salt$hash` after `$argon2id$`.
fn parse_argon2(algorithm: argon2::Algorithm, rest: &str) -> Result<Kind, LegacyHashError> {
    const NAME: &str = "argon2";
    let parts: Vec<&str> = rest.split('$').collect();
    let (version, params, salt, hash) = match parts.as_slice() {
        [version, params, salt, hash] => {
            let number = version
                .strip_prefix("v=")
                .and_then(|number| number.parse::<u32>().ok())
                .ok_or(LegacyHashError::Malformed(NAME))?;
            let version =
                argon2::Version::try_from(number).map_err(|_| LegacyHashError::Malformed(NAME))?;
            (version, *params, *salt, *hash)
        }
        [params, salt, hash] => (argon2::Version::V0x10, *params, *salt, *hash),
        _ => return Err(LegacyHashError::Malformed(NAME)),
    };
    let pairs = phc_params(params, NAME)?;
    let memory = param(&pairs, "m", NAME)?;
    let iterations = param(&pairs, "t", NAME)?;
    let parallelism = param(&pairs, "p", NAME)?;
    if memory > MAX_ARGON2_MEMORY_KIB
        || iterations > MAX_ARGON2_ITERATIONS
        || parallelism > MAX_ARGON2_PARALLELISM
    {
        return Err(LegacyHashError::TooCostly(
            NAME,
            format!(
                "m={memory},t={iterations},p={parallelism}; at most m={MAX_ARGON2_MEMORY_KIB},t={MAX_ARGON2_ITERATIONS},p={MAX_ARGON2_PARALLELISM}"
            ),
        ));
    }
    let salt = b64(salt, NAME)?;
    let hash = b64(hash, NAME)?;
    let params = argon2::Params::new(memory, iterations, parallelism, Some(hash.len()))
        .map_err(|_| LegacyHashError::Malformed(NAME))?;
    if salt.len() < argon2::MIN_SALT_LEN {
        return Err(LegacyHashError::Malformed(NAME));
    }
    Ok(Kind::Argon2 {
        algorithm,
        version,
        params,
        salt,
        hash,
    })
}

/// `ln=..,r=..,p=..$salt$hash` after `$scrypt$`.
fn parse_scrypt(rest: &str) -> Result<Kind, LegacyHashError> {
    const NAME: &str = "scrypt";
    let [params, salt, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(LegacyHashError::Malformed(NAME));
    };
    let pairs = phc_params(params, NAME)?;
    let log_n = param(&pairs, "ln", NAME)?;
    let block_size = param(&pairs, "r", NAME)?;
    let parallelism = param(&pairs, "p", NAME)?;
    let memory = 128u64
        .saturating_mul(1u64.checked_shl(log_n).unwrap_or(u64::MAX))
        .saturating_mul(u64::from(block_size));
    if log_n > u32::from(MAX_SCRYPT_LOG_N)
        || memory > MAX_SCRYPT_MEMORY_BYTES
        || parallelism > MAX_SCRYPT_PARALLELISM
    {
        return Err(LegacyHashError::TooCostly(
            NAME,
            format!(
                "ln={log_n},r={block_size},p={parallelism}; at most ln={MAX_SCRYPT_LOG_N}, 128·N·r ≤ 256 MiB, p={MAX_SCRYPT_PARALLELISM}"
            ),
        ));
    }
    let log_n = u8::try_from(log_n).map_err(|_| LegacyHashError::Malformed(NAME))?;
    let params = scrypt::Params::new(log_n, block_size, parallelism)
        .map_err(|_| LegacyHashError::Malformed(NAME))?;
    Ok(Kind::Scrypt {
        params,
        salt: b64(salt, NAME)?,
        hash: b64(hash, NAME)?,
    })
}

fn pbkdf2_bounded(
    digest: Digest,
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
) -> Result<Kind, LegacyHashError> {
    const NAME: &str = "pbkdf2";
    if iterations == 0 {
        return Err(LegacyHashError::Malformed(NAME));
    }
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(LegacyHashError::TooCostly(
            NAME,
            format!("{iterations} iterations > {MAX_PBKDF2_ITERATIONS}"),
        ));
    }
    Ok(Kind::Pbkdf2 {
        digest,
        iterations,
        salt,
        hash,
    })
}

/// `i=..[,l=..]$salt$hash` (RustCrypto's PHC form) or `rounds$salt$hash` (passlib's, with its
/// `.`-for-`+` alphabet) after `$pbkdf2-sha256$`.
fn parse_pbkdf2_phc(digest: Digest, rest: &str) -> Result<Kind, LegacyHashError> {
    const NAME: &str = "pbkdf2";
    let [params, salt, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(LegacyHashError::Malformed(NAME));
    };
    if let Ok(rounds) = params.parse::<u32>() {
        let adapted = |text: &str| b64(&text.replace('.', "+"), NAME);
        return pbkdf2_bounded(digest, rounds, adapted(salt)?, adapted(hash)?);
    }
    let pairs = phc_params(params, NAME)?;
    let iterations = param(&pairs, "i", NAME)?;
    pbkdf2_bounded(digest, iterations, b64(salt, NAME)?, b64(hash, NAME)?)
}

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (after the prefix); the salt is
/// used as its text.
fn parse_django(rest: &str) -> Result<Kind, LegacyHashError> {
    const NAME: &str = "pbkdf2";
    let [iterations, salt, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(LegacyHashError::Malformed(NAME));
    };
    let iterations = iterations
        .parse()
        .map_err(|_| LegacyHashError::Malformed(NAME))?;
    let hash = STANDARD
        .decode(hash)
        .map_err(|_| LegacyHashError::Malformed(NAME))?;
    if salt.is_empty() || hash.is_empty() || hash.len() > MAX_DECODED_LENGTH {
        return Err(LegacyHashError::Malformed(NAME));
    }
    pbkdf2_bounded(Digest::Sha256, iterations, salt.as_bytes().to_vec(), hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &[u8] = b"Correct-Horse-1";

    fn phc(bytes: &[u8]) -> String {
        STANDARD_NO_PAD.encode(bytes)
    }

    fn check(encoded: &str) {
        let parsed = LegacyHash::parse(encoded).expect("a valid hash");
        assert!(parsed.verify(PASSWORD), "{encoded}");
        assert!(!parsed.verify(b"Correct-Horse-2"), "{encoded}");
    }

    #[test]
    fn bcrypt_hashes_verify() {
        let encoded = bcrypt::hash(PASSWORD, 4).expect("bcrypt hash");
        check(&encoded);
        check(&encoded.replacen("$2b$", "$2y$", 1));
        check(&encoded.replacen("$2b$", "$2a$", 1));
    }

    #[test]
    fn argon2_hashes_verify() {
        let salt = b"saltsaltsalt";
        for (name, algorithm) in [
            ("argon2id", argon2::Algorithm::Argon2id),
            ("argon2i", argon2::Algorithm::Argon2i),
            ("argon2d", argon2::Algorithm::Argon2d),
        ] {
            let params = argon2::Params::new(1024, 2, 1, Some(32)).expect("params");
            let mut out = [0u8; 32];
            argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
                .hash_password_into(PASSWORD, salt, &mut out)
                .expect("argon2 hash");
            check(&format!(
                "${name}$v=19$m=1024,t=2,p=1${}${}",
                phc(salt),
                phc(&out)
            ));
        }
    }

    #[test]
    fn scrypt_hashes_verify() {
        let salt = b"some salt";
        let mut out = [0u8; 32];
        let params = scrypt::Params::new(10, 8, 1).expect("params");
        scrypt::scrypt(PASSWORD, salt, &params, &mut out).expect("scrypt");
        check(&format!(
            "$scrypt$ln=10,r=8,p=1${}${}",
            phc(salt),
            phc(&out)
        ));
    }

    #[test]
    fn pbkdf2_hashes_verify() {
        let salt = b"pbkdf2 salt";
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(PASSWORD, salt, 1000, &mut out);
        check(&format!(
            "$pbkdf2-sha256$i=1000,l=32${}${}",
            phc(salt),
            phc(&out)
        ));
        check(&format!(
            "pbkdf2_sha256$1000${}${}",
            "pbkdf2 salt",
            STANDARD.encode(out)
        ));
        let mut long = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha512>(PASSWORD, salt, 1000, &mut long);
        check(&format!(
            "$pbkdf2-sha512$i=1000${}${}",
            phc(salt),
            phc(&long)
        ));
        // passlib: rounds first, `.` for `+`.
        check(&format!(
            "$pbkdf2-sha256$1000${}${}",
            phc(salt).replace('+', "."),
            phc(&out).replace('+', ".")
        ));
    }

    #[test]
    fn costly_and_unknown_hashes_are_refused() {
        let costly = [
            "$2b$15$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
            "$argon2id$v=19$m=524288,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=65536,t=11,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$scrypt$ln=21,r=8,p=1$c2FsdA$aGFzaA",
            "$scrypt$ln=18,r=16,p=1$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$i=2000001$c2FsdA$aGFzaA",
            "pbkdf2_sha256$3000000$salt$aGFzaA==",
        ];
        for encoded in costly {
            assert!(
                matches!(
                    LegacyHash::parse(encoded),
                    Err(LegacyHashError::TooCostly(..))
                ),
                "{encoded}"
            );
        }
        for encoded in ["$1$abc$def", "plain", "", "$argon2id$v=19$m=1024$x$y"] {
            assert!(LegacyHash::parse(encoded).is_err(), "{encoded}");
        }
        assert_eq!(
            LegacyHash::parse("md5$x").map(|_| ()),
            Err(LegacyHashError::Unsupported)
        );
    }
}
