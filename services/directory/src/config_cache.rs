//! GetPool and GetClient for the other services, with the conversion remembered: the stored
//! JSON is read on every call, so a change shows at once on every replica, but parsing it and
//! converting it to protobuf (the costly part) happens only when the stored text changed.

use std::collections::HashMap;
use std::sync::Mutex;

use cognate_common::CognitoResult;
use cognate_proto::awsjson;
use cognate_proto::idp::v1 as idp;

use crate::client_secrets;
use crate::pools::parse_stored;

/// Past this many entries a map starts over; it only ever holds what is in use.
const MAX_ENTRIES: usize = 10_000;

/// A client as the other services see it.
#[derive(Debug, Clone)]
pub(crate) struct ClientView {
    pub pool_id: String,
    pub client: idp::UserPoolClientType,
    pub secrets: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct ConfigCache {
    pools: Mutex<HashMap<String, (String, idp::UserPoolType)>>,
    clients: Mutex<HashMap<String, (String, ClientView)>>,
}

fn convert<M: prost::Message + prost::Name + Default>(
    json: &serde_json::Value,
) -> CognitoResult<M> {
    awsjson::from_json::<M>(json).map_err(|error| {
        cognate_common::error::internal("stored config does not fit its type", error)
    })
}

/// The entry for `id` if it was made from `text`, else a fresh one from `make`.
fn remembered<V: Clone>(
    map: &Mutex<HashMap<String, (String, V)>>,
    id: &str,
    text: &str,
    make: impl FnOnce() -> CognitoResult<V>,
) -> CognitoResult<V> {
    if let Some((stored, value)) = map.lock().unwrap_or_else(|e| e.into_inner()).get(id)
        && stored == text
    {
        return Ok(value.clone());
    }
    let value = make()?;
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(id.to_owned(), (text.to_owned(), value.clone()));
    Ok(value)
}

impl ConfigCache {
    pub(crate) fn pool(&self, pool_id: &str, text: &str) -> CognitoResult<idp::UserPoolType> {
        remembered(&self.pools, pool_id, text, || convert(&parse_stored(text)?))
    }

    pub(crate) fn client(&self, client_id: &str, text: &str) -> CognitoResult<ClientView> {
        remembered(&self.clients, client_id, text, || {
            let json = parse_stored(text)?;
            Ok(ClientView {
                pool_id: json["UserPoolId"].as_str().unwrap_or_default().to_owned(),
                client: convert(&json)?,
                secrets: client_secrets::values(&json),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_stored_text_is_converted_again() {
        let cache = ConfigCache::default();
        let first = r#"{"Id":"us-east-1_a","Name":"one","MfaConfiguration":"OFF"}"#;
        let second = r#"{"Id":"us-east-1_a","Name":"two","MfaConfiguration":"ON"}"#;
        assert_eq!(
            cache
                .pool("us-east-1_a", first)
                .expect("converts")
                .name
                .as_deref(),
            Some("one")
        );
        assert_eq!(
            cache
                .pool("us-east-1_a", first)
                .expect("remembered")
                .name
                .as_deref(),
            Some("one")
        );
        let changed = cache.pool("us-east-1_a", second).expect("converts");
        assert_eq!(changed.name.as_deref(), Some("two"));
        assert_eq!(changed.mfa_configuration.as_deref(), Some("ON"));
        assert!(cache.pool("us-east-1_b", "not json").is_err());
        let client = cache
            .client(
                "abc",
                r#"{"UserPoolId":"us-east-1_a","ClientId":"abc","ClientSecret":"s1","ClientSecrets":[{"ClientSecretId":"abc--1","ClientSecretValue":"s1"}]}"#,
            )
            .expect("converts");
        assert_eq!(client.pool_id, "us-east-1_a");
        assert_eq!(client.client.client_id.as_deref(), Some("abc"));
        assert_eq!(client.secrets, ["s1"]);
    }
}
