//! Against a real NATS server (127.0.0.1:4222) and real HTTP servers on port 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, StatusCode};
use futures::StreamExt;
use serde_json::json;

use cognate_common::ErrorCode;

use super::*;

const NATS_URL: &str = "nats://127.0.0.1:4222";
const PREFIX: &str = "cognate.trigger";

async fn nats() -> async_nats::Client {
    async_nats::connect(NATS_URL)
        .await
        .expect("NATS must listen on 127.0.0.1:4222 for these tests")
}

fn dispatcher(nats: Option<async_nats::Client>) -> Dispatcher {
    Dispatcher::new(nats, PREFIX).expect("an HTTP client")
}

/// A function name no other test uses, and its ARN.
fn unique_function() -> (String, String) {
    let name = format!("test-{}", uuid::Uuid::new_v4().simple());
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}:live");
    (name, arn)
}

fn pre_authentication_event() -> Value {
    json!({
        "version": "1",
        "triggerSource": "PreAuthentication_Authentication",
        "region": "us-east-1",
        "userPoolId": "us-east-1_abcdefghi",
        "userName": "alice",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
        "request": {"userAttributes": {"sub": "1234", "email": "alice@example.com"}, "validationData": {}},
        "response": {}
    })
}

fn allowed(mut event: Value) -> Value {
    event["response"] = json!({"answeredBy": "handler"});
    event
}

/// What a NATS handler received.
struct Received {
    payload: Value,
    traceparent: Option<String>,
}

/// Answers every request on `subject` with `answer(event)` after `delay`; returns what it got.
async fn nats_handler(
    client: &async_nats::Client,
    subject: &str,
    delay: Duration,
    answer: impl Fn(Value) -> (Option<async_nats::HeaderMap>, Value) + Send + 'static,
) -> tokio::sync::mpsc::UnboundedReceiver<Received> {
    let mut subscriber = client
        .subscribe(subject.to_owned())
        .await
        .expect("subscribe");
    // The server must know the subscription before the first request, or it has no responders.
    client.flush().await.expect("flush");
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let client = client.clone();
    tokio::spawn(async move {
        while let Some(message) = subscriber.next().await {
            let payload: Value = serde_json::from_slice(&message.payload).expect("a JSON event");
            let traceparent = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get("traceparent"))
                .map(|value| value.as_str().to_owned());
            let (headers, reply) = answer(payload.clone());
            let _ = sender.send(Received {
                payload,
                traceparent,
            });
            let client = client.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let reply_subject = message.reply.expect("a request has a reply subject");
                let body = Bytes::from(reply.to_string());
                match headers {
                    Some(headers) => {
                        client
                            .publish_with_headers(reply_subject, headers, body)
                            .await
                    }
                    None => client.publish(reply_subject, body).await,
                }
                .expect("publish the reply");
            });
        }
    });
    receiver
}

fn drain<T>(receiver: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut items = Vec::new();
    while let Ok(item) = receiver.try_recv() {
        items.push(item);
    }
    items
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Runs `future` in a span that continues trace `TRACE_ID`, as after a request that carried
/// `traceparent`, with an OpenTelemetry layer installed as in production.
async fn in_remote_trace<T>(future: impl Future<Output = T>) -> T {
    use opentelemetry::trace::TracerProvider as _;
    use tracing::instrument::WithSubscriber;
    use tracing_subscriber::layer::SubscriberExt;

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    async {
        let span = tracing::info_span!("sign_in");
        let mut incoming = http::HeaderMap::new();
        incoming.insert(
            "traceparent",
            http::HeaderValue::from_str(&format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
                .expect("a header value"),
        );
        telemetry::adopt_parent(&span, &incoming);
        future.instrument(span).await
    }
    .with_subscriber(subscriber)
    .await
}

fn assert_continues_the_trace(traceparent: Option<&str>) {
    let traceparent = traceparent.expect("the request carries traceparent");
    assert!(
        traceparent.starts_with(&format!("00-{TRACE_ID}-")),
        "{traceparent} continues the caller's trace"
    );
}

#[tokio::test]
async fn a_nats_handler_answers_a_lambda_arn_with_the_trace_context() {
    let client = nats().await;
    let (name, arn) = unique_function();
    let mut received = nats_handler(
        &client,
        &format!("{PREFIX}.{name}"),
        Duration::ZERO,
        |event| (None, allowed(event)),
    )
    .await;
    let dispatcher = dispatcher(Some(client));
    let event = pre_authentication_event();
    let reply = in_remote_trace(dispatcher.invoke(&arn, "PreAuthentication", &event))
        .await
        .expect("the handler allows");

    assert_eq!(reply, allowed(event.clone()));
    let received = drain(&mut received);
    assert_eq!(received.len(), 1, "one attempt");
    assert_eq!(received[0].payload, event, "the event arrives intact");
    assert_continues_the_trace(received[0].traceparent.as_deref());
}

#[tokio::test]
async fn a_nats_subject_target_without_a_span_still_delivers() {
    let client = nats().await;
    let subject = format!("hooks.{}", uuid::Uuid::new_v4().simple());
    let mut received = nats_handler(&client, &subject, Duration::ZERO, |event| {
        (None, allowed(event))
    })
    .await;
    let event = pre_authentication_event();
    let reply = dispatcher(Some(client))
        .invoke(&format!("nats:{subject}"), "PreAuthentication", &event)
        .await
        .expect("the handler allows");
    assert_eq!(reply, allowed(event));
    assert_eq!(drain(&mut received).len(), 1);
}

#[tokio::test]
async fn a_lambda_error_over_nats_is_a_deny_and_is_not_retried() {
    let client = nats().await;
    let (name, arn) = unique_function();
    let mut received = nats_handler(&client, &format!("{PREFIX}.{name}"), Duration::ZERO, |_| {
        (
            None,
            json!({"errorType": "Error", "errorMessage": "no access"}),
        )
    })
    .await;
    let error = dispatcher(Some(client))
        .invoke(&arn, "PreAuthentication", &pre_authentication_event())
        .await
        .expect_err("the handler denies");
    assert_eq!(
        error,
        CognitoError::new(
            ErrorCode::UserLambdaValidationException,
            "PreAuthentication failed with error no access."
        )
    );
    assert_eq!(drain(&mut received).len(), 1, "a deny is not retried");
}

#[tokio::test]
async fn a_nats_micro_service_error_is_a_deny() {
    let client = nats().await;
    let (name, arn) = unique_function();
    let _received = nats_handler(&client, &format!("{PREFIX}.{name}"), Duration::ZERO, |_| {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(NATS_SERVICE_ERROR, "email domain not allowed");
        headers.insert("Nats-Service-Error-Code", "400");
        (Some(headers), json!(null))
    })
    .await;
    let error = dispatcher(Some(client))
        .invoke(&arn, "PreSignUp", &pre_authentication_event())
        .await
        .expect_err("the handler denies");
    assert_eq!(error.code, ErrorCode::UserLambdaValidationException);
    assert_eq!(
        error.message,
        "PreSignUp failed with error email domain not allowed."
    );
}

#[tokio::test]
async fn no_responders_fail_fast_after_three_attempts() {
    let (_name, arn) = unique_function();
    // Cognito's full 5 s per attempt: no responders must not wait for it.
    let dispatcher = dispatcher(Some(nats().await));
    let started = Instant::now();
    let error = dispatcher
        .invoke(&arn, "PreSignUp", &pre_authentication_event())
        .await
        .expect_err("nobody answers");
    let elapsed = started.elapsed();
    assert_eq!(error.code, ErrorCode::UnexpectedLambdaException);
    assert_eq!(
        error.message,
        "PreSignUp invocation failed due to error no handler answers on the trigger's NATS subject."
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(
        elapsed >= RETRY_BACKOFF * 3,
        "took {elapsed:?}: the retries back off"
    );
}

#[tokio::test]
async fn a_handler_slower_than_the_attempt_timeout_fails_after_three_attempts() {
    let client = nats().await;
    let (name, arn) = unique_function();
    let mut received = nats_handler(
        &client,
        &format!("{PREFIX}.{name}"),
        Duration::from_secs(2),
        |event| (None, allowed(event)),
    )
    .await;
    let dispatcher = dispatcher(Some(client)).with_attempt_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let error = dispatcher
        .invoke(&arn, "PostConfirmation", &pre_authentication_event())
        .await
        .expect_err("the handler is too slow");
    let elapsed = started.elapsed();
    assert_eq!(
        error,
        CognitoError::new(
            ErrorCode::UnexpectedLambdaException,
            "PostConfirmation invocation failed due to error Socket timeout while invoking the trigger handler."
        )
    );
    assert_eq!(drain(&mut received).len(), 3, "three attempts");
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
}

#[tokio::test]
async fn a_nats_target_without_nats_is_an_unexpected_lambda_error() {
    let (_name, arn) = unique_function();
    let error = dispatcher(None)
        .invoke(&arn, "PreSignUp", &pre_authentication_event())
        .await
        .expect_err("no NATS");
    assert_eq!(
        error,
        CognitoError::new(
            ErrorCode::UnexpectedLambdaException,
            "PreSignUp invocation failed due to error no NATS server is configured (COGNATE_NATS_URL)."
        )
    );
}

#[tokio::test]
async fn an_unusable_target_is_an_unexpected_lambda_error() {
    let error = dispatcher(None)
        .invoke("my-function", "CustomMessage", &pre_authentication_event())
        .await
        .expect_err("not a target");
    assert_eq!(error.code, ErrorCode::UnexpectedLambdaException);
    assert_eq!(
        error.message,
        "CustomMessage invocation failed due to error the trigger target is not a Lambda ARN, a nats:<subject> or an http(s) URL."
    );
}

/// What a webhook received, per path.
#[derive(Default)]
struct WebhookLog {
    calls: Vec<(String, HeaderMap, Value)>,
    flaky_calls: AtomicUsize,
}

type SharedLog = Arc<std::sync::Mutex<WebhookLog>>;

/// Serves `/allow`, `/deny`, `/flaky` (500 twice, then allows), `/broken` (always 500) and
/// `/slow` (answers after 2 s) on 127.0.0.1:0.
async fn webhook_server() -> (String, SharedLog) {
    use axum::extract::State;
    use axum::routing::post;
    use axum::{Json, Router};

    fn record(log: &SharedLog, path: &str, headers: HeaderMap, event: &Value) {
        let mut log = log.lock().expect("log lock");
        log.calls.push((path.to_owned(), headers, event.clone()));
    }

    let log = SharedLog::default();
    let router = Router::new()
        .route(
            "/allow",
            post(
                |State(log): State<SharedLog>, headers: HeaderMap, Json(event): Json<Value>| async move {
                    record(&log, "/allow", headers, &event);
                    Json(allowed(event))
                },
            ),
        )
        .route(
            "/deny",
            post(
                |State(log): State<SharedLog>, headers: HeaderMap, Json(event): Json<Value>| async move {
                    record(&log, "/deny", headers, &event);
                    (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"errorType": "Error", "errorMessage": "no access"})),
                    )
                },
            ),
        )
        .route(
            "/flaky",
            post(
                |State(log): State<SharedLog>, headers: HeaderMap, Json(event): Json<Value>| async move {
                    record(&log, "/flaky", headers, &event);
                    let call = log
                        .lock()
                        .expect("log lock")
                        .flaky_calls
                        .fetch_add(1, Ordering::SeqCst);
                    if call < 2 {
                        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"oops": true})));
                    }
                    (StatusCode::OK, Json(allowed(event)))
                },
            ),
        )
        .route(
            "/broken",
            post(
                |State(log): State<SharedLog>, headers: HeaderMap, Json(event): Json<Value>| async move {
                    record(&log, "/broken", headers, &event);
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                },
            ),
        )
        .route(
            "/slow",
            post(
                |State(log): State<SharedLog>, headers: HeaderMap, Json(event): Json<Value>| async move {
                    record(&log, "/slow", headers, &event);
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Json(allowed(event))
                },
            ),
        )
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    (format!("http://{address}"), log)
}

fn calls_to(log: &SharedLog, path: &str) -> Vec<(HeaderMap, Value)> {
    log.lock()
        .expect("log lock")
        .calls
        .iter()
        .filter(|(called, _, _)| called == path)
        .map(|(_, headers, event)| (headers.clone(), event.clone()))
        .collect()
}

#[tokio::test]
async fn a_webhook_that_allows_gets_the_event_as_json() {
    let (base, log) = webhook_server().await;
    let event = pre_authentication_event();
    let dispatcher = dispatcher(None);
    let target = format!("{base}/allow?token=secret");
    let reply = in_remote_trace(dispatcher.invoke(&target, "PreAuthentication", &event))
        .await
        .expect("the webhook allows");
    assert_eq!(reply, allowed(event.clone()));
    let calls = calls_to(&log, "/allow");
    assert_eq!(calls.len(), 1);
    let (headers, received) = &calls[0];
    assert_eq!(received, &event);
    assert_eq!(
        headers
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
    assert_continues_the_trace(
        headers
            .get("traceparent")
            .and_then(|value| value.to_str().ok()),
    );
}

#[tokio::test]
async fn a_webhook_that_denies_with_400_and_an_error_message_is_a_deny() {
    let (base, log) = webhook_server().await;
    let error = dispatcher(None)
        .invoke(
            &format!("{base}/deny"),
            "PreAuthentication",
            &pre_authentication_event(),
        )
        .await
        .expect_err("the webhook denies");
    assert_eq!(
        error,
        CognitoError::new(
            ErrorCode::UserLambdaValidationException,
            "PreAuthentication failed with error no access."
        )
    );
    assert_eq!(calls_to(&log, "/deny").len(), 1, "a deny is not retried");
}

#[tokio::test]
async fn a_webhook_that_fails_twice_succeeds_on_the_third_attempt() {
    let (base, log) = webhook_server().await;
    let event = pre_authentication_event();
    let reply = dispatcher(None)
        .invoke(&format!("{base}/flaky"), "PreTokenGeneration", &event)
        .await
        .expect("the third attempt allows");
    assert_eq!(reply, allowed(event));
    assert_eq!(calls_to(&log, "/flaky").len(), 3);
}

#[tokio::test]
async fn a_webhook_that_always_fails_is_tried_three_times() {
    let (base, log) = webhook_server().await;
    let error = dispatcher(None)
        .invoke(
            &format!("{base}/broken"),
            "PreSignUp",
            &pre_authentication_event(),
        )
        .await
        .expect_err("the webhook fails");
    assert_eq!(
        error,
        CognitoError::new(
            ErrorCode::UnexpectedLambdaException,
            "PreSignUp invocation failed due to error the trigger webhook answered HTTP 500."
        )
    );
    assert_eq!(calls_to(&log, "/broken").len(), 3);
}

#[tokio::test]
async fn a_slow_webhook_times_out_on_every_attempt() {
    let (base, log) = webhook_server().await;
    let started = Instant::now();
    let error = dispatcher(None)
        .with_attempt_timeout(Duration::from_millis(200))
        .invoke(
            &format!("{base}/slow"),
            "PreSignUp",
            &pre_authentication_event(),
        )
        .await
        .expect_err("the webhook is too slow");
    assert_eq!(error.code, ErrorCode::UnexpectedLambdaException);
    assert!(
        error.message.contains("Socket timeout"),
        "{}",
        error.message
    );
    assert_eq!(calls_to(&log, "/slow").len(), 3);
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn an_unreachable_webhook_is_an_unexpected_lambda_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let error = dispatcher(None)
        .invoke(
            &format!("http://{address}/"),
            "PreSignUp",
            &pre_authentication_event(),
        )
        .await
        .expect_err("nothing listens");
    assert_eq!(
        error,
        CognitoError::new(
            ErrorCode::UnexpectedLambdaException,
            "PreSignUp invocation failed due to error could not connect to the trigger webhook."
        )
    );
}

#[tokio::test]
async fn the_grpc_service_carries_the_cognito_error_type() {
    use cognate_proto::internal::v1::InvokeRequest;
    use cognate_proto::internal::v1::triggers_server::Triggers;

    let (base, _log) = webhook_server().await;
    let service = crate::TriggersService::new(dispatcher(None));
    let event = pre_authentication_event();
    let response = service
        .invoke(tonic::Request::new(InvokeRequest {
            target: format!("{base}/allow"),
            trigger: "PreAuthentication".to_owned(),
            event_json: event.to_string(),
        }))
        .await
        .expect("the webhook allows")
        .into_inner();
    let reply: Value = serde_json::from_str(&response.event_json).expect("JSON");
    assert_eq!(reply, allowed(event.clone()));

    let status = service
        .invoke(tonic::Request::new(InvokeRequest {
            target: format!("{base}/deny"),
            trigger: "PreAuthentication".to_owned(),
            event_json: event.to_string(),
        }))
        .await
        .expect_err("the webhook denies");
    assert_eq!(
        CognitoError::from(status),
        CognitoError::new(
            ErrorCode::UserLambdaValidationException,
            "PreAuthentication failed with error no access."
        )
    );
}

#[test]
fn a_reply_is_an_object_or_a_lambda_error() {
    assert!(matches!(
        interpret_body(br#"{"response":{}}"#),
        Ok(Reply::Event(_))
    ));
    assert!(matches!(
        interpret_body(br#"{"errorType":"Error","errorMessage":"x"}"#),
        Ok(Reply::Deny(message)) if message == "x"
    ));
    for body in [&b"not json"[..], b"[1]", b"null", b"\"text\"", b""] {
        let failure = interpret_body(body).expect_err("not a reply");
        assert!(failure.retryable);
        assert_eq!(failure.kind, "invalid_reply");
    }
}
