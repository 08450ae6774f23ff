//! Pools and clients as read for every sign-in, kept in memory for up to [`MAX_AGE`] so the hot
//! path reads the store once a second per pool instead of on every call.
//!
//! A replica forgets an entry as soon as it changes that pool or client itself, and tells the
//! other replicas over NATS (subject [`SUBJECT`]) to forget theirs; without NATS (or when a
//! notice is lost) another replica sees a change after at most [`MAX_AGE`]. Writes never read
//! from here: they compare-and-set against the stored text.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cognate_common::CognitoResult;
use cognate_proto::awsjson;
use cognate_proto::idp::v1 as idp;
use serde_json::Value as Json;

use crate::client_secrets;

/// How long an entry serves without a look at the store.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(1);

/// Where replicas announce their changes to each other.
pub(crate) const SUBJECT: &str = "cognate.directory.config";

/// Past this many entries a map starts over; it only ever holds what is in use.
const MAX_ENTRIES: usize = 10_000;

/// A pool's stored configuration, with its protobuf form for the other services.
#[derive(Debug)]
pub(crate) struct CachedPool {
    json: Json,
    proto: Option<idp::UserPoolType>,
}

impl CachedPool {
    pub(crate) fn new(json: Json) -> Self {
        let proto = convert(&json);
        Self { json, proto }
    }

    pub(crate) fn proto(&self) -> CognitoResult<idp::UserPoolType> {
        self.proto.clone().ok_or_else(does_not_fit)
    }
}

impl Deref for CachedPool {
    type Target = Json;

    fn deref(&self) -> &Json {
        &self.json
    }
}

/// A client as stored, and as the other services see it.
#[derive(Debug)]
pub(crate) struct ClientView {
    pub pool_id: String,
    json: Json,
    client: Option<idp::UserPoolClientType>,
    pub secrets: Vec<String>,
}

impl ClientView {
    pub(crate) fn new(json: Json) -> Self {
        Self {
            pool_id: json["UserPoolId"].as_str().unwrap_or_default().to_owned(),
            client: convert(&json),
            secrets: client_secrets::values(&json),
            json,
        }
    }

    pub(crate) fn proto(&self) -> CognitoResult<idp::UserPoolClientType> {
        self.client.clone().ok_or_else(does_not_fit)
    }
}

impl Deref for ClientView {
    type Target = Json;

    fn deref(&self) -> &Json {
        &self.json
    }
}

fn convert<M: prost::Message + prost::Name + Default>(json: &Json) -> Option<M> {
    awsjson::from_json::<M>(json)
        .map_err(|error| tracing::error!(%error, "stored config does not fit its type"))
        .ok()
}

fn does_not_fit() -> cognate_common::CognitoError {
    cognate_common::error::internal("stored config does not fit its type", "see the log")
}

/// What changed, as replicas tell each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Pool(String),
    Client(String),
}

impl Change {
    pub(crate) fn encode(&self) -> String {
        match self {
            Change::Pool(id) => format!("pool:{id}"),
            Change::Client(id) => format!("client:{id}"),
        }
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        match text.split_once(':')? {
            ("pool", id) => Some(Change::Pool(id.to_owned())),
            ("client", id) => Some(Change::Client(id.to_owned())),
            _ => None,
        }
    }
}

struct Entry<V> {
    value: Arc<V>,
    loaded: Instant,
}

type Entries<V> = Mutex<HashMap<String, Entry<V>>>;

pub(crate) struct ConfigCache {
    max_age: Duration,
    /// Counts changes; a load that raced one is answered but not kept.
    generation: AtomicU64,
    pools: Entries<CachedPool>,
    clients: Entries<ClientView>,
}

impl std::fmt::Debug for ConfigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigCache")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Default for ConfigCache {
    fn default() -> Self {
        Self::new(MAX_AGE)
    }
}

/// A ticket for one load: the value read is kept only if nothing changed meanwhile.
pub(crate) struct Load(u64);

impl ConfigCache {
    pub(crate) fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            generation: AtomicU64::new(0),
            pools: Mutex::default(),
            clients: Mutex::default(),
        }
    }

    pub(crate) fn pool(&self, pool_id: &str) -> Option<Arc<CachedPool>> {
        self.fresh(&self.pools, pool_id)
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<Arc<ClientView>> {
        self.fresh(&self.clients, client_id)
    }

    /// Call before reading the store for an entry.
    pub(crate) fn start_load(&self) -> Load {
        Load(self.generation.load(Ordering::SeqCst))
    }

    pub(crate) fn keep_pool(&self, load: Load, pool_id: &str, pool: CachedPool) -> Arc<CachedPool> {
        self.keep(&self.pools, load, pool_id, pool)
    }

    pub(crate) fn keep_client(
        &self,
        load: Load,
        client_id: &str,
        client: ClientView,
    ) -> Arc<ClientView> {
        self.keep(&self.clients, load, client_id, client)
    }

    pub(crate) fn forget(&self, change: &Change) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        match change {
            Change::Pool(id) => {
                lock(&self.pools).remove(id);
            }
            Change::Client(id) => {
                lock(&self.clients).remove(id);
            }
        }
    }

    fn fresh<V>(&self, map: &Entries<V>, id: &str) -> Option<Arc<V>> {
        lock(map)
            .get(id)
            .filter(|entry| entry.loaded.elapsed() < self.max_age)
            .map(|entry| entry.value.clone())
    }

    fn keep<V>(&self, map: &Entries<V>, load: Load, id: &str, value: V) -> Arc<V> {
        let value = Arc::new(value);
        let mut map = lock(map);
        if self.generation.load(Ordering::SeqCst) == load.0 {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            let entry = Entry {
                value: value.clone(),
                loaded: Instant::now(),
            };
            map.insert(id.to_owned(), entry);
        }
        value
    }
}

fn lock<V>(map: &Entries<V>) -> std::sync::MutexGuard<'_, HashMap<String, Entry<V>>> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool(name: &str) -> CachedPool {
        CachedPool::new(json!({"Id": "us-east-1_a", "Name": name, "MfaConfiguration": "OFF"}))
    }

    #[test]
    fn an_entry_is_kept_until_forgotten() {
        let cache = ConfigCache::new(Duration::from_secs(3600));
        assert!(cache.pool("us-east-1_a").is_none());
        let load = cache.start_load();
        cache.keep_pool(load, "us-east-1_a", pool("one"));
        let kept = cache.pool("us-east-1_a").expect("kept");
        assert_eq!(kept["Name"], "one");
        assert_eq!(kept.proto().expect("converts").name.as_deref(), Some("one"));
        cache.forget(&Change::Pool("us-east-1_b".into()));
        assert!(cache.pool("us-east-1_a").is_some(), "another pool's change");
        cache.forget(&Change::Pool("us-east-1_a".into()));
        assert!(cache.pool("us-east-1_a").is_none());
    }

    #[test]
    fn a_load_that_raced_a_change_is_not_kept() {
        let cache = ConfigCache::new(Duration::from_secs(3600));
        let load = cache.start_load();
        cache.forget(&Change::Client("abc".into()));
        let client = ClientView::new(json!({
            "UserPoolId": "us-east-1_a",
            "ClientId": "abc",
            "ClientSecret": "s1",
            "ClientSecrets": [{"ClientSecretId": "abc--1", "ClientSecretValue": "s1"}],
        }));
        let answered = cache.keep_client(load, "abc", client);
        assert_eq!(answered.pool_id, "us-east-1_a");
        assert_eq!(answered.secrets, ["s1"]);
        assert_eq!(
            answered.proto().expect("converts").client_id.as_deref(),
            Some("abc")
        );
        assert!(cache.client("abc").is_none());
        let load = cache.start_load();
        cache.keep_client(load, "abc", ClientView::new(json!({"ClientId": "abc"})));
        assert!(cache.client("abc").is_some());
    }

    #[test]
    fn entries_expire() {
        let cache = ConfigCache::new(Duration::ZERO);
        let load = cache.start_load();
        cache.keep_pool(load, "us-east-1_a", pool("one"));
        assert!(cache.pool("us-east-1_a").is_none());
    }

    #[test]
    fn changes_travel_as_text() {
        for change in [
            Change::Pool("us-east-1_a".into()),
            Change::Client("abc:d".into()),
        ] {
            assert_eq!(Change::decode(&change.encode()), Some(change));
        }
        assert_eq!(Change::decode("group:x"), None);
        assert_eq!(Change::decode("pool"), None);
    }

    #[test]
    fn a_config_that_does_not_fit_is_an_internal_error_only_when_asked_for() {
        let pool = CachedPool::new(json!({"Id": 7}));
        assert_eq!(pool["Id"], 7);
        assert!(pool.proto().is_err());
    }
}
