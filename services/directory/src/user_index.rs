//! The user attribute index (`user_attribute_index`, migration 0500): one row per searchable
//! attribute value of a user, written in the same transaction as the user's attributes, so that
//! ListUsers' attribute filters are range scans in (value, username) order on SQLite and Postgres.

use serde_json::Value as Json;
use sqlx::AnyConnection;

use cognate_common::CognitoResult;
use cognate_common::clock::unix_millis;
use cognate_common::store::Columns;
use cognate_common::store::store_error;

use crate::Directory;
use crate::filter::SEARCHABLE_ATTRIBUTES;

/// Bytes of a value the index keeps; longer values are compared in full after the range scan.
/// Postgres refuses index rows above about 2.7 kB, and attribute values run to 2048 characters.
const INDEXED_BYTES: usize = 256;

/// The backfill of users stored before the index existed, in `directory_backfills`.
const BACKFILL: &str = "user_attribute_index";

/// Users re-indexed per transaction by the backfill.
const BACKFILL_BATCH: i64 = 1000;

/// Whether ListUsers can filter on an attribute, hence whether it is indexed.
pub(crate) fn is_indexed(name: &str) -> bool {
    SEARCHABLE_ATTRIBUTES.contains(&name) || name.starts_with("custom:")
}

fn is_truncated(value: &str) -> bool {
    value.len() > INDEXED_BYTES
}

/// The indexed form of a value: lower-case hex of its first [`INDEXED_BYTES`] bytes, which
/// orders as the bytes do under any collation.
pub(crate) fn value_key(value: &str) -> String {
    let bytes = value.as_bytes();
    hex::encode(&bytes[..bytes.len().min(INDEXED_BYTES)])
}

/// The half-open range `[low, high)` of value keys an `=` (or, with `prefix`, `^=`) filter on
/// `value` can match. Every key is even-length hex, so `key + "0"` is just above `key` and its
/// extensions, and `key + "g"` above everything that starts with it.
pub(crate) fn value_range(value: &str, prefix: bool) -> (String, String) {
    let low = value_key(value);
    let high = if prefix || is_truncated(value) {
        format!("{low}g")
    } else {
        format!("{low}0")
    };
    (low, high)
}

/// The (attribute name, value key) index rows of `attributes`, each once.
pub(crate) fn index_entries(attributes: &[Json]) -> Vec<(&str, String)> {
    let mut entries: Vec<(&str, String)> = Vec::new();
    for attribute in attributes {
        let name = attribute["Name"].as_str().unwrap_or_default();
        let Some(value) = attribute["Value"].as_str() else {
            continue;
        };
        let entry = (name, value_key(value));
        if is_indexed(name) && !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    entries
}

/// Replaces a user's index rows with those of `attributes`. Runs inside the caller's
/// transaction, beside the write of `attributes_json`.
pub(crate) async fn write_index(
    connection: &mut AnyConnection,
    pool_id: &str,
    sub: &str,
    username_key: &str,
    attributes: &[Json],
) -> CognitoResult<()> {
    sqlx::query("DELETE FROM user_attribute_index WHERE user_pool_id = $1 AND sub = $2")
        .bind(pool_id)
        .bind(sub)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    for (name, value_key) in index_entries(attributes) {
        sqlx::query(
            "INSERT INTO user_attribute_index (user_pool_id, attribute_name, value_key, username_key, sub) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(pool_id)
        .bind(name)
        .bind(value_key)
        .bind(username_key)
        .bind(sub)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    }
    Ok(())
}

impl Directory {
    /// Indexes the users stored before migration 0500, once per store: batch by batch in
    /// (pool, username) order, then a marker row. Re-running it is harmless, since each user's
    /// rows are replaced, so replicas starting together may all run it.
    ///
    /// Each batch is read by a no-op UPDATE, which locks its users until the batch's index rows
    /// are committed: a replica changing one of them meanwhile waits, then writes its own index
    /// rows after ours, and a change committed just before is what the UPDATE reads. So the
    /// backfill never puts back rows for attributes that have since changed.
    pub async fn backfill_attribute_index(&self) -> CognitoResult<()> {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT completed_at FROM directory_backfills WHERE name = $1")
                .bind(BACKFILL)
                .fetch_optional(&self.db)
                .await
                .map_err(store_error)?;
        if done.is_some() {
            return Ok(());
        }
        let mut after = (String::new(), String::new());
        loop {
            let mut transaction = self.db.begin().await.map_err(store_error)?;
            let rows = sqlx::query(
                "UPDATE users SET updated_at = updated_at \
                 WHERE (user_pool_id, username_key) IN (SELECT user_pool_id, username_key FROM users \
                 WHERE (user_pool_id, username_key) > ($1, $2) \
                 ORDER BY user_pool_id, username_key LIMIT $3) \
                 RETURNING user_pool_id, username_key, sub, attributes_json",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(BACKFILL_BATCH)
            .fetch_all(&mut *transaction)
            .await
            .map_err(store_error)?;
            let mut last = None;
            for row in &rows {
                let pool_id: String = row.read("user_pool_id")?;
                let username_key: String = row.read("username_key")?;
                let attributes: Vec<Json> = serde_json::from_str(
                    row.read::<String>("attributes_json")?.as_str(),
                )
                .map_err(|error| {
                    cognate_common::error::internal("stored attributes are corrupt", error)
                })?;
                write_index(
                    &mut transaction,
                    &pool_id,
                    row.read::<String>("sub")?.as_str(),
                    &username_key,
                    &attributes,
                )
                .await?;
                last = last.max(Some((pool_id, username_key)));
            }
            transaction.commit().await.map_err(store_error)?;
            // RETURNING comes in no particular order; the batch ends at its greatest key.
            match last {
                Some(last) if i64::try_from(rows.len()).unwrap_or(0) == BACKFILL_BATCH => {
                    after = last;
                }
                _ => break,
            }
        }
        sqlx::query(
            "INSERT INTO directory_backfills (name, completed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(BACKFILL)
        .bind(unix_millis(self.clock.now()))
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use sqlx::AnyPool;

    use super::*;
    use cognate_common::Config;

    fn object(value: Json) -> serde_json::Map<String, Json> {
        value.as_object().cloned().unwrap_or_default()
    }

    /// Users stored before the index existed (their rows and the marker removed) are found by
    /// filters once the backfill has run, and running it again changes nothing.
    async fn the_backfill_indexes_users_stored_before_the_index(db: &AnyPool) {
        let directory = Directory::new(
            db.clone(),
            Arc::new(cognate_common::clock::SystemClock),
            Arc::new(Config::default()),
            cognate_common::testing::sealer(),
        );
        let pool = directory
            .create_user_pool(object(json!({"PoolName": "old"})))
            .await
            .expect("pool");
        let pool_id = pool["Id"].as_str().expect("id");
        for name in ["ann", "andy", "bea"] {
            directory
                .admin_create_user(object(json!({
                    "UserPoolId": pool_id,
                    "Username": name,
                    "MessageAction": "SUPPRESS",
                    "UserAttributes": [{"Name": "email", "Value": format!("{name}@example.com")}],
                })))
                .await
                .expect("user");
        }
        directory.backfill_attribute_index().await.expect("marks");
        for statement in [
            "DELETE FROM user_attribute_index",
            "DELETE FROM directory_backfills",
        ] {
            sqlx::query(statement).execute(db).await.expect("forgets");
        }
        let listed = |directory: Directory| async move {
            let (users, _) = directory
                .list_users(pool_id, None, None, Some(r#"email ^= "an""#))
                .await
                .expect("listed");
            users
                .into_iter()
                .map(|user| user.username)
                .collect::<Vec<_>>()
        };
        assert!(listed(directory.clone()).await.is_empty(), "unindexed");
        directory
            .backfill_attribute_index()
            .await
            .expect("backfills");
        assert_eq!(listed(directory.clone()).await, ["andy", "ann"]);
        sqlx::query("DELETE FROM directory_backfills")
            .execute(db)
            .await
            .expect("forgets the marker");
        directory
            .backfill_attribute_index()
            .await
            .expect("runs again");
        assert_eq!(listed(directory.clone()).await, ["andy", "ann"]);
    }

    cognate_common::on_every_backend!(cognate_common::ServiceKind::Directory, crate::MIGRATOR;
        the_backfill_indexes_users_stored_before_the_index);

    #[test]
    fn value_ranges_hold_exactly_the_matching_keys() {
        let (low, high) = value_range("ab", true);
        for (candidate, inside) in [
            ("ab", true),
            ("abz", true),
            ("ab\u{ff}", true),
            ("aa", false),
            ("ac", false),
            ("a", false),
        ] {
            let key = value_key(candidate);
            assert_eq!(low <= key && key < high, inside, "{candidate}");
        }
        let (low, high) = value_range("ab", false);
        for (candidate, inside) in [("ab", true), ("abc", false), ("aa", false)] {
            let key = value_key(candidate);
            assert_eq!(low <= key && key < high, inside, "{candidate}");
        }
        let long = "x".repeat(INDEXED_BYTES + 10);
        let (low, high) = value_range(&long, false);
        let key = value_key(&format!("{long}y"));
        assert!(
            low <= key && key < high,
            "long values are rechecked in full"
        );
    }

    /// Property tests (`fuzz_*`; README, "Fuzzing") of the range a ListUsers filter scans.
    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        /// Short values over a small alphabet (so that candidates often share prefixes), with
        /// now and then a long run that crosses the indexed length.
        fn value() -> impl Strategy<Value = String> {
            ("x{0,1}", "[ab\u{ff}\u{1F600}]{0,6}").prop_map(|(long, tail)| {
                let run = if long.is_empty() {
                    0
                } else {
                    INDEXED_BYTES - 2
                };
                format!("{}{tail}", "x".repeat(run))
            })
        }

        proptest! {
            #![proptest_config(cognate_common::fuzzing::config())]

            /// The scan never misses a matching value, and where neither value is cut short in
            /// the index it reads exactly the matching ones.
            #[test]
            fn fuzz_the_index_range_holds_exactly_the_matching_values(
                filter_value in value(),
                prefix in any::<bool>(),
                candidate in prop_oneof![
                    value(),
                    (value(), value()).prop_map(|(start, rest)| format!("{start}{rest}")),
                ],
                extend in any::<bool>(),
            ) {
                // Half the time the candidate extends the filter's value: a prefix match.
                let candidate = if extend {
                    format!("{filter_value}{candidate}")
                } else {
                    candidate
                };
                let (low, high) = value_range(&filter_value, prefix);
                let key = value_key(&candidate);
                let in_range = low <= key && key < high;
                let matches = if prefix {
                    candidate.starts_with(&filter_value)
                } else {
                    candidate == filter_value
                };
                if matches {
                    prop_assert!(in_range, "{:?} {:?}", filter_value, candidate);
                }
                if !is_truncated(&filter_value) && !is_truncated(&candidate) {
                    prop_assert_eq!(in_range, matches, "{:?} {:?}", filter_value, candidate);
                }
            }
        }
    }
}
