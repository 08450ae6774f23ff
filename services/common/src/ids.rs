//! Identifiers in Cognito's formats, from the operating system's random source.

use rand::Rng;
use rand::distr::Alphanumeric;

const LOWER_ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(alphabet: &[u8], length: usize) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// `us-east-1_AbC123xyz`: the region, `_`, nine mixed-case alphanumerics.
pub fn user_pool_id(region: &str) -> String {
    let suffix: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(9)
        .map(char::from)
        .collect();
    format!("{region}_{suffix}")
}

/// 26 lowercase alphanumerics, like Cognito's app client ids.
pub fn client_id() -> String {
    random_from(LOWER_ALPHANUMERIC, 26)
}

/// 51 lowercase alphanumerics (about 263 bits), like Cognito's client secrets.
pub fn client_secret() -> String {
    random_from(LOWER_ALPHANUMERIC, 51)
}

/// Six random digits: the codes Cognito sends (confirmation, reset, sign-in).
pub fn six_digit_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// `us-east-1:<uuid>`: identity pools and identities.
pub fn regional_uuid(region: &str) -> String {
    format!("{region}:{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_cognitos_shapes() {
        let pool = user_pool_id("eu-west-1");
        assert!(pool.starts_with("eu-west-1_"));
        assert_eq!(pool.len(), "eu-west-1_".len() + 9);
        assert!(
            client_id()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(client_secret(), client_secret());
    }
}
