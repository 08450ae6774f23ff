//! Auth's part of `cognate export` / `cognate import`: a user's MFA (TOTP secrets, OTP
//! factors) and remembered devices, read and written as stored (see `cognate_common::transfer`).
//! Refresh tokens, lockouts and signing keys stay behind: the new installation issues its own.
//!
//! TOTP secrets leave sealed, as stored (see `sealed`); an import opens each with its own
//! master keys (so it needs the key they were sealed with) and seals it again with its current
//! key, bound to the user it is written for.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::Value as Json;
use sqlx::AnyPool;

use cognate_common::sealing::Sealer;
use cognate_common::transfer::{self, Tables};

use crate::sealed::SOFTWARE_TOKENS;

const USER_TABLES: [(&str, &str); 3] = [
    ("software_tokens", "user_pool_id"),
    ("otp_factors", "user_pool_id"),
    ("devices", "user_pool_id"),
];

/// The exported fields that hold sealed values, as `auth.<table>.<column>`.
pub fn sealed_fields() -> Vec<String> {
    SOFTWARE_TOKENS
        .sealed
        .iter()
        .map(|column| format!("auth.{}.{column}", SOFTWARE_TOKENS.table))
        .collect()
}

/// The rows of the users whose sub is in `(after, up_to]`.
pub async fn export_users(
    db: &AnyPool,
    pool_id: &str,
    after: &str,
    up_to: &str,
) -> anyhow::Result<BTreeMap<String, Tables>> {
    let tables: Vec<&str> = USER_TABLES.iter().map(|(table, _)| *table).collect();
    transfer::user_rows(db, &tables, pool_id, after, up_to).await
}

/// Writes one user's rows in one transaction: all of them or none.
pub async fn import_user(
    db: &AnyPool,
    sealer: &Sealer,
    pool_id: &str,
    sub: &str,
    tables: &Tables,
) -> anyhow::Result<()> {
    let mut tables = tables.clone();
    for row in tables.get_mut(SOFTWARE_TOKENS.table).into_iter().flatten() {
        for column in SOFTWARE_TOKENS.sealed {
            let Some(Json::String(value)) = row.get(*column) else {
                continue;
            };
            let plaintext = SOFTWARE_TOKENS
                .open(sealer, value, &[pool_id, sub])
                .with_context(|| format!("{}.{column}", SOFTWARE_TOKENS.table))?;
            let sealed = SOFTWARE_TOKENS
                .seal(sealer, &plaintext, &[pool_id, sub])
                .with_context(|| format!("{}.{column}", SOFTWARE_TOKENS.table))?;
            row.insert((*column).to_owned(), Json::String(sealed));
        }
    }
    transfer::insert_user(db, &USER_TABLES, pool_id, sub, &tables).await
}
