//! One-time codes for sign-up confirmation, password reset and attribute verification: six
//! random digits, stored only as a hash bound to the pool, the user and the purpose, with a
//! lifetime, an attempt limit, and single use enforced by a conditional update.

use base64::Engine;

use cognate_common::clock::unix_millis;
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::Directory;

/// What a code is for; a code issued for one purpose never redeems another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignUp,
    Reset,
    /// Verifying an email or phone number outside sign-up (an attribute update or
    /// GetUserAttributeVerificationCode).
    VerifyEmail,
    VerifyPhoneNumber,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SignUp => "SIGN_UP",
            Purpose::Reset => "RESET",
            Purpose::VerifyEmail => "VERIFY:email",
            Purpose::VerifyPhoneNumber => "VERIFY:phone_number",
        }
    }

    /// The verification purpose for `attribute`, if it is one that can be verified.
    pub fn verify(attribute: &str) -> Option<Self> {
        match attribute {
            "email" => Some(Purpose::VerifyEmail),
            "phone_number" => Some(Purpose::VerifyPhoneNumber),
            _ => None,
        }
    }

    /// Cognito: 24 hours for confirmation and verification codes, 1 hour for reset codes.
    fn lifetime_millis(self) -> i64 {
        match self {
            Purpose::SignUp | Purpose::VerifyEmail | Purpose::VerifyPhoneNumber => {
                24 * 60 * 60 * 1000
            }
            Purpose::Reset => 60 * 60 * 1000,
        }
    }
}

/// Wrong codes allowed before the code is locked.
pub const MAX_ATTEMPTS: i64 = 5;

/// A replaced code's wrong attempts carry over to the new one unless it was issued this long
/// ago (or was used): the wait Cognito's "please try after some time" asks for.
pub const ATTEMPTS_FORGOTTEN_AFTER_MILLIS: i64 = 15 * 60 * 1000;

/// The window of the per-user send limit (`code_sends_per_hour`).
const SEND_WINDOW_MILLIS: i64 = 60 * 60 * 1000;

/// Where a redeemed code was sent: the attribute and its value at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub attribute_name: String,
    pub attribute_value: String,
}

/// A code that matched and may be spent.
#[derive(Debug)]
pub(crate) struct CheckedCode {
    hash: String,
    redeemed: Redeemed,
}

pub fn code_mismatch() -> CognitoError {
    CognitoError::new(
        ErrorCode::CodeMismatchException,
        "Invalid verification code provided, please try again.",
    )
}

pub fn expired_code() -> CognitoError {
    CognitoError::new(
        ErrorCode::ExpiredCodeException,
        "Invalid code provided, please request a code again.",
    )
}

fn attempts_exceeded() -> CognitoError {
    CognitoError::new(
        ErrorCode::LimitExceededException,
        "Attempt limit exceeded, please try after some time.",
    )
}

fn code_hash(pool_id: &str, sub: &str, purpose: Purpose, code: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{pool_id}|{sub}|{}|{code}", purpose.as_str()).as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

impl Directory {
    /// Issues a new code for the user and purpose, replacing any earlier one, and returns it.
    ///
    /// At most `code_sends_per_hour` codes of a purpose go to one user in an hour; past that,
    /// `LimitExceededException`. The replaced code's wrong attempts carry over unless it was
    /// used or issued more than [`ATTEMPTS_FORGOTTEN_AFTER_MILLIS`] ago, so asking for a new code
    /// gives no fresh guesses. One conditional upsert decides, so parallel requests can't
    /// slip past the limit.
    pub(crate) async fn issue_code(
        &self,
        pool_id: &str,
        sub: &str,
        purpose: Purpose,
        attribute_name: &str,
        attribute_value: &str,
    ) -> CognitoResult<String> {
        let code = cognate_common::ids::six_digit_code();
        let now = unix_millis(self.clock.now());
        let issued = sqlx::query(
            "INSERT INTO user_codes (user_pool_id, sub, purpose, code_hash, attribute_name, attribute_value, attempts, used, expires_at, created_at, sends, sends_since) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, 1, $8) \
             ON CONFLICT (user_pool_id, sub, purpose) DO UPDATE SET code_hash = excluded.code_hash, \
             attribute_name = excluded.attribute_name, attribute_value = excluded.attribute_value, \
             attempts = CASE WHEN user_codes.used <> 0 OR user_codes.created_at < $9 THEN 0 ELSE user_codes.attempts END, \
             used = 0, expires_at = excluded.expires_at, created_at = excluded.created_at, \
             sends = CASE WHEN user_codes.sends_since < $10 THEN 1 ELSE user_codes.sends + 1 END, \
             sends_since = CASE WHEN user_codes.sends_since < $10 THEN excluded.sends_since ELSE user_codes.sends_since END \
             WHERE user_codes.sends_since < $10 OR user_codes.sends < $11",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(purpose.as_str())
        .bind(code_hash(pool_id, sub, purpose, &code))
        .bind(attribute_name)
        .bind(attribute_value)
        .bind(now + purpose.lifetime_millis())
        .bind(now)
        .bind(now - ATTEMPTS_FORGOTTEN_AFTER_MILLIS)
        .bind(now - SEND_WINDOW_MILLIS)
        .bind(i64::from(self.config.code_sends_per_hour))
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        if issued.rows_affected() == 0 {
            return Err(attempts_exceeded());
        }
        Ok(code)
    }

    /// Counts one SMS_MFA, EMAIL_OTP or SMS_OTP code sent to the user at sign-in (auth makes those codes
    /// and keeps them in its session): at most `code_sends_per_hour` an hour, as for the codes
    /// issued here, past which `TooManyRequestsException` (the sign-in operations' modelled
    /// throttling error; they have no `LimitExceededException`). The count lives in a row of
    /// its own purpose that holds no code.
    pub(crate) async fn count_authentication_send(
        &self,
        pool_id: &str,
        sub: &str,
    ) -> CognitoResult<()> {
        let now = unix_millis(self.clock.now());
        let counted = sqlx::query(
            "INSERT INTO user_codes (user_pool_id, sub, purpose, code_hash, attribute_name, attribute_value, attempts, used, expires_at, created_at, sends, sends_since) \
             VALUES ($1, $2, 'AUTHENTICATION', '', '', '', 0, 1, 0, $3, 1, $3) \
             ON CONFLICT (user_pool_id, sub, purpose) DO UPDATE SET \
             sends = CASE WHEN user_codes.sends_since < $4 THEN 1 ELSE user_codes.sends + 1 END, \
             sends_since = CASE WHEN user_codes.sends_since < $4 THEN excluded.sends_since ELSE user_codes.sends_since END \
             WHERE user_codes.sends_since < $4 OR user_codes.sends < $5",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(now)
        .bind(now - SEND_WINDOW_MILLIS)
        .bind(i64::from(self.config.code_sends_per_hour))
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        if counted.rows_affected() == 0 {
            return Err(CognitoError::new(
                ErrorCode::TooManyRequestsException,
                "Too many codes were sent to this user; try again later.",
            ));
        }
        Ok(())
    }

    /// Issues a code nobody is told, unless the user already has one of `purpose` (whose
    /// attempts and expiry then stand): for decoys, which must lock and expire as a real code
    /// does.
    pub(crate) async fn issue_code_unless_present(
        &self,
        pool_id: &str,
        sub: &str,
        purpose: Purpose,
    ) -> CognitoResult<()> {
        let code = cognate_common::ids::six_digit_code();
        let now = unix_millis(self.clock.now());
        sqlx::query(
            "INSERT INTO user_codes (user_pool_id, sub, purpose, code_hash, attribute_name, attribute_value, attempts, used, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, '', '', 0, 0, $5, $6) ON CONFLICT (user_pool_id, sub, purpose) DO NOTHING",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(purpose.as_str())
        .bind(code_hash(pool_id, sub, purpose, &code))
        .bind(now + purpose.lifetime_millis())
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Where the user's live (unused, unexpired) code of `purpose` went, if there is one.
    pub(crate) async fn live_code(
        &self,
        pool_id: &str,
        sub: &str,
        purpose: Purpose,
    ) -> CognitoResult<Option<Redeemed>> {
        let row = sqlx::query(
            "SELECT attribute_name, attribute_value FROM user_codes \
             WHERE user_pool_id = $1 AND sub = $2 AND purpose = $3 AND used = 0 AND expires_at > $4",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(purpose.as_str())
        .bind(unix_millis(self.clock.now()))
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?;
        row.map(|row| {
            Ok(Redeemed {
                attribute_name: row.read("attribute_name")?,
                attribute_value: row.read("attribute_value")?,
            })
        })
        .transpose()
    }

    /// Redeems a code: at most once, whatever the concurrency, and only within its lifetime
    /// and attempt limit. `missing` is the error when no code was ever issued.
    pub(crate) async fn redeem_code(
        &self,
        pool_id: &str,
        sub: &str,
        purpose: Purpose,
        code: &str,
        missing: fn() -> CognitoError,
    ) -> CognitoResult<Redeemed> {
        let checked = self
            .check_code(pool_id, sub, purpose, code, missing)
            .await?;
        self.spend_code(pool_id, sub, purpose, checked).await
    }

    /// Checks a code without spending it; a wrong one counts as an attempt. Callers that must
    /// refuse a request after the code (a reset password the history forbids) check first and
    /// spend last, so the code stays usable.
    pub(crate) async fn check_code(
        &self,
        pool_id: &str,
        sub: &str,
        purpose: Purpose,
        code: &str,
        missing: fn() -> CognitoError,
    ) -> CognitoResult<CheckedCode> {
        let row = sqlx::query(
            "SELECT code_hash, attribute_name, attribute_value, attempts, used, expires_at FROM user_codes \
             WHERE user_pool_id = $1 AND sub = $2 AND purpose = $3",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(purpose.as_str())
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?
        .ok_or_else(missing)?;
        if row.read::<i64>("attempts")? >= MAX_ATTEMPTS {
            return Err(attempts_exceeded());
        }
        if row.flag("used")? {
            return Err(expired_code());
        }
        if row.read::<i64>("expires_at")? <= unix_millis(self.clock.now()) {
            return Err(expired_code());
        }
        let stored: String = row.read("code_hash")?;
        let given = code_hash(pool_id, sub, purpose, code);
        let matches =
            aws_lc_rs::constant_time::verify_slices_are_equal(stored.as_bytes(), given.as_bytes())
                .is_ok();
        if !matches {
            sqlx::query(
                "UPDATE user_codes SET attempts = attempts + 1 WHERE user_pool_id = $1 AND sub = $2 AND purpose = $3",
            )
            .bind(pool_id)
            .bind(sub)
            .bind(purpose.as_str())
            .execute(&self.db)
            .await
            .map_err(store_error)?;
            return Err(code_mismatch());
        }
        Ok(CheckedCode {
            hash: given,
            redeemed: Redeemed {
                attribute_name: row.read("attribute_name")?,
                attribute_value: row.read("attribute_value")?,
            },
        })
    }

    /// Spends a checked code. The conditional update is what makes the code single-use: of
    /// concurrent redemptions exactly one changes the row.
    pub(crate) async fn spend_code(
        &self,
        pool_id: &str,
        sub: &str,
        purpose: Purpose,
        checked: CheckedCode,
    ) -> CognitoResult<Redeemed> {
        let claimed = sqlx::query(
            "UPDATE user_codes SET used = 1 WHERE user_pool_id = $1 AND sub = $2 AND purpose = $3 \
             AND code_hash = $4 AND used = 0 AND attempts < $5 AND expires_at > $6",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(purpose.as_str())
        .bind(&checked.hash)
        .bind(MAX_ATTEMPTS)
        .bind(unix_millis(self.clock.now()))
        .execute(&self.db)
        .await
        .map_err(store_error)?
        .rows_affected();
        if claimed != 1 {
            return Err(expired_code());
        }
        Ok(checked.redeemed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cognate_common::clock::ManualClock;
    use cognate_common::testing::TestStore;

    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashes_bind_their_purpose() {
        for _ in 0..100 {
            let code = cognate_common::ids::six_digit_code();
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
        assert_ne!(
            code_hash("p", "s", Purpose::SignUp, "123456"),
            code_hash("p", "s", Purpose::Reset, "123456")
        );
        assert_ne!(
            code_hash("p", "s", Purpose::SignUp, "123456"),
            code_hash("p", "t", Purpose::SignUp, "123456")
        );
    }

    async fn codes_expire_lock_and_redeem_once(store: TestStore) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let directory = Directory::new(
            store.pool.clone(),
            clock.clone(),
            Arc::new(cognate_common::Config::default()),
            cognate_common::testing::sealer(),
        );
        let code = directory
            .issue_code("p", "s", Purpose::Reset, "email", "a@example.com")
            .await
            .expect("issued");
        let stored: String = sqlx::query_scalar("SELECT code_hash FROM user_codes")
            .fetch_one(&store.pool)
            .await
            .expect("row");
        assert!(!stored.contains(&code), "only a hash is stored");
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let error = directory
            .redeem_code("p", "s", Purpose::SignUp, &code, expired_code)
            .await
            .expect_err("another purpose");
        assert_eq!(error.code, ErrorCode::ExpiredCodeException);
        let error = directory
            .redeem_code("p", "s", Purpose::Reset, wrong, expired_code)
            .await
            .expect_err("wrong");
        assert_eq!(error.code, ErrorCode::CodeMismatchException);
        let redeemed = directory
            .redeem_code("p", "s", Purpose::Reset, &code, expired_code)
            .await
            .expect("redeemed");
        assert_eq!(redeemed.attribute_value, "a@example.com");
        let error = directory
            .redeem_code("p", "s", Purpose::Reset, &code, expired_code)
            .await
            .expect_err("used");
        assert_eq!(error.code, ErrorCode::ExpiredCodeException);

        // A reset code lives one hour.
        let code = directory
            .issue_code("p", "s", Purpose::Reset, "email", "a@example.com")
            .await
            .expect("issued");
        clock.advance(std::time::Duration::from_secs(3601));
        let error = directory
            .redeem_code("p", "s", Purpose::Reset, &code, expired_code)
            .await
            .expect_err("expired");
        assert_eq!(error.code, ErrorCode::ExpiredCodeException);

        // Five wrong codes lock it, even against the right one.
        let code = directory
            .issue_code("p", "s", Purpose::SignUp, "email", "a@example.com")
            .await
            .expect("issued");
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for _ in 0..MAX_ATTEMPTS {
            let error = directory
                .redeem_code("p", "s", Purpose::SignUp, wrong, code_mismatch)
                .await
                .expect_err("wrong");
            assert_eq!(error.code, ErrorCode::CodeMismatchException);
        }
        let error = directory
            .redeem_code("p", "s", Purpose::SignUp, &code, code_mismatch)
            .await
            .expect_err("locked");
        assert_eq!(error.code, ErrorCode::LimitExceededException);
        assert_eq!(
            error.message,
            "Attempt limit exceeded, please try after some time."
        );
        // A new code does not bring fresh guesses: the attempts carry over...
        let code = directory
            .issue_code("p", "s", Purpose::SignUp, "email", "a@example.com")
            .await
            .expect("reissued");
        let error = directory
            .redeem_code("p", "s", Purpose::SignUp, &code, code_mismatch)
            .await
            .expect_err("still locked");
        assert_eq!(error.code, ErrorCode::LimitExceededException);
        // ...until the replaced code is old enough.
        clock.advance(std::time::Duration::from_millis(
            u64::try_from(ATTEMPTS_FORGOTTEN_AFTER_MILLIS).expect("positive") + 1,
        ));
        let code = directory
            .issue_code("p", "s", Purpose::SignUp, "email", "a@example.com")
            .await
            .expect("reissued after the wait");
        directory
            .redeem_code("p", "s", Purpose::SignUp, &code, code_mismatch)
            .await
            .expect("a fresh count");
    }

    /// At most `code_sends_per_hour` codes of a purpose per user and hour, however many
    /// requests race for them.
    async fn code_sends_are_limited_per_user(store: TestStore) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let config = cognate_common::Config {
            code_sends_per_hour: 3,
            ..cognate_common::Config::default()
        };
        let directory = Directory::new(
            store.pool.clone(),
            clock.clone(),
            Arc::new(config),
            cognate_common::testing::sealer(),
        );
        let sends = (0..10).map(|_| directory.issue_code("p", "s", Purpose::Reset, "email", "a@x"));
        let outcomes = futures::future::join_all(sends).await;
        let sent = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(sent, 3, "{outcomes:?}");
        for outcome in outcomes.into_iter().filter(Result::is_err) {
            let error = outcome.expect_err("refused");
            assert_eq!(
                (error.code, error.message.as_str()),
                (
                    ErrorCode::LimitExceededException,
                    "Attempt limit exceeded, please try after some time."
                )
            );
        }
        directory
            .issue_code("p", "s", Purpose::SignUp, "email", "a@x")
            .await
            .expect("another purpose has its own count");
        directory
            .issue_code("p", "t", Purpose::Reset, "email", "a@x")
            .await
            .expect("another user has their own count");
        clock.advance(std::time::Duration::from_secs(3601));
        directory
            .issue_code("p", "s", Purpose::Reset, "email", "a@x")
            .await
            .expect("a new hour");
    }

    #[tokio::test]
    async fn code_sends_are_limited_per_user_on_sqlite() {
        let store =
            TestStore::sqlite(cognate_common::ServiceKind::Directory, &crate::MIGRATOR).await;
        code_sends_are_limited_per_user(store).await;
    }

    #[tokio::test]
    async fn code_sends_are_limited_per_user_on_postgres() {
        let store =
            TestStore::postgres(cognate_common::ServiceKind::Directory, &crate::MIGRATOR).await;
        code_sends_are_limited_per_user(store).await;
    }

    #[tokio::test]
    async fn codes_expire_lock_and_redeem_once_on_sqlite() {
        let store =
            TestStore::sqlite(cognate_common::ServiceKind::Directory, &crate::MIGRATOR).await;
        codes_expire_lock_and_redeem_once(store).await;
    }

    #[tokio::test]
    async fn codes_expire_lock_and_redeem_once_on_postgres() {
        let store =
            TestStore::postgres(cognate_common::ServiceKind::Directory, &crate::MIGRATOR).await;
        codes_expire_lock_and_redeem_once(store).await;
    }
}
