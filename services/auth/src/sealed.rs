//! The issuer's secrets sealed at rest (see `cognate_common::sealing`): token-signing private
//! keys, bound to their pool and `kid`, and TOTP secrets (working and pending), bound to their
//! pool and user. Both TOTP columns of a row share a binding, so VerifySoftwareToken can move
//! the pending secret into the working slot as it is stored.

use cognate_common::sealing::{SealedColumns, Sealer};
use sqlx::AnyPool;

pub(crate) const SIGNING_KEYS: SealedColumns = SealedColumns {
    table: "signing_keys",
    key: &["kid"],
    binding: &["user_pool_id", "kid"],
    sealed: &["private_key"],
};

pub(crate) const SOFTWARE_TOKENS: SealedColumns = SealedColumns {
    table: "software_tokens",
    key: &["user_pool_id", "sub"],
    binding: &["user_pool_id", "sub"],
    sealed: &["secret", "pending_secret"],
};

const ALL: [&SealedColumns; 2] = [&SIGNING_KEYS, &SOFTWARE_TOKENS];

/// Refuses a store holding secrets sealed with a master key this process lacks.
pub async fn check_keys(db: &AnyPool, sealer: &Sealer) -> anyhow::Result<()> {
    for columns in ALL {
        columns.check_keys(db, sealer).await?;
    }
    Ok(())
}

/// Re-seals every secret not sealed with the current master key: how many rows were changed.
pub async fn rewrap(db: &AnyPool, sealer: &Sealer) -> anyhow::Result<u64> {
    let mut rewrapped = 0;
    for columns in ALL {
        rewrapped += columns.rewrap(db, sealer).await?;
    }
    Ok(rewrapped)
}
