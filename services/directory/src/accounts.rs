//! Self-service account flows an app client calls for its end users: SignUp, ConfirmSignUp,
//! ResendConfirmationCode, ForgotPassword and ConfirmForgotPassword. Codes are in `codes`,
//! messages in `outbox`.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult, ErrorCode, password};

use std::sync::Arc;

use crate::Directory;
use crate::admin::UNCONFIRMED;
use crate::codes::{self, Purpose};
use crate::config_cache::{CachedPool, ClientView};
use crate::hiding::{DetachedMessage, hides_existence, padded};
use crate::outbox::{self, Channel, MessageKind, MessageRequest, Template};
use crate::passwords::{RiskEvent, Verdict, compromised};
use crate::pools::{password_policy, string_list};
use crate::users::{CONFIRMED, Naming, User, attribute_list, check_attributes, check_required};

/// What SignUp answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedUp {
    pub sub: String,
    pub confirmed: bool,
    pub delivery: Option<Json>,
}

/// An app client's request as the end user makes it.
pub struct ClientCall<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    pub secret_hash: Option<&'a str>,
    /// `ClientMetadata`, for the triggers.
    pub client_metadata: Json,
    /// The call comes from a confirmation link, whose code is the proof: no `SECRET_HASH`.
    pub from_link: bool,
}

fn text<'a>(request: &'a Map<String, Json>, member: &str) -> &'a str {
    request
        .get(member)
        .and_then(Json::as_str)
        .unwrap_or_default()
}

fn unknown_user() -> CognitoError {
    CognitoError::new(
        ErrorCode::UserNotFoundException,
        "Username/client id combination not found.",
    )
}

pub(crate) fn attribute_value<'a>(attributes: &'a [Json], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|attribute| attribute["Name"] == name)
        .and_then(|attribute| attribute["Value"].as_str())
        .filter(|value| !value.is_empty())
}

pub(crate) fn set_attribute(attributes: &mut Vec<Json>, name: &str, value: &str) {
    let entry = json!({"Name": name, "Value": value});
    match attributes
        .iter()
        .position(|attribute| attribute["Name"] == name)
    {
        Some(index) => attributes[index] = entry,
        None => attributes.push(entry),
    }
}

/// `SECRET_HASH`, required from clients with a secret (made with any of their active secrets).
pub fn check_secret_hash(client: &Json, username: &str, given: Option<&str>) -> CognitoResult<()> {
    cognate_common::secret_hash::check(
        client["ClientId"].as_str().unwrap_or_default(),
        &crate::client_secrets::values(client),
        username,
        given,
    )
}

/// The attribute a confirmation code goes to: the phone number if it is auto-verified (Cognito
/// prefers SMS), else the email.
fn auto_verified_destination(pool: &Json, attributes: &[Json]) -> Option<(String, String)> {
    let auto = string_list(pool.get("AutoVerifiedAttributes"));
    ["phone_number", "email"]
        .into_iter()
        .filter(|name| auto.contains(name))
        .find_map(|name| attribute_value(attributes, name).map(|v| (name.to_owned(), v.to_owned())))
}

/// The channel reset codes go out on for most users of the pool: that of its first recovery
/// mechanism (email when only the legacy order applies).
fn recovery_channel(pool: &Json) -> Channel {
    let first = pool["AccountRecoverySetting"]["RecoveryMechanisms"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .min_by_key(|item| item["Priority"].as_i64().unwrap_or(i64::MAX))
        })
        .and_then(|item| item["Name"].as_str());
    if first == Some("verified_phone_number") {
        Channel::Sms
    } else {
        Channel::Email
    }
}

/// The attribute a reset code goes to, per `AccountRecoverySetting` (priority order), or the
/// legacy order (phone before email) without one. `Err` when recovery is admin-only.
fn recovery_destination(
    pool: &Json,
    attributes: &[Json],
) -> CognitoResult<Option<(String, String)>> {
    let mut mechanisms: Vec<(i64, String)> = pool["AccountRecoverySetting"]["RecoveryMechanisms"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    (
                        item["Priority"].as_i64().unwrap_or(i64::MAX),
                        item["Name"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    mechanisms.sort();
    let names: Vec<String> = if mechanisms.is_empty() {
        vec!["verified_phone_number".into(), "verified_email".into()]
    } else {
        mechanisms.into_iter().map(|(_, name)| name).collect()
    };
    if names.iter().all(|name| name == "admin_only") {
        return Err(CognitoError::not_authorized(
            "User password cannot be reset in the current state.",
        ));
    }
    Ok(names.iter().find_map(|mechanism| {
        let attribute = mechanism.strip_prefix("verified_")?;
        let verified =
            attribute_value(attributes, &format!("{attribute}_verified")) == Some("true");
        let value = attribute_value(attributes, attribute)?;
        verified.then(|| (attribute.to_owned(), value.to_owned()))
    }))
}

/// Where a user's reset code goes: refused for a user who still has a temporary password or
/// has no verified destination the pool recovers by.
fn reset_destination(pool: &Json, user: &User) -> CognitoResult<(String, String)> {
    if user.status == crate::users::FORCE_CHANGE_PASSWORD {
        return Err(CognitoError::not_authorized(
            "User password cannot be reset in the current state.",
        ));
    }
    recovery_destination(pool, &user.attributes)?.ok_or_else(|| {
        CognitoError::invalid_parameter(
            "Cannot reset password for the user as there is no registered/verified email or phone_number",
        )
    })
}

impl Directory {
    /// The client and its pool for an end user's call, with `SECRET_HASH` checked.
    async fn client_and_pool(
        &self,
        call: &ClientCall<'_>,
    ) -> CognitoResult<(String, Arc<CachedPool>, Arc<ClientView>)> {
        let client = self.load_client(None, call.client_id).await?;
        let pool_id = client.pool_id.clone();
        let pool = self.load_pool(&pool_id).await?;
        if !call.from_link {
            check_secret_hash(&client, call.username, call.secret_hash)?;
        }
        Ok((pool_id, pool, client))
    }

    /// The end user, or `None` for an unknown one when the client hides which users exist (the
    /// caller then answers as it would for a known user).
    async fn known_user(
        &self,
        pool_id: &str,
        client: &Json,
        name: &str,
    ) -> CognitoResult<Option<User>> {
        match self.end_user(pool_id, name).await {
            Err(error)
                if hides_existence(client) && error.code == ErrorCode::UserNotFoundException =>
            {
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    async fn end_user(&self, pool_id: &str, name: &str) -> CognitoResult<User> {
        match self.find_user(pool_id, name).await {
            Err(error) if error.code == ErrorCode::UserNotFoundException => Err(unknown_user()),
            other => other,
        }
    }

    /// A new code of `purpose` for `attribute`, once it is clear a message can carry it.
    pub(crate) async fn deliverable_code(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        purpose: Purpose,
        (attribute, destination): (&str, &str),
    ) -> CognitoResult<(Channel, String)> {
        let channel = Channel::of_attribute(attribute);
        self.ensure_deliverable(pool, channel)?;
        let code = self
            .issue_code(pool_id, &user.sub, purpose, attribute, destination)
            .await?;
        Ok((channel, code))
    }

    /// Sends a new code of `purpose` to `attribute` and returns Cognito's CodeDeliveryDetails.
    /// The message a code goes out in: the pool's verification template, or, for a sign-up
    /// confirmed by email in a pool that says CONFIRM_WITH_LINK, its link message pointing at the
    /// edge's `/confirmUser`.
    pub(crate) fn code_template(
        &self,
        pool: &Json,
        purpose: Purpose,
        channel: Channel,
        username: &str,
        code: &str,
        request: MessageRequest<'_>,
    ) -> Template {
        let by_link = match (purpose, channel, request.client_id) {
            (Purpose::SignUp, Channel::Email, Some(client_id)) => {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("client_id", client_id)
                    .append_pair("user_name", username)
                    .append_pair("confirmation_code", code)
                    .finish();
                let link = format!("{}/confirmUser?{query}", self.config.public_url());
                outbox::link_template(pool, link)
            }
            _ => None,
        };
        by_link.unwrap_or_else(|| outbox::verification_template(pool, channel))
    }

    /// An SMS_MFA or EMAIL_OTP code for a sign-in the auth service is running.
    pub(crate) async fn send_authentication_code(
        &self,
        request: &cognate_proto::internal::v1::SendAuthenticationCodeRequest,
    ) -> CognitoResult<Json> {
        let pool_id = &request.user_pool_id;
        let pool = self.load_pool(pool_id).await?;
        let user = self.find_user(pool_id, &request.username).await?;
        let (channel, attribute) = match request.medium.as_str() {
            "SMS" => (Channel::Sms, "phone_number"),
            _ => (Channel::Email, "email"),
        };
        let destination = attribute_value(&user.attributes, attribute)
            .map(str::to_owned)
            .ok_or_else(|| {
                CognitoError::invalid_parameter(format!(
                    "User does not have delivery config set to turn on {}",
                    if channel == Channel::Sms {
                        "SMS_MFA"
                    } else {
                        "EMAIL_OTP"
                    }
                ))
            })?;
        self.ensure_deliverable(&pool, channel)?;
        let client_metadata: Json =
            serde_json::from_str(&request.client_metadata_json).unwrap_or_else(|_| json!({}));
        let template = outbox::authentication_template(&pool, channel);
        let message_request = MessageRequest {
            kind: MessageKind::Authentication,
            client_metadata: &client_metadata,
            client_id: Some(request.client_id.as_str()).filter(|id| !id.is_empty()),
        };
        if request.detached {
            let message = DetachedMessage {
                channel,
                destination: &destination,
                template,
                code: &request.code,
                counted: true,
            };
            self.deliver_detached(pool_id, &pool, &user, message, message_request);
            return Ok(outbox::details(channel, &destination, attribute));
        }
        self.count_authentication_send(pool_id, &user.sub).await?;
        let message = self
            .deliver_code(
                pool_id,
                &pool,
                &user,
                channel,
                &destination,
                template,
                &request.code,
                message_request,
            )
            .await?;
        Ok(outbox::delivery_details(&message, attribute))
    }

    pub(crate) async fn send_code(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        purpose: Purpose,
        (attribute, destination): (&str, &str),
        request: MessageRequest<'_>,
    ) -> CognitoResult<Json> {
        let (channel, code) = self
            .deliverable_code(pool_id, pool, user, purpose, (attribute, destination))
            .await?;
        let message = self
            .deliver_code(
                pool_id,
                pool,
                user,
                channel,
                destination,
                self.code_template(pool, purpose, channel, &user.username, &code, request),
                &code,
                request,
            )
            .await?;
        Ok(outbox::delivery_details(&message, attribute))
    }

    pub async fn sign_up(
        &self,
        call: ClientCall<'_>,
        request: &Map<String, Json>,
    ) -> CognitoResult<SignedUp> {
        let (pool_id, pool, client) = self.client_and_pool(&call).await?;
        if pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] == true {
            return Err(CognitoError::not_authorized(
                "SignUp is not permitted for this user pool",
            ));
        }
        let given_name = call.username;
        if given_name.chars().count() > 128 || given_name.chars().any(char::is_whitespace) {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
            ));
        }
        let mut attributes = attribute_list(request, "UserAttributes");
        let schema = pool["SchemaAttributes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        check_attributes(&schema, &attributes)?;
        let names: Vec<&str> = attributes
            .iter()
            .map(|attribute| attribute["Name"].as_str().unwrap_or_default())
            .collect();
        crate::profile::refuse_unwritable(&client, &names)?;
        let password = text(request, "Password");
        password_policy(&pool).check(password)?;
        let verdict = self
            .screen_compromised(
                &pool_id,
                &pool,
                Some(call.client_id),
                RiskEvent::SignUp,
                password,
            )
            .await?;
        if verdict == Verdict::Block {
            return Err(compromised());
        }

        let sub = uuid::Uuid::new_v4().to_string();
        let username = Naming::of(&pool).username_for(given_name, &mut attributes, &sub)?;
        check_required(&schema, &attributes)?;
        let validation_data = attribute_list(request, "ValidationData");
        let decided = self
            .pre_sign_up(
                &pool_id,
                &pool,
                "PreSignUp_SignUp",
                &username,
                Some(call.client_id),
                &attributes,
                &validation_data,
                &call.client_metadata,
            )
            .await?;
        decided.verify(&mut attributes);
        attributes.insert(0, json!({"Name": "sub", "Value": sub}));
        let destination = if decided.auto_confirm {
            None
        } else {
            auto_verified_destination(&pool, &attributes)
        };
        if let Some((attribute, _)) = &destination {
            // Fail before the user exists rather than leave one nobody can confirm.
            self.ensure_deliverable(&pool, Channel::of_attribute(attribute))?;
        }

        let password_hash =
            password::stored_form(&self.work, &pool_id, &username, password.to_owned()).await?;
        let now = unix_millis(self.clock.now());
        let user = User {
            username,
            sub: sub.clone(),
            status: if decided.auto_confirm {
                CONFIRMED
            } else {
                UNCONFIRMED
            }
            .to_owned(),
            enabled: true,
            attributes,
            password_hash,
            created_at: now,
            updated_at: now,
        };
        self.insert_user(&pool_id, &Naming::of(&pool), &user, "User already exists")
            .await?;
        let delivery = match destination {
            Some((attribute, value)) => Some(
                self.send_code(
                    &pool_id,
                    &pool,
                    &user,
                    Purpose::SignUp,
                    (&attribute, &value),
                    MessageRequest {
                        kind: MessageKind::SignUp,
                        client_metadata: &call.client_metadata,
                        client_id: Some(call.client_id),
                    },
                )
                .await?,
            ),
            None => None,
        };
        Ok(SignedUp {
            sub,
            confirmed: decided.auto_confirm,
            delivery,
        })
    }

    pub async fn confirm_sign_up(
        &self,
        call: ClientCall<'_>,
        code: &str,
        force_alias_creation: bool,
    ) -> CognitoResult<()> {
        let started = tokio::time::Instant::now();
        let (pool_id, pool, client) = self.client_and_pool(&call).await?;
        let hiding = hides_existence(&client);
        // With existence hiding, a confirmed user, an unknown one and an unconfirmed one with a
        // wrong code get the same answer, and no sooner than the floor: an unconfirmed user's
        // check reads more rows (the pending code, the aliases) than a decoy's.
        padded(hiding, started, async {
            // A user past UNCONFIRMED is answered like an unknown one: Cognito's "User cannot
            // be confirmed" would tell that the name exists. Their code was spent, so no code
            // can confirm them anyway; the check goes to the name's decoy.
            let user = self
                .known_user(&pool_id, &client, call.username)
                .await?
                .filter(|user| user.status == UNCONFIRMED || !hiding);
            let Some(user) = user else {
                return Err(self
                    .decoy_redemption(&pool_id, call.username, Purpose::SignUp, code)
                    .await);
            };
            self.confirm_user(&call, (&pool_id, &pool), &user, code, force_alias_creation)
                .await
        })
        .await
    }

    /// ConfirmSignUp for a user found by name.
    async fn confirm_user(
        &self,
        call: &ClientCall<'_>,
        (pool_id, pool): (&str, &CachedPool),
        user: &User,
        code: &str,
        force_alias_creation: bool,
    ) -> CognitoResult<()> {
        if user.status != UNCONFIRMED {
            return Err(CognitoError::not_authorized(format!(
                "User cannot be confirmed. Current status is {}",
                user.status
            )));
        }
        let naming = Naming::of(pool);
        // The attributes once confirmed: the one the code went to becomes verified.
        let confirmed_attributes = |redeemed: Option<&codes::Redeemed>| {
            let mut attributes = user.attributes.clone();
            if let Some(redeemed) = redeemed.filter(|r| !r.attribute_name.is_empty())
                && attribute_value(&attributes, &redeemed.attribute_name)
                    == Some(redeemed.attribute_value.as_str())
            {
                set_attribute(
                    &mut attributes,
                    &format!("{}_verified", redeemed.attribute_name),
                    "true",
                );
            }
            attributes
        };
        // Refuse a taken alias before the code is spent, so the user can retry with
        // ForceAliasCreation; the transaction below re-checks under the store's constraint.
        if !force_alias_creation {
            let pending = self.live_code(pool_id, &user.sub, Purpose::SignUp).await?;
            let attributes = confirmed_attributes(pending.as_ref());
            self.refuse_taken_aliases(pool_id, &naming, &user.sub, &attributes)
                .await?;
        }
        let redeemed = self
            .redeem_code(
                pool_id,
                &user.sub,
                Purpose::SignUp,
                code,
                codes::code_mismatch,
            )
            .await?;
        let attributes = confirmed_attributes(Some(&redeemed));
        self.store_confirmation(pool_id, &naming, user, attributes, force_alias_creation)
            .await?;
        self.post_confirmation(
            pool_id,
            pool,
            "PostConfirmation_ConfirmSignUp",
            Some(call.client_id),
            &user.sub,
            &call.client_metadata,
        )
        .await
    }

    async fn refuse_taken_aliases(
        &self,
        pool_id: &str,
        naming: &Naming,
        sub: &str,
        attributes: &[Json],
    ) -> CognitoResult<()> {
        for alias_key in naming.aliases(attributes) {
            let owner: Option<String> = sqlx::query_scalar(
                "SELECT sub FROM user_aliases WHERE user_pool_id = $1 AND alias_key = $2",
            )
            .bind(pool_id)
            .bind(&alias_key)
            .fetch_optional(&self.db)
            .await
            .map_err(store_error)?;
            if owner.is_some_and(|owner| owner != sub) {
                return Err(alias_exists(&alias_key));
            }
        }
        Ok(())
    }

    /// UNCONFIRMED → CONFIRMED with the verified attribute and its alias rows, in one
    /// transaction. With `force`, an alias another user holds moves to this user and the
    /// other user's attribute becomes unverified.
    async fn store_confirmation(
        &self,
        pool_id: &str,
        naming: &Naming,
        user: &User,
        attributes: Vec<Json>,
        force: bool,
    ) -> CognitoResult<()> {
        let now = unix_millis(self.clock.now());
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        let changed = sqlx::query(
            "UPDATE users SET status = $1, attributes_json = $2, updated_at = $3 \
             WHERE user_pool_id = $4 AND sub = $5 AND status = $6",
        )
        .bind(CONFIRMED)
        .bind(Json::Array(attributes.clone()).to_string())
        .bind(now)
        .bind(pool_id)
        .bind(&user.sub)
        .bind(UNCONFIRMED)
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?
        .rows_affected();
        if changed != 1 {
            return Err(CognitoError::not_authorized(
                "User cannot be confirmed. Current status is CONFIRMED",
            ));
        }
        for alias_key in naming.aliases(&attributes) {
            if force {
                let owner: Option<String> = sqlx::query_scalar(
                    "DELETE FROM user_aliases WHERE user_pool_id = $1 AND alias_key = $2 AND sub <> $3 RETURNING sub",
                )
                .bind(pool_id)
                .bind(&alias_key)
                .bind(&user.sub)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(store_error)?;
                if let Some(owner) = owner {
                    unverify(&mut transaction, pool_id, &owner, &alias_key, now).await?;
                }
            }
            let inserted = sqlx::query(
                "INSERT INTO user_aliases (user_pool_id, alias_key, sub) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(pool_id)
            .bind(&alias_key)
            .bind(&user.sub)
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
            if inserted.rows_affected() == 0 {
                let owner: Option<String> = sqlx::query_scalar(
                    "SELECT sub FROM user_aliases WHERE user_pool_id = $1 AND alias_key = $2",
                )
                .bind(pool_id)
                .bind(&alias_key)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(store_error)?;
                if owner.is_some_and(|owner| owner != user.sub) {
                    return Err(alias_exists(&alias_key));
                }
            }
        }
        crate::user_index::write_index(
            &mut transaction,
            pool_id,
            &user.sub,
            &naming.key(&user.username),
            &attributes,
        )
        .await?;
        transaction.commit().await.map_err(store_error)
    }

    pub async fn resend_confirmation_code(&self, call: ClientCall<'_>) -> CognitoResult<Json> {
        let started = tokio::time::Instant::now();
        let (pool_id, pool, client) = self.client_and_pool(&call).await?;
        let hiding = hides_existence(&client);
        padded(hiding, started, async {
            let simulated = || {
                let channel =
                    if string_list(pool.get("AutoVerifiedAttributes")).contains(&"phone_number") {
                        Channel::Sms
                    } else {
                        Channel::Email
                    };
                self.simulated_delivery(&pool_id, call.username, Purpose::SignUp, channel)
            };
            let Some(user) = self.known_user(&pool_id, &client, call.username).await? else {
                return simulated().await;
            };
            // A confirmed user is answered like an unknown name where existence is hidden.
            if user.status != UNCONFIRMED {
                if hiding {
                    return simulated().await;
                }
                return Err(CognitoError::invalid_parameter(
                    "User is already confirmed.",
                ));
            }
            let Some((attribute, value)) = auto_verified_destination(&pool, &user.attributes)
            else {
                return Err(CognitoError::invalid_parameter(
                    "Auto verification not turned on.",
                ));
            };
            let request = MessageRequest {
                kind: MessageKind::ResendCode,
                client_metadata: &call.client_metadata,
                client_id: Some(call.client_id),
            };
            self.send_code_unless_hiding(
                hiding,
                &pool_id,
                &pool,
                &user,
                Purpose::SignUp,
                (attribute.as_str(), value.as_str()),
                request,
            )
            .await
        })
        .await
    }

    pub async fn forgot_password(&self, call: ClientCall<'_>) -> CognitoResult<Json> {
        let started = tokio::time::Instant::now();
        let (pool_id, pool, client) = self.client_and_pool(&call).await?;
        let hiding = hides_existence(&client);
        padded(hiding, started, async {
            let Some(user) = self.known_user(&pool_id, &client, call.username).await? else {
                let channel = recovery_channel(&pool);
                return self
                    .simulated_delivery(&pool_id, call.username, Purpose::Reset, channel)
                    .await;
            };
            if !user.enabled {
                return Err(CognitoError::not_authorized("User is disabled."));
            }
            let (attribute, value) = reset_destination(&pool, &user)?;
            let request = MessageRequest {
                kind: MessageKind::ForgotPassword,
                client_metadata: &call.client_metadata,
                client_id: Some(call.client_id),
            };
            self.send_code_unless_hiding(
                hiding,
                &pool_id,
                &pool,
                &user,
                Purpose::Reset,
                (attribute.as_str(), value.as_str()),
                request,
            )
            .await
        })
        .await
    }

    /// AdminResetUserPassword: the user must reset their password (RESET_REQUIRED, so sign-in
    /// answers PasswordResetRequiredException) and gets a reset code the way ForgotPassword
    /// sends one, for ConfirmForgotPassword.
    pub async fn admin_reset_user_password(
        &self,
        pool_id: &str,
        name: &str,
        client_metadata: &Json,
    ) -> CognitoResult<()> {
        let pool = self.load_pool(pool_id).await?;
        let user = self.find_user(pool_id, name).await?;
        let (attribute, value) = reset_destination(&pool, &user)?;
        // A message that cannot go out fails the call before the user's state changes.
        self.ensure_deliverable(&pool, Channel::of_attribute(&attribute))?;
        self.set_status(pool_id, &user.sub, crate::users::RESET_REQUIRED)
            .await?;
        let request = MessageRequest {
            kind: MessageKind::ForgotPassword,
            client_metadata,
            client_id: None,
        };
        self.send_code(
            pool_id,
            &pool,
            &user,
            Purpose::Reset,
            (attribute.as_str(), value.as_str()),
            request,
        )
        .await?;
        Ok(())
    }

    pub async fn confirm_forgot_password(
        &self,
        call: ClientCall<'_>,
        code: &str,
        new_password: &str,
    ) -> CognitoResult<()> {
        let (pool_id, pool, client) = self.client_and_pool(&call).await?;
        let hiding = hides_existence(&client);
        // The policy is checked before the name is looked at, so a weak password is refused
        // alike for every name where existence is hidden.
        password_policy(&pool)
            .check(new_password)
            .map_err(policy_wording)?;
        // With existence hiding, a disabled user is answered like an unknown one.
        let user = self
            .known_user(&pool_id, &client, call.username)
            .await?
            .filter(|user| user.enabled || !hiding);
        let Some(user) = user else {
            return Err(self
                .decoy_redemption(&pool_id, call.username, Purpose::Reset, code)
                .await);
        };
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        // A user who asked for no code: ExpiredCodeException, as Cognito answers; where
        // existence is hidden, the mismatch an unknown name gets.
        let missing = if hiding {
            codes::code_mismatch
        } else {
            codes::expired_code
        };
        // The code is checked first (so timing tells nothing to whoever lacks it) and spent
        // last (so a password the history or breach check refuses leaves it usable).
        let checked = self
            .check_code(&pool_id, &user.sub, Purpose::Reset, code, missing)
            .await?;
        let stored = self
            .screened_password(&pool_id, &pool, &user, Some(call.client_id), new_password)
            .await?;
        self.spend_code(&pool_id, &user.sub, Purpose::Reset, checked)
            .await?;
        self.replace_password(&pool_id, &pool, &user, &stored, CONFIRMED)
            .await?;
        self.post_confirmation(
            &pool_id,
            &pool,
            "PostConfirmation_ConfirmForgotPassword",
            Some(call.client_id),
            &user.sub,
            &call.client_metadata,
        )
        .await
    }
}

/// Cognito words policy failures of end-user password changes differently from admin ones.
pub(crate) fn policy_wording(error: CognitoError) -> CognitoError {
    CognitoError::new(
        error.code,
        error.message.replace(
            "Password did not conform with policy",
            "Password does not conform to policy",
        ),
    )
}

fn alias_exists(alias_key: &str) -> CognitoError {
    let attribute = alias_key.split(':').next().unwrap_or("email");
    CognitoError::new(
        ErrorCode::AliasExistsException,
        format!("An account with the given {attribute} already exists."),
    )
}

/// Marks the attribute behind `alias_key` unverified for the user `sub` (its alias moved away).
async fn unverify(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    pool_id: &str,
    sub: &str,
    alias_key: &str,
    now: i64,
) -> CognitoResult<()> {
    let attribute = alias_key.split(':').next().unwrap_or_default();
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT attributes_json FROM users WHERE user_pool_id = $1 AND sub = $2",
    )
    .bind(pool_id)
    .bind(sub)
    .fetch_optional(&mut **transaction)
    .await
    .map_err(store_error)?;
    let Some(stored) = stored else {
        return Ok(());
    };
    let mut attributes: Vec<Json> = serde_json::from_str(&stored)
        .map_err(|error| cognate_common::error::internal("stored attributes are corrupt", error))?;
    set_attribute(&mut attributes, &format!("{attribute}_verified"), "false");
    sqlx::query("UPDATE users SET attributes_json = $1, updated_at = $2 WHERE user_pool_id = $3 AND sub = $4")
        .bind(Json::Array(attributes).to_string())
        .bind(now)
        .bind(pool_id)
        .bind(sub)
        .execute(&mut **transaction)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_codes_follow_the_recovery_priorities() {
        let attributes = [
            json!({"Name": "email", "Value": "a@example.com"}),
            json!({"Name": "email_verified", "Value": "true"}),
            json!({"Name": "phone_number", "Value": "+15550100"}),
            json!({"Name": "phone_number_verified", "Value": "true"}),
        ];
        let legacy = json!({});
        assert_eq!(
            recovery_destination(&legacy, &attributes).expect("allowed"),
            Some(("phone_number".into(), "+15550100".into()))
        );
        let email_first = json!({"AccountRecoverySetting": {"RecoveryMechanisms": [
            {"Name": "verified_phone_number", "Priority": 2},
            {"Name": "verified_email", "Priority": 1},
        ]}});
        assert_eq!(
            recovery_destination(&email_first, &attributes).expect("allowed"),
            Some(("email".into(), "a@example.com".into()))
        );
        let unverified = [json!({"Name": "email", "Value": "a@example.com"})];
        assert_eq!(
            recovery_destination(&email_first, &unverified).expect("allowed"),
            None
        );
        let admin_only = json!({"AccountRecoverySetting": {"RecoveryMechanisms": [
            {"Name": "admin_only", "Priority": 1},
        ]}});
        assert_eq!(
            recovery_destination(&admin_only, &attributes)
                .expect_err("admin only")
                .code,
            ErrorCode::NotAuthorizedException
        );
    }
}
