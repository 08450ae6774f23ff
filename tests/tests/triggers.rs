//! The PreAuthentication trigger end to end: delivered over NATS (Lambda ARN → subject) and to a
//! webhook, with Cognito's event JSON; a deny fails the sign-in. Both topologies.

use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ExplicitAuthFlowsType, LambdaConfigType,
};
use cognate_tests::{Sandbox, both_topologies, error_code};

/// Serves `app` on a free loopback port for the rest of the test; its base URL.
async fn serve_webhook(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn pool_with_trigger(idp: &Client, target: &str) -> String {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool().pool_name("triggered").lambda_config(
            LambdaConfigType::builder()
                .pre_authentication(target)
                .build(),
        ),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth),
    )
    .await;
    for name in ["allowed", "denied"] {
        idp.admin_create_user()
            .user_pool_id(&pool_id)
            .username(name)
            .send()
            .await
            .expect("user");
        idp.admin_set_user_password()
            .user_pool_id(&pool_id)
            .username(name)
            .password("Correct-horse-1")
            .permanent(true)
            .send()
            .await
            .expect("password");
    }
    client_id
}

async fn sign_in(idp: &Client, client_id: &str, username: &str) -> Result<(), String> {
    idp.initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", "Correct-horse-1")
        .client_metadata("origin", "test")
        .send()
        .await
        .map(|_| ())
        .map_err(|error| format!("{}: {}", error_code(&error), error.into_service_error()))
}

/// What a Lambda handler would answer: deny user `denied`, allow the rest.
fn decide(event: &serde_json::Value) -> serde_json::Value {
    if event["userName"] == "denied" {
        serde_json::json!({"errorType": "Error", "errorMessage": "not today"})
    } else {
        let mut reply = event.clone();
        reply["response"] = serde_json::json!({});
        reply
    }
}

async fn pre_authentication_over_nats(sandbox: &Sandbox) {
    let function = format!("pre-auth-{}", uuid::Uuid::new_v4().simple());
    let events = cognate_tests::nats_handler(&format!("cognate.trigger.{function}"), decide).await;

    let idp = sandbox.idp();
    let client_id = pool_with_trigger(
        &idp,
        &format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
    )
    .await;
    assert_eq!(sign_in(&idp, &client_id, "allowed").await, Ok(()));
    assert_eq!(
        sign_in(&idp, &client_id, "denied").await,
        Err("UserLambdaValidationException: UserLambdaValidationException: PreAuthentication failed with error not today.".into())
    );
    let events = events.lock().expect("lock").clone();
    assert_eq!(events.len(), 2);
    let event = &events[0];
    assert_eq!(event["version"], "1");
    assert_eq!(event["triggerSource"], "PreAuthentication_Authentication");
    assert_eq!(event["region"], "us-east-1");
    assert_eq!(event["userName"], "allowed");
    assert_eq!(event["callerContext"]["clientId"], client_id.as_str());
    assert_eq!(
        event["request"]["userAttributes"]["cognito:user_status"],
        "CONFIRMED"
    );
    assert!(event["request"]["userAttributes"]["sub"].is_string());
    assert_eq!(event["request"]["validationData"]["origin"], "test");
}

both_topologies!(nats_trigger, pre_authentication_over_nats);

async fn pre_authentication_by_webhook(sandbox: &Sandbox) {
    let calls = Arc::new(Mutex::new(0_usize));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/pre-auth",
        axum::routing::post(move |axum::Json(event): axum::Json<serde_json::Value>| {
            let counter = counter.clone();
            async move {
                *counter.lock().expect("lock") += 1;
                let reply = decide(&event);
                let status = if reply.get("errorMessage").is_some() {
                    400
                } else {
                    200
                };
                (
                    axum::http::StatusCode::from_u16(status).expect("status"),
                    axum::Json(reply),
                )
            }
        }),
    );
    let url = format!("{}/pre-auth", serve_webhook(app).await);

    let idp = sandbox.idp();
    let client_id = pool_with_trigger(&idp, &url).await;
    assert_eq!(sign_in(&idp, &client_id, "allowed").await, Ok(()));
    let denied = sign_in(&idp, &client_id, "denied")
        .await
        .expect_err("denied");
    assert!(
        denied.contains("PreAuthentication failed with error not today."),
        "{denied}"
    );
    assert_eq!(*calls.lock().expect("lock"), 2, "a deny is not retried");
}

both_topologies!(webhook_trigger, pre_authentication_by_webhook);

async fn an_unanswered_trigger_fails_with_cognitos_error(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let nobody = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:absent-{}",
        uuid::Uuid::new_v4().simple()
    );
    let client_id = pool_with_trigger(&idp, &nobody).await;
    let failed = sign_in(&idp, &client_id, "allowed")
        .await
        .expect_err("no handler");
    assert!(failed.starts_with("UnexpectedLambdaException"), "{failed}");
}

both_topologies!(
    unanswered_trigger,
    an_unanswered_trigger_fails_with_cognitos_error
);

/// One sign-in is one trace: a `traceparent` sent to the edge reaches the trigger's NATS message
/// through the edge → auth → triggers gRPC hops.
async fn trace_context_reaches_the_trigger(sandbox: &Sandbox) {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let _telemetry = cognate_common::telemetry::init_with_provider(provider);
    let function = format!("traced-{}", uuid::Uuid::new_v4().simple());
    let nats = async_nats::connect(cognate_tests::nats_url())
        .await
        .expect("NATS");
    let mut subscription = nats
        .subscribe(format!("cognate.trigger.{function}"))
        .await
        .expect("subscribed");
    let headers = Arc::new(Mutex::new(Vec::new()));
    let seen = headers.clone();
    let responder = nats.clone();
    tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(message) = subscription.next().await {
            let traceparent = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get("traceparent"))
                .map(|value| value.as_str().to_owned());
            seen.lock().expect("lock").push(traceparent);
            let event: serde_json::Value =
                serde_json::from_slice(&message.payload).expect("event is JSON");
            if let Some(inbox) = message.reply {
                responder
                    .publish(inbox, decide(&event).to_string().into())
                    .await
                    .expect("replied");
            }
        }
    });
    nats.flush().await.expect("subscription registered");

    let idp = sandbox.idp();
    let client_id = pool_with_trigger(
        &idp,
        &format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
    )
    .await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let body = serde_json::json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": client_id,
        "AuthParameters": {"USERNAME": "allowed", "PASSWORD": "Correct-horse-1"},
    });
    let response = reqwest::Client::new()
        .post(&sandbox.endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(body.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let headers = headers.lock().expect("lock").clone();
    assert_eq!(headers.len(), 1);
    let traceparent = headers[0]
        .clone()
        .expect("the trigger message carries a traceparent");
    assert!(
        traceparent.contains(trace_id),
        "{traceparent} continues trace {trace_id}"
    );
}

both_topologies!(trace_propagation, trace_context_reaches_the_trigger);

/// PreTokenGeneration V1 (ID-token claims and groups) and V2 (both tokens and scopes), by webhook.
async fn pre_token_generation_shapes_tokens(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::{
        PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType,
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let app = axum::Router::new().route(
        "/pre-token",
        axum::routing::post(move |axum::Json(mut event): axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(event.clone());
                event["response"] = if event["version"] == "1" {
                    serde_json::json!({"claimsOverrideDetails": {
                        "claimsToAddOrOverride": {"tenant": "acme"},
                        "groupOverrideDetails": {"groupsToOverride": ["readers"]},
                    }})
                } else {
                    serde_json::json!({"claimsAndScopeOverrideDetails": {
                        "idTokenGeneration": {"claimsToAddOrOverride": {"tenant": "acme"}},
                        "accessTokenGeneration": {"claimsToAddOrOverride": {"tier": "gold"}, "scopesToAdd": ["orders/read"]},
                    }})
                };
                axum::Json(event)
            }
        }),
    );
    let url = format!("{}/pre-token", serve_webhook(app).await);

    let idp = sandbox.idp();
    for version in [None, Some(PreTokenGenerationLambdaVersionType::V20)] {
        let mut lambda = LambdaConfigType::builder();
        lambda = match &version {
            None => lambda.pre_token_generation(&url),
            Some(version) => lambda.pre_token_generation_config(
                PreTokenGenerationVersionConfigType::builder()
                    .lambda_version(version.clone())
                    .lambda_arn(&url)
                    .build()
                    .expect("valid"),
            ),
        };
        let pool_id = cognate_tests::create_pool(
            idp.create_user_pool()
                .pool_name("tokens")
                .lambda_config(lambda.build()),
        )
        .await;
        let client_id = cognate_tests::create_client(
            idp.create_user_pool_client()
                .user_pool_id(&pool_id)
                .client_name("app")
                .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth),
        )
        .await;
        idp.admin_create_user()
            .user_pool_id(&pool_id)
            .username("allowed")
            .send()
            .await
            .expect("user");
        idp.admin_set_user_password()
            .user_pool_id(&pool_id)
            .username("allowed")
            .password("Correct-horse-1")
            .permanent(true)
            .send()
            .await
            .expect("password");
        let tokens = idp
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", "allowed")
            .auth_parameters("PASSWORD", "Correct-horse-1")
            .send()
            .await
            .expect("signed in")
            .authentication_result
            .expect("tokens");
        let jwks: serde_json::Value = reqwest::get(format!(
            "{}/{pool_id}/.well-known/jwks.json",
            sandbox.endpoint
        ))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
        let id =
            cognate_tests::verify_jwt(tokens.id_token().expect("id"), &jwks).expect("verifies");
        let access = cognate_tests::verify_jwt(tokens.access_token().expect("access"), &jwks)
            .expect("verifies");
        assert_eq!(id["tenant"], "acme");
        if version.is_none() {
            assert_eq!(id["cognito:groups"], serde_json::json!(["readers"]));
            assert!(
                access.get("tier").is_none(),
                "V1 leaves the access token alone"
            );
        } else {
            assert_eq!(access["tier"], "gold");
            assert_eq!(access["scope"], "aws.cognito.signin.user.admin orders/read");
        }
    }
    let events = events.lock().expect("lock").clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["triggerSource"], "TokenGeneration_Authentication");
    assert_eq!(events[0]["version"], "1");
    assert_eq!(events[1]["version"], "2");
    assert_eq!(
        events[1]["request"]["scopes"],
        serde_json::json!(["aws.cognito.signin.user.admin"])
    );
}

both_topologies!(pre_token_generation, pre_token_generation_shapes_tokens);

/// An access token whose `aws.cognito.signin.user.admin` scope a PreTokenGeneration V2 handler
/// suppressed is refused by the user's own operations, on the directory's side (GetUser) and the
/// issuer's (AssociateSoftwareToken, ListDevices) alike.
async fn user_operations_need_the_admin_scope(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::{
        PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType,
    };
    let app = axum::Router::new().route(
        "/pre-token",
        axum::routing::post(
            |axum::Json(mut event): axum::Json<serde_json::Value>| async move {
                event["response"] = serde_json::json!({"claimsAndScopeOverrideDetails": {
                    "accessTokenGeneration": {
                        "scopesToSuppress": ["aws.cognito.signin.user.admin"],
                        "scopesToAdd": ["orders/read"],
                    },
                }});
                axum::Json(event)
            },
        ),
    );
    let url = format!("{}/pre-token", serve_webhook(app).await);
    let idp = sandbox.idp();
    let lambda = LambdaConfigType::builder()
        .pre_token_generation_config(
            PreTokenGenerationVersionConfigType::builder()
                .lambda_version(PreTokenGenerationLambdaVersionType::V20)
                .lambda_arn(&url)
                .build()
                .expect("valid"),
        )
        .build();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("scopes")
            .lambda_config(lambda),
    )
    .await;
    let client_id = cognate_tests::password_auth_client(&idp, &pool_id).await;
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", "Correct-horse-1").await;
    let access_token = cognate_tests::password_sign_in(&idp, &client_id, "jane", "Correct-horse-1")
        .await
        .expect("signed in")
        .access_token
        .expect("access token");
    let missing = "NotAuthorizedException: Access Token does not have required scopes";
    let refused = idp
        .get_user()
        .access_token(&access_token)
        .send()
        .await
        .expect_err("no admin scope");
    assert_eq!(refused.into_service_error().to_string(), missing);
    let refused = idp
        .associate_software_token()
        .access_token(&access_token)
        .send()
        .await
        .expect_err("no admin scope");
    assert_eq!(refused.into_service_error().to_string(), missing);
    let refused = idp
        .list_devices()
        .access_token(&access_token)
        .send()
        .await
        .expect_err("no admin scope");
    assert_eq!(refused.into_service_error().to_string(), missing);
}

both_topologies!(admin_scope, user_operations_need_the_admin_scope);

/// A pool whose three custom-auth triggers are `target`, and a CUSTOM_AUTH client.
async fn custom_pool(idp: &Client, target: &str) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool().pool_name("custom").lambda_config(
            LambdaConfigType::builder()
                .define_auth_challenge(target)
                .create_auth_challenge(target)
                .verify_auth_challenge_response(target)
                .build(),
        ),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth),
    )
    .await;
    (pool_id, client_id)
}

/// One webhook playing DefineAuthChallenge, CreateAuthChallenge and
/// VerifyAuthChallengeResponse: the question "2 + 2" until it is answered (tokens) or answered
/// wrong three times (failure).
fn arithmetic_quiz(mut event: serde_json::Value) -> serde_json::Value {
    let history = event["request"]["session"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    event["response"] = match event["triggerSource"].as_str().unwrap_or_default() {
        "DefineAuthChallenge_Authentication" => {
            let solved = history
                .last()
                .is_some_and(|step| step["challengeResult"] == true);
            if solved {
                serde_json::json!({"issueTokens": true, "failAuthentication": false})
            } else if history.len() >= 3 {
                serde_json::json!({"issueTokens": false, "failAuthentication": true})
            } else {
                serde_json::json!({"challengeName": "CUSTOM_CHALLENGE", "issueTokens": false, "failAuthentication": false})
            }
        }
        "CreateAuthChallenge_Authentication" => serde_json::json!({
            "publicChallengeParameters": {"question": "2 + 2"},
            "privateChallengeParameters": {"answer": "4"},
            "challengeMetadata": "ARITHMETIC",
        }),
        _ => {
            let correct = event["request"]["challengeAnswer"]
                == event["request"]["privateChallengeParameters"]["answer"];
            serde_json::json!({"answerCorrect": correct})
        }
    };
    event
}

/// CUSTOM_AUTH through DefineAuthChallenge, CreateAuthChallenge and VerifyAuthChallengeResponse
/// (one webhook playing all three): a wrong answer gets another challenge, a right one tokens,
/// three wrong ones fail the sign-in.
async fn custom_challenges_decide_sign_in(sandbox: &Sandbox) {
    let app = axum::Router::new().route(
        "/custom",
        axum::routing::post(
            |axum::Json(event): axum::Json<serde_json::Value>| async move {
                axum::Json(arithmetic_quiz(event))
            },
        ),
    );
    let url = format!("{}/custom", serve_webhook(app).await);

    let idp = sandbox.idp();
    let (pool_id, client_id) = custom_pool(&idp, &url).await;
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("quiz")
        .send()
        .await
        .expect("user");
    idp.admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("quiz")
        .password("Correct-horse-1")
        .permanent(true)
        .send()
        .await
        .expect("password");
    let start = || {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::CustomAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", "quiz")
            .send()
    };
    let answer = |session: String, answer: &'static str| {
        idp.respond_to_auth_challenge()
            .client_id(&client_id)
            .challenge_name(
                aws_sdk_cognitoidentityprovider::types::ChallengeNameType::CustomChallenge,
            )
            .session(session)
            .challenge_responses("USERNAME", "quiz")
            .challenge_responses("ANSWER", answer)
            .send()
    };
    let challenge = start().await.expect("a challenge");
    assert_eq!(
        challenge
            .challenge_parameters()
            .and_then(|p| p.get("question"))
            .map(String::as_str),
        Some("2 + 2")
    );
    let again = answer(challenge.session().expect("session").to_owned(), "5")
        .await
        .expect("another try");
    assert!(again.authentication_result().is_none());
    let done = answer(again.session().expect("session").to_owned(), "4")
        .await
        .expect("solved");
    assert!(
        done.authentication_result()
            .and_then(|tokens| tokens.id_token())
            .is_some()
    );

    let mut session = start()
        .await
        .expect("a challenge")
        .session()
        .expect("session")
        .to_owned();
    for _ in 0..2 {
        session = answer(session, "wrong")
            .await
            .expect("another try")
            .session()
            .expect("session")
            .to_owned();
    }
    let failed = answer(session, "wrong").await.expect_err("three strikes");
    assert_eq!(error_code(&failed), "NotAuthorizedException");
}

both_topologies!(custom_auth, custom_challenges_decide_sign_in);

/// CUSTOM_AUTH for a name that doesn't exist, on a client that hides existence: the triggers run
/// as for a known user but with `userNotFound` (Cognito's way), the challenge looks the same, and
/// even the right answer ends in "Incorrect username or password.".
async fn custom_auth_hides_unknown_names(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::{
        ChallengeNameType, PreventUserExistenceErrorTypes,
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let app = axum::Router::new().route(
        "/custom",
        axum::routing::post(
            move |axum::Json(event): axum::Json<serde_json::Value>| async move {
                recorded.lock().expect("lock").push((
                    event["userName"].as_str().unwrap_or_default().to_owned(),
                    event["triggerSource"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    event["request"]["userNotFound"].clone(),
                ));
                axum::Json(arithmetic_quiz(event))
            },
        ),
    );
    let url = format!("{}/custom", serve_webhook(app).await);
    let idp = sandbox.idp();
    let (pool_id, _) = custom_pool(&idp, &url).await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("hiding")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled),
    )
    .await;
    cognate_tests::confirmed_user(&idp, &pool_id, "quiz", "Correct-horse-1").await;
    let (idp, client_id) = (&idp, &client_id);
    let sign_in = |name: &'static str| async move {
        let challenge = idp
            .initiate_auth()
            .auth_flow(AuthFlowType::CustomAuth)
            .client_id(client_id)
            .auth_parameters("USERNAME", name)
            .send()
            .await
            .expect("a challenge, known name or not");
        assert_eq!(
            challenge.challenge_name(),
            Some(&ChallengeNameType::CustomChallenge)
        );
        let parameters = challenge.challenge_parameters().expect("parameters");
        assert_eq!(
            parameters.get("question").map(String::as_str),
            Some("2 + 2")
        );
        assert_eq!(parameters.get("USERNAME").map(String::as_str), Some(name));
        idp.respond_to_auth_challenge()
            .client_id(client_id)
            .challenge_name(ChallengeNameType::CustomChallenge)
            .session(challenge.session().expect("session"))
            .challenge_responses("USERNAME", name)
            .challenge_responses("ANSWER", "4")
            .send()
            .await
    };
    let known = sign_in("quiz").await.expect("the known user signs in");
    assert!(known.authentication_result().is_some());
    let unknown = sign_in("ghost").await.expect_err("no one to sign in");
    assert_eq!(
        unknown.into_service_error().to_string(),
        "NotAuthorizedException: Incorrect username or password."
    );
    let seen = seen.lock().expect("lock").clone();
    let flags = |name: &str| -> Vec<(String, serde_json::Value)> {
        seen.iter()
            .filter(|(user, _, _)| user == name)
            .map(|(_, source, flag)| (source.clone(), flag.clone()))
            .collect()
    };
    let steps = |flag: bool| {
        [
            "DefineAuthChallenge_Authentication",
            "CreateAuthChallenge_Authentication",
            "VerifyAuthChallengeResponse_Authentication",
            "DefineAuthChallenge_Authentication",
        ]
        .map(|source| (source.to_owned(), serde_json::json!(flag)))
        .to_vec()
    };
    assert_eq!(flags("quiz"), steps(false));
    assert_eq!(flags("ghost"), steps(true));
}

both_topologies!(custom_auth_hiding, custom_auth_hides_unknown_names);

/// In a pool whose usernames are emails, an unknown name gets one simulated SALT and
/// USER_ID_FOR_SRP however SRP is started (USER_SRP_AUTH or CUSTOM_AUTH with SRP first), as a
/// real user gets one verifier: comparing the two tells nothing.
async fn srp_decoys_agree_across_flows(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::{
        ChallengeNameType, PreventUserExistenceErrorTypes, UsernameAttributeType,
    };
    use cognate_common::srp;
    let function = format!("custom-{}", uuid::Uuid::new_v4().simple());
    let _events =
        cognate_tests::nats_handler(&format!("cognate.trigger.{function}"), srp_then_question)
            .await;
    let target = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("emails")
            .username_attributes(UsernameAttributeType::Email)
            .lambda_config(
                LambdaConfigType::builder()
                    .define_auth_challenge(&target)
                    .create_auth_challenge(&target)
                    .verify_auth_challenge_response(&target)
                    .build(),
            ),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("hiding")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled),
    )
    .await;
    let name = "ghost@example.com";
    let client = srp::client::Client::new("emails", name, "Any-password-1");
    let mut seen = Vec::new();
    for flow in [AuthFlowType::UserSrpAuth, AuthFlowType::CustomAuth] {
        let challenge = idp
            .initiate_auth()
            .auth_flow(flow.clone())
            .client_id(&client_id)
            .auth_parameters("USERNAME", name)
            .auth_parameters("CHALLENGE_NAME", "SRP_A")
            .auth_parameters("SRP_A", client.big_a())
            .send()
            .await
            .expect("a challenge");
        assert_eq!(
            challenge.challenge_name(),
            Some(&ChallengeNameType::PasswordVerifier),
            "{flow:?}"
        );
        let parameters = challenge.challenge_parameters().expect("parameters");
        seen.push((
            parameters.get("SALT").cloned(),
            parameters.get("USER_ID_FOR_SRP").cloned(),
        ));
    }
    assert_eq!(seen[0], seen[1]);
    assert_ne!(
        seen[0].1.as_deref(),
        Some(name),
        "an id, as a real user's sub"
    );
}

both_topologies!(srp_decoys_agree, srp_decoys_agree_across_flows);

/// What one Lambda playing DefineAuthChallenge, CreateAuthChallenge and
/// VerifyAuthChallengeResponse answers for CUSTOM_AUTH with SRP first: PASSWORD_VERIFIER after
/// SRP_A, then one custom question, then tokens.
fn srp_then_question(event: &serde_json::Value) -> serde_json::Value {
    let history = event["request"]["session"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let steps: Vec<(&str, bool)> = history
        .iter()
        .map(|step| {
            (
                step["challengeName"].as_str().unwrap_or_default(),
                step["challengeResult"] == true,
            )
        })
        .collect();
    let mut reply = event.clone();
    reply["response"] = match event["triggerSource"].as_str().unwrap_or_default() {
        "DefineAuthChallenge_Authentication" => match steps.as_slice() {
            [("SRP_A", true)] => {
                serde_json::json!({"challengeName": "PASSWORD_VERIFIER", "issueTokens": false, "failAuthentication": false})
            }
            [("SRP_A", true), ("PASSWORD_VERIFIER", true)] => {
                serde_json::json!({"challengeName": "CUSTOM_CHALLENGE", "issueTokens": false, "failAuthentication": false})
            }
            [_, _, ("CUSTOM_CHALLENGE", true)] => {
                serde_json::json!({"issueTokens": true, "failAuthentication": false})
            }
            _ => serde_json::json!({"issueTokens": false, "failAuthentication": true}),
        },
        "CreateAuthChallenge_Authentication" => serde_json::json!({
            "publicChallengeParameters": {"question": "2 + 2"},
            "privateChallengeParameters": {"answer": "4"},
        }),
        _ => serde_json::json!({
            "answerCorrect": event["request"]["challengeAnswer"] == "4",
        }),
    };
    reply
}

/// CUSTOM_AUTH with SRP first, the triggers over NATS: Define sees SRP_A, asks for
/// PASSWORD_VERIFIER, sees it passed, asks its question and issues tokens; a wrong password
/// ends the sign-in at the proof.
async fn custom_auth_with_srp_first(sandbox: &Sandbox) {
    use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
    use cognate_common::srp;
    let function = format!("custom-{}", uuid::Uuid::new_v4().simple());
    let events =
        cognate_tests::nats_handler(&format!("cognate.trigger.{function}"), srp_then_question)
            .await;
    let target = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
    let idp = sandbox.idp();
    let (pool_id, client_id) = custom_pool(&idp, &target).await;
    cognate_tests::confirmed_user(&idp, &pool_id, "quiz", "Correct-horse-1").await;
    let pool_name = pool_id
        .split_once('_')
        .map(|(_, name)| name)
        .unwrap_or_default();
    let prove = |password: &'static str| {
        let idp = idp.clone();
        let client_id = client_id.clone();
        let client = srp::client::Client::new(pool_name, "quiz", password);
        async move {
            let verifier = idp
                .initiate_auth()
                .auth_flow(AuthFlowType::CustomAuth)
                .client_id(&client_id)
                .auth_parameters("USERNAME", "quiz")
                .auth_parameters("CHALLENGE_NAME", "SRP_A")
                .auth_parameters("SRP_A", client.big_a())
                .send()
                .await
                .expect("SRP started");
            assert_eq!(
                verifier.challenge_name(),
                Some(&ChallengeNameType::PasswordVerifier)
            );
            let values = verifier.challenge_parameters().expect("parameters");
            cognate_tests::answer_password_verifier(&idp, &client_id, &client, values).await
        }
    };
    let question = prove("Correct-horse-1").await.expect("password proven");
    assert_eq!(
        question.challenge_name(),
        Some(&ChallengeNameType::CustomChallenge)
    );
    assert_eq!(
        question.challenge_parameters().expect("parameters")["question"],
        "2 + 2"
    );
    let done = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::CustomChallenge)
        .session(question.session().expect("session"))
        .challenge_responses("USERNAME", "quiz")
        .challenge_responses("ANSWER", "4")
        .send()
        .await
        .expect("answered");
    assert!(done.authentication_result().is_some());
    let defined: Vec<Vec<String>> = cognate_tests::wait_for_events(&events, 5)
        .await
        .iter()
        .filter(|event| event["triggerSource"] == "DefineAuthChallenge_Authentication")
        .map(|event| {
            event["request"]["session"]
                .as_array()
                .expect("session list")
                .iter()
                .map(|step| step["challengeName"].as_str().expect("name").to_owned())
                .collect()
        })
        .collect();
    assert_eq!(
        defined,
        [
            vec!["SRP_A"],
            vec!["SRP_A", "PASSWORD_VERIFIER"],
            vec!["SRP_A", "PASSWORD_VERIFIER", "CUSTOM_CHALLENGE"],
        ]
    );

    assert_eq!(
        prove("Wrong-horse-1").await.expect_err("wrong password"),
        "NotAuthorizedException"
    );
}

both_topologies!(custom_auth_srp, custom_auth_with_srp_first);
