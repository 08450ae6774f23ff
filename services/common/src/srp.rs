//! The server side of Cognito's SRP (`USER_SRP_AUTH`, and `DEVICE_SRP_AUTH` with the device
//! substitutions), byte-compatible with amazon-cognito-identity-js.
//!
//! Cognito's SRP-6a variant: `N` is the 3072-bit MODP prime of RFC 3526, `g = 2`, `H = SHA-256`,
//! and every integer that is hashed goes through `PAD`: its minimal big-endian two's-complement
//! bytes (Java's `BigInteger.toByteArray`), *not* RFC 5054's fixed-width padding.
//!
//! ```text
//! k   = H(PAD(N) ‖ PAD(g))
//! x   = H(PAD(int(SALT)) ‖ H(poolName ‖ USER_ID_FOR_SRP ‖ ":" ‖ password))
//! v   = g^x                          stored instead of the password ([`Verifier`])
//! B   = k·v + g^b                    sent as SRP_B ([`server_challenge`])
//! u   = H(PAD(A) ‖ PAD(B))
//! S   = (A·v^u)^b
//! key = HKDF-SHA256(salt = PAD(u), ikm = PAD(S), info = "Caldera Derived Key", 16 bytes)
//! PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(key, poolName ‖ USER_ID_FOR_SRP ‖ SECRET_BLOCK bytes ‖ TIMESTAMP))
//! ```
//! (all arithmetic mod `N`). For device SRP, pass the `DeviceGroupKey` as the pool name, the
//! `DeviceKey` as the user id, and build the verifier with [`Verifier::from_device_config`].
//!
//! Exponentiations with a secret exponent (`x`, `b`) or a secret base (`v`) run in constant time
//! (crypto-bigint's fixed-window Montgomery exponentiation with constant-time table lookups,
//! bounded to the exponent's fixed bit length), and
//! the signature is compared in constant time. The lengths of the hashed PAD values depend on the
//! values (the protocol defines them so); that is inherent to Cognito's SRP and leaks only a few
//! leading-zero bits.
//!
//! What this module does not do: check TIMESTAMP skew, bind SECRET_BLOCK to the session that
//! issued it, or decide what an unknown user sees. Those are the caller's.

use std::fmt;
use std::sync::LazyLock;

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U3072};
use rand::RngCore as _;

/// RFC 3526 §4, the 3072-bit MODP group's prime.
pub const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);
/// The generator Cognito uses with that prime (RFC 5054 pairs it with 5; Cognito uses 2).
const G: u64 = 2;
/// Bytes in an integer mod `N`.
const N_BYTES: usize = 384;
/// Bytes of a fresh server secret `b` (256 bits, ≈128-bit security like the group).
const SECRET_BYTES: usize = 32;
/// Bytes of a fresh salt (Cognito's are 128-bit).
const SALT_BYTES: usize = 16;
/// `H(...)` values used as exponents (`x`, `u`) are SHA-256 digests.
const DIGEST_BITS: u32 = 256;
/// The HKDF `info` string, fixed by amazon-cognito-identity-js.
const HKDF_INFO: &[u8] = b"Caldera Derived Key";
/// Bytes of the derived signing key.
const KEY_BYTES: usize = 16;

/// The group's constant data, computed once.
struct Group {
    n: U3072,
    params: FixedMontyParams<{ U3072::LIMBS }>,
    g: FixedMontyForm<{ U3072::LIMBS }>,
    k: FixedMontyForm<{ U3072::LIMBS }>,
}

static GROUP: LazyLock<Group> = LazyLock::new(|| {
    let n = U3072::from_be_hex(N_HEX);
    let params = FixedMontyParams::new_vartime(Odd::<U3072>::from_be_hex(N_HEX));
    let g = FixedMontyForm::new(&U3072::from_u64(G), &params);
    let k_digest = hash(&[&pad(&n), &pad(&U3072::from_u64(G))]);
    let k = FixedMontyForm::new(&uint_from_digest(&k_digest), &params);
    Group { n, params, g, k }
});

/// Why an SRP step failed. Every variant of [`verify_claim`]'s failures means "not
/// authenticated" to a client (Cognito answers `NotAuthorizedException`, "Incorrect username or
/// password."); the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrpError {
    /// `SRP_A` is zero, `N` or larger (a genuine client sends `g^a mod N`, in `1..N`).
    #[error("SRP_A is not a valid public value")]
    BadA,
    /// The named field is not hexadecimal.
    #[error("{0} is not valid hex")]
    BadHex(&'static str),
    /// The named field is not base64.
    #[error("{0} is not valid base64")]
    BadBase64(&'static str),
    /// The named value is hex but not usable: zero, or not below `N` (verifier, SRP_B) or too
    /// long (the secret `b`).
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// `u = H(PAD(A) ‖ PAD(B))` is zero; the client aborts in this case, so must we.
    #[error("the SRP scrambling parameter u is zero")]
    ZeroU,
    /// The password claim signature is not the one the verifier implies.
    #[error("the password claim signature does not match")]
    SignatureMismatch,
}

/// What is stored for a user instead of their password.
///
/// `salt` is hex exactly as sent in the challenge's `SALT` (it may start with `00`: the client
/// parses it as an integer, and so does [`verifier_with_salt`]); `verifier` is `v = g^x mod N` as
/// minimal lowercase hex. The verifier allows an offline dictionary attack on the password, so
/// `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    pub salt: String,
    pub verifier: String,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("salt", &self.salt)
            .field("verifier", &"***")
            .finish()
    }
}

impl Verifier {
    /// The verifier of a device registered with `ConfirmDevice`, from its
    /// `DeviceSecretVerifierConfig` (`Salt` and `PasswordVerifier`, both base64 of PAD bytes).
    /// Use it with the device group key as pool name and the device key as user id.
    pub fn from_device_config(
        salt_b64: &str,
        password_verifier_b64: &str,
    ) -> Result<Verifier, SrpError> {
        let salt = LENIENT_BASE64
            .decode(salt_b64)
            .map_err(|_| SrpError::BadBase64("Salt"))?;
        let verifier_bytes = LENIENT_BASE64
            .decode(password_verifier_b64)
            .map_err(|_| SrpError::BadBase64("PasswordVerifier"))?;
        if salt.is_empty() {
            return Err(SrpError::OutOfRange("Salt"));
        }
        let v = uint_from_be_bytes(&verifier_bytes).ok_or(SrpError::OutOfRange("verifier"))?;
        check_residue(&v, "verifier")?;
        Ok(Verifier {
            salt: hex::encode(salt),
            verifier: min_hex(&v),
        })
    }
}

/// The server's secret exponent `b` for one sign-in. Keep it server-side (e.g. in the auth
/// session, via [`ServerSecret::to_hex`]); `Debug` does not print it.
/// No `PartialEq`: nothing should compare it, least of all in variable time.
#[derive(Clone)]
pub struct ServerSecret(Vec<u8>);

impl ServerSecret {
    /// Parses a secret stored with [`ServerSecret::to_hex`]. It must be non-zero and at most
    /// 384 bytes; its byte length (not its value) sets the work of the exponentiations.
    pub fn from_hex(b_hex: &str) -> Result<ServerSecret, SrpError> {
        let bytes = decode_hex(b_hex, "b")?;
        if bytes.len() > N_BYTES {
            return Err(SrpError::OutOfRange("b"));
        }
        if bytes.iter().all(|byte| *byte == 0) {
            return Err(SrpError::OutOfRange("b"));
        }
        Ok(ServerSecret(bytes))
    }

    /// The secret as lowercase hex, for storage.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The exponent and how many bits of it to use: the secret's byte length, fixed for a given
    /// kind of secret, so the exponentiation's time does not depend on the value.
    fn exponent(&self) -> (U3072, u32) {
        // The constructors bound the length to N_BYTES; the copy does not look at the bytes.
        let length = self.0.len().min(N_BYTES);
        let mut buffer = [0u8; N_BYTES];
        buffer[N_BYTES - length..].copy_from_slice(&self.0[..length]);
        let bits = u32::try_from(length * 8).unwrap_or(U3072::BITS);
        (U3072::from_be_slice(&buffer), bits)
    }

    fn random() -> ServerSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        ServerSecret(bytes)
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(***)")
    }
}

/// Server step 1: the secret `b` to keep and the public `B` to send as `SRP_B`.
///
/// To rebuild it from storage without recomputing `B`, construct it from its fields:
/// `ServerChallenge { b: ServerSecret::from_hex(&stored_b)?, big_b: stored_big_b }`.
#[derive(Debug, Clone)]
pub struct ServerChallenge {
    pub b: ServerSecret,
    /// `B` as minimal lowercase hex (`BigInteger.toString(16)`; may have odd length), the
    /// `SRP_B` challenge parameter.
    pub big_b: String,
}

/// Computes a fresh verifier for a password, with a random 128-bit salt.
///
/// `pool_name` is the part of the pool id after `_` (`us-east-1_ExAmPlE12` → `ExAmPlE12`);
/// `username` is what will be sent as `USER_ID_FOR_SRP` (Cognito's internal user name, not an
/// alias). Strings are hashed as UTF-8, without Unicode normalisation, as the client does.
pub fn new_verifier(pool_name: &str, username: &str, password: &str) -> Verifier {
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill_bytes(&mut salt);
    let salt_hex = hex::encode(salt);
    let x = compute_x(pool_name, username, password, &salt);
    Verifier {
        verifier: min_hex(&compute_v(&x)),
        salt: salt_hex,
    }
}

/// [`new_verifier`] with a given salt (hex, as it will be sent in `SALT`), for tests and imports.
pub fn verifier_with_salt(
    pool_name: &str,
    username: &str,
    password: &str,
    salt_hex: &str,
) -> Result<Verifier, SrpError> {
    let salt = decode_hex(salt_hex, "salt")?;
    let x = compute_x(pool_name, username, password, &salt);
    Ok(Verifier {
        salt: salt_hex.to_ascii_lowercase(),
        verifier: min_hex(&compute_v(&x)),
    })
}

/// A verifier for no one, for a user who does not exist when the client hides that (RFC 5054
/// §2.5.1.3): its salt and value come from `seed`, so the same seed gives the same `SALT`.
/// Its value is not `g^x` of any password: a real user's verifier is read from storage, not
/// computed, so deriving one here would cost the decoy an exponentiation a real user's
/// challenge does not. [`server_challenge`] and [`verify_claim`] then do with it exactly what
/// they do with a real verifier.
pub fn simulated_verifier(seed: &[u8; 32]) -> Verifier {
    let expand = |label: &[u8], counter: u8| hash(&[label, seed, &[counter]]);
    let salt = expand(b"salt", 0);
    let mut value = [0u8; N_BYTES];
    for (counter, block) in (0u8..).zip(value.chunks_mut(32)) {
        block.copy_from_slice(expand(b"verifier", counter).as_ref());
    }
    // N begins with 64 one bits: clearing the top bit keeps the value below N, and setting the
    // lowest keeps it above zero, so it is a residue as a real verifier is.
    value[0] &= 0x7f;
    value[N_BYTES - 1] |= 1;
    Verifier {
        salt: hex::encode(&salt.as_ref()[..SALT_BYTES]),
        verifier: min_hex(&U3072::from_be_slice(&value)),
    }
}

/// Server step 1: a fresh 256-bit secret `b` and `B = k·v + g^b mod N` for the user's verifier.
/// The caller keeps `b` and sends `SALT = verifier.salt`, `SRP_B = big_b`.
pub fn server_challenge(verifier: &Verifier) -> Result<ServerChallenge, SrpError> {
    let v = parse_verifier(verifier)?;
    loop {
        let b = ServerSecret::random();
        // B ≡ 0 (which the client would refuse) has probability ~2^-3072; draw again if so.
        if let Some(big_b) = compute_big_b(&v, &b) {
            return Ok(ServerChallenge {
                b,
                big_b: min_hex(&big_b),
            });
        }
    }
}

/// [`server_challenge`] with a given secret `b` (hex), for known-answer tests.
pub fn server_challenge_with_b(
    verifier: &Verifier,
    b_hex: &str,
) -> Result<ServerChallenge, SrpError> {
    let v = parse_verifier(verifier)?;
    let b = ServerSecret::from_hex(b_hex)?;
    let big_b = compute_big_b(&v, &b).ok_or(SrpError::OutOfRange("B"))?;
    Ok(ServerChallenge {
        b,
        big_b: min_hex(&big_b),
    })
}

/// Server step 2: checks the client's `PASSWORD_CLAIM_SIGNATURE`.
///
/// `user_id_for_srp` is the `USER_ID_FOR_SRP` the challenge carried; `srp_a_hex` is the
/// `SRP_A` of `InitiateAuth`; `secret_block_b64` and `timestamp` are the
/// `PASSWORD_CLAIM_SECRET_BLOCK` and `TIMESTAMP` exactly as received (the signature covers the
/// bytes the client sent; check skew and the block's provenance separately).
///
/// Rejects `A` outside `1..N` (zero, `N` and any larger value: a genuine `A` is `g^a mod N`),
/// `u = 0`, and malformed hex or base64. The signature is compared in constant time.
#[allow(clippy::too_many_arguments)] // Mirrors the wire parameters one for one.
pub fn verify_claim(
    pool_name: &str,
    user_id_for_srp: &str,
    verifier: &Verifier,
    challenge: &ServerChallenge,
    srp_a_hex: &str,
    secret_block_b64: &str,
    timestamp: &str,
    claimed_signature_b64: &str,
) -> Result<(), SrpError> {
    let a = parse_public_a(srp_a_hex)?;
    let secret_block = LENIENT_BASE64
        .decode(secret_block_b64)
        .map_err(|_| SrpError::BadBase64("PASSWORD_CLAIM_SECRET_BLOCK"))?;
    let claimed = LENIENT_BASE64
        .decode(claimed_signature_b64)
        .map_err(|_| SrpError::BadBase64("PASSWORD_CLAIM_SIGNATURE"))?;
    let v = parse_verifier(verifier)?;
    let big_b = parse_hex_uint(&challenge.big_b, "SRP_B")?;
    check_residue(&big_b, "SRP_B")?;

    let u = compute_u(&a, &big_b);
    if u == U3072::ZERO {
        return Err(SrpError::ZeroU);
    }
    let s = compute_server_s(&a, &v, &u, &challenge.b);
    let key = derive_key(&u, &s);
    let message = signature_message(pool_name, user_id_for_srp, &secret_block, timestamp);
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    hmac::verify(&mac_key, &message, &claimed).map_err(|_| SrpError::SignatureMismatch)
}

/// Cognito's `TIMESTAMP` for an instant: `ddd MMM D HH:mm:ss UTC YYYY` in UTC, English
/// abbreviations, the day of the month not zero-padded (`Tue Jan 2 03:04:05 UTC 2024`).
pub fn timestamp(at: time::OffsetDateTime) -> String {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let utc = at.to_offset(time::UtcOffset::UTC);
    let weekday = WEEKDAYS[usize::from(utc.weekday().number_days_from_monday())];
    let month = MONTHS[usize::from(u8::from(utc.month()) - 1)];
    format!(
        "{weekday} {month} {} {:02}:{:02}:{:02} UTC {}",
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.year()
    )
}

/// Standard alphabet, padding optional: the client decodes with Node's lenient decoder and
/// echoes what we sent, so accept what it would accept short of other alphabets.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `x = H(PAD(int(salt)) ‖ H(poolName ‖ username ‖ ":" ‖ password))`.
fn compute_x(pool_name: &str, username: &str, password: &str, salt: &[u8]) -> U3072 {
    let inner = hash(&[
        pool_name.as_bytes(),
        username.as_bytes(),
        b":",
        password.as_bytes(),
    ]);
    uint_from_digest(&hash(&[&pad_bytes(salt), inner.as_ref()]))
}

/// `v = g^x mod N`; `x` is a secret 256-bit digest.
fn compute_v(x: &U3072) -> U3072 {
    power(&GROUP.g, x, DIGEST_BITS).retrieve()
}

/// `B = (k·v + g^b) mod N`, or `None` if that is zero.
fn compute_big_b(v: &U3072, b: &ServerSecret) -> Option<U3072> {
    let group = &*GROUP;
    let (b_value, b_bits) = b.exponent();
    let v_monty = FixedMontyForm::new(v, &group.params);
    let big_b = (group.k * v_monty + power(&group.g, &b_value, b_bits)).retrieve();
    (big_b != U3072::ZERO).then_some(big_b)
}

/// `u = H(PAD(A) ‖ PAD(B))` as an integer.
fn compute_u(a: &U3072, big_b: &U3072) -> U3072 {
    uint_from_digest(&hash(&[&pad(a), &pad(big_b)]))
}

/// `S = (A·v^u)^b mod N`. `v` and `b` are secret; `u` is public but a 256-bit digest anyway.
fn compute_server_s(a: &U3072, v: &U3072, u: &U3072, b: &ServerSecret) -> U3072 {
    let params = &GROUP.params;
    let (b_value, b_bits) = b.exponent();
    let v_to_u = power(&FixedMontyForm::new(v, params), u, DIGEST_BITS);
    power(&(FixedMontyForm::new(a, params) * v_to_u), &b_value, b_bits).retrieve()
}

/// `base^exponent mod N` over the exponent's lowest `bits` bits, in time that depends on `bits`
/// only. Every server-side exponentiation goes through here, so the tests can check that a
/// decoy does the same ones as a real user.
fn power(
    base: &FixedMontyForm<{ U3072::LIMBS }>,
    exponent: &U3072,
    bits: u32,
) -> FixedMontyForm<{ U3072::LIMBS }> {
    #[cfg(test)]
    tests::EXPONENTIATIONS.with_borrow_mut(|done| done.push(bits));
    base.pow_bounded_exp(exponent, bits)
}

/// RFC 5869 HKDF-SHA256 with `salt = PAD(u)`, `ikm = PAD(S)`, `info = "Caldera Derived Key"`,
/// `L = 16`. Written out with HMAC (one expand block suffices for L ≤ 32), which cannot fail.
fn derive_key(u: &U3072, s: &U3072) -> [u8; KEY_BYTES] {
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &pad(u)), &pad(s));
    let mut expand = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()));
    expand.update(HKDF_INFO);
    expand.update(&[1]);
    let okm = expand.sign();
    let mut key = [0u8; KEY_BYTES];
    key.copy_from_slice(&okm.as_ref()[..KEY_BYTES]);
    key
}

/// The bytes the password claim signature covers.
fn signature_message(
    pool_name: &str,
    user_id_for_srp: &str,
    secret_block: &[u8],
    timestamp: &str,
) -> Vec<u8> {
    [
        pool_name.as_bytes(),
        user_id_for_srp.as_bytes(),
        secret_block,
        timestamp.as_bytes(),
    ]
    .concat()
}

fn hash(parts: &[&[u8]]) -> digest::Digest {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part);
    }
    context.finish()
}

/// PAD(n): the minimal big-endian two's-complement bytes of `n ≥ 0` (a leading `00` when the top
/// bit is set; `[0]` for zero).
fn pad(n: &U3072) -> Vec<u8> {
    pad_bytes(&n.to_be_bytes())
}

/// PAD of the integer whose big-endian bytes are given (leading zero bytes are dropped first).
fn pad_bytes(big_endian: &[u8]) -> Vec<u8> {
    let first = big_endian
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(big_endian.len());
    let significant = &big_endian[first..];
    match significant.first() {
        None => vec![0],
        Some(top) if top & 0x80 != 0 => [&[0u8][..], significant].concat(),
        Some(_) => significant.to_vec(),
    }
}

/// Minimal lowercase hex of `n`, as `BigInteger.toString(16)` writes it.
fn min_hex(n: &U3072) -> String {
    let full = hex::encode(n.to_be_bytes());
    let trimmed = full.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Decodes hex of any length (odd lengths get a leading zero nibble; either case).
fn decode_hex(text: &str, field: &'static str) -> Result<Vec<u8>, SrpError> {
    if text.is_empty() {
        return Err(SrpError::BadHex(field));
    }
    let decoded = if text.len() % 2 == 1 {
        hex::decode(format!("0{text}"))
    } else {
        hex::decode(text)
    };
    decoded.map_err(|_| SrpError::BadHex(field))
}

/// Parses hex as an integer; `OutOfRange` if it does not fit in 3072 bits.
fn parse_hex_uint(text: &str, field: &'static str) -> Result<U3072, SrpError> {
    // Reject absurd lengths before allocating; leading zeros are still allowed within reason.
    if text.len() > 4 * N_BYTES {
        return Err(SrpError::OutOfRange(field));
    }
    let bytes = decode_hex(text, field)?;
    uint_from_be_bytes(&bytes).ok_or(SrpError::OutOfRange(field))
}

/// Checks a client's `SRP_A` when it arrives: hex of at most twice `N`'s length, in `1..N`.
pub fn check_public_a(text: &str) -> Result<(), SrpError> {
    parse_public_a(text).map(|_| ())
}

/// `A` as sent in `SRP_A`, checked to be in `1..N`.
fn parse_public_a(text: &str) -> Result<U3072, SrpError> {
    let a = parse_hex_uint(text, "SRP_A").map_err(|error| match error {
        SrpError::OutOfRange(_) => SrpError::BadA,
        other => other,
    })?;
    check_residue(&a, "SRP_A").map_err(|_| SrpError::BadA)?;
    Ok(a)
}

fn parse_verifier(verifier: &Verifier) -> Result<U3072, SrpError> {
    let v = parse_hex_uint(&verifier.verifier, "verifier")?;
    check_residue(&v, "verifier")?;
    Ok(v)
}

/// Checks `0 < n < N`.
fn check_residue(n: &U3072, field: &'static str) -> Result<(), SrpError> {
    if *n == U3072::ZERO || *n >= GROUP.n {
        return Err(SrpError::OutOfRange(field));
    }
    Ok(())
}

/// Big-endian bytes of any length as a `U3072`, or `None` if the value needs more than 3072 bits.
fn uint_from_be_bytes(bytes: &[u8]) -> Option<U3072> {
    let first = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    let significant = &bytes[first..];
    if significant.len() > N_BYTES {
        return None;
    }
    let mut buffer = [0u8; N_BYTES];
    buffer[N_BYTES - significant.len()..].copy_from_slice(significant);
    Some(U3072::from_be_slice(&buffer))
}

fn uint_from_digest(digest: &digest::Digest) -> U3072 {
    let mut buffer = [0u8; N_BYTES];
    let bytes = digest.as_ref();
    buffer[N_BYTES - bytes.len()..].copy_from_slice(bytes);
    U3072::from_be_slice(&buffer)
}

/// The client side as amazon-cognito-identity-js computes it, kept apart from the server code:
/// for tests that sign in with SRP.
#[cfg(any(test, feature = "testing"))]
pub mod client {
    use super::*;

    /// A client as amazon-cognito-identity-js computes it, kept apart from the server code:
    /// `S = (B − k·g^x)^(a + u·x) mod N` and the signature over it.
    pub struct Client {
        pub pool_name: String,
        pub user_id: String,
        pub password: String,
        pub a: U3072,
    }

    impl Client {
        pub fn big_a(&self) -> String {
            let params = &GROUP.params;
            let g = FixedMontyForm::new(&U3072::from_u64(2), params);
            min_hex(&g.pow_vartime(&self.a).retrieve())
        }

        pub fn signature(
            &self,
            salt_hex: &str,
            srp_b: &str,
            secret_block: &str,
            now: &str,
        ) -> String {
            let params = &GROUP.params;
            let g = FixedMontyForm::new(&U3072::from_u64(2), params);
            let n_bytes = U3072::from_be_hex(N_HEX).to_be_bytes();
            let k_digest = hash(&[&[&[0u8][..], n_bytes.as_ref()].concat(), &[2u8]]);
            let k = FixedMontyForm::new(&uint_from_digest(&k_digest), params);
            let inner =
                hash(&[format!("{}{}:{}", self.pool_name, self.user_id, self.password).as_bytes()]);
            let salt_int = parse_hex_uint(salt_hex, "SALT").expect("salt is hex");
            let x = uint_from_digest(&hash(&[&pad(&salt_int), inner.as_ref()]));
            let big_b = parse_hex_uint(srp_b, "SRP_B").expect("SRP_B is hex");
            let big_a = g.pow_vartime(&self.a).retrieve();
            let u = uint_from_digest(&hash(&[&pad(&big_a), &pad(&big_b)]));
            // a + u·x fits easily: a ≤ 1024 bits, u·x ≤ 512 bits.
            let (ux, carry) = u.widening_mul(&x);
            assert_eq!(carry, U3072::ZERO);
            let exponent = self.a.wrapping_add(&ux);
            let base = FixedMontyForm::new(&big_b, params) - k * g.pow_vartime(&x);
            let s = base.pow_vartime(&exponent).retrieve();
            let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &pad(&u)), &pad(&s));
            let okm = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()),
                b"Caldera Derived Key\x01",
            );
            let key = hmac::Key::new(hmac::HMAC_SHA256, &okm.as_ref()[..16]);
            let block = base64::engine::general_purpose::STANDARD
                .decode(secret_block)
                .expect("secret block is base64");
            let message = [
                self.pool_name.as_bytes(),
                self.user_id.as_bytes(),
                &block,
                now.as_bytes(),
            ]
            .concat();
            base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, &message).as_ref())
        }
    }

    impl Client {
        /// A client with a fresh random secret `a`.
        pub fn new(pool_name: &str, user_id: &str, password: &str) -> Self {
            let mut a_bytes = [0_u8; 128];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut a_bytes);
            Self {
                pool_name: pool_name.to_owned(),
                user_id: user_id.to_owned(),
                password: password.to_owned(),
                a: uint_from_be_bytes(&a_bytes).expect("128 bytes fit"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::client::Client;
    use super::*;
    use serde_json::Value;

    /// Vectors recorded from amazon-cognito-identity-js 6.3.21 (see shared/reference/srp-vectors.md).
    const VECTORS: &str = include_str!("../testdata/srp-vectors.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).expect("the vectors are JSON")
    }

    fn text<'a>(value: &'a Value, key: &str) -> &'a str {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("vector field {key} is a string"))
    }

    fn uint(hex_text: &str) -> U3072 {
        parse_hex_uint(hex_text, "test").expect("vector integer parses")
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (the vectors' `now_utc`); the workspace's `time` has no parser.
    fn utc_instant(text: &str) -> time::OffsetDateTime {
        let number = |range: std::ops::Range<usize>| -> u16 {
            text[range].parse().expect("a number in now_utc")
        };
        assert_eq!(text.len(), 20, "{text}");
        let month = time::Month::try_from(number(5..7) as u8).expect("month");
        let date =
            time::Date::from_calendar_date(i32::from(number(0..4)), month, number(8..10) as u8)
                .expect("date");
        let clock = time::Time::from_hms(
            number(11..13) as u8,
            number(14..16) as u8,
            number(17..19) as u8,
        )
        .expect("time");
        time::OffsetDateTime::new_utc(date, clock)
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn group_constants_match_the_vectors() {
        let all = vectors();
        let group = &all["group"];
        assert_eq!(min_hex(&GROUP.n), text(group, "N"));
        assert_eq!(hex::encode(pad(&GROUP.n)), text(group, "N_pad"));
        assert_eq!(hex::encode(pad(&U3072::from_u64(G))), text(group, "g_pad"));
        assert_eq!(min_hex(&GROUP.k.retrieve()), text(group, "k"));
    }

    #[test]
    fn pad_is_minimal_twos_complement() {
        assert_eq!(pad(&U3072::ZERO), vec![0]);
        assert_eq!(pad(&U3072::from_u64(0x7f)), vec![0x7f]);
        assert_eq!(pad(&U3072::from_u64(0x80)), vec![0, 0x80]);
        assert_eq!(pad(&U3072::from_u64(0x0102)), vec![1, 2]);
        assert_eq!(pad_bytes(&[0, 0, 0x0f, 0xff]), vec![0x0f, 0xff]);
        assert_eq!(pad_bytes(&[0, 0xc3]), vec![0, 0xc3]);
        assert_eq!(pad_bytes(&[]), vec![0]);
    }

    /// Every intermediate of every USER_SRP_AUTH case, recomputed by the server code.
    #[test]
    fn cases_match_the_client_byte_for_byte() {
        let all = vectors();
        let cases = all["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 7);
        for case in cases {
            let id = text(case, "id");
            let inputs = &case["inputs"];
            let values = &case["values"];
            let wire = &case["wire"];
            let lengths = &case["pad_lengths_bytes"];
            let pad_len = |name: &str| lengths[name].as_u64().expect("pad length") as usize;
            let pool_name = text(inputs, "pool_name");
            let user_id = text(inputs, "user_id_for_srp");
            let password = text(inputs, "password");
            let salt_param = text(inputs, "salt_param");
            assert_eq!(
                text(inputs, "user_pool_id")
                    .split_once('_')
                    .map(|(_, name)| name),
                Some(pool_name),
                "{id}"
            );
            assert_eq!(
                hex::encode(password),
                text(inputs, "password_utf8_hex"),
                "{id}"
            );
            assert_eq!(
                text(&wire["challenge_parameters"], "SALT"),
                salt_param,
                "{id}"
            );
            assert_eq!(
                text(&wire["challenge_parameters"], "USER_ID_FOR_SRP"),
                user_id,
                "{id}"
            );

            // x and v.
            let salt = decode_hex(salt_param, "salt").expect("salt");
            let salt_pad = pad_bytes(&salt);
            assert_eq!(hex::encode(&salt_pad), text(values, "salt_pad"), "{id}");
            assert_eq!(salt_pad.len(), pad_len("salt"), "{id}");
            let inner_input = format!("{pool_name}{user_id}:{password}");
            assert_eq!(
                hex::encode(&inner_input),
                text(values, "x_inner_input_utf8_hex"),
                "{id}"
            );
            assert_eq!(
                hex::encode(hash(&[inner_input.as_bytes()])),
                text(values, "x_inner_hash"),
                "{id}"
            );
            let x = compute_x(pool_name, user_id, password, &salt);
            assert_eq!(min_hex(&x), text(values, "x"), "{id}");
            let verifier =
                verifier_with_salt(pool_name, user_id, password, salt_param).expect("verifier");
            assert_eq!(verifier.salt, salt_param, "{id}");
            assert_eq!(verifier.verifier, text(values, "v"), "{id}");
            let v = uint(&verifier.verifier);
            assert_eq!(hex::encode(pad(&v)), text(values, "v_pad"), "{id}");
            assert_eq!(pad(&v).len(), pad_len("v"), "{id}");

            // B from the case's b, exactly as the mock server sent it.
            let challenge =
                server_challenge_with_b(&verifier, text(inputs, "b")).expect("challenge");
            assert_eq!(challenge.big_b, text(values, "B"), "{id}");
            assert_eq!(
                challenge.big_b,
                text(&wire["challenge_parameters"], "SRP_B"),
                "{id}"
            );
            assert_eq!(
                challenge.b.to_hex().trim_start_matches('0'),
                text(inputs, "b")
            );
            let big_b = uint(&challenge.big_b);
            assert_eq!(hex::encode(pad(&big_b)), text(values, "B_pad"), "{id}");
            assert_eq!(pad(&big_b).len(), pad_len("B"), "{id}");

            // A as the client sent it, u, S.
            let srp_a = text(&wire["initiate_auth_parameters"], "SRP_A");
            assert_eq!(srp_a, text(values, "A"), "{id}");
            let a = parse_public_a(srp_a).expect("A");
            assert_eq!(hex::encode(pad(&a)), text(values, "A_pad"), "{id}");
            assert_eq!(pad(&a).len(), pad_len("A"), "{id}");
            let u = compute_u(&a, &big_b);
            assert_eq!(
                hex::encode(hash(&[&pad(&a), &pad(&big_b)])),
                text(values, "u_hash"),
                "{id}"
            );
            assert_eq!(min_hex(&u), text(values, "u"), "{id}");
            assert_eq!(hex::encode(pad(&u)), text(values, "u_pad"), "{id}");
            assert_eq!(pad(&u).len(), pad_len("u"), "{id}");
            let s = compute_server_s(&a, &v, &u, &challenge.b);
            assert_eq!(min_hex(&s), text(values, "S"), "{id}");
            assert_eq!(hex::encode(pad(&s)), text(values, "S_pad"), "{id}");
            assert_eq!(pad(&s).len(), pad_len("S"), "{id}");

            // HKDF: the intermediate PRK, our key, and aws-lc-rs's own HKDF agree.
            let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &pad(&u)), &pad(&s));
            assert_eq!(hex::encode(prk.as_ref()), text(values, "hkdf_prk"), "{id}");
            let key = derive_key(&u, &s);
            assert_eq!(hex::encode(key), text(values, "hkdf_key"), "{id}");
            assert_eq!(key, library_hkdf(&pad(&u), &pad(&s)), "{id}");

            // TIMESTAMP, the signed message and the signature.
            let now = utc_instant(text(inputs, "now_utc"));
            let responses = &wire["challenge_responses"];
            assert_eq!(timestamp(now), text(values, "timestamp"), "{id}");
            assert_eq!(
                text(responses, "TIMESTAMP"),
                text(values, "timestamp"),
                "{id}"
            );
            let secret_block_b64 = text(inputs, "secret_block");
            assert_eq!(
                text(responses, "PASSWORD_CLAIM_SECRET_BLOCK"),
                secret_block_b64,
                "{id}"
            );
            let block = LENIENT_BASE64.decode(secret_block_b64).expect("block");
            assert_eq!(
                hex::encode(&block),
                text(values, "secret_block_hex"),
                "{id}"
            );
            let message = signature_message(pool_name, user_id, &block, &timestamp(now));
            assert_eq!(
                hex::encode(&message),
                text(values, "signature_message_hex"),
                "{id}"
            );
            let signature = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), &message);
            let wire_signature = text(responses, "PASSWORD_CLAIM_SIGNATURE");
            assert_eq!(
                b64(signature.as_ref()),
                text(values, "password_claim_signature")
            );
            assert_eq!(b64(signature.as_ref()), wire_signature, "{id}");
            assert_eq!(text(responses, "USERNAME"), user_id, "{id}");

            // verify_claim on the wire values, and on each kind of tampering.
            let wire_timestamp = text(responses, "TIMESTAMP");
            let check = |verifier: &Verifier, a_hex: &str, block: &str, at: &str, sig: &str| {
                verify_claim(
                    pool_name, user_id, verifier, &challenge, a_hex, block, at, sig,
                )
            };
            assert_eq!(
                check(
                    &verifier,
                    srp_a,
                    secret_block_b64,
                    wire_timestamp,
                    wire_signature
                ),
                Ok(()),
                "{id}"
            );
            // The same challenge rebuilt from stored fields, as a session would.
            let restored = ServerChallenge {
                b: ServerSecret::from_hex(&challenge.b.to_hex()).expect("b"),
                big_b: challenge.big_b.clone(),
            };
            assert_eq!(
                verify_claim(
                    pool_name,
                    user_id,
                    &verifier,
                    &restored,
                    srp_a,
                    secret_block_b64,
                    wire_timestamp,
                    wire_signature
                ),
                Ok(()),
                "{id}"
            );
            let mut flipped = signature.as_ref().to_vec();
            flipped[7] ^= 0x01;
            assert_eq!(
                check(
                    &verifier,
                    srp_a,
                    secret_block_b64,
                    wire_timestamp,
                    &b64(&flipped)
                ),
                Err(SrpError::SignatureMismatch),
                "{id}"
            );
            let later = timestamp(now + time::Duration::seconds(1));
            assert_eq!(
                check(&verifier, srp_a, secret_block_b64, &later, wire_signature),
                Err(SrpError::SignatureMismatch),
                "{id}"
            );
            let mut other_block = block.clone();
            other_block[0] ^= 0x80;
            assert_eq!(
                check(
                    &verifier,
                    srp_a,
                    &b64(&other_block),
                    wire_timestamp,
                    wire_signature
                ),
                Err(SrpError::SignatureMismatch),
                "{id}"
            );
            let wrong_password =
                verifier_with_salt(pool_name, user_id, "wrong", salt_param).expect("verifier");
            assert_eq!(
                check(
                    &wrong_password,
                    srp_a,
                    secret_block_b64,
                    wire_timestamp,
                    wire_signature
                ),
                Err(SrpError::SignatureMismatch),
                "{id}"
            );
            let typed_name = text(inputs, "username");
            if typed_name != user_id {
                // The alias the user typed is not what the client signed.
                assert_eq!(
                    verify_claim(
                        pool_name,
                        typed_name,
                        &verifier,
                        &challenge,
                        srp_a,
                        secret_block_b64,
                        wire_timestamp,
                        wire_signature
                    ),
                    Err(SrpError::SignatureMismatch),
                    "{id}"
                );
            }
            let n_hex = min_hex(&GROUP.n);
            for bad_a in ["0", "000", n_hex.as_str(), &format!("1{n_hex}")] {
                assert_eq!(
                    check(
                        &verifier,
                        bad_a,
                        secret_block_b64,
                        wire_timestamp,
                        wire_signature
                    ),
                    Err(SrpError::BadA),
                    "{id}: A = {bad_a}"
                );
            }
        }
    }

    fn library_hkdf(salt: &[u8], ikm: &[u8]) -> [u8; KEY_BYTES] {
        struct Length;
        impl aws_lc_rs::hkdf::KeyType for Length {
            fn len(&self) -> usize {
                KEY_BYTES
            }
        }
        let mut key = [0u8; KEY_BYTES];
        aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, salt)
            .extract(ikm)
            .expand(&[HKDF_INFO], Length)
            .expect("expand")
            .fill(&mut key)
            .expect("fill");
        key
    }

    /// DEVICE_SRP_AUTH: the device's verifier as ConfirmDevice received it, then the same checks
    /// with the device group key and device key in place of pool name and user id.
    #[test]
    fn device_srp_matches_the_client() {
        let all = vectors();
        let registration = &all["device"]["generate_hash_device"];
        let login = &all["device"]["device_srp"];
        let inputs = &login["inputs"];
        let values = &login["values"];
        let responses = &login["wire"]["challenge_responses"];
        let config = &registration["confirm_device_secret_verifier_config"];
        let verifier =
            Verifier::from_device_config(text(config, "Salt"), text(config, "PasswordVerifier"))
                .expect("device verifier");
        assert_eq!(verifier.salt, text(inputs, "salt_param"));
        assert_eq!(
            verifier.salt,
            text(&login["wire"]["challenge_parameters"], "SALT")
        );
        assert_eq!(verifier.verifier, text(registration, "verifier"));
        assert_eq!(verifier.verifier, text(values, "v"));
        let group_key = text(inputs, "device_group_key");
        let device_key = text(inputs, "device_key");
        let password = text(inputs, "random_password");
        let recomputed =
            verifier_with_salt(group_key, device_key, password, &verifier.salt).expect("verifier");
        assert_eq!(recomputed.verifier, verifier.verifier);
        assert_eq!(recomputed.salt, verifier.salt);
        let challenge = server_challenge_with_b(&verifier, text(inputs, "b")).expect("challenge");
        assert_eq!(challenge.big_b, text(values, "B"));
        let srp_a = text(&login["wire"]["device_srp_auth_responses"], "SRP_A");
        let check = |sig: &str| {
            verify_claim(
                group_key,
                device_key,
                &verifier,
                &challenge,
                srp_a,
                text(responses, "PASSWORD_CLAIM_SECRET_BLOCK"),
                text(responses, "TIMESTAMP"),
                sig,
            )
        };
        assert_eq!(check(text(responses, "PASSWORD_CLAIM_SIGNATURE")), Ok(()));
        assert_eq!(
            check(text(&all["cases"][0]["values"], "password_claim_signature")),
            Err(SrpError::SignatureMismatch)
        );
    }

    #[test]
    fn timestamps_match_the_client() {
        let all = vectors();
        let examples = all["timestamp_examples"].as_array().expect("examples");
        assert!(examples.len() >= 4);
        for example in examples {
            let at = utc_instant(text(example, "now_utc"));
            assert_eq!(timestamp(at), text(example, "timestamp"));
        }
        // Another offset is converted to UTC first.
        let local = time::macros::datetime!(2024-01-02 05:04:05 +02:00);
        assert_eq!(timestamp(local), "Tue Jan 2 03:04:05 UTC 2024");
        let sunday = time::macros::datetime!(2023-12-31 23:00:00 UTC);
        assert_eq!(timestamp(sunday), "Sun Dec 31 23:00:00 UTC 2023");
    }

    /// A fresh verifier and a fresh challenge, answered by the independent client above.
    #[test]
    fn fresh_verifier_round_trips_through_a_client() {
        let verifier = new_verifier("ExAmPlE12", "6b1f8a4e-user", "Corr3ct horse!");
        assert_eq!(verifier.salt.len(), 32);
        let again = new_verifier("ExAmPlE12", "6b1f8a4e-user", "Corr3ct horse!");
        assert_ne!(verifier.salt, again.salt, "salts are random");
        assert_ne!(verifier.verifier, again.verifier);

        let challenge = server_challenge(&verifier).expect("challenge");
        assert_eq!(challenge.b.to_hex().len(), 2 * SECRET_BYTES);
        let mut a_bytes = [0u8; 128];
        rand::rng().fill_bytes(&mut a_bytes);
        let client = Client {
            pool_name: "ExAmPlE12".into(),
            user_id: "6b1f8a4e-user".into(),
            password: "Corr3ct horse!".into(),
            a: uint_from_be_bytes(&a_bytes).expect("a"),
        };
        let srp_a = client.big_a();
        let block = b64(b"an opaque secret block");
        let now = timestamp(time::macros::datetime!(2025-03-04 05:06:07 UTC));
        let signature = client.signature(&verifier.salt, &challenge.big_b, &block, &now);
        let verify = |user_id: &str, sig: &str| {
            verify_claim(
                "ExAmPlE12",
                user_id,
                &verifier,
                &challenge,
                &srp_a,
                &block,
                &now,
                sig,
            )
        };
        assert_eq!(verify("6b1f8a4e-user", &signature), Ok(()));
        assert_eq!(
            verify("6b1f8a4e-usEr", &signature),
            Err(SrpError::SignatureMismatch)
        );

        // The same client with the wrong password fails.
        let impostor = Client {
            password: "Corr3ct horse?".into(),
            ..client
        };
        let forged = impostor.signature(&verifier.salt, &challenge.big_b, &block, &now);
        assert_eq!(
            verify("6b1f8a4e-user", &forged),
            Err(SrpError::SignatureMismatch)
        );
    }

    thread_local! {
        /// The exponent bit lengths of the exponentiations [`power`] did on this thread, in order.
        pub(super) static EXPONENTIATIONS: std::cell::RefCell<Vec<u32>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    /// What `step` returns, and the exponentiations it did.
    fn counted<T>(step: impl FnOnce() -> T) -> (T, Vec<u32>) {
        EXPONENTIATIONS.with_borrow_mut(Vec::clear);
        let output = step();
        (output, EXPONENTIATIONS.with_borrow_mut(std::mem::take))
    }

    /// A decoy's challenge and proof check cost the exponentiations a real user's do, step by
    /// step and of the same exponent sizes; making the decoy's verifier costs none, as reading
    /// a real one from storage costs none.
    #[test]
    fn a_decoy_costs_the_exponentiations_of_a_real_user() {
        let real = new_verifier("ExAmPlE12", "jane", "Corr3ct horse!");
        let (decoy, made) = counted(|| simulated_verifier(&[7; 32]));
        assert_eq!(made, Vec::<u32>::new());
        assert_eq!(decoy, simulated_verifier(&[7; 32]), "stable per seed");
        assert_ne!(decoy.salt, simulated_verifier(&[8; 32]).salt);
        assert_eq!(decoy.salt.len(), real.salt.len());
        assert_eq!(parse_verifier(&decoy).map(|_| ()), Ok(()));

        let client = Client::new("ExAmPlE12", "jane", "Corr3ct horse!");
        let block = b64(b"an opaque secret block");
        let now = timestamp(time::macros::datetime!(2025-03-04 05:06:07 UTC));
        let mut costs = Vec::new();
        for verifier in [&real, &decoy] {
            let (challenge, challenged) =
                counted(|| server_challenge(verifier).expect("challenge"));
            let signature = client.signature(&verifier.salt, &challenge.big_b, &block, &now);
            let (checked, proven) = counted(|| {
                verify_claim(
                    "ExAmPlE12",
                    "jane",
                    verifier,
                    &challenge,
                    &client.big_a(),
                    &block,
                    &now,
                    &signature,
                )
            });
            costs.push((challenged, proven, checked));
        }
        let bits = u32::try_from(SECRET_BYTES * 8).expect("small");
        assert_eq!(
            costs,
            [
                (vec![bits], vec![DIGEST_BITS, bits], Ok(())),
                (
                    vec![bits],
                    vec![DIGEST_BITS, bits],
                    Err(SrpError::SignatureMismatch)
                ),
            ]
        );
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        let verifier = verifier_with_salt("pool", "user", "pw", "00ff").expect("verifier");
        let challenge = server_challenge_with_b(&verifier, "0123456789abcdef").expect("challenge");
        let block = b64(b"block");
        let good_a = min_hex(
            &GROUP
                .g
                .pow_bounded_exp(&U3072::from_u64(12345), 64)
                .retrieve(),
        );
        let check = |a: &str, block: &str, sig: &str| {
            verify_claim("pool", "user", &verifier, &challenge, a, block, "now", sig)
        };
        let sig = b64(&[0u8; 32]);
        assert_eq!(check("xyz", &block, &sig), Err(SrpError::BadHex("SRP_A")));
        assert_eq!(check("", &block, &sig), Err(SrpError::BadHex("SRP_A")));
        assert_eq!(check(&"f".repeat(5000), &block, &sig), Err(SrpError::BadA));
        assert_eq!(
            check(&good_a, "not base64!", &sig),
            Err(SrpError::BadBase64("PASSWORD_CLAIM_SECRET_BLOCK"))
        );
        assert_eq!(
            check(&good_a, &block, "%%%"),
            Err(SrpError::BadBase64("PASSWORD_CLAIM_SIGNATURE"))
        );
        assert_eq!(
            check(&good_a, &block, &sig),
            Err(SrpError::SignatureMismatch)
        );
        assert_eq!(check(&good_a, &block, ""), Err(SrpError::SignatureMismatch));
        // Leading zeros and capitals in SRP_A are the same integer.
        assert_eq!(
            check(&format!("00{}", good_a.to_uppercase()), &block, &sig),
            Err(SrpError::SignatureMismatch)
        );

        assert_eq!(
            verifier_with_salt("pool", "user", "pw", "zz"),
            Err(SrpError::BadHex("salt"))
        );
        assert_eq!(
            ServerSecret::from_hex("000").err(),
            Some(SrpError::OutOfRange("b"))
        );
        assert_eq!(
            ServerSecret::from_hex(&"1".repeat(2 * N_BYTES + 2)).err(),
            Some(SrpError::OutOfRange("b"))
        );
        let zero_verifier = Verifier {
            salt: "00".into(),
            verifier: "0".into(),
        };
        assert_eq!(
            server_challenge(&zero_verifier).err(),
            Some(SrpError::OutOfRange("verifier"))
        );
        let big_verifier = Verifier {
            salt: "00".into(),
            verifier: min_hex(&GROUP.n),
        };
        assert_eq!(
            server_challenge_with_b(&big_verifier, "01").err(),
            Some(SrpError::OutOfRange("verifier"))
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let verifier = verifier_with_salt("pool", "user", "pw", "0a0b").expect("verifier");
        let challenge = server_challenge_with_b(&verifier, "c0ffee").expect("challenge");
        let printed = format!("{verifier:?} {challenge:?}");
        assert!(!printed.contains(&verifier.verifier), "{printed}");
        assert!(!printed.contains("c0ffee"), "{printed}");
        assert!(printed.contains("0a0b"), "{printed}");
    }

    /// Property tests (`fuzz_*`; README, "Fuzzing") of what a client sends: `SRP_A`,
    /// `PASSWORD_CLAIM_SECRET_BLOCK`, `TIMESTAMP`, `PASSWORD_CLAIM_SIGNATURE`, and a device's
    /// `DeviceSecretVerifierConfig`.
    mod fuzz {
        use std::sync::LazyLock;

        use proptest::prelude::*;

        use super::*;

        /// A user's verifier and a challenge with a full-size secret, made once.
        static FIXTURE: LazyLock<(Verifier, ServerChallenge)> = LazyLock::new(|| {
            let verifier = verifier_with_salt("pool", "user", "pw", "00c0ffee").expect("verifier");
            let challenge = server_challenge(&verifier).expect("challenge");
            (verifier, challenge)
        });

        fn claim(a: &str, block: &str, timestamp: &str, signature: &str) -> Result<(), SrpError> {
            let (verifier, challenge) = &*FIXTURE;
            verify_claim(
                "pool", "user", verifier, challenge, a, block, timestamp, signature,
            )
        }

        /// Hex that is sometimes an integer below `N`, sometimes not, sometimes not hex.
        fn srp_a_text() -> impl Strategy<Value = String> {
            prop_oneof![
                2 => "[0-9a-f]{1,768}",
                1 => "0{0,4}[1-9a-fA-F][0-9a-fA-F]{0,40}",
                1 => "[0-9a-fA-Fg-z \n+/=]{0,80}",
                1 => ".{0,40}",
                1 => "0{0,1600}",
            ]
        }

        fn base64_text() -> impl Strategy<Value = String> {
            prop_oneof![
                2 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| b64(&bytes)),
                1 => "[A-Za-z0-9+/=_-]{0,64}",
                1 => ".{0,40}",
            ]
        }

        /// `k·N` (zero included) as hex: over 3072 bits for `k ≥ 2`, so written from both
        /// halves of the product, with leading zeros and capitals as a client may send them.
        fn multiple_of_n(k: u64, zeros: usize, upper: bool) -> String {
            let (low, high) = GROUP.n.widening_mul(&U3072::from_u64(k));
            let text = format!(
                "{}{}{}",
                "0".repeat(zeros),
                hex::encode(high.to_be_bytes()),
                hex::encode(low.to_be_bytes())
            );
            if upper { text.to_uppercase() } else { text }
        }

        proptest! {
            #![proptest_config(crate::fuzzing::config())]

            /// Whatever the client sends, the claim is refused with a reason, never accepted
            /// and never a panic; `SRP_A` is refused before anything else is looked at.
            #[test]
            fn fuzz_arbitrary_claims_are_refused(
                a in srp_a_text(),
                block in base64_text(),
                timestamp in ".{0,40}",
                signature in base64_text(),
            ) {
                let result = claim(&a, &block, &timestamp, &signature);
                match parse_public_a(&a) {
                    Err(error) => prop_assert_eq!(result, Err(error)),
                    Ok(_) => prop_assert!(
                        matches!(
                            result,
                            Err(SrpError::BadBase64(
                                "PASSWORD_CLAIM_SECRET_BLOCK" | "PASSWORD_CLAIM_SIGNATURE"
                            ) | SrpError::ZeroU
                                | SrpError::SignatureMismatch)
                        ),
                        "{result:?}"
                    ),
                }
            }

            /// `A ≡ 0 (mod N)` makes the server's key independent of the password; every such
            /// `A`, and every `A ≥ N`, is refused.
            #[test]
            fn fuzz_srp_a_zero_mod_n_is_refused(
                k in prop_oneof![0..4u64, any::<u64>()],
                zeros in 0..4usize,
                upper in any::<bool>(),
                offset in any::<u64>(),
            ) {
                let signature = b64(&[0; 32]);
                let block = b64(b"block");
                prop_assert_eq!(
                    claim(&multiple_of_n(k, zeros, upper), &block, "now", &signature),
                    Err(SrpError::BadA)
                );
                let beyond = GROUP.n.wrapping_add(&U3072::from_u64(offset));
                if beyond > GROUP.n {
                    prop_assert_eq!(
                        claim(&min_hex(&beyond), &block, "now", &signature),
                        Err(SrpError::BadA)
                    );
                }
            }

            /// A device's verifier config: a verifier in `1..N` or a refusal naming the field.
            #[test]
            fn fuzz_device_verifier_configs_parse_or_are_refused(
                salt in base64_text(),
                password_verifier in prop_oneof![
                    base64_text(),
                    prop::collection::vec(any::<u8>(), 380..400).prop_map(|bytes| b64(&bytes)),
                ],
            ) {
                match Verifier::from_device_config(&salt, &password_verifier) {
                    Ok(verifier) => {
                        let v = parse_hex_uint(&verifier.verifier, "verifier").expect("hex");
                        prop_assert_eq!(check_residue(&v, "verifier"), Ok(()));
                        prop_assert!(!verifier.salt.is_empty());
                    }
                    Err(error) => prop_assert!(
                        matches!(
                            error,
                            SrpError::BadBase64("Salt" | "PasswordVerifier")
                                | SrpError::OutOfRange("Salt" | "verifier")
                        ),
                        "{error:?}"
                    ),
                }
            }

            /// Stored secrets and salts: hex round-trips, anything else is refused by name.
            #[test]
            fn fuzz_stored_hex_parses_or_is_refused(
                text in prop_oneof!["[0-9a-fA-F]{0,800}", ".{0,40}"],
                bytes in prop::collection::vec(any::<u8>(), 1..=N_BYTES),
            ) {
                match ServerSecret::from_hex(&text) {
                    Ok(secret) => prop_assert_eq!(
                        hex::decode(secret.to_hex()).expect("hex"),
                        decode_hex(&text, "b").expect("hex")
                    ),
                    Err(error) => prop_assert!(
                        matches!(error, SrpError::BadHex("b") | SrpError::OutOfRange("b")),
                        "{error:?}"
                    ),
                }
                if bytes.iter().any(|byte| *byte != 0) {
                    let secret = ServerSecret::from_hex(&hex::encode(&bytes)).expect("non-zero");
                    prop_assert_eq!(secret.to_hex(), hex::encode(&bytes));
                }
                if let Ok(n) = parse_hex_uint(&text, "n") {
                    prop_assert_eq!(parse_hex_uint(&min_hex(&n), "n"), Ok(n));
                    prop_assert_eq!(uint_from_be_bytes(&pad(&n)), Some(n));
                }
            }

            /// Cognito's TIMESTAMP format holds for every instant `time` can represent.
            #[test]
            fn fuzz_timestamps_format_every_instant(
                seconds in -377_705_116_800i64..253_402_300_799,
            ) {
                let at = time::OffsetDateTime::from_unix_timestamp(seconds).expect("in range");
                let text = timestamp(at);
                prop_assert!(text.ends_with(&format!(" UTC {}", at.year())), "{text}");
            }
        }

        /// An honest client's claim verifies, whatever the names, password, secret block and
        /// timestamp; changing the timestamp, the block or the signature refuses it. Each case
        /// is a whole sign-in, 3072-bit exponentiations on both sides, so a long run gives it a
        /// share of `PROPTEST_CASES` ([`crate::fuzzing::scaled_runner`]).
        #[test]
        fn fuzz_honest_claims_verify_and_altered_ones_do_not() {
            let inputs = (
                (".{0,12}", ".{0,12}", ".{0,20}", "[0-9a-f]{2,32}"),
                prop::collection::vec(any::<u8>(), 0..48),
                ".{0,30}",
                (any::<prop::sample::Index>(), 1..=u8::MAX),
            );
            let mut runner = crate::fuzzing::scaled_runner(16, 256, file!());
            let outcome = runner.run(
                &inputs,
                |((pool_name, user_id, password, salt), block, timestamp, (at, mask))| {
                    let verifier = verifier_with_salt(&pool_name, &user_id, &password, &salt)
                        .expect("verifier");
                    let challenge = server_challenge(&verifier).expect("challenge");
                    let client = Client::new(&pool_name, &user_id, &password);
                    let block = b64(&block);
                    let signature =
                        client.signature(&verifier.salt, &challenge.big_b, &block, &timestamp);
                    let big_a = client.big_a();
                    let check = |block: &str, timestamp: &str, signature: &str| {
                        verify_claim(
                            &pool_name, &user_id, &verifier, &challenge, &big_a, block, timestamp,
                            signature,
                        )
                    };
                    prop_assert_eq!(check(&block, &timestamp, &signature), Ok(()));
                    prop_assert_eq!(
                        check(&block, &format!("{timestamp} "), &signature),
                        Err(SrpError::SignatureMismatch)
                    );
                    prop_assert_eq!(
                        check(&b64(b"another block"), &timestamp, &signature),
                        Err(SrpError::SignatureMismatch)
                    );
                    let mut altered = LENIENT_BASE64.decode(&signature).expect("base64");
                    let position = at.index(altered.len());
                    altered[position] ^= mask;
                    prop_assert_eq!(
                        check(&block, &timestamp, &b64(&altered)),
                        Err(SrpError::SignatureMismatch)
                    );
                    Ok(())
                },
            );
            if let Err(failure) = outcome {
                panic!("{failure}");
            }
        }
    }
}
