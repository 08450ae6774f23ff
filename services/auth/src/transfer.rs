//! Auth's part of `cognate export` / `cognate import`: a user's MFA (TOTP secrets, OTP
//! factors) and remembered devices, read and written as stored (see `cognate_common::transfer`).
//! Refresh tokens, lockouts and signing keys stay behind: the new installation issues its own.

use std::collections::BTreeMap;

use sqlx::AnyPool;

use cognate_common::transfer::{self, Tables};

const USER_TABLES: [(&str, &str); 3] = [
    ("software_tokens", "user_pool_id"),
    ("otp_factors", "user_pool_id"),
    ("devices", "user_pool_id"),
];

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
    pool_id: &str,
    sub: &str,
    tables: &Tables,
) -> anyhow::Result<()> {
    transfer::insert_user(db, &USER_TABLES, pool_id, sub, tables).await
}
