//! Ephemeral state shared by replicas: Redis when `redis_url` is configured, otherwise this
//! process's memory. It holds what may be lost (auth-flow sessions that live minutes); what
//! must never be lost or undone lives in the SQL stores. Keys are namespaced by their type, so
//! a value stored as one kind can never be redeemed as another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ErrorCode;
use crate::error::{CognitoResult, internal};

/// The kinds of ephemeral value; each is a key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An auth flow between InitiateAuth and RespondToAuthChallenge.
    AuthSession,
    /// A source address's requests in the current throttling window.
    AddressWindow,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::AuthSession => "cognate:auth-session:",
            Kind::AddressWindow => "cognate:address-window:",
        }
    }
}

#[derive(Clone)]
pub enum Ephemeral {
    Memory(Arc<Memory>),
    Redis(redis::aio::ConnectionManager),
}

/// This process's values and counts, in tables of their own, so a flood of one (addresses
/// counted by the throttle) never takes the other's room (sign-ins in progress).
#[derive(Debug)]
pub struct Memory {
    values: Mutex<Table<String>>,
    counts: Mutex<Table<u64>>,
}

/// Entries that expire, with a bound: past `capacity` live entries a new one is refused
/// (`TooManyRequestsException`) rather than letting a flood take memory.
#[derive(Debug)]
struct Table<V> {
    entries: HashMap<String, (V, Instant)>,
    capacity: usize,
    /// Expired entries are swept when the map grows to this size, which then doubles from what
    /// is left, so sweeping costs O(1) per write amortised; a full map is swept at most once a
    /// second, so writes refused for want of room don't each pay for a sweep.
    sweep_at: usize,
    swept: Option<Instant>,
}

impl<V> Table<V> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            sweep_at: SWEEP_ABOVE.min(capacity),
            swept: None,
        }
    }

    /// Makes room for `key` at `now`, sweeping expired entries when it is time; an error when
    /// the table is full and `key` is not in it.
    fn make_room(&mut self, key: &str, now: Instant) -> CognitoResult<()> {
        let full = self.entries.len() >= self.capacity;
        let swept_lately = self
            .swept
            .is_some_and(|swept| now.duration_since(swept) < Duration::from_secs(1));
        if self.entries.len() >= self.sweep_at && !(full && swept_lately) {
            self.entries.retain(|_, (_, expires)| *expires > now);
            self.sweep_at = (self.entries.len() * 2).max(SWEEP_ABOVE).min(self.capacity);
            self.swept = Some(now);
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(key) {
            return Err(crate::CognitoError::new(
                ErrorCode::TooManyRequestsException,
                "Too many requests are in progress; try again later.",
            ));
        }
        Ok(())
    }
}

fn locked<T>(table: &Mutex<T>) -> CognitoResult<std::sync::MutexGuard<'_, T>> {
    table
        .lock()
        .map_err(|error| internal("ephemeral store poisoned", error))
}

impl std::fmt::Debug for Ephemeral {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Ephemeral::Memory(_) => "Ephemeral::Memory",
            Ephemeral::Redis(_) => "Ephemeral::Redis",
        })
    }
}

/// Entries in memory beyond which expired ones are swept on the next write.
const SWEEP_ABOVE: usize = 10_000;
/// Live entries one process keeps in memory, in each table: sign-ins in progress (each a few
/// hundred bytes, living minutes), and counted addresses (living a minute); far above what a
/// single process serves.
pub const MEMORY_CAPACITY: usize = 200_000;

impl Ephemeral {
    pub fn memory() -> Self {
        Self::memory_with_capacity(MEMORY_CAPACITY)
    }

    pub fn memory_with_capacity(capacity: usize) -> Self {
        Ephemeral::Memory(Arc::new(Memory {
            values: Mutex::new(Table::new(capacity)),
            counts: Mutex::new(Table::new(capacity)),
        }))
    }

    /// Stores `value` under `key` for `ttl`.
    pub async fn put(
        &self,
        kind: Kind,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> CognitoResult<()> {
        let key = format!("{}{key}", kind.prefix());
        match self {
            Ephemeral::Memory(memory) => {
                let mut values = locked(&memory.values)?;
                let now = Instant::now();
                values.make_room(&key, now)?;
                values.entries.insert(key, (value.to_owned(), now + ttl));
                Ok(())
            }
            Ephemeral::Redis(connection) => {
                let seconds = ttl.as_secs().max(1);
                redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("EX")
                    .arg(seconds)
                    .query_async::<()>(&mut connection.clone())
                    .await
                    .map_err(|error| internal("redis SET failed", error))
            }
        }
    }

    /// Counts one more event under `key` in a fixed window of `window` that starts with the
    /// first event; the count so far, this one included. With Redis the window is shared by
    /// every replica (one atomic SET NX PX + INCR).
    pub async fn count(&self, kind: Kind, key: &str, window: Duration) -> CognitoResult<u64> {
        let key = format!("{}{key}", kind.prefix());
        match self {
            Ephemeral::Memory(memory) => {
                let mut counts = locked(&memory.counts)?;
                let now = Instant::now();
                if let Some((count, expires)) = counts.entries.get_mut(&key)
                    && *expires > now
                {
                    *count += 1;
                    return Ok(*count);
                }
                counts.make_room(&key, now)?;
                counts.entries.insert(key, (1, now + window));
                Ok(1)
            }
            Ephemeral::Redis(connection) => {
                let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
                let (count,): (u64,) = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&key)
                    .arg(0)
                    .arg("PX")
                    .arg(millis)
                    .arg("NX")
                    .ignore()
                    .cmd("INCR")
                    .arg(&key)
                    .query_async(&mut connection.clone())
                    .await
                    .map_err(|error| internal("redis INCR failed", error))?;
                Ok(count)
            }
        }
    }

    /// Removes and returns the value under `key` if it has not expired: each value can be
    /// taken once, however many callers race for it.
    pub async fn take(&self, kind: Kind, key: &str) -> CognitoResult<Option<String>> {
        let key = format!("{}{key}", kind.prefix());
        match self {
            Ephemeral::Memory(memory) => {
                let mut values = locked(&memory.values)?;
                Ok(values
                    .entries
                    .remove(&key)
                    .filter(|(_, expires)| *expires > Instant::now())
                    .map(|(value, _)| value))
            }
            Ephemeral::Redis(connection) => redis::cmd("GETDEL")
                .arg(&key)
                .query_async::<Option<String>>(&mut connection.clone())
                .await
                .map_err(|error| internal("redis GETDEL failed", error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn single_use_and_expiry(store: Ephemeral) {
        let key = uuid::Uuid::new_v4().to_string();
        store
            .put(Kind::AuthSession, &key, "value", Duration::from_secs(60))
            .await
            .expect("put");
        let (first, second) = tokio::join!(
            store.take(Kind::AuthSession, &key),
            store.take(Kind::AuthSession, &key)
        );
        let taken: Vec<_> = [first.expect("take"), second.expect("take")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(taken, ["value"], "exactly one taker wins");
        store
            .put(Kind::AuthSession, &key, "brief", Duration::from_millis(10))
            .await
            .expect("put");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            store.take(Kind::AuthSession, &key).await.expect("take"),
            None
        );
    }

    /// Parallel counts in one window each get their own number; a window that ended starts
    /// again at one.
    async fn windows_count_every_event(store: Ephemeral) {
        let key = uuid::Uuid::new_v4().to_string();
        let counts = futures::future::join_all(
            (0..20).map(|_| store.count(Kind::AddressWindow, &key, Duration::from_secs(60))),
        )
        .await;
        let mut counts: Vec<u64> = counts
            .into_iter()
            .map(|count| count.expect("count"))
            .collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=20).collect::<Vec<u64>>());
        let brief = uuid::Uuid::new_v4().to_string();
        let window = Duration::from_millis(50);
        assert_eq!(
            store
                .count(Kind::AddressWindow, &brief, window)
                .await
                .expect("count"),
            1
        );
        assert_eq!(
            store
                .count(Kind::AddressWindow, &brief, window)
                .await
                .expect("count"),
            2
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            store
                .count(Kind::AddressWindow, &brief, window)
                .await
                .expect("count"),
            1
        );
    }

    #[tokio::test]
    async fn memory_windows_count_every_event() {
        windows_count_every_event(Ephemeral::memory()).await;
    }

    #[tokio::test]
    async fn redis_windows_count_every_event() {
        windows_count_every_event(Ephemeral::Redis(redis_connection().await)).await;
    }

    async fn redis_connection() -> redis::aio::ConnectionManager {
        let url = std::env::var("COGNATE_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(url).expect("a Redis URL");
        redis::aio::ConnectionManager::new(client)
            .await
            .expect("Redis is running")
    }

    /// Counted addresses have a table of their own: a flood of them is refused there and
    /// leaves the sign-ins' room alone.
    #[tokio::test]
    async fn memory_counts_never_take_the_values_room() {
        let store = Ephemeral::memory_with_capacity(2);
        let minute = Duration::from_secs(60);
        for key in ["a", "b"] {
            assert_eq!(
                store
                    .count(Kind::AddressWindow, key, minute)
                    .await
                    .expect("counted"),
                1
            );
        }
        assert_eq!(
            store
                .count(Kind::AddressWindow, "a", minute)
                .await
                .expect("counted"),
            2
        );
        let refused = store
            .count(Kind::AddressWindow, "c", minute)
            .await
            .expect_err("the counts are full");
        assert_eq!(refused.code, ErrorCode::TooManyRequestsException);
        for key in ["x", "y"] {
            store
                .put(Kind::AuthSession, key, "value", minute)
                .await
                .expect("the values have their own room");
        }
    }

    #[tokio::test]
    async fn memory_is_bounded_and_sweeps_what_expired() {
        let store = Ephemeral::memory_with_capacity(3);
        let put = |key: &'static str, ttl: Duration| {
            let store = store.clone();
            async move { store.put(Kind::AuthSession, key, "value", ttl).await }
        };
        let long = Duration::from_secs(60);
        put("a", long).await.expect("first");
        put("b", long).await.expect("second");
        put("c", Duration::ZERO)
            .await
            .expect("third, expiring at once");
        put("d", long)
            .await
            .expect("the expired one is swept to make room");
        let refused = put("e", long).await.expect_err("full");
        assert_eq!(refused.code, ErrorCode::TooManyRequestsException);
        put("a", long)
            .await
            .expect("replacing a value takes no room");
        store.take(Kind::AuthSession, "b").await.expect("take");
        put("e", long).await.expect("a taken value frees its room");
    }

    #[tokio::test]
    async fn memory_values_are_single_use_and_expire() {
        single_use_and_expiry(Ephemeral::memory()).await;
    }

    #[tokio::test]
    async fn redis_values_are_single_use_and_expire() {
        single_use_and_expiry(Ephemeral::Redis(redis_connection().await)).await;
    }
}
