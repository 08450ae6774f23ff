//! TOTP authenticators for SOFTWARE_TOKEN_MFA: RFC 6238 with HMAC-SHA1, 30-second steps and six
//! digits (what authenticator apps and Cognito use), a step either side for clock drift, and
//! each code accepted once, by an atomic update of the last accepted step.

use aws_lc_rs::hmac;
use data_encoding::BASE32_NOPAD;
use sqlx::AnyPool;

use cognate_common::error::internal;
use cognate_common::sealing::Sealer;
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::sealed::SOFTWARE_TOKENS;

const STEP_SECONDS: i64 = 30;
/// The six-digit code of `secret` for a 30-second step.
pub fn code(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let number = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", number % 1_000_000)
}

pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

fn mismatch() -> CognitoError {
    CognitoError::new(
        ErrorCode::CodeMismatchException,
        "Invalid code received for user",
    )
}

/// A new 160-bit secret for AssociateSoftwareToken, stored sealed. It stays pending, and a
/// working authenticator keeps working, until [`confirm_pending`] proves the new one.
pub async fn associate(
    db: &AnyPool,
    sealer: &Sealer,
    pool_id: &str,
    sub: &str,
) -> CognitoResult<String> {
    let secret: [u8; 20] = rand::random();
    let secret = BASE32_NOPAD.encode(&secret);
    let sealed = SOFTWARE_TOKENS
        .seal(sealer, &secret, &[pool_id, sub])
        .map_err(|error| internal("sealing a TOTP secret failed", error))?;
    sqlx::query(
        "INSERT INTO software_tokens (user_pool_id, sub, secret, pending_secret) VALUES ($1, $2, '', $3) \
         ON CONFLICT (user_pool_id, sub) DO UPDATE SET pending_secret = excluded.pending_secret",
    )
    .bind(pool_id)
    .bind(sub)
    .bind(&sealed)
    .execute(db)
    .await
    .map_err(store_error)?;
    Ok(secret)
}

/// A TOTP secret as stored (sealed, or plaintext from before sealing) and its bytes.
struct StoredSecret {
    stored: String,
    bytes: Vec<u8>,
}

async fn load_secret(
    db: &AnyPool,
    sealer: &Sealer,
    pool_id: &str,
    sub: &str,
    column: &str,
) -> CognitoResult<StoredSecret> {
    let query = format!(
        "SELECT {column} AS secret FROM software_tokens WHERE user_pool_id = $1 AND sub = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(query))
        .bind(pool_id)
        .bind(sub)
        .fetch_optional(db)
        .await
        .map_err(store_error)?;
    let secret: String = match row {
        Some(row) => row.read("secret")?,
        None => String::new(),
    };
    if secret.is_empty() {
        return Err(CognitoError::new(
            ErrorCode::SoftwareTokenMFANotFoundException,
            "Software Token MFA has not been enabled by the user.",
        ));
    }
    let opened = SOFTWARE_TOKENS
        .open(sealer, &secret, &[pool_id, sub])
        .map_err(|error| internal("stored TOTP secret does not open", error))?;
    let bytes = BASE32_NOPAD
        .decode(opened.as_bytes())
        .map_err(|error| internal("stored TOTP secret is not base32", error))?;
    Ok(StoredSecret {
        stored: secret,
        bytes,
    })
}

/// The step, within a step of drift, whose code `given` is.
fn matching_step(secret: &[u8], given: &str, now: i64) -> Option<i64> {
    let current = step_at(now);
    (current - 1..=current + 1).find(|step| {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            code(secret, *step).as_bytes(),
            given.as_bytes(),
        )
        .is_ok()
    })
}

/// Checks a sign-in code at `now` (unix seconds) and uses it up. `CodeMismatchException` otherwise.
pub async fn redeem(
    db: &AnyPool,
    sealer: &Sealer,
    pool_id: &str,
    sub: &str,
    given: &str,
    now: i64,
) -> CognitoResult<()> {
    let secret = load_secret(db, sealer, pool_id, sub, "secret").await?;
    let step = matching_step(&secret.bytes, given, now).ok_or_else(mismatch)?;
    let used = sqlx::query(
        "UPDATE software_tokens SET last_step = $1 WHERE user_pool_id = $2 AND sub = $3 AND last_step < $1",
    )
    .bind(step)
    .bind(pool_id)
    .bind(sub)
    .execute(db)
    .await
    .map_err(store_error)?;
    if used.rows_affected() == 1 {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// VerifySoftwareToken: a code of the pending secret makes it the working one, verified and
/// enabled (as Cognito does for a first authenticator); its step is used up. The sealed value
/// moves as it is: both columns share the row's binding.
pub async fn confirm_pending(
    db: &AnyPool,
    sealer: &Sealer,
    pool_id: &str,
    sub: &str,
    given: &str,
    now: i64,
    friendly_name: &str,
) -> CognitoResult<()> {
    let mut pending = load_secret(db, sealer, pool_id, sub, "pending_secret").await?;
    let step = matching_step(&pending.bytes, given, now).ok_or_else(mismatch)?;
    // The update insists the pending secret is still the one checked: a second
    // AssociateSoftwareToken in between replaced it. `cognate rewrap` may also have re-sealed
    // it (the same secret, stored anew), so a miss is looked at once more before it counts.
    for _ in 0..2 {
        let confirmed = sqlx::query(
            "UPDATE software_tokens SET secret = pending_secret, pending_secret = '', verified = 1, enabled = 1, \
             last_step = $1, friendly_name = $2 WHERE user_pool_id = $3 AND sub = $4 AND pending_secret = $5",
        )
        .bind(step)
        .bind(friendly_name)
        .bind(pool_id)
        .bind(sub)
        .bind(&pending.stored)
        .execute(db)
        .await
        .map_err(store_error)?;
        if confirmed.rows_affected() == 1 {
            return Ok(());
        }
        let now_stored = load_secret(db, sealer, pool_id, sub, "pending_secret").await?;
        if now_stored.bytes != pending.bytes {
            break;
        }
        pending = now_stored;
    }
    Err(mismatch())
}

/// SetUserMFAPreference for the software token.
pub async fn set_preference(
    db: &AnyPool,
    pool_id: &str,
    sub: &str,
    enabled: bool,
    preferred: bool,
) -> CognitoResult<()> {
    let updated = sqlx::query(
        "UPDATE software_tokens SET enabled = $1, preferred = $2 WHERE user_pool_id = $3 AND sub = $4 AND verified = 1",
    )
    .bind(i64::from(enabled))
    .bind(i64::from(preferred && enabled))
    .bind(pool_id)
    .bind(sub)
    .execute(db)
    .await
    .map_err(store_error)?;
    if updated.rows_affected() == 0 && enabled {
        return Err(CognitoError::invalid_parameter(
            "User has not verified software token mfa",
        ));
    }
    Ok(())
}

/// The authenticator's state: (enabled, preferred), when one is verified.
pub async fn state(db: &AnyPool, pool_id: &str, sub: &str) -> CognitoResult<Option<(bool, bool)>> {
    let row = sqlx::query(
        "SELECT enabled, preferred FROM software_tokens WHERE user_pool_id = $1 AND sub = $2 AND verified = 1",
    )
    .bind(pool_id)
    .bind(sub)
    .fetch_optional(db)
    .await
    .map_err(store_error)?;
    row.map(|row| Ok((row.flag("enabled")?, row.flag("preferred")?)))
        .transpose()
}

/// Whether the user signs in with a second factor from their authenticator.
pub async fn enabled(db: &AnyPool, pool_id: &str, sub: &str) -> CognitoResult<bool> {
    let row = sqlx::query("SELECT 1 AS on_ FROM software_tokens WHERE user_pool_id = $1 AND sub = $2 AND verified = 1 AND enabled = 1")
        .bind(pool_id)
        .bind(sub)
        .fetch_optional(db)
        .await
        .map_err(store_error)?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use cognate_common::sealing::MasterKey;

    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA1 seed "12345678901234567890", last six digits.
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code(secret, step_at(time)), expected, "at {time}");
        }
    }

    fn test_sealer() -> Sealer {
        Sealer::new(&MasterKey::from_bytes([1; 32]), &[]).expect("sealer")
    }

    async fn stored(db: &AnyPool, column: &str) -> String {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {column} FROM software_tokens WHERE user_pool_id = 'p' AND sub = 'u'"
        )))
        .fetch_one(db)
        .await
        .expect("a row")
    }

    /// Neither the pending nor the working secret is stored readable: the rows hold sealed
    /// values that name no part of the base32 secret handed to the authenticator.
    async fn secrets_are_sealed_at_rest(db: &AnyPool) {
        let sealer = test_sealer();
        let secret = associate(db, &sealer, "p", "u").await.expect("associated");
        let pending = stored(db, "pending_secret").await;
        assert!(pending.starts_with("sealed:v1:"), "{pending}");
        for piece in secret.as_bytes().chunks(8) {
            let piece = std::str::from_utf8(piece).expect("ascii");
            assert!(!pending.contains(piece), "{piece} of the secret in the row");
        }
        let now = 1_700_000_000;
        let bytes = BASE32_NOPAD.decode(secret.as_bytes()).expect("base32");
        confirm_pending(
            db,
            &sealer,
            "p",
            "u",
            &code(&bytes, step_at(now)),
            now,
            "phone",
        )
        .await
        .expect("verified");
        let working = stored(db, "secret").await;
        assert!(working.starts_with("sealed:v1:") && !working.contains(&secret));
        assert_eq!(stored(db, "pending_secret").await, "");
    }

    /// A row from before sealing keeps working; `rewrap` seals it, and codes still pass.
    async fn plaintext_secrets_keep_working_and_rewrap_seals_them(db: &AnyPool) {
        let sealer = test_sealer();
        let bytes: [u8; 20] = rand::random();
        let secret = BASE32_NOPAD.encode(&bytes);
        sqlx::query(
            "INSERT INTO software_tokens (user_pool_id, sub, secret, verified, enabled) VALUES ('p', 'u', $1, 1, 1)",
        )
        .bind(&secret)
        .execute(db)
        .await
        .expect("a legacy row");
        let now = 1_700_000_000;
        redeem(db, &sealer, "p", "u", &code(&bytes, step_at(now)), now)
            .await
            .expect("a plaintext secret checks codes");
        assert_eq!(crate::sealed::rewrap(db, &sealer).await.expect("rewrap"), 1);
        let sealed = stored(db, "secret").await;
        assert!(sealed.starts_with("sealed:v1:") && !sealed.contains(&secret));
        redeem(db, &sealer, "p", "u", &code(&bytes, step_at(now) + 1), now)
            .await
            .expect("the sealed secret checks codes");
        let stranger = Sealer::new(&MasterKey::from_bytes([2; 32]), &[]).expect("sealer");
        assert_eq!(
            redeem(
                db,
                &stranger,
                "p",
                "u",
                &code(&bytes, step_at(now + 60)),
                now + 60
            )
            .await,
            Err(CognitoError::internal()),
            "another master key is an error, not a panic"
        );
    }

    async fn codes_are_good_once(db: &AnyPool) {
        let sealer = test_sealer();
        let secret = associate(db, &sealer, "p", "u").await.expect("associated");
        let bytes = BASE32_NOPAD.decode(secret.as_bytes()).expect("base32");
        let now = 1_700_000_000;
        let current = code(&bytes, step_at(now));
        assert!(
            redeem(db, &sealer, "p", "u", &current, now).await.is_err(),
            "a pending secret can't sign in"
        );
        assert!(!enabled(db, "p", "u").await.expect("reads"));
        let wrong = if current == "000000" {
            "000001"
        } else {
            "000000"
        };
        assert!(
            confirm_pending(db, &sealer, "p", "u", wrong, now, "phone")
                .await
                .is_err()
        );
        confirm_pending(db, &sealer, "p", "u", &current, now, "phone")
            .await
            .expect("verified");
        assert!(enabled(db, "p", "u").await.expect("reads"));
        assert!(
            redeem(db, &sealer, "p", "u", &current, now).await.is_err(),
            "the verifying code is used up"
        );
        let next = code(&bytes, step_at(now) + 1);
        redeem(db, &sealer, "p", "u", &next, now)
            .await
            .expect("the next step is within drift");
        assert!(
            redeem(db, &sealer, "p", "u", &next, now).await.is_err(),
            "a code is accepted once"
        );

        // A second AssociateSoftwareToken leaves the working authenticator alone until verified.
        let replacement = BASE32_NOPAD
            .decode(
                associate(db, &sealer, "p", "u")
                    .await
                    .expect("associated")
                    .as_bytes(),
            )
            .expect("base32");
        assert!(enabled(db, "p", "u").await.expect("reads"));
        let later = now + 90;
        redeem(db, &sealer, "p", "u", &code(&bytes, step_at(later)), later)
            .await
            .expect("old authenticator still works");
        confirm_pending(
            db,
            &sealer,
            "p",
            "u",
            &code(&replacement, step_at(later) + 1),
            later,
            "new phone",
        )
        .await
        .expect("swapped");
        assert!(
            redeem(
                db,
                &sealer,
                "p",
                "u",
                &code(&bytes, step_at(later) + 1),
                later
            )
            .await
            .is_err(),
            "old secret retired"
        );
        set_preference(db, "p", "u", false, false)
            .await
            .expect("disabled");
        assert!(!enabled(db, "p", "u").await.expect("reads"));
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Auth, crate::MIGRATOR;
        codes_are_good_once,
        secrets_are_sealed_at_rest,
        plaintext_secrets_keep_working_and_rewrap_seals_them,
    );
}
