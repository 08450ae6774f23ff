//! Cognito's lockout: after 5 failed password checks a user is locked for 1 s, doubling with
//! each further failure (2^(n−5) s) up to 15 minutes. Attempts during a lock are refused without
//! being counted; a success after the lock, or 15 quiet minutes, starts the count afresh.
//! Failures are counted by one atomic upsert, so parallel attempts on any replica all count, and
//! a burst of correct attempts waits for the ones in flight instead of locking itself out.

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

/// `lock_millis` of the SQL expression `failures`, as a CASE the database evaluates (the values
/// are this module's constants, never input).
fn lock_millis_sql(failures: &str) -> String {
    let mut sql = String::from("CASE");
    let mut count = FREE_FAILURES;
    while lock_millis(count) < MAX_LOCK_MILLIS {
        sql.push_str(&format!(
            " WHEN {failures} = {count} THEN {}",
            lock_millis(count)
        ));
        count += 1;
    }
    sql.push_str(&format!(
        " WHEN {failures} >= {count} THEN {MAX_LOCK_MILLIS} ELSE 0 END"
    ));
    sql
}

/// Starts a password or code check at `now` (unix milliseconds). A locked user is refused and
/// the attempt not counted. Otherwise the attempt is counted as a failure up front, with the
/// lock that failure would bring, in one atomic upsert; [`succeeded`] undoes both. So parallel
/// attempts can't all slip past the check while the first ones are still being verified.
///
/// A lock that the last second's attempts brought may be theirs alone while they are still being
/// verified (more than five correct sign-ins of one user at once): a refused attempt waits a
/// little for them and asks again, so only failures that stand lock the user out.
pub async fn begin(db: &AnyPool, pool_id: &str, sub: &str, now: i64) -> CognitoResult<()> {
    for wait_millis in WAITS_FOR_ATTEMPTS_IN_FLIGHT {
        match try_begin(db, pool_id, sub, now).await? {
            Begun::Counted => return Ok(()),
            Begun::Refused { last_failure } if last_failure + 1000 < now => break,
            Begun::Refused { .. } => {
                tokio::time::sleep(std::time::Duration::from_millis(wait_millis)).await;
            }
        }
    }
    match try_begin(db, pool_id, sub, now).await? {
        Begun::Counted => Ok(()),
        Begun::Refused { .. } => Err(attempts_exceeded()),
    }
}

/// The pauses of a refused attempt that may have met attempts still in flight, in milliseconds.
const WAITS_FOR_ATTEMPTS_IN_FLIGHT: [u64; 4] = [25, 50, 100, 200];

enum Begun {
    Counted,
    /// Refused by a lock in force; `last_failure` is when its latest failure was counted.
    Refused {
        last_failure: i64,
    },
}

async fn try_begin(db: &AnyPool, pool_id: &str, sub: &str, now: i64) -> CognitoResult<Begun> {
    let next = "CASE WHEN lockouts.last_failure < $4 THEN 1 ELSE lockouts.failures + 1 END";
    let query = format!(
        "INSERT INTO lockouts (user_pool_id, sub, failures, last_failure, locked_until, last_attempt) \
         VALUES ($1, $2, 1, $3, $3 + {first_lock}, $5) \
         ON CONFLICT (user_pool_id, sub) DO UPDATE SET \
         last_attempt = CASE WHEN lockouts.locked_until > $3 THEN lockouts.last_attempt ELSE $5 END, \
         failures = CASE WHEN lockouts.locked_until > $3 THEN lockouts.failures ELSE {next} END, \
         last_failure = CASE WHEN lockouts.locked_until > $3 THEN lockouts.last_failure ELSE $3 END, \
         locked_until = CASE WHEN lockouts.locked_until > $3 THEN lockouts.locked_until ELSE $3 + {lock} END \
         RETURNING last_attempt, last_failure",
        lock = lock_millis_sql(&format!("({next})")),
        first_lock = lock_millis(1),
    );
    let attempt = uuid::Uuid::new_v4().to_string();
    let row = sqlx::query(sqlx::AssertSqlSafe(query))
        .bind(pool_id)
        .bind(sub)
        .bind(now)
        .bind(now - MAX_LOCK_MILLIS)
        .bind(&attempt)
        .fetch_one(db)
        .await
        .map_err(store_error)?;
    // Counted, or refused by a lock that was already in force.
    Ok(if row.get::<String, _>("last_attempt") == attempt {
        Begun::Counted
    } else {
        Begun::Refused {
            last_failure: row.get("last_failure"),
        }
    })
}

/// The check passed: the failures are forgotten and the lock lifted.
pub async fn succeeded(db: &AnyPool, pool_id: &str, sub: &str) -> CognitoResult<()> {
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

    /// The rules with an injected clock (unix milliseconds passed in); a failure is a `begin`
    /// without `succeeded`.
    async fn lockout_follows_cognitos_rules(db: &AnyPool) {
        let start = 1_700_000_000_000;
        for _ in 1..=5 {
            begin(db, "p", "u", start).await.expect("not locked yet");
        }
        let refused = begin(db, "p", "u", start + 999)
            .await
            .expect_err("locked for 1 s");
        assert_eq!(refused.message, "Password attempts exceeded");
        begin(db, "p", "u", start + 1000)
            .await
            .expect("the lock has passed: a sixth attempt");
        assert!(begin(db, "p", "u", start + 2999).await.is_err(), "2 s lock");
        begin(db, "p", "u", start + 3000).await.expect("passed");
        succeeded(db, "p", "u").await.expect("a success resets");
        for _ in 1..=4 {
            begin(db, "p", "u", start + 3000)
                .await
                .expect("counting again from zero");
        }
        // Fifteen quiet minutes forget the failures.
        let later = start + 3000 + MAX_LOCK_MILLIS + 1;
        for _ in 1..=4 {
            begin(db, "p", "u", later)
                .await
                .expect("counting again from zero");
        }
        begin(db, "p", "u", later).await.expect("fifth");
        assert!(begin(db, "p", "u", later + 1).await.is_err());
    }

    async fn parallel_attempts_cannot_slip_past(db: &AnyPool) {
        let now = 1_700_000_000_000;
        let attempts = (0..20).map(|_| begin(db, "p", "v", now));
        let outcomes = futures::future::join_all(attempts).await;
        let allowed = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(
            allowed, 5,
            "only the free attempts are verified, however many run at once"
        );
        assert!(
            begin(db, "p", "v", now + 500).await.is_err(),
            "and the user is locked"
        );
    }

    /// Eight correct sign-ins of one user at once: the ones that find five still in flight wait
    /// for them instead of being locked out by failures that never happen.
    async fn parallel_correct_attempts_all_pass(db: &AnyPool) {
        let now = 1_700_000_000_000;
        let attempts = (0..8).map(|_| async {
            begin(db, "p", "w", now).await?;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            succeeded(db, "p", "w").await
        });
        let outcomes = futures::future::join_all(attempts).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Auth, crate::MIGRATOR;
        lockout_follows_cognitos_rules,
        parallel_attempts_cannot_slip_past,
        parallel_correct_attempts_all_pass,
    );
}
