//! The Lambda triggers the issuer calls: PreAuthentication (may deny a sign-in) and
//! PreTokenGeneration V1, V2 and V3 (may add, override or suppress claims, groups and scopes).
//! Events are Cognito's own JSON, delivered by the triggers service.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::Auth;
use crate::tokens::Customization;

pub(crate) fn user_attributes(user: &internal::UserRecord) -> Map<String, Json> {
    let mut attributes: Map<String, Json> = user
        .attributes
        .iter()
        .filter_map(|attribute| Some((attribute.name.clone()?, json!(attribute.value.clone()?))))
        .collect();
    attributes.insert("cognito:user_status".into(), json!(user.status));
    attributes
}

impl Auth {
    /// Delivers an event; the handler's reply, or its deny as Cognito's error.
    #[allow(clippy::too_many_arguments)] // The event's fields, each of them needed.
    pub(crate) async fn invoke(
        &self,
        target: &str,
        trigger: &str,
        version: &str,
        source: &str,
        pool_id: &str,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        request: Json,
        response: Json,
    ) -> CognitoResult<Json> {
        let event = json!({
            "version": version,
            "triggerSource": source,
            "region": self.config.region,
            "userPoolId": pool_id,
            "userName": user.username,
            "callerContext": { "awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client.client_id },
            "request": request,
            "response": response,
        });
        let reply = self
            .triggers
            .clone()
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

    /// Cognito's PreAuthentication event, when the pool has the trigger; a deny from the
    /// handler fails the sign-in.
    pub(crate) async fn pre_authentication(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        client_metadata: &HashMap<String, String>,
    ) -> CognitoResult<()> {
        let Some(target) = pool
            .lambda_config
            .as_ref()
            .and_then(|config| config.pre_authentication.as_deref())
        else {
            return Ok(());
        };
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let mut request =
            json!({ "userAttributes": user_attributes(user), "validationData": client_metadata });
        if client.prevent_user_existence_errors.as_deref() == Some("ENABLED") {
            request["userNotFound"] = json!(false);
        }
        let source = "PreAuthentication_Authentication";
        self.invoke(
            target,
            "PreAuthentication",
            "1",
            source,
            pool_id,
            client,
            user,
            request,
            json!({}),
        )
        .await?;
        Ok(())
    }

    /// PreTokenGeneration, when the pool has it: what the handler wants changed in the tokens.
    /// `source` is Cognito's trigger source, e.g. `TokenGeneration_Authentication`.
    pub(crate) async fn token_customization(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        source: &str,
    ) -> CognitoResult<Customization> {
        let Some(config) = pool.lambda_config.as_ref() else {
            return Ok(Customization::default());
        };
        let versioned = config
            .pre_token_generation_config
            .as_ref()
            .and_then(|versioned| {
                let version = match versioned.lambda_version.as_deref() {
                    Some("V2_0") => "2",
                    Some("V3_0") => "3",
                    _ => "1",
                };
                Some((versioned.lambda_arn.clone()?, version))
            });
        let Some((target, version)) = versioned.or_else(|| {
            config
                .pre_token_generation
                .clone()
                .map(|target| (target, "1"))
        }) else {
            return Ok(Customization::default());
        };
        let mut request = json!({
            "userAttributes": user_attributes(user),
            "groupConfiguration": { "groupsToOverride": user.groups, "iamRolesToOverride": [], "preferredRole": null },
            "clientMetadata": {},
        });
        let response = if version == "1" {
            json!({ "claimsOverrideDetails": null })
        } else {
            request["scopes"] = json!(["aws.cognito.signin.user.admin"]);
            json!({ "claimsAndScopeOverrideDetails": null })
        };
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let reply = self
            .invoke(
                &target,
                "PreTokenGeneration",
                version,
                source,
                pool_id,
                client,
                user,
                request,
                response,
            )
            .await?;
        Ok(Customization::from_reply(&reply["response"]))
    }
}
