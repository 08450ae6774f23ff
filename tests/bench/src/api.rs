//! Raw AWS JSON calls to the edge, with a well-formed dev SigV4 signature for Admin* operations
//! (the loopback edge without access keys accepts any).

use anyhow::{Context, bail};
use serde_json::Value;

#[derive(Clone)]
pub struct Edge {
    pub endpoint: String,
    pub http: reqwest::Client,
}

/// `X-Amz-Date` and `Authorization` for now.
fn dev_signature() -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDBENCH/{}/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    (date, authorization)
}

impl Edge {
    pub fn new(endpoint: &str, concurrency: usize) -> anyhow::Result<Edge> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(1) * 2)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Edge {
            endpoint: endpoint.to_owned(),
            http,
        })
    }

    /// Calls `AWSCognitoIdentityProviderService.<operation>`; a non-2xx answer is an error
    /// carrying Cognito's `__type` and message.
    pub async fn call(&self, operation: &str, body: &Value, signed: bool) -> anyhow::Result<Value> {
        let (status, value) = self.send(operation, body, signed).await?;
        if !status.is_success() {
            bail!(
                "{operation}: {status} {} {}",
                value["__type"].as_str().unwrap_or("?"),
                value["message"]
                    .as_str()
                    .or(value["Message"].as_str())
                    .unwrap_or("")
            );
        }
        Ok(value)
    }

    /// Calls `operation`, which must be refused with `error_type` (Cognito's `__type`) and a
    /// message that is exactly `message`.
    pub async fn refused(
        &self,
        operation: &str,
        body: &Value,
        (error_type, message): (&str, &str),
    ) -> anyhow::Result<()> {
        let (status, value) = self.send(operation, body, false).await?;
        anyhow::ensure!(
            status.is_client_error()
                && value["__type"] == error_type
                && value["message"] == message,
            "{operation}: expected {error_type} \"{message}\", got {status} {value}"
        );
        Ok(())
    }

    /// The answer's status and JSON body (null if it is not JSON).
    async fn send(
        &self,
        operation: &str,
        body: &Value,
        signed: bool,
    ) -> anyhow::Result<(reqwest::StatusCode, Value)> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            )
            .body(body.to_string());
        if signed {
            let (date, authorization) = dev_signature();
            request = request
                .header("x-amz-date", date)
                .header("authorization", authorization);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{operation}: no answer"))?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the answer")?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

/// A string field of an answer, or an error naming it.
pub fn text<'a>(value: &'a Value, pointer: &str) -> anyhow::Result<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .with_context(|| format!("the answer has no {pointer}: {value}"))
}
