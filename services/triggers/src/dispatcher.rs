//! Delivers one trigger event to its handler under Cognito's rules: 5 s per attempt, up to 3
//! attempts, a handler error is a deny and anything else that goes wrong is retried.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cognate_common::{CognitoError, CognitoResult, ErrorCode, telemetry};
use serde_json::Value;
use tracing::Instrument;

use crate::target::Target;

/// How long one attempt may take; Cognito's limit, which it does not let users change.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times Cognito tries a trigger before giving up.
pub const MAX_ATTEMPTS: u32 = 3;
/// Pause before retry n is n × this: failures like "no responders" come back at once, and
/// retrying them immediately would only repeat them.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Lambda's limit on a synchronous response payload.
const MAX_REPLY_BYTES: usize = 6 * 1024 * 1024;
/// Where a NATS micro service (`async_nats::service`, `nats.go/micro`) puts a handler's error.
const NATS_SERVICE_ERROR: &str = "Nats-Service-Error";

/// Sends trigger events to their handlers over NATS request/reply or HTTP webhooks.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    nats: Option<async_nats::Client>,
    http: reqwest::Client,
    subject_prefix: String,
    attempt_timeout: Duration,
}

/// What a handler answered.
#[derive(Debug)]
enum Reply {
    /// The event, with `response` filled in.
    Event(Value),
    /// The handler threw: Lambda's `{"errorType": ..., "errorMessage": ...}`.
    Deny(String),
}

/// An attempt that produced no answer.
#[derive(Debug)]
struct Failure {
    /// Short and stable, for logs.
    kind: &'static str,
    /// Goes to the caller inside `UnexpectedLambdaException`; never the target or the event.
    reason: String,
    /// For logs only.
    detail: Option<String>,
    retryable: bool,
}

impl Failure {
    fn retry(kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            detail: None,
            retryable: true,
        }
    }

    fn fatal(kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            retryable: false,
            ..Self::retry(kind, reason)
        }
    }

    fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn timeout() -> Self {
        Self::retry(
            "timeout",
            "Socket timeout while invoking the trigger handler",
        )
    }
}

impl Dispatcher {
    /// `nats` is needed only for NATS targets (Lambda ARNs and `nats:` subjects); Lambda ARNs map
    /// to `<subject_prefix>.<function name>`.
    pub fn new(
        nats: Option<async_nats::Client>,
        subject_prefix: impl Into<String>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            // A webhook that redirects is misconfigured; following it would turn the POST into
            // a GET or send the event somewhere nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cognate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            nats,
            http,
            subject_prefix: subject_prefix.into(),
            attempt_timeout: ATTEMPT_TIMEOUT,
        })
    }

    /// Replaces Cognito's 5 s per attempt; for tests that exercise timeouts.
    pub fn with_attempt_timeout(mut self, attempt_timeout: Duration) -> Self {
        self.attempt_timeout = attempt_timeout;
        self
    }

    /// Delivers `event` for `trigger` (e.g. `PreAuthentication`) to `target` (a `LambdaConfig`
    /// value) and returns the handler's reply, the event with `response` filled in.
    ///
    /// A handler error is `UserLambdaValidationException` and is not retried; a target that
    /// cannot be reached or answers nonsense is `UnexpectedLambdaException` after three attempts.
    #[tracing::instrument(name = "trigger", skip_all, fields(trigger = %trigger))]
    pub async fn invoke(&self, target: &str, trigger: &str, event: &Value) -> CognitoResult<Value> {
        let target = Target::resolve(target, &self.subject_prefix).map_err(|error| {
            tracing::warn!(trigger, %error, "trigger target is not deliverable");
            unexpected(trigger, &error.to_string())
        })?;
        let payload = Bytes::from(serde_json::to_vec(event).map_err(|error| {
            cognate_common::error::internal("trigger event does not serialize", error)
        })?);
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let span = tracing::info_span!("trigger_attempt", attempt);
            let outcome = self
                .attempt(&target, payload.clone())
                .instrument(span)
                .await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let target = target.redacted();
            match outcome {
                Ok(Reply::Event(reply)) => {
                    tracing::info!(%target, trigger, attempt, outcome = "ok", latency_ms, "trigger delivered");
                    return Ok(reply);
                }
                Ok(Reply::Deny(message)) => {
                    // The message is the handler's and may quote user data: not logged.
                    tracing::info!(%target, trigger, attempt, outcome = "deny", latency_ms, "trigger denied");
                    return Err(CognitoError::new(
                        ErrorCode::UserLambdaValidationException,
                        format!("{trigger} failed with error {message}."),
                    ));
                }
                Err(failure) => {
                    tracing::warn!(
                        %target,
                        trigger,
                        attempt,
                        outcome = failure.kind,
                        latency_ms,
                        detail = failure.detail.as_deref().unwrap_or(""),
                        "trigger attempt failed"
                    );
                    if !failure.retryable || attempt >= MAX_ATTEMPTS {
                        return Err(unexpected(trigger, &failure.reason));
                    }
                    tokio::time::sleep(RETRY_BACKOFF * attempt).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(&self, target: &Target, payload: Bytes) -> Result<Reply, Failure> {
        let delivery = async {
            match target {
                Target::Nats(subject) => self.request_nats(subject, payload).await,
                Target::Webhook(url) => self.post_webhook(url, payload).await,
            }
        };
        tokio::time::timeout(self.attempt_timeout, delivery)
            .await
            .unwrap_or_else(|_elapsed| Err(Failure::timeout()))
    }

    async fn request_nats(&self, subject: &str, payload: Bytes) -> Result<Reply, Failure> {
        let Some(client) = &self.nats else {
            return Err(Failure::fatal(
                "no_nats",
                "no NATS server is configured (COGNATE_NATS_URL)",
            ));
        };
        let mut request = async_nats::Request::new()
            .payload(payload)
            .timeout(Some(self.attempt_timeout));
        let headers = nats_trace_headers();
        if !headers.is_empty() {
            request = request.headers(headers);
        }
        let message = client
            .send_request(subject.to_owned(), request)
            .await
            .map_err(|error| {
                use async_nats::RequestErrorKind;
                let failure = match error.kind() {
                    RequestErrorKind::TimedOut => Failure::timeout(),
                    RequestErrorKind::NoResponders => Failure::retry(
                        "no_responders",
                        "no handler answers on the trigger's NATS subject",
                    ),
                    RequestErrorKind::InvalidSubject => {
                        Failure::fatal("invalid_subject", "the trigger's NATS subject is invalid")
                    }
                    RequestErrorKind::MaxPayloadExceeded => Failure::fatal(
                        "payload_too_large",
                        "the event exceeds the NATS server's max_payload",
                    ),
                    RequestErrorKind::Other => {
                        Failure::retry("nats_error", "the NATS request failed")
                    }
                };
                failure.with_detail(format!("subject {subject}: {error}"))
            })?;
        if let Some(status) = message.status.filter(|status| !status.is_success()) {
            return Err(
                Failure::retry("nats_status", "the NATS request failed").with_detail(format!(
                    "subject {subject}: status {} {}",
                    status.as_u16(),
                    message.description.as_deref().unwrap_or("")
                )),
            );
        }
        if let Some(error) = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(NATS_SERVICE_ERROR))
        {
            return Ok(Reply::Deny(error.as_str().to_owned()));
        }
        interpret_body(&message.payload)
    }

    async fn post_webhook(&self, url: &reqwest::Url, payload: Bytes) -> Result<Reply, Failure> {
        let mut headers = reqwest::header::HeaderMap::new();
        telemetry::inject_current(&mut headers);
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let mut response = self
            .http
            .post(url.clone())
            .headers(headers)
            .body(payload)
            .send()
            .await
            .map_err(http_failure)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_failure)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(Failure::retry(
                    "reply_too_large",
                    "the trigger handler's reply is larger than 6 MB",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        match interpret_body(&body) {
            Ok(Reply::Event(_)) | Err(_) if !status.is_success() => Err(Failure::retry(
                "http_status",
                format!("the trigger webhook answered HTTP {}", status.as_u16()),
            )),
            reply => reply,
        }
    }
}

/// `UnexpectedLambdaException` in Cognito's words, e.g.
/// `PreSignUp invocation failed due to error AccessDeniedException.`
fn unexpected(trigger: &str, reason: &str) -> CognitoError {
    CognitoError::new(
        ErrorCode::UnexpectedLambdaException,
        format!("{trigger} invocation failed due to error {reason}."),
    )
}

/// The current trace context (`traceparent`, `tracestate`) as NATS headers.
fn nats_trace_headers() -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    for (name, value) in telemetry::current_trace_headers() {
        if let (Ok(name), Ok(value)) = (
            name.parse::<async_nats::HeaderName>(),
            value.parse::<async_nats::HeaderValue>(),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

/// A handler's reply: the event as a JSON object, or Lambda's error shape, which is a deny.
fn interpret_body(body: &[u8]) -> Result<Reply, Failure> {
    let invalid = || {
        Failure::retry(
            "invalid_reply",
            "the trigger handler's reply is not a JSON object",
        )
    };
    let reply: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
    if let Some(message) = reply.get("errorMessage").and_then(Value::as_str) {
        return Ok(Reply::Deny(message.to_owned()));
    }
    if !reply.is_object() {
        return Err(invalid());
    }
    Ok(Reply::Event(reply))
}

fn http_failure(error: reqwest::Error) -> Failure {
    // The URL may carry a secret (a token in the query); the log gets the redacted target.
    let error = error.without_url();
    let failure = if error.is_timeout() {
        Failure::timeout()
    } else if error.is_connect() {
        Failure::retry("connect_error", "could not connect to the trigger webhook")
    } else {
        Failure::retry("http_error", "the request to the trigger webhook failed")
    };
    failure.with_detail(error_chain(&error))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
