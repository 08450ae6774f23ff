//! The Lambda triggers the directory calls: PreSignUp (may refuse a sign-up, confirm it, or
//! verify its email or phone), PostConfirmation, and, through `delivery`, CustomMessage and the
//! custom senders. Events are Cognito's own JSON, delivered by the triggers service.

use serde_json::{Value as Json, json};

use cognate_common::{CognitoError, CognitoResult, ServiceKind};
use cognate_proto::internal::v1 as internal;
use cognate_proto::internal::v1::triggers_client::TriggersClient;

use crate::Directory;
use crate::accounts::{attribute_value, set_attribute};
use crate::delivery::attribute_map;

/// What a PreSignUp handler decided.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PreSignUp {
    pub auto_confirm: bool,
    pub auto_verify_email: bool,
    pub auto_verify_phone: bool,
}

impl PreSignUp {
    /// Marks verified the email and phone number the handler auto-verified, where present.
    pub fn verify(self, attributes: &mut Vec<Json>) {
        for (wanted, attribute) in [
            (self.auto_verify_email, "email"),
            (self.auto_verify_phone, "phone_number"),
        ] {
            if wanted && attribute_value(attributes, attribute).is_some() {
                set_attribute(attributes, &format!("{attribute}_verified"), "true");
            }
        }
    }
}

/// The pool's trigger target for `name`, if it configures one.
pub fn trigger_target<'a>(pool: &'a Json, name: &str) -> Option<&'a str> {
    pool["LambdaConfig"][name]
        .as_str()
        .filter(|target| !target.is_empty())
}

impl Directory {
    /// Delivers a trigger event; the handler's reply, or its deny as Cognito's error.
    #[allow(clippy::too_many_arguments)] // The event's fields, each of them needed.
    pub(crate) async fn invoke_trigger(
        &self,
        target: &str,
        trigger: &str,
        source: &str,
        pool_id: &str,
        username: &str,
        client_id: Option<&str>,
        request: Json,
        response: Json,
    ) -> CognitoResult<Json> {
        let Some(peers) = self.peers.as_ref() else {
            return Err(cognate_common::error::internal(
                "trigger",
                "the directory has no channel to the triggers service",
            ));
        };
        let event = json!({
            "version": "1",
            "triggerSource": source,
            "region": self.config.region,
            "userPoolId": pool_id,
            "userName": username,
            "callerContext": {
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": client_id.unwrap_or("CLIENT_ID_NOT_APPLICABLE"),
            },
            "request": request,
            "response": response,
        });
        let reply = TriggersClient::new(peers.channel(ServiceKind::Triggers))
            .invoke(internal::InvokeRequest {
                target: target.to_owned(),
                trigger: trigger.to_owned(),
                event_json: event.to_string(),
            })
            .await
            .map_err(CognitoError::from)?
            .into_inner();
        serde_json::from_str(&reply.event_json)
            .map_err(|error| cognate_common::error::internal("trigger reply is not JSON", error))
    }

    /// PreSignUp, before anything is stored: a deny leaves nothing behind.
    #[allow(clippy::too_many_arguments)] // The event's fields, each of them needed.
    pub(crate) async fn pre_sign_up(
        &self,
        pool_id: &str,
        pool: &Json,
        source: &str,
        username: &str,
        client_id: Option<&str>,
        attributes: &[Json],
        validation_data: &[Json],
        client_metadata: &Json,
    ) -> CognitoResult<PreSignUp> {
        let Some(target) = trigger_target(pool, "PreSignUp") else {
            return Ok(PreSignUp::default());
        };
        let reply = self
            .invoke_trigger(
                target,
                "PreSignUp",
                source,
                pool_id,
                username,
                client_id,
                json!({
                    "userAttributes": attribute_map(attributes),
                    "validationData": attribute_map(validation_data),
                    "clientMetadata": client_metadata,
                }),
                json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false}),
            )
            .await?;
        let flag = |member: &str| reply["response"][member] == true;
        Ok(PreSignUp {
            auto_confirm: flag("autoConfirmUser"),
            auto_verify_email: flag("autoVerifyEmail"),
            auto_verify_phone: flag("autoVerifyPhone"),
        })
    }

    /// PostConfirmation, after the change is stored: as in Cognito, a failing handler fails the
    /// request but does not undo the confirmation.
    #[allow(clippy::too_many_arguments)] // The event's fields, each of them needed.
    pub(crate) async fn post_confirmation(
        &self,
        pool_id: &str,
        pool: &Json,
        source: &str,
        client_id: Option<&str>,
        username: &str,
        client_metadata: &Json,
    ) -> CognitoResult<()> {
        let Some(target) = trigger_target(pool, "PostConfirmation") else {
            return Ok(());
        };
        let user = self.find_user(pool_id, username).await?;
        let mut attributes = attribute_map(&user.attributes);
        attributes.insert("cognito:user_status".into(), json!(user.status));
        self.invoke_trigger(
            target,
            "PostConfirmation",
            source,
            pool_id,
            &user.username,
            client_id,
            json!({"userAttributes": attributes, "clientMetadata": client_metadata}),
            json!({}),
        )
        .await?;
        Ok(())
    }
}
