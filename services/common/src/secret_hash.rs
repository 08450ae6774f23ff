//! `SECRET_HASH`, which calls from clients with a secret must carry:
//! `Base64(HMAC-SHA256(key = client secret, message = username ‖ client id))`. While a secret is
//! rotated a client has two, and a hash made with either is accepted.

use base64::Engine;

use crate::error::{CognitoError, CognitoResult};

/// Checks `given` in constant time against every active secret of the client; nothing is
/// required of clients without a secret.
pub fn check<S: AsRef<str>>(
    client_id: &str,
    client_secrets: &[S],
    username: &str,
    given: Option<&str>,
) -> CognitoResult<()> {
    let secrets: Vec<&str> = client_secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|secret| !secret.is_empty())
        .collect();
    if secrets.is_empty() {
        return Ok(());
    }
    let Some(given) = given else {
        return Err(CognitoError::not_authorized(format!(
            "Client {client_id} is configured with secret but SECRET_HASH was not received"
        )));
    };
    let given = base64::engine::general_purpose::STANDARD
        .decode(given)
        .unwrap_or_default();
    let message = format!("{username}{client_id}");
    // Every secret is tried, so the time taken does not tell which one matched.
    let matches = secrets.iter().fold(false, |matched, secret| {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
        let expected = aws_lc_rs::hmac::sign(&key, message.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(&given, expected.as_ref()).is_ok()
            | matched
    });
    if matches {
        Ok(())
    } else {
        Err(CognitoError::not_authorized(format!(
            "Unable to verify secret hash for client {client_id}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hashes_are_checked() {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
        let good = base64::engine::general_purpose::STANDARD
            .encode(aws_lc_rs::hmac::sign(&key, b"janeclient"));
        assert!(check("client", &["secret"], "jane", Some(&good)).is_ok());
        assert!(check("client", &["secret"], "john", Some(&good)).is_err());
        assert!(check("client", &["secret"], "jane", Some("not base64!")).is_err());
        let missing = check("client", &["secret"], "jane", None).expect_err("required");
        assert_eq!(
            missing.message,
            "Client client is configured with secret but SECRET_HASH was not received"
        );
        assert!(check::<&str>("client", &[], "jane", None).is_ok());
    }

    #[test]
    fn either_secret_of_a_rotating_client_is_accepted() {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"newer");
        let with_newer = base64::engine::general_purpose::STANDARD
            .encode(aws_lc_rs::hmac::sign(&key, b"janeclient"));
        assert!(check("client", &["older", "newer"], "jane", Some(&with_newer)).is_ok());
        assert!(check("client", &["newer", "older"], "jane", Some(&with_newer)).is_ok());
        assert!(check("client", &["older"], "jane", Some(&with_newer)).is_err());
    }
}
