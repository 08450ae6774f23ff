//! CUSTOM_AUTH: sign-in decided by the pool's DefineAuthChallenge, CreateAuthChallenge and
//! VerifyAuthChallengeResponse triggers, as Cognito runs them: Define sees the challenges so far
//! and says what comes next (another challenge, tokens, or failure); Create makes a challenge;
//! Verify judges the answer. The history and the private challenge parameters stay server-side
//! in the session. With SRP first (`SRP_A` in the parameters), Define sees an SRP_A step and
//! asks for PASSWORD_VERIFIER; once the proof checks out it decides with that step added.

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use cognate_common::{CognitoError, CognitoResult, ErrorCode};
use cognate_proto::idp::v1 as idp;
use cognate_proto::internal::v1 as internal;

use crate::Auth;
use crate::events::user_attributes;
use crate::flows::{Session, incorrect_credentials, random_token};

/// The three targets, all of which CUSTOM_AUTH needs.
struct Triggers {
    define: String,
    create: String,
    verify: String,
}

/// Refuses CUSTOM_AUTH on a pool without its three triggers, before any user is looked up, so
/// the refusal is the same for names that exist and names that don't.
pub(crate) fn require_triggers(pool: &idp::UserPoolType) -> CognitoResult<()> {
    triggers(pool).map(|_| ())
}

fn triggers(pool: &idp::UserPoolType) -> CognitoResult<Triggers> {
    let config = pool.lambda_config.clone().unwrap_or_default();
    match (
        config.define_auth_challenge,
        config.create_auth_challenge,
        config.verify_auth_challenge_response,
    ) {
        (Some(define), Some(create), Some(verify)) => Ok(Triggers {
            define,
            create,
            verify,
        }),
        _ => Err(CognitoError::invalid_parameter(
            "Custom auth lambda trigger is not configured for the user pool.",
        )),
    }
}

/// The user a CUSTOM_AUTH for an unknown name runs with when the client hides existence: its
/// decoy USER_ID_FOR_SRP (the name given, or a stable id where email or phone is the username,
/// as a real user's is their sub), no attributes, and no sub (every stored user has one), so
/// the triggers see `userNotFound` and no decision can issue tokens.
pub(crate) fn decoy_user(username: &str) -> internal::UserRecord {
    internal::UserRecord {
        username: username.to_owned(),
        ..Default::default()
    }
}

fn is_decoy(user: &internal::UserRecord) -> bool {
    user.sub.is_empty()
}

/// The decoy a CUSTOM_CHALLENGE session was started for, if it was.
pub(crate) fn decoy_of(session: &Session) -> Option<internal::UserRecord> {
    let state = session.custom.as_ref()?;
    (state["userNotFound"].as_bool() == Some(true)).then(|| decoy_user(&session.username))
}

fn attributes_of(user: &internal::UserRecord) -> Json {
    if is_decoy(user) {
        json!({})
    } else {
        Json::Object(user_attributes(user))
    }
}

/// A step of the history that the user passed: SRP_A, PASSWORD_VERIFIER.
fn proven_step(challenge: &str) -> Json {
    json!({ "challengeName": challenge, "challengeResult": true, "challengeMetadata": null })
}

impl Auth {
    /// InitiateAuth with CUSTOM_AUTH: asks Define what to do with an empty history, or, with
    /// `SRP_A` (SRP first), with an SRP_A step, to which Define answers PASSWORD_VERIFIER.
    pub(crate) async fn start_custom(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        client_metadata: &HashMap<String, String>,
        srp_a: Option<String>,
    ) -> CognitoResult<Json> {
        let targets = triggers(pool)?;
        let history = match srp_a {
            Some(_) => vec![proven_step("SRP_A")],
            None => Vec::new(),
        };
        self.next_custom_step(
            pool,
            client,
            user,
            &targets,
            history,
            client_metadata,
            srp_a,
        )
        .await
    }

    /// The PASSWORD_VERIFIER of a CUSTOM_AUTH with SRP first checked out: Define decides again
    /// with it added to the history.
    pub(crate) async fn custom_after_password(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        state: &Json,
    ) -> CognitoResult<Json> {
        let targets = triggers(pool)?;
        let metadata: HashMap<String, String> =
            serde_json::from_value(state["clientMetadata"].clone()).unwrap_or_default();
        let mut history: Vec<Json> = state["history"].as_array().cloned().unwrap_or_default();
        history.push(proven_step("PASSWORD_VERIFIER"));
        self.next_custom_step(pool, client, user, &targets, history, &metadata, None)
            .await
    }

    /// RespondToAuthChallenge with CUSTOM_CHALLENGE: Verify judges the answer, then Define
    /// decides again with it added to the history.
    pub(crate) async fn answer_custom(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        session: &Session,
        answer: &str,
    ) -> CognitoResult<Json> {
        let targets = triggers(pool)?;
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let state = session.custom.clone().unwrap_or_default();
        let metadata: HashMap<String, String> =
            serde_json::from_value(state["clientMetadata"].clone()).unwrap_or_default();
        let request = json!({
            "userAttributes": attributes_of(user),
            "privateChallengeParameters": state["private"],
            "challengeAnswer": answer,
            "clientMetadata": metadata,
            "userNotFound": is_decoy(user),
        });
        let source = "VerifyAuthChallengeResponse_Authentication";
        let reply = self
            .invoke(
                &targets.verify,
                "VerifyAuthChallengeResponse",
                "1",
                source,
                pool_id,
                client,
                user,
                request,
                json!({}),
            )
            .await?;
        let mut history: Vec<Json> = state["history"].as_array().cloned().unwrap_or_default();
        if let Some(last) = history.last_mut() {
            last["challengeResult"] = json!(
                reply["response"]["answerCorrect"]
                    .as_bool()
                    .unwrap_or(false)
            );
        }
        self.next_custom_step(pool, client, user, &targets, history, &metadata, None)
            .await
    }

    /// Asks Define what follows `history`. `srp_a`: the client's SRP_A, while Define may still
    /// ask for PASSWORD_VERIFIER.
    #[allow(clippy::too_many_arguments)] // The sign-in's parts, each of them needed.
    async fn next_custom_step(
        &self,
        pool: &idp::UserPoolType,
        client: &idp::UserPoolClientType,
        user: &internal::UserRecord,
        targets: &Triggers,
        mut history: Vec<Json>,
        client_metadata: &HashMap<String, String>,
        srp_a: Option<String>,
    ) -> CognitoResult<Json> {
        let pool_id = pool.id.as_deref().unwrap_or_default();
        let not_found = is_decoy(user);
        let attributes = attributes_of(user);
        let request = json!({
            "userAttributes": attributes,
            "session": history,
            "clientMetadata": client_metadata,
            "userNotFound": not_found,
        });
        let decision = self
            .invoke(
                &targets.define,
                "DefineAuthChallenge",
                "1",
                "DefineAuthChallenge_Authentication",
                pool_id,
                client,
                user,
                request,
                json!({}),
            )
            .await?;
        let decision = &decision["response"];
        if decision["failAuthentication"].as_bool() == Some(true) {
            return Err(incorrect_credentials());
        }
        if decision["issueTokens"].as_bool() == Some(true) && not_found {
            return Err(incorrect_credentials());
        }
        if decision["issueTokens"].as_bool() == Some(true) {
            return self.authenticated(pool, client, user, None).await;
        }
        let challenge = decision["challengeName"]
            .as_str()
            .unwrap_or("CUSTOM_CHALLENGE")
            .to_owned();
        if let ("PASSWORD_VERIFIER", Some(srp_a)) = (challenge.as_str(), &srp_a)
            && not_found
        {
            // The simulated verifier's proof fails like a wrong password's.
            return self
                .decoy_srp_for(pool, client, &user.username, srp_a.clone())
                .await;
        }
        if let ("PASSWORD_VERIFIER", Some(srp_a)) = (challenge.as_str(), srp_a) {
            let state = json!({ "history": history, "clientMetadata": client_metadata });
            return self
                .start_srp(pool_id, client, user, srp_a, None, Some(state))
                .await;
        }
        if challenge != "CUSTOM_CHALLENGE" {
            return Err(CognitoError::new(
                ErrorCode::InvalidLambdaResponseException,
                format!(
                    "DefineAuthChallenge answered {challenge}, which Cognate cannot ask at this step."
                ),
            ));
        }
        let request = json!({
            "userAttributes": attributes,
            "challengeName": challenge,
            "session": history,
            "clientMetadata": client_metadata,
            "userNotFound": not_found,
        });
        let created = self
            .invoke(
                &targets.create,
                "CreateAuthChallenge",
                "1",
                "CreateAuthChallenge_Authentication",
                pool_id,
                client,
                user,
                request,
                json!({}),
            )
            .await?;
        let created = &created["response"];
        history.push(json!({
            "challengeName": challenge,
            "challengeResult": false,
            "challengeMetadata": created["challengeMetadata"],
        }));
        let mut session =
            Session::for_challenge(pool_id, client, &user.username, "CUSTOM_CHALLENGE");
        session.custom = Some(json!({
            "history": history,
            "private": created["privateChallengeParameters"],
            "clientMetadata": client_metadata,
            "userNotFound": not_found,
        }));
        let token = random_token(48);
        self.save_session(client, &session, &token).await?;
        let mut parameters = created["publicChallengeParameters"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        parameters.insert("USERNAME".into(), json!(user.username));
        Ok(
            json!({ "ChallengeName": "CUSTOM_CHALLENGE", "Session": token, "ChallengeParameters": parameters }),
        )
    }
}
