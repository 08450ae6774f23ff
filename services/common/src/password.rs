//! Passwords: Cognito's policy rules, their stored form (the SRP verifier, as Cognito keeps), and
//! temporary passwords generated to a policy. Shared because the directory stores what the issuer
//! checks.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::ErrorCode;
use crate::error::{CognitoError, CognitoResult};
use crate::legacy_hash;
use crate::srp;
use crate::work::Work;

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
                ErrorCode::InvalidPasswordException,
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

/// The part of a pool id SRP hashes: `us-east-1_AbC123xyz` → `AbC123xyz`.
pub fn pool_name(pool_id: &str) -> &str {
    pool_id.split_once('_').map_or(pool_id, |(_, name)| name)
}

const SRP_PREFIX: &str = "srp$";

/// What the directory stores for a password: Cognito's SRP verifier, `srp$<salt hex>$<v hex>`.
/// As in Cognito, the verifier is all there is: USER_SRP_AUTH needs it, and a second, slower
/// hash beside it would add no protection (an attacker with the table attacks the verifier).
pub async fn stored_form(
    work: &Work,
    pool_id: &str,
    username: &str,
    password: String,
) -> CognitoResult<String> {
    let (pool, username) = (pool_name(pool_id).to_owned(), username.to_owned());
    work.run(move || {
        let verifier = srp::new_verifier(&pool, &username, &password);
        format!("{SRP_PREFIX}{}${}", verifier.salt, verifier.verifier)
    })
    .await
}

/// The SRP verifier of a stored password, if it is one.
pub fn srp_verifier(stored: &str) -> Option<srp::Verifier> {
    let (salt, verifier) = stored.strip_prefix(SRP_PREFIX)?.split_once('$')?;
    Some(srp::Verifier {
        salt: salt.to_owned(),
        verifier: verifier.to_owned(),
    })
}

/// The salt of no one's password, used for unknown users so they cost the same time.
const DECOY_SALT: &str = "5f0c2a7d9b1e4c3a8d6f0e2b4a6c8e1d";

/// Checks a password against a stored form by recomputing the verifier with its salt (or, for
/// an imported legacy hash, by that hash's own algorithm), off the async threads. An empty or
/// unreadable stored form costs the same and fails.
pub async fn verify(
    work: &Work,
    pool_id: &str,
    username: &str,
    password: String,
    stored: String,
) -> CognitoResult<bool> {
    let (pool, username) = (pool_name(pool_id).to_owned(), username.to_owned());
    work.run(move || {
        // An imported hash (bcrypt, argon2, ...) was bounded in cost when it was imported.
        if legacy_hash::is_legacy(&stored)
            && let Ok(legacy) = legacy_hash::LegacyHash::parse(&stored)
        {
            return legacy.verify(password.as_bytes());
        }
        let (expected, real) = match srp_verifier(&stored) {
            Some(verifier) => (verifier, true),
            None => (
                srp::Verifier {
                    salt: DECOY_SALT.to_owned(),
                    verifier: String::new(),
                },
                false,
            ),
        };
        let computed = srp::verifier_with_salt(&pool, &username, &password, &expected.salt);
        let matches = computed.is_ok_and(|computed| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                computed.verifier.as_bytes(),
                expected.verifier.as_bytes(),
            )
            .is_ok()
        });
        matches && real
    })
    .await
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
    async fn stored_forms_verify_only_their_password_and_user() {
        let work = Work::new(2, std::time::Duration::from_secs(5));
        let stored = stored_form(&work, "us-east-1_AbC", "jane", "Correct horse 1!".into())
            .await
            .expect("stores");
        assert!(srp_verifier(&stored).is_some());
        let check = |username: &'static str, password: &'static str, stored: String| {
            let work = work.clone();
            async move {
                verify(&work, "us-east-1_AbC", username, password.into(), stored)
                    .await
                    .expect("checks")
            }
        };
        assert!(check("jane", "Correct horse 1!", stored.clone()).await);
        assert!(!check("jane", "correct horse 1!", stored.clone()).await);
        assert!(!check("john", "Correct horse 1!", stored.clone()).await);
        assert!(!check("jane", "anything", String::new()).await);
        assert_eq!(pool_name("us-east-1_AbC"), "AbC");
    }
}
