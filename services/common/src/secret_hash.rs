//! `SECRET_HASH`, which calls from clients with a secret must carry:
//! `Base64(HMAC-SHA256(key = client secret, message = username ‖ client id))`.

use base64::Engine;

use crate::error::{CognitoError, CognitoResult};

/// Checks `given` in constant time; nothing is required of clients without a secret.
pub fn check(
    client_id: &str,
    client_secret: Option<&str>,
    username: &str,
    given: Option<&str>,
) -> CognitoResult<()> {
    let Some(secret) = client_secret.filter(|secret| !secret.is_empty()) else {
        return Ok(());
    };
    let Some(given) = given else {
        return Err(CognitoError::not_authorized(format!(
            "Client {client_id} is configured with secret but SECRET_HASH was not received"
        )));
    };
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let expected = aws_lc_rs::hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    let matches = base64::engine::general_purpose::STANDARD
        .decode(given)
        .is_ok_and(|given| {
            aws_lc_rs::constant_time::verify_slices_are_equal(&given, expected.as_ref()).is_ok()
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
        assert!(check("client", Some("secret"), "jane", Some(&good)).is_ok());
        assert!(check("client", Some("secret"), "john", Some(&good)).is_err());
        assert!(check("client", Some("secret"), "jane", Some("not base64!")).is_err());
        let missing = check("client", Some("secret"), "jane", None).expect_err("required");
        assert_eq!(
            missing.message,
            "Client client is configured with secret but SECRET_HASH was not received"
        );
        assert!(check("client", None, "jane", None).is_ok());
    }
}
