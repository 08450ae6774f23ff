//! Passwords: Cognito's policy rules, argon2id hashing on the blocking pool, and temporary
//! passwords generated to a policy. Shared because the directory stores what the issuer checks.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::error::{CognitoError, CognitoResult, internal};

/// Cognito's special characters; a space counts too.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";
/// Cognito accepts passwords of up to 256 characters.
const MAX_LENGTH: usize = 256;

/// The rules of a pool's `PasswordPolicy` that apply to a candidate password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub minimum_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
}

impl Default for Policy {
    /// Cognito's default policy.
    fn default() -> Self {
        Self {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
        }
    }
}

impl Policy {
    /// The first rule a password breaks, in Cognito's wording and order.
    pub fn violation(&self, password: &str) -> Option<&'static str> {
        let length = password.chars().count();
        if length < self.minimum_length {
            return Some("Password not long enough");
        }
        if length > MAX_LENGTH {
            return Some("Password is too long");
        }
        if self.require_uppercase && !password.chars().any(char::is_uppercase) {
            return Some("Password must have uppercase characters");
        }
        if self.require_lowercase && !password.chars().any(char::is_lowercase) {
            return Some("Password must have lowercase characters");
        }
        if self.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            return Some("Password must have numeric characters");
        }
        if self.require_symbols && !password.chars().any(|c| SYMBOLS.contains(c)) {
            return Some("Password must have symbol characters");
        }
        None
    }

    /// `InvalidPasswordException` as admin operations and SignUp word it.
    pub fn check(&self, password: &str) -> CognitoResult<()> {
        match self.violation(password) {
            Some(reason) => Err(CognitoError::new(
                "InvalidPasswordException",
                format!("Password did not conform with policy: {reason}"),
            )),
            None => Ok(()),
        }
    }

    /// A random password that satisfies the policy (at least 12 characters).
    pub fn temporary_password(&self) -> String {
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const DIGITS: &[u8] = b"23456789";
        const SYMBOL_CHOICES: &[u8] = b"!@#$%^&*-_=+?";
        let mut rng = rand::rng();
        let mut pick = |set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
        let mut characters = vec![pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOL_CHOICES)];
        let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOL_CHOICES].concat();
        while characters.len() < self.minimum_length.max(12) {
            characters.push(pick(&all));
        }
        characters.shuffle(&mut rand::rng());
        characters.into_iter().collect()
    }
}

/// Hashes a password with argon2id (PHC string) off the async threads.
pub async fn hash(password: String) -> CognitoResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|error| internal("password hashing task failed", error))?
    .map_err(|error| internal("password hashing failed", error))
}

/// A hash of no one's password, verified for unknown users so they cost the same time.
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$WQ1nDpC0h0kSrbSPS6yBzDuh2w7hV4sBPLCTAB0o3lI";

/// Checks a password against a PHC string off the async threads. An empty or unparsable hash
/// is checked against the decoy (same cost) and fails.
pub async fn verify(password: String, stored: String) -> CognitoResult<bool> {
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match PasswordHash::new(&stored) {
            Ok(parsed) => (parsed, true),
            Err(_) => (
                PasswordHash::new(DECOY_HASH).map_err(|error| error.to_string())?,
                false,
            ),
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &phc)
            .is_ok();
        Ok::<bool, String>(matches && real)
    })
    .await
    .map_err(|error| internal("password check task failed", error))?
    .map_err(|error| internal("password check failed", error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked_in_cognitos_order() {
        let policy = Policy::default();
        assert_eq!(policy.violation("Ab1!"), Some("Password not long enough"));
        assert_eq!(
            policy.violation("abcdefg1!"),
            Some("Password must have uppercase characters")
        );
        assert_eq!(
            policy.violation("ABCDEFG1!"),
            Some("Password must have lowercase characters")
        );
        assert_eq!(
            policy.violation("Abcdefgh!"),
            Some("Password must have numeric characters")
        );
        assert_eq!(
            policy.violation("Abcdefgh1"),
            Some("Password must have symbol characters")
        );
        assert_eq!(policy.violation("Abcdefg 1"), None);
        let message = policy.check("short").expect_err("too short").message;
        assert_eq!(
            message,
            "Password did not conform with policy: Password not long enough"
        );
    }

    #[test]
    fn temporary_passwords_satisfy_their_policy() {
        let policy = Policy {
            minimum_length: 20,
            ..Policy::default()
        };
        for _ in 0..50 {
            assert_eq!(policy.violation(&policy.temporary_password()), None);
        }
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let stored = hash("Correct horse 1!".into()).await.expect("hashes");
        assert!(
            verify("Correct horse 1!".into(), stored.clone())
                .await
                .expect("verifies")
        );
        assert!(
            !verify("correct horse 1!".into(), stored)
                .await
                .expect("verifies")
        );
        assert!(
            !verify("anything".into(), String::new())
                .await
                .expect("decoy")
        );
    }
}
