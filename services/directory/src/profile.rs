//! What signed-in users do to their own account with an access token: GetUser, ChangePassword,
//! UpdateUserAttributes, VerifyUserAttribute, GetUserAttributeVerificationCode, DeleteUser and
//! DeleteUserAttributes. The auth service checks the token; the directory owns the user.

use serde_json::{Value as Json, json};

use cognate_common::{CognitoError, CognitoResult, ServiceKind, password};
use cognate_proto::internal::v1 as internal;
use cognate_proto::internal::v1::auth_internal_client::AuthInternalClient;

use crate::Directory;
use crate::accounts::policy_wording;
use crate::admin::{Updater, VERIFIABLE, updated_attributes};
use crate::codes::{self, Purpose};
use crate::outbox::{MessageKind, MessageRequest};
use crate::pools::password_policy;
use crate::users::{Naming, User};

/// The owner of an access token, as the directory knows them.
pub(crate) struct TokenUser {
    pub pool_id: String,
    pub client_id: String,
    pub user: User,
}

impl Directory {
    /// The user's MFA settings, which the auth service keeps.
    pub(crate) async fn mfa_settings(
        &self,
        pool_id: &str,
        sub: &str,
    ) -> CognitoResult<internal::MfaSettings> {
        let Some(peers) = self.peers.as_ref() else {
            return Ok(internal::MfaSettings::default());
        };
        AuthInternalClient::new(peers.channel(ServiceKind::Auth))
            .get_mfa_settings(internal::UserRef {
                user_pool_id: pool_id.to_owned(),
                sub: sub.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(CognitoError::from)
    }

    /// Tells the auth service to forget a user (with `sub`) or a whole pool (without) the
    /// directory has deleted. The delete has committed, so a failure is logged and not returned:
    /// what auth keeps is keyed by a sub or pool id that is never issued again, and none of it
    /// signs anyone in without the directory's user (see the README's security notes).
    pub(crate) async fn forget_in_auth(&self, pool_id: &str, sub: Option<&str>) {
        let Some(peers) = self.peers.as_ref() else {
            return;
        };
        let mut auth = AuthInternalClient::new(peers.channel(ServiceKind::Auth));
        let user_pool_id = pool_id.to_owned();
        let outcome = match sub {
            Some(sub) => {
                auth.forget_user(internal::UserRef {
                    user_pool_id,
                    sub: sub.to_owned(),
                })
                .await
            }
            None => {
                auth.forget_pool(internal::PoolRequest { user_pool_id })
                    .await
            }
        };
        if let Err(status) = outcome {
            tracing::warn!(pool_id, sub, %status, "the auth service did not forget a deleted user or pool");
        }
    }

    /// The user an access token belongs to, checked by the auth service (signature, expiry,
    /// revocation, sign-out, enabled user) and for the scope self-service calls need.
    async fn token_user(&self, access_token: &str) -> CognitoResult<TokenUser> {
        // Config validation guarantees a channel to auth; only unit tests build a directory
        // without peers.
        let Some(peers) = self.peers.as_ref() else {
            return Err(cognate_common::error::internal(
                "token-authorized operation",
                "the directory has no channel to the auth service",
            ));
        };
        let claims = AuthInternalClient::new(peers.channel(ServiceKind::Auth))
            .verify_access_token(internal::VerifyAccessTokenRequest {
                access_token: access_token.to_owned(),
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        cognate_common::error::require_user_admin_scope(&claims.scopes)?;
        let user = self
            .find_user(&claims.user_pool_id, &claims.sub)
            .await
            .map_err(|_| CognitoError::not_authorized("User does not exist."))?;
        Ok(TokenUser {
            pool_id: claims.user_pool_id,
            client_id: claims.client_id,
            user,
        })
    }

    /// GetUser: the token's user, as Cognito shows them to themselves.
    pub async fn get_user(&self, access_token: &str) -> CognitoResult<Json> {
        let TokenUser { pool_id, user, .. } = self.token_user(access_token).await?;
        let mfa = self.mfa_settings(&pool_id, &user.sub).await?;
        let mut shown = json!({
            "Username": user.username,
            "UserAttributes": user.attributes,
        });
        add_mfa_members(&mut shown, mfa);
        Ok(shown)
    }

    /// ChangePassword: the previous password must match; the new one must meet the policy.
    pub async fn change_password(
        &self,
        access_token: &str,
        previous: &str,
        proposed: &str,
    ) -> CognitoResult<()> {
        let TokenUser {
            pool_id,
            client_id,
            user,
        } = self.token_user(access_token).await?;
        let pool = self.load_pool(&pool_id).await?;
        let matches = password::verify(
            &self.work,
            &pool_id,
            &user.username,
            previous.to_owned(),
            user.password_hash.clone(),
        )
        .await?;
        if !matches {
            return Err(CognitoError::not_authorized(
                "Incorrect username or password.",
            ));
        }
        password_policy(&pool)
            .check(proposed)
            .map_err(policy_wording)?;
        let stored = self
            .screened_password(&pool_id, &pool, &user, Some(&client_id), proposed)
            .await?;
        self.replace_password(&pool_id, &pool, &user, &stored, &user.status)
            .await
    }

    /// UpdateUserAttributes: the app client must be allowed to write every attribute; returns
    /// Cognito's `CodeDeliveryDetailsList`.
    pub async fn update_user_attributes(
        &self,
        access_token: &str,
        updates: &[Json],
        client_metadata: &Json,
    ) -> CognitoResult<Vec<Json>> {
        let TokenUser {
            pool_id,
            client_id,
            user,
        } = self.token_user(access_token).await?;
        let pool = self.load_pool(&pool_id).await?;
        let client = self.load_client(Some(&pool_id), &client_id).await?;
        let names: Vec<&str> = updates
            .iter()
            .map(|update| update["Name"].as_str().unwrap_or_default())
            .collect();
        refuse_unwritable(&client, &names)?;
        self.update_attributes(
            &pool_id,
            &pool,
            &user,
            updates,
            Updater::EndUser {
                client_id: &client_id,
            },
            client_metadata,
        )
        .await
    }

    /// DeleteUserAttributes: as the admin operation, for the token's user and within what the
    /// app client may write.
    pub async fn delete_user_attributes(
        &self,
        access_token: &str,
        names: &[String],
    ) -> CognitoResult<()> {
        let TokenUser {
            pool_id,
            client_id,
            user,
        } = self.token_user(access_token).await?;
        let client = self.load_client(Some(&pool_id), &client_id).await?;
        let names_given: Vec<&str> = names.iter().map(String::as_str).collect();
        refuse_unwritable(&client, &names_given)?;
        self.admin_delete_user_attributes(&pool_id, &user.sub, names)
            .await
    }

    /// DeleteUser: the token's user and everything the directory holds for them.
    pub async fn delete_user(&self, access_token: &str) -> CognitoResult<()> {
        let TokenUser { pool_id, user, .. } = self.token_user(access_token).await?;
        self.admin_delete_user(&pool_id, &user.sub).await
    }

    /// GetUserAttributeVerificationCode: a code to the pending new value if an update awaits
    /// verification, else to the attribute's current value.
    pub async fn get_user_attribute_verification_code(
        &self,
        access_token: &str,
        attribute: &str,
        client_metadata: &Json,
    ) -> CognitoResult<Json> {
        let TokenUser {
            pool_id,
            client_id,
            user,
        } = self.token_user(access_token).await?;
        let purpose = verification_purpose(attribute)?;
        let pool = self.load_pool(&pool_id).await?;
        let pending = self
            .live_code(&pool_id, &user.sub, purpose)
            .await?
            .map(|code| code.attribute_value)
            .filter(|value| Some(value.as_str()) != user.attribute(attribute));
        let Some(destination) = pending.or_else(|| {
            user.attribute(attribute)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        }) else {
            return Err(CognitoError::invalid_parameter(format!(
                "Unable to get verification code: {attribute} is not set for the user."
            )));
        };
        self.send_code(
            &pool_id,
            &pool,
            &user,
            purpose,
            (attribute, &destination),
            MessageRequest {
                kind: MessageKind::VerifyUserAttribute,
                client_metadata,
                client_id: Some(&client_id),
            },
        )
        .await
    }

    /// VerifyUserAttribute: redeems the code; the value it was sent to becomes the attribute's
    /// verified value (this is when a pending update takes effect). A code sent to a value the
    /// user has since replaced no longer verifies anything.
    pub async fn verify_user_attribute(
        &self,
        access_token: &str,
        attribute: &str,
        code: &str,
    ) -> CognitoResult<()> {
        let TokenUser { pool_id, user, .. } = self.token_user(access_token).await?;
        let purpose = verification_purpose(attribute)?;
        let pool = self.load_pool(&pool_id).await?;
        let redeemed = self
            .redeem_code(&pool_id, &user.sub, purpose, code, codes::code_mismatch)
            .await?;
        let current = user.attribute(attribute).unwrap_or_default();
        let verify_first = crate::pools::string_list(
            pool["UserAttributeUpdateSettings"].get("AttributesRequireVerificationBeforeUpdate"),
        );
        if redeemed.attribute_value != current && !verify_first.contains(&attribute) {
            return Err(codes::expired_code());
        }
        let flag = VERIFIABLE
            .iter()
            .find(|(name, _)| *name == attribute)
            .map(|(_, flag)| *flag)
            .unwrap_or_default();
        let attributes = updated_attributes(
            &user.attributes,
            &[
                json!({"Name": attribute, "Value": redeemed.attribute_value}),
                json!({"Name": flag, "Value": "true"}),
            ],
        );
        self.store_attributes(&pool_id, &Naming::of(&pool), &user, attributes)
            .await
    }
}

/// Only emails and phone numbers are verified by code.
fn verification_purpose(attribute: &str) -> CognitoResult<Purpose> {
    Purpose::verify(attribute).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "Invalid attribute name: {attribute} cannot be verified."
        ))
    })
}

/// An app client writes only the attributes in its `WriteAttributes` (all, when unset).
/// GetUser's and AdminGetUser's MFA members; an enabled SMS_MFA also shows in the legacy
/// `MFAOptions`, as SetUserSettings sets it.
pub(crate) fn add_mfa_members(user: &mut Json, mfa: internal::MfaSettings) {
    if mfa
        .user_mfa_setting_list
        .iter()
        .any(|factor| factor == "SMS_MFA")
    {
        user["MFAOptions"] = json!([{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]);
    }
    if !mfa.preferred_mfa_setting.is_empty() {
        user["PreferredMfaSetting"] = json!(mfa.preferred_mfa_setting);
    }
    user["UserMFASettingList"] = json!(mfa.user_mfa_setting_list);
}

pub(crate) fn refuse_unwritable(client: &Json, names: &[&str]) -> CognitoResult<()> {
    let Some(writable) = client["WriteAttributes"].as_array() else {
        return Ok(());
    };
    let allowed = |name: &str| writable.iter().any(|entry| entry == name);
    if names.iter().any(|name| !allowed(name)) {
        return Err(CognitoError::not_authorized(
            "A client attempted to write unauthorized attribute",
        ));
    }
    Ok(())
}
