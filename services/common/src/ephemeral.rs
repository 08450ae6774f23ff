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
    Memory(Arc<Mutex<Memory>>),
    Redis(redis::aio::ConnectionManager),
}

/// This process's values, with a bound: past `capacity` live values a new one is refused
/// (`TooManyRequestsException`) rather than letting a flood of started sign-ins take memory.
#[derive(Debug)]
pub struct Memory {
    entries: HashMap<String, (String, Instant)>,
    capacity: usize,
    /// Expired entries are swept when the map grows to this size, which then doubles from what
    /// is left, so sweeping costs O(1) per write amortised; a full map is swept at most once a
    /// second, so writes refused for want of room don't each pay for a sweep.
    sweep_at: usize,
    swept: Option<Instant>,
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
/// Live values one process keeps in memory: sign-ins in progress (each a few hundred bytes,
/// living minutes), far above what a single process serves.
pub const MEMORY_CAPACITY: usize = 200_000;

impl Ephemeral {
    pub fn memory() -> Self {
        Self::memory_with_capacity(MEMORY_CAPACITY)
    }

    pub fn memory_with_capacity(capacity: usize) -> Self {
        Ephemeral::Memory(Arc::new(Mutex::new(Memory {
            entries: HashMap::new(),
            capacity,
            sweep_at: SWEEP_ABOVE.min(capacity),
            swept: None,
        })))
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
            Ephemeral::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|error| internal("ephemeral store poisoned", error))?;
                let now = Instant::now();
                let full = map.entries.len() >= map.capacity;
                let swept_lately = map
                    .swept
                    .is_some_and(|swept| now.duration_since(swept) < Duration::from_secs(1));
                if map.entries.len() >= map.sweep_at && !(full && swept_lately) {
                    map.entries.retain(|_, (_, expires)| *expires > now);
                    map.sweep_at = (map.entries.len() * 2).max(SWEEP_ABOVE).min(map.capacity);
                    map.swept = Some(now);
                }
                if map.entries.len() >= map.capacity && !map.entries.contains_key(&key) {
                    return Err(crate::CognitoError::new(
                        ErrorCode::TooManyRequestsException,
                        "Too many requests are in progress; try again later.",
                    ));
                }
                map.entries.insert(key, (value.to_owned(), now + ttl));
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
            Ephemeral::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|error| internal("ephemeral store poisoned", error))?;
                let now = Instant::now();
                let (count, expires) = match map.entries.get(&key) {
                    Some((count, expires)) if *expires > now => {
                        (count.parse::<u64>().unwrap_or(0) + 1, *expires)
                    }
                    _ => (1, now + window),
                };
                if map.entries.len() >= map.sweep_at {
                    map.entries.retain(|_, (_, expires)| *expires > now);
                    map.sweep_at = (map.entries.len() * 2).max(SWEEP_ABOVE);
                }
                map.entries.insert(key, (count.to_string(), expires));
                Ok(count)
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
            Ephemeral::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|error| internal("ephemeral store poisoned", error))?;
                Ok(map
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
