//! Cognito's lockout: after 5 failed checks a user is locked for 1 s, doubling with each further
//! failure (2^(n−5) s) up to 15 minutes. Attempts during a lock are refused without being
//! checked or counted; 15 quiet minutes forget the failures.
//!
//! Passwords and one-time codes (MFA, passwordless OTP) are counted apart: a correct password
//! ends the password failures, while only issued tokens end the code failures, so signing in
//! again with a known password gives no fresh tries at the code. A lock, whichever count brought
//! it, refuses both kinds of check.
//!
//! One user's checks of one kind take turns, in this process (a keyed async mutex) and across
//! replicas (a Postgres advisory lock held by the check's transaction). Each check so sees every
//! earlier check's outcome: a burst of wrong guesses gets exactly five checks before the lock,
//! and a burst of correct ones never meets a failure that has not happened.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use cognate_common::store::{Backend, store_error};
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::idp::v1 as idp;

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

pub(crate) fn attempts_exceeded() -> CognitoError {
    CognitoError::not_authorized("Password attempts exceeded")
}

/// What a check proves, each with its own count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Factor {
    Password,
    /// A one-time code: TOTP, SMS, email.
    Code,
}

impl Factor {
    fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Code => "code",
        }
    }
}

/// What an unknown name's failures count under where existence is hidden, so it is locked out
/// exactly as a user of that name would be (case folded as the pool folds names).
pub fn unknown_user_key(pool: &idp::UserPoolType, username: &str) -> String {
    let case_sensitive = pool
        .username_configuration
        .as_ref()
        .and_then(|configuration| configuration.case_sensitive)
        .unwrap_or(true);
    if case_sensitive {
        format!("decoy:{username}")
    } else {
        format!("decoy:{}", username.to_lowercase())
    }
}

type Turns = Arc<StdMutex<HashMap<String, Arc<AsyncMutex<()>>>>>;

/// The lockout counts in the auth store, and this process's queue of checks per user.
#[derive(Debug, Clone)]
pub struct Lockout {
    db: AnyPool,
    backend: Backend,
    turns: Turns,
}

/// A check that has its turn: the lock was not in force when it began. End it with
/// [`Attempt::passed`] or [`Attempt::failed`]; dropped without either, it counts for nothing.
pub struct Attempt {
    pool_id: String,
    sub: String,
    factor: Factor,
    now: i64,
    standing: Option<Standing>,
    db: AnyPool,
    /// Postgres: the transaction holding the user's advisory lock, so other replicas wait.
    transaction: Option<Transaction<'static, Any>>,
    _turn: Turn,
}

/// The failures a user's row holds.
#[derive(Debug, Clone, Copy)]
struct Standing {
    failures: i64,
    last_failure: i64,
    locked_until: i64,
}

impl Lockout {
    pub fn new(db: AnyPool) -> Self {
        Self {
            backend: Backend::of(&db),
            db,
            turns: Arc::default(),
        }
    }

    /// Waits for the user's turn at a `factor` check at `now` (unix milliseconds). A lock in
    /// force (of either factor) refuses the check with "Password attempts exceeded", uncounted.
    pub async fn begin(
        &self,
        pool_id: &str,
        sub: &str,
        factor: Factor,
        now: i64,
    ) -> CognitoResult<Attempt> {
        let key = format!("{}\0{pool_id}\0{sub}", factor.as_str());
        let turn = Turn::take(&self.turns, key.clone()).await;
        let mut transaction = None;
        if self.backend == Backend::Postgres {
            let mut begun = self.db.begin().await.map_err(store_error)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(advisory_key(&key))
                .execute(&mut *begun)
                .await
                .map_err(store_error)?;
            transaction = Some(begun);
        }
        let query = sqlx::query(
            "SELECT factor, failures, last_failure, locked_until FROM lockouts \
             WHERE user_pool_id = $1 AND sub = $2",
        )
        .bind(pool_id)
        .bind(sub);
        let rows = match transaction.as_mut() {
            Some(transaction) => query.fetch_all(&mut **transaction).await,
            None => query.fetch_all(&self.db).await,
        }
        .map_err(store_error)?;
        let mut standing = None;
        for row in rows {
            let counted = Standing {
                failures: row.try_get("failures").map_err(store_error)?,
                last_failure: row.try_get("last_failure").map_err(store_error)?,
                locked_until: row.try_get("locked_until").map_err(store_error)?,
            };
            // A lock is the user's, whichever factor's failures brought it.
            if counted.locked_until > now {
                return Err(attempts_exceeded());
            }
            if row.try_get::<String, _>("factor").map_err(store_error)? == factor.as_str() {
                standing = Some(counted);
            }
        }
        Ok(Attempt {
            pool_id: pool_id.to_owned(),
            sub: sub.to_owned(),
            factor,
            now,
            standing,
            db: self.db.clone(),
            transaction,
            _turn: turn,
        })
    }

    /// Tokens were issued: the user's code failures end (password failures ended when the
    /// password was proven).
    pub async fn tokens_issued(&self, pool_id: &str, sub: &str) -> CognitoResult<()> {
        sqlx::query("DELETE FROM lockouts WHERE user_pool_id = $1 AND sub = $2 AND factor = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(Factor::Code.as_str())
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl Attempt {
    /// The check passed. A password's failures are forgotten; a code's stand until tokens are
    /// issued ([`Lockout::tokens_issued`]).
    pub async fn passed(self) -> CognitoResult<()> {
        if self.factor == Factor::Password && self.standing.is_some() {
            let query = sqlx::query(
                "DELETE FROM lockouts WHERE user_pool_id = $1 AND sub = $2 AND factor = $3",
            )
            .bind(self.pool_id.clone())
            .bind(self.sub.clone())
            .bind(self.factor.as_str());
            return self.write(query).await;
        }
        self.finish().await
    }

    /// The check failed: one more failure, and the lock it brings.
    pub async fn failed(self) -> CognitoResult<()> {
        let failures = match self.standing {
            Some(standing) if standing.last_failure >= self.now - MAX_LOCK_MILLIS => {
                standing.failures + 1
            }
            _ => 1,
        };
        let query = sqlx::query(
            "INSERT INTO lockouts (user_pool_id, sub, factor, failures, last_failure, locked_until) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_pool_id, sub, factor) DO UPDATE SET \
             failures = excluded.failures, last_failure = excluded.last_failure, \
             locked_until = excluded.locked_until",
        )
        .bind(self.pool_id.clone())
        .bind(self.sub.clone())
        .bind(self.factor.as_str())
        .bind(failures)
        .bind(self.now)
        .bind(self.now + lock_millis(failures));
        self.write(query).await
    }

    /// Runs the attempt's one write and commits.
    async fn write(mut self, query: Query<'_, Any, AnyArguments>) -> CognitoResult<()> {
        match self.transaction.as_mut() {
            Some(transaction) => query.execute(&mut **transaction).await,
            None => query.execute(&self.db).await,
        }
        .map_err(store_error)?;
        self.finish().await
    }

    async fn finish(mut self) -> CognitoResult<()> {
        if let Some(transaction) = self.transaction.take() {
            transaction.commit().await.map_err(store_error)?;
        }
        Ok(())
    }
}

/// The advisory lock's 64-bit key for a user's checks: the first 8 bytes of a SHA-256, the same
/// on every replica and every version (std's hasher promises neither). Two users whose keys
/// collide only take turns with each other.
fn advisory_key(key: &str) -> i64 {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("cognate.auth.lockout\0{key}").as_bytes(),
    );
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_be_bytes(first)
}

/// One user's turn in this process: later checks of the same key wait for it to end. The map
/// holds a key only while a check holds or awaits it.
struct Turn {
    key: String,
    turns: Turns,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turn {
    async fn take(turns: &Turns, key: String) -> Self {
        let mutex = {
            let mut map = turns
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        Self {
            key,
            turns: turns.clone(),
            guard: Some(guard),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut map = self
            .turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Released under the map's lock: a new waiter clones the entry under the same lock, so
        // the count below can't miss one.
        drop(self.guard.take());
        if map
            .get(&self.key)
            .is_some_and(|mutex| Arc::strong_count(mutex) == 1)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognate_common::ErrorCode;

    const START: i64 = 1_700_000_000_000;

    #[test]
    fn locks_double_from_one_second_up_to_fifteen_minutes() {
        assert_eq!(lock_millis(4), 0);
        assert_eq!(lock_millis(5), 1000);
        assert_eq!(lock_millis(6), 2000);
        assert_eq!(lock_millis(10), 32_000);
        assert_eq!(lock_millis(15), 900_000);
        assert_eq!(lock_millis(1000), 900_000);
    }

    async fn fail(lockout: &Lockout, sub: &str, factor: Factor, now: i64) -> CognitoResult<()> {
        lockout.begin("p", sub, factor, now).await?.failed().await
    }

    async fn pass(lockout: &Lockout, sub: &str, factor: Factor, now: i64) -> CognitoResult<()> {
        lockout.begin("p", sub, factor, now).await?.passed().await
    }

    fn assert_locked(outcome: CognitoResult<()>) {
        let error = outcome.expect_err("locked");
        assert_eq!(
            (error.code, error.message.as_str()),
            (
                ErrorCode::NotAuthorizedException,
                "Password attempts exceeded"
            )
        );
    }

    /// The rules with an injected clock (unix milliseconds passed in).
    async fn lockout_follows_cognitos_rules(db: &AnyPool) {
        let lockout = Lockout::new(db.clone());
        let password = Factor::Password;
        for _ in 1..=5 {
            fail(&lockout, "u", password, START)
                .await
                .expect("not locked yet");
        }
        assert_locked(fail(&lockout, "u", password, START + 999).await);
        assert_locked(pass(&lockout, "u", password, START + 999).await);
        fail(&lockout, "u", password, START + 1000)
            .await
            .expect("the lock has passed: a sixth attempt");
        assert_locked(fail(&lockout, "u", password, START + 2999).await);
        pass(&lockout, "u", password, START + 3000)
            .await
            .expect("the 2 s lock has passed");
        for _ in 1..=5 {
            fail(&lockout, "u", password, START + 3000)
                .await
                .expect("a success counts again from zero");
        }
        assert_locked(fail(&lockout, "u", password, START + 3001).await);
        // Fifteen quiet minutes forget the failures.
        let later = START + 3000 + MAX_LOCK_MILLIS + 1;
        for _ in 1..=5 {
            fail(&lockout, "u", password, later)
                .await
                .expect("counting again from zero");
        }
        assert_locked(fail(&lockout, "u", password, later + 1).await);
    }

    /// Twenty wrong guesses at once: exactly five are checked, the rest refused unchecked. On
    /// Postgres they are spread over two replicas (two `Lockout`s share only the database).
    async fn parallel_wrong_guesses_get_exactly_five_checks(db: &AnyPool) {
        let replicas = match Backend::of(db) {
            Backend::Postgres => vec![Lockout::new(db.clone()), Lockout::new(db.clone())],
            Backend::Sqlite => vec![Lockout::new(db.clone())],
        };
        let guesses = (0..20).map(|guess| {
            let lockout = &replicas[guess % replicas.len()];
            async move {
                let attempt = lockout.begin("p", "v", Factor::Password, START).await?;
                tokio::task::yield_now().await;
                attempt.failed().await
            }
        });
        let outcomes = futures::future::join_all(guesses).await;
        let checked = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(checked, 5, "{outcomes:?}");
        for outcome in outcomes.into_iter().filter(Result::is_err) {
            assert_locked(outcome);
        }
    }

    /// Sixty-four correct sign-ins at once, after four failures that stand: none is refused,
    /// on one replica or two.
    async fn parallel_correct_checks_all_pass(db: &AnyPool) {
        let replicas = match Backend::of(db) {
            Backend::Postgres => vec![Lockout::new(db.clone()), Lockout::new(db.clone())],
            Backend::Sqlite => vec![Lockout::new(db.clone())],
        };
        for _ in 1..=4 {
            fail(&replicas[0], "w", Factor::Password, START)
                .await
                .expect("four failures");
        }
        let sign_ins = (0..64).map(|sign_in| {
            let lockout = &replicas[sign_in % replicas.len()];
            async move {
                let attempt = lockout.begin("p", "w", Factor::Password, START).await?;
                tokio::task::yield_now().await;
                attempt.passed().await
            }
        });
        let outcomes = futures::future::join_all(sign_ins).await;
        let refused: Vec<_> = outcomes.iter().filter(|outcome| outcome.is_err()).collect();
        assert!(refused.is_empty(), "{refused:?}");
    }

    /// A correct password does not end the code failures; issued tokens do. A code lock refuses
    /// the password too.
    async fn code_failures_outlive_a_correct_password(db: &AnyPool) {
        let lockout = Lockout::new(db.clone());
        for _ in 1..=4 {
            fail(&lockout, "x", Factor::Code, START)
                .await
                .expect("four");
        }
        pass(&lockout, "x", Factor::Password, START)
            .await
            .expect("the password is right");
        pass(&lockout, "x", Factor::Code, START)
            .await
            .expect("a right code, but no tokens yet");
        fail(&lockout, "x", Factor::Code, START)
            .await
            .expect("the fifth code failure");
        assert_locked(fail(&lockout, "x", Factor::Code, START + 1).await);
        assert_locked(pass(&lockout, "x", Factor::Password, START + 1).await);
        pass(&lockout, "x", Factor::Password, START + 1000)
            .await
            .expect("after the lock, the password is checked");
        fail(&lockout, "x", Factor::Code, START + 1000)
            .await
            .expect("a sixth code failure, checked: the password did not end the count");
        assert_locked(fail(&lockout, "x", Factor::Code, START + 1001).await);
        lockout.tokens_issued("p", "x").await.expect("tokens");
        for _ in 1..=5 {
            fail(&lockout, "x", Factor::Code, START + 3001)
                .await
                .expect("counting from zero after tokens");
        }
    }

    #[test]
    fn the_advisory_key_is_the_same_everywhere() {
        // SHA-256 of the key, as every replica and version computes it (checked with Python's
        // hashlib), so replicas of different builds still take turns during an upgrade.
        assert_eq!(advisory_key("password\0p\0u"), 4_810_649_096_739_096_373);
    }

    #[tokio::test]
    async fn a_turn_is_forgotten_when_no_check_holds_or_awaits_it() {
        let turns = Turns::default();
        let first = Turn::take(&turns, "k".to_owned()).await;
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { Turn::take(&turns, "k".to_owned()).await }
        });
        while Arc::strong_count(&turns.lock().expect("map")["k"]) < 3 {
            tokio::task::yield_now().await;
        }
        drop(first);
        let second = waiting.await.expect("the waiter gets its turn");
        assert_eq!(turns.lock().expect("map").len(), 1, "held by the second");
        drop(second);
        assert!(turns.lock().expect("map").is_empty());
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Auth, crate::MIGRATOR;
        lockout_follows_cognitos_rules,
        parallel_wrong_guesses_get_exactly_five_checks,
        parallel_correct_checks_all_pass,
        code_failures_outlive_a_correct_password,
    );
}
