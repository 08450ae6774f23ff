//! Device tracking, for pools with a `DeviceConfiguration`: `NewDeviceMetadata` on a sign-in
//! without a known device, ConfirmDevice storing the device's own SRP verifier, remembered
//! devices, and device SRP (DEVICE_SRP_AUTH → DEVICE_PASSWORD_VERIFIER) after the other
//! factors. A remembered device stands in for MFA when `ChallengeRequiredOnNewDevice` is on.
//! Also the device operations: List/Get/Forget/UpdateDeviceStatus and their Admin variants.

use std::collections::HashMap;

use rand::Rng;
use serde_json::{Value as Json, json};
use sqlx::any::AnyRow;

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, srp};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::Auth;
use crate::flows::{
    Claim, Session, check_claim, expired_session, incorrect_credentials, parameter, random_token,
    srp_a_parameter,
};

/// The columns `Device::from_row` reads (a macro, so queries stay literal strings).
macro_rules! device_columns {
    () => {
        "device_key, sub, group_key, salt, verifier, name, confirmed, remembered, created_at, \
         modified_at, authenticated_at"
    };
}

/// Cognito's ListDevices page size limit.
const MAX_PAGE: i64 = 60;

fn device_not_found() -> CognitoError {
    CognitoError::not_found("Device does not exist.")
}

/// The result of a write to one device: a write that touched none means no such device.
fn one_device(result: Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> CognitoResult<()> {
    if result.map_err(store_error)?.rows_affected() == 0 {
        return Err(device_not_found());
    }
    Ok(())
}

/// One device of one user.
#[derive(Debug)]
pub(crate) struct Device {
    pub key: String,
    sub: String,
    group_key: String,
    salt: String,
    verifier: String,
    name: String,
    confirmed: bool,
    remembered: bool,
    created_at: i64,
    modified_at: i64,
    authenticated_at: i64,
}

impl Device {
    fn from_row(row: &AnyRow) -> CognitoResult<Self> {
        Ok(Self {
            key: row.read("device_key")?,
            sub: row.read("sub")?,
            group_key: row.read("group_key")?,
            salt: row.read("salt")?,
            verifier: row.read("verifier")?,
            name: row.read("name")?,
            confirmed: row.flag("confirmed")?,
            remembered: row.flag("remembered")?,
            created_at: row.read("created_at")?,
            modified_at: row.read("modified_at")?,
            authenticated_at: row.read("authenticated_at")?,
        })
    }

    /// Whether this device replaces the MFA challenge: remembered, in a pool that asks for MFA
    /// only on new devices.
    pub(crate) fn skips_mfa(&self, pool: &idp::UserPoolType) -> bool {
        self.remembered
            && pool
                .device_configuration
                .as_ref()
                .and_then(|configuration| configuration.challenge_required_on_new_device)
                == Some(true)
    }

    fn srp_verifier(&self) -> srp::Verifier {
        srp::Verifier {
            salt: self.salt.clone(),
            verifier: self.verifier.clone(),
        }
    }

    /// Cognito's `DeviceType`.
    fn to_json(&self) -> Json {
        let mut attributes = vec![json!({"Name": "device_status", "Value": "valid"})];
        if !self.name.is_empty() {
            attributes.push(json!({"Name": "device_name", "Value": self.name}));
        }
        let status = if self.remembered {
            "remembered"
        } else {
            "not_remembered"
        };
        attributes.push(json!({"Name": "dev:device_remembered_status", "Value": status}));
        json!({
            "DeviceKey": self.key,
            "DeviceAttributes": attributes,
            "DeviceCreateDate": epoch_seconds(self.created_at),
            "DeviceLastModifiedDate": epoch_seconds(self.modified_at),
            "DeviceLastAuthenticatedDate": epoch_seconds(self.authenticated_at),
        })
    }
}

/// Whose devices an operation is about: the pool and the user's `sub`.
pub(crate) struct Owner {
    pool_id: String,
    sub: String,
}

impl Auth {
    /// The owner of an access token (ListDevices, GetDevice, ...).
    pub(crate) async fn token_owner(&self, access_token: Option<&str>) -> CognitoResult<Owner> {
        let claims = self
            .user_access_token(access_token.unwrap_or_default())
            .await?;
        Ok(Owner {
            pool_id: claims.user_pool_id,
            sub: claims.sub,
        })
    }

    /// The user an Admin device operation names.
    pub(crate) async fn admin_owner(
        &self,
        pool_id: Option<&str>,
        username: Option<&str>,
    ) -> CognitoResult<Owner> {
        let pool_id = pool_id.unwrap_or_default();
        let user = self
            .find_user(pool_id, username.unwrap_or_default())
            .await?;
        Ok(Owner {
            pool_id: pool_id.to_owned(),
            sub: user.sub,
        })
    }

    async fn load_device(&self, pool_id: &str, key: &str) -> CognitoResult<Option<Device>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE device_key = $1 AND user_pool_id = $2"
        ))
        .bind(key)
        .bind(pool_id)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?;
        row.as_ref().map(Device::from_row).transpose()
    }

    /// The `DEVICE_KEY` a sign-in sent, when the pool tracks devices: it must name a confirmed
    /// device of the pool (clients forget the device on "Device does not exist.").
    pub(crate) async fn device_in_pool(
        &self,
        pool: &idp::UserPoolType,
        given: Option<&String>,
    ) -> CognitoResult<Option<String>> {
        let Some(key) = given.filter(|key| !key.is_empty()) else {
            return Ok(None);
        };
        if pool.device_configuration.is_none() {
            return Ok(None);
        }
        let pool_id = pool.id.as_deref().unwrap_or_default();
        match self.load_device(pool_id, key).await? {
            Some(device) if device.confirmed => Ok(Some(device.key)),
            _ => Err(device_not_found()),
        }
    }

    /// A confirmed device of this user.
    pub(crate) async fn users_device(
        &self,
        pool_id: &str,
        sub: &str,
        key: &str,
    ) -> CognitoResult<Device> {
        self.load_device(pool_id, key)
            .await?
            .filter(|device| device.sub == sub && device.confirmed)
            .ok_or_else(device_not_found)
    }

    /// A new, unconfirmed device for a sign-in: Cognito's `NewDeviceMetadata`.
    pub(crate) async fn new_device(&self, pool_id: &str, sub: &str) -> CognitoResult<Json> {
        let region = pool_id.split_once('_').map_or("", |(region, _)| region);
        let key = format!("{region}_{}", uuid::Uuid::new_v4());
        let group_key: String = std::iter::once('-')
            .chain(
                rand::rng()
                    .sample_iter(rand::distr::Alphanumeric)
                    .take(9)
                    .map(char::from),
            )
            .collect();
        let now = unix_millis(self.clock.now());
        // Devices handed out and never confirmed go once no access token could confirm them.
        sqlx::query(
            "DELETE FROM devices WHERE user_pool_id = $1 AND sub = $2 AND confirmed = 0 AND created_at < $3",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(now - crate::tokens::MAX_TOKEN_SECONDS * 1000)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        sqlx::query(
            "INSERT INTO devices (device_key, user_pool_id, sub, group_key, created_at, modified_at, authenticated_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $5)",
        )
        .bind(&key)
        .bind(pool_id)
        .bind(sub)
        .bind(&group_key)
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(json!({ "DeviceKey": key, "DeviceGroupKey": group_key }))
    }

    /// The DEVICE_SRP_AUTH challenge for a confirmed device.
    pub(crate) async fn device_srp_auth(
        &self,
        pool_id: &str,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        device_key: &str,
    ) -> CognitoResult<Json> {
        let token = random_token(48);
        let mut session =
            Session::for_challenge(pool_id, client, &user.username, "DEVICE_SRP_AUTH");
        session.device_key = Some(device_key.to_owned());
        self.save_session(client, &session, &token).await?;
        Ok(json!({
            "ChallengeName": "DEVICE_SRP_AUTH",
            "Session": token,
            "ChallengeParameters": {},
        }))
    }

    /// DEVICE_SRP_AUTH answered with the device's `SRP_A`: the DEVICE_PASSWORD_VERIFIER
    /// challenge, whose `SECRET_BLOCK` is also its session.
    pub(crate) async fn device_password_verifier(
        &self,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        session: &Session,
        responses: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        let device_key = parameter(responses, "DEVICE_KEY")?;
        if session.device_key.as_deref() != Some(device_key) {
            return Err(device_not_found());
        }
        let srp_a = srp_a_parameter(responses)?;
        let device = self
            .users_device(&session.pool_id, &user.sub, device_key)
            .await?;
        let verifier = device.srp_verifier();
        let for_challenge = verifier.clone();
        let challenge = self
            .work
            .run(move || srp::server_challenge(&for_challenge))
            .await?
            .map_err(|error| cognate_common::error::internal("stored device verifier", error))?;
        let secret_block = random_token(48);
        let mut next = Session::for_challenge(
            &session.pool_id,
            client,
            &user.username,
            "DEVICE_PASSWORD_VERIFIER",
        );
        next.srp_a = srp_a;
        next.srp_b_secret = challenge.b.to_hex();
        next.srp_big_b.clone_from(&challenge.big_b);
        next.device_key = Some(device.key.clone());
        self.save_session(client, &next, &secret_block).await?;
        Ok(json!({
            "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
            "Session": secret_block,
            "ChallengeParameters": {
                "DEVICE_KEY": device.key,
                "SALT": verifier.salt,
                "SECRET_BLOCK": secret_block,
                "SRP_B": challenge.big_b,
                "USERNAME": user.username,
            },
        }))
    }

    /// DEVICE_PASSWORD_VERIFIER: the device's SRP proof, made with its group key as the pool
    /// name and its key as the user id. The last factor: tokens follow.
    pub(crate) async fn check_device_claim(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        session: &Session,
        session_key: &str,
        responses: &HashMap<String, String>,
    ) -> CognitoResult<Json> {
        if parameter(responses, "PASSWORD_CLAIM_SECRET_BLOCK")? != session_key {
            return Err(expired_session());
        }
        let device_key = session.device_key.as_deref().ok_or_else(expired_session)?;
        let device = self
            .users_device(&session.pool_id, &user.sub, device_key)
            .await?;
        let claim = Claim::from(responses, session_key)?;
        let correct = check_claim(
            &self.work,
            &device.group_key,
            &device.key,
            device.srp_verifier(),
            session.server_challenge()?,
            &session.srp_a,
            claim,
        )
        .await?;
        if !correct {
            return Err(incorrect_credentials());
        }
        sqlx::query("UPDATE devices SET authenticated_at = $1 WHERE device_key = $2")
            .bind(unix_millis(self.clock.now()))
            .bind(&device.key)
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        self.issue_tokens(pool, client, user, Some(&device.key))
            .await
    }

    /// ConfirmDevice: stores the device's verifier. Answers `UserConfirmationNecessary`: whether
    /// the user must still choose to remember it (`DeviceOnlyRememberedOnUserPrompt`).
    pub(crate) async fn confirm_device(
        &self,
        request: &idp::ConfirmDeviceRequest,
    ) -> CognitoResult<bool> {
        let owner = self.token_owner(request.access_token.as_deref()).await?;
        let config = request
            .device_secret_verifier_config
            .clone()
            .unwrap_or_default();
        let verifier = srp::Verifier::from_device_config(
            config.salt.as_deref().unwrap_or_default(),
            config.password_verifier.as_deref().unwrap_or_default(),
        )
        .map_err(|error| {
            CognitoError::invalid_parameter(format!("Invalid DeviceSecretVerifierConfig: {error}"))
        })?;
        let on_prompt = self
            .pool(&owner.pool_id)
            .await?
            .device_configuration
            .and_then(|configuration| configuration.device_only_remembered_on_user_prompt)
            .unwrap_or(false);
        let now = unix_millis(self.clock.now());
        let updated = sqlx::query(
            "UPDATE devices SET confirmed = 1, salt = $1, verifier = $2, name = $3, remembered = $4, \
             modified_at = $5, authenticated_at = $5 \
             WHERE device_key = $6 AND user_pool_id = $7 AND sub = $8",
        )
        .bind(&verifier.salt)
        .bind(&verifier.verifier)
        .bind(request.device_name.as_deref().unwrap_or_default())
        .bind(i64::from(!on_prompt))
        .bind(now)
        .bind(request.device_key.as_deref().unwrap_or_default())
        .bind(&owner.pool_id)
        .bind(&owner.sub)
        .execute(&self.db)
        .await;
        one_device(updated)?;
        Ok(on_prompt)
    }

    /// ListDevices and AdminListDevices: the user's confirmed devices, by key, in pages.
    pub(crate) async fn list_devices(
        &self,
        owner: &Owner,
        limit: Option<i32>,
        pagination_token: Option<&str>,
    ) -> CognitoResult<Json> {
        let limit = limit.map_or(MAX_PAGE, |limit| i64::from(limit).clamp(1, MAX_PAGE));
        let rows = sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE user_pool_id = $1 AND sub = $2 AND confirmed = 1 \
             AND device_key > $3 ORDER BY device_key LIMIT $4"
        ))
        .bind(&owner.pool_id)
        .bind(&owner.sub)
        .bind(pagination_token.unwrap_or_default())
        .bind(limit + 1)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        let mut devices: Vec<Device> = rows
            .iter()
            .map(Device::from_row)
            .collect::<CognitoResult<_>>()?;
        let more = devices.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        devices.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut answer =
            json!({ "Devices": devices.iter().map(Device::to_json).collect::<Vec<_>>() });
        if more {
            answer["PaginationToken"] = json!(devices.last().map(|device| device.key.clone()));
        }
        Ok(answer)
    }

    /// GetDevice and AdminGetDevice.
    pub(crate) async fn get_device(&self, owner: &Owner, key: Option<&str>) -> CognitoResult<Json> {
        let device = self
            .users_device(&owner.pool_id, &owner.sub, key.unwrap_or_default())
            .await?;
        Ok(json!({ "Device": device.to_json() }))
    }

    /// ForgetDevice and AdminForgetDevice: the device is gone; signing in with it again gets
    /// "Device does not exist.".
    pub(crate) async fn forget_device(
        &self,
        owner: &Owner,
        key: Option<&str>,
    ) -> CognitoResult<()> {
        let deleted = sqlx::query(
            "DELETE FROM devices WHERE device_key = $1 AND user_pool_id = $2 AND sub = $3 AND confirmed = 1",
        )
        .bind(key.unwrap_or_default())
        .bind(&owner.pool_id)
        .bind(&owner.sub)
        .execute(&self.db)
        .await;
        one_device(deleted)
    }

    /// UpdateDeviceStatus and AdminUpdateDeviceStatus: `remembered` or `not_remembered`.
    pub(crate) async fn update_device_status(
        &self,
        owner: &Owner,
        key: Option<&str>,
        status: Option<&str>,
    ) -> CognitoResult<()> {
        let remembered = match status {
            Some("remembered") => 1_i64,
            Some("not_remembered") => 0,
            _ => {
                return Err(CognitoError::invalid_parameter(
                    "DeviceRememberedStatus must be remembered or not_remembered.",
                ));
            }
        };
        let updated = sqlx::query(
            "UPDATE devices SET remembered = $1, modified_at = $2 \
             WHERE device_key = $3 AND user_pool_id = $4 AND sub = $5 AND confirmed = 1",
        )
        .bind(remembered)
        .bind(unix_millis(self.clock.now()))
        .bind(key.unwrap_or_default())
        .bind(&owner.pool_id)
        .bind(&owner.sub)
        .execute(&self.db)
        .await;
        one_device(updated)
    }
}
