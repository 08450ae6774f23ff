//! Which MFA factors a user has enabled and prefers: a TOTP authenticator (`totp`), and codes by
//! SMS (SMS_MFA, to `phone_number`) or email (EMAIL_OTP, to `email`) that the directory delivers.
//! At most one factor is preferred.

use sqlx::AnyPool;

use cognate_common::CognitoResult;
use cognate_common::store::Columns;
use cognate_common::store::store_error;

use crate::totp;

pub(crate) const SMS: &str = "SMS_MFA";
pub(crate) const SOFTWARE_TOKEN: &str = "SOFTWARE_TOKEN_MFA";
pub(crate) const EMAIL: &str = "EMAIL_OTP";
/// USER_AUTH's first factor by SMS (as MFA, an SMS code is SMS_MFA).
pub(crate) const SMS_OTP: &str = "SMS_OTP";

/// A user's MFA factors, enabled ones in Cognito's order (SMS, TOTP, email).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Factors {
    pub enabled: Vec<&'static str>,
    pub preferred: Option<&'static str>,
}

pub(crate) async fn load(db: &AnyPool, pool_id: &str, sub: &str) -> CognitoResult<Factors> {
    let rows = sqlx::query(
        "SELECT factor, preferred FROM otp_factors WHERE user_pool_id = $1 AND sub = $2",
    )
    .bind(pool_id)
    .bind(sub)
    .fetch_all(db)
    .await
    .map_err(store_error)?;
    let mut otp_factors = Vec::with_capacity(rows.len());
    for row in &rows {
        otp_factors.push((row.read::<String>("factor")?, row.flag("preferred")?));
    }
    let otp = |factor: &str| {
        otp_factors
            .iter()
            .find(|(name, _)| name == factor)
            .map(|(_, preferred)| *preferred)
    };
    let software_token = totp::state(db, pool_id, sub)
        .await?
        .filter(|(enabled, _)| *enabled)
        .map(|(_, preferred)| preferred);
    let mut factors = Factors::default();
    for (factor, state) in [
        (SMS, otp(SMS)),
        (SOFTWARE_TOKEN, software_token),
        (EMAIL, otp(EMAIL)),
    ] {
        if let Some(preferred) = state {
            factors.enabled.push(factor);
            if preferred {
                factors.preferred = Some(factor);
            }
        }
    }
    Ok(factors)
}

/// Enables or disables SMS_MFA or EMAIL_OTP.
pub(crate) async fn set_otp(
    db: &AnyPool,
    pool_id: &str,
    sub: &str,
    factor: &str,
    enabled: bool,
    preferred: bool,
) -> CognitoResult<()> {
    let query = if enabled {
        sqlx::query(
            "INSERT INTO otp_factors (user_pool_id, sub, factor, preferred) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_pool_id, sub, factor) DO UPDATE SET preferred = excluded.preferred",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(factor)
        .bind(i64::from(preferred))
    } else {
        sqlx::query("DELETE FROM otp_factors WHERE user_pool_id = $1 AND sub = $2 AND factor = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(factor)
    };
    query.execute(db).await.map_err(store_error)?;
    Ok(())
}

/// Makes `factor` the only preferred one.
pub(crate) async fn prefer_only(
    db: &AnyPool,
    pool_id: &str,
    sub: &str,
    factor: &str,
) -> CognitoResult<()> {
    for statement in [
        "UPDATE otp_factors SET preferred = 0 WHERE user_pool_id = $1 AND sub = $2 AND factor <> $3",
        "UPDATE software_tokens SET preferred = 0 WHERE user_pool_id = $1 AND sub = $2 AND $3 <> 'SOFTWARE_TOKEN_MFA'",
    ] {
        sqlx::query(statement)
            .bind(pool_id)
            .bind(sub)
            .bind(factor)
            .execute(db)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}
