//! Cognito's lockout: after 5 failed password checks a user is locked for 1 s, doubling with
//! each further failure (2^(n−5) s) up to 15 minutes. Attempts during a lock are refused without
//! being counted; a success after the lock, or 15 quiet minutes, starts the count afresh.
//! Failures are counted by one atomic upsert, so parallel attempts on any replica all count.

use sqlx::{AnyPool, Row};

use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult};

/// Failures before the first lock.
const FREE_FAILURES: i64 = 5;
/// The longest lock, and the quiet time after which failures are forgotten.
const MAX_LOCK_MILLIS: i64 = 15 * 60 * 1000;

/// How long the `failures`-th consecutive failure locks the user, in milliseconds.
pub fn lock_millis(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(failures - FREE_FAILURES)
        .unwrap_or(u32::MAX)
        .min(20);
    (1000_i64 << doublings).min(MAX_LOCK_MILLIS)
}

fn attempts_exceeded() -> CognitoError {
    CognitoError::not_authorized("Password attempts exceeded")
}

/// Refuses the attempt if the user is locked at `now` (unix milliseconds).
pub async fn check(db: &AnyPool, pool_id: &str, sub: &str, now: i64) -> CognitoResult<()> {
    let locked =
        sqlx::query("SELECT locked_until FROM lockouts WHERE user_pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .fetch_optional(db)
            .await
            .map_err(store_error)?
            .is_some_and(|row| row.get::<i64, _>("locked_until") > now);
    if locked {
        Err(attempts_exceeded())
    } else {
        Ok(())
    }
}

/// Counts a failed attempt at `now` and locks the user when it is one too many.
pub async fn record_failure(
    db: &AnyPool,
    pool_id: &str,
    sub: &str,
    now: i64,
) -> CognitoResult<i64> {
    let failures: i64 = sqlx::query(
        "INSERT INTO lockouts (user_pool_id, sub, failures, last_failure, locked_until) VALUES ($1, $2, 1, $3, 0) \
         ON CONFLICT (user_pool_id, sub) DO UPDATE SET \
         failures = CASE WHEN lockouts.last_failure < $4 THEN 1 ELSE lockouts.failures + 1 END, \
         last_failure = $3 \
         RETURNING failures",
    )
    .bind(pool_id)
    .bind(sub)
    .bind(now)
    .bind(now - MAX_LOCK_MILLIS)
    .fetch_one(db)
    .await
    .map_err(store_error)?
    .get("failures");
    let lock = lock_millis(failures);
    if lock > 0 {
        sqlx::query(
            "UPDATE lockouts SET locked_until = $1 WHERE user_pool_id = $2 AND sub = $3 AND locked_until < $1",
        )
        .bind(now + lock)
        .bind(pool_id)
        .bind(sub)
        .execute(db)
        .await
        .map_err(store_error)?;
    }
    Ok(failures)
}

/// A successful sign-in forgets the failures.
pub async fn reset(db: &AnyPool, pool_id: &str, sub: &str) -> CognitoResult<()> {
    sqlx::query("DELETE FROM lockouts WHERE user_pool_id = $1 AND sub = $2")
        .bind(pool_id)
        .bind(sub)
        .execute(db)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_from_one_second_up_to_fifteen_minutes() {
        assert_eq!(lock_millis(4), 0);
        assert_eq!(lock_millis(5), 1000);
        assert_eq!(lock_millis(6), 2000);
        assert_eq!(lock_millis(10), 32_000);
        assert_eq!(lock_millis(15), 900_000);
        assert_eq!(lock_millis(1000), 900_000);
    }

    /// The rules with an injected clock (unix milliseconds passed in).
    async fn lockout_follows_cognitos_rules(db: &AnyPool) {
        let start = 1_700_000_000_000;
        for attempt in 1..=4 {
            check(db, "p", "u", start).await.expect("not locked yet");
            assert_eq!(
                record_failure(db, "p", "u", start).await.expect("counted"),
                attempt
            );
        }
        check(db, "p", "u", start)
            .await
            .expect("four failures don't lock");
        assert_eq!(
            record_failure(db, "p", "u", start).await.expect("counted"),
            5
        );
        let refused = check(db, "p", "u", start + 999)
            .await
            .expect_err("locked for 1 s");
        assert_eq!(refused.message, "Password attempts exceeded");
        check(db, "p", "u", start + 1000)
            .await
            .expect("the lock has passed");
        assert_eq!(
            record_failure(db, "p", "u", start + 1000)
                .await
                .expect("counted"),
            6
        );
        assert!(check(db, "p", "u", start + 2999).await.is_err(), "2 s lock");
        check(db, "p", "u", start + 3000).await.expect("passed");
        // Fifteen quiet minutes forget the failures.
        let later = start + 3000 + MAX_LOCK_MILLIS + 1;
        assert_eq!(
            record_failure(db, "p", "u", later).await.expect("counted"),
            1
        );
        check(db, "p", "u", later).await.expect("not locked");
        reset(db, "p", "u").await.expect("reset");
        assert_eq!(
            record_failure(db, "p", "u", later).await.expect("counted"),
            1
        );
    }

    async fn parallel_failures_all_count(db: &AnyPool) {
        let now = 1_700_000_000_000;
        let attempts = (0..20).map(|_| record_failure(db, "p", "v", now));
        let counts = futures::future::join_all(attempts).await;
        let mut counts: Vec<i64> = counts
            .into_iter()
            .map(|count| count.expect("counted"))
            .collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=20).collect::<Vec<_>>());
        assert!(check(db, "p", "v", now + 60_000).await.is_err());
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Auth, crate::MIGRATOR;
        lockout_follows_cognitos_rules,
        parallel_failures_all_count,
    );
}
