//! AWS JSON 1.1: `POST /` with `X-Amz-Target: <service prefix>.<Operation>`. Decode, check the
//! caller, convert the body to the operation's protobuf message by reflection, make one gRPC
//! call, and encode the answer or the error exactly as AWS does.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use prost::Message;
use prost_reflect::DynamicMessage;
use serde_json::{Value as Json, json};
use tracing::Instrument;

use cognate_common::{CognitoError, ServiceKind};
use cognate_proto::DESCRIPTOR_POOL;
use cognate_proto::awsjson;
use cognate_proto::model::{self, ServiceModel};

use crate::codec::RawCodec;
use crate::metrics::{ErrorLabels, OperationLabels};
use crate::{EdgeState, sigv4};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error on its way out, with the status AWS would send.
pub struct AwsError {
    status: StatusCode,
    error: CognitoError,
}

impl AwsError {
    fn new(status: u16, error: CognitoError) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            error,
        }
    }

    fn of(model: &ServiceModel, error: CognitoError) -> Self {
        let status = if error.is_server_fault() {
            500
        } else {
            model.error_status(&error.error_type)
        };
        Self::new(status, error)
    }
}

/// The answer with AWS's headers: content type, request id, and for errors `x-amzn-ErrorType`.
fn respond(request_id: &str, outcome: Result<Json, AwsError>) -> Response {
    let (status, body, error_type) = match outcome {
        Ok(body) => (StatusCode::OK, body, None),
        Err(AwsError { status, error }) => (
            status,
            json!({"__type": error.error_type, "message": error.message}),
            Some(error.error_type),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    if let Some(value) = error_type.and_then(|kind| HeaderValue::from_str(&format!("{kind}:")).ok())
    {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

/// Finds the service model and operation named by `X-Amz-Target`.
fn resolve_target(headers: &HeaderMap) -> Result<(&'static ServiceModel, String), AwsError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let unknown = || {
        AwsError::new(
            400,
            CognitoError::new(
                "UnknownOperationException",
                format!("Unknown operation '{target}'."),
            ),
        )
    };
    let (prefix, operation) = target.split_once('.').ok_or_else(unknown)?;
    let model = [&*model::IDP, &*model::IDENTITY]
        .into_iter()
        .find(|model| model.target_prefix.as_deref() == Some(prefix))
        .ok_or_else(unknown)?;
    if !model.operations.contains_key(operation) {
        return Err(unknown());
    }
    Ok((model, operation.to_owned()))
}

fn grpc_service_kind(grpc_service: &str) -> ServiceKind {
    match grpc_service.rsplit('.').next().unwrap_or_default() {
        "Auth" => ServiceKind::Auth,
        "Federation" => ServiceKind::Federation,
        "IdentityPools" | "Sync" => ServiceKind::IdentityPools,
        _ => ServiceKind::Directory,
    }
}

/// Required members and enum values of the input's top level, in AWS's validation wording.
fn validate(
    model: &ServiceModel,
    shape: &str,
    body: &serde_json::Map<String, Json>,
) -> Result<(), CognitoError> {
    let Some(shape) = model.shapes.get(shape) else {
        return Ok(());
    };
    let mut problems = Vec::new();
    for member in &shape.required {
        if body.get(member).is_none_or(Json::is_null) {
            problems.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                awsjson::member_path("", member)
            ));
        }
    }
    for (member, rules) in &shape.members {
        let (Some(allowed), Some(Json::String(value))) = (&rules.r#enum, body.get(member)) else {
            continue;
        };
        if !allowed.contains(value) {
            problems.push(format!(
                "Value '{value}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                awsjson::member_path("", member),
                allowed.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let count = problems.len();
    let noun = if count == 1 { "error" } else { "errors" };
    Err(CognitoError::invalid_parameter(format!(
        "{count} validation {noun} detected: {}",
        problems.join("; ")
    )))
}

pub async fn handle(
    State(state): State<EdgeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let error = CognitoError::new("RequestEntityTooLargeException", rejection.body_text());
            return respond(
                &request_id,
                Err(AwsError::new(rejection.status().as_u16(), error)),
            );
        }
    };
    let started = Instant::now();
    let resolved = resolve_target(&headers);
    let operation = resolved
        .as_ref()
        .map(|(_, operation)| operation.clone())
        .unwrap_or_else(|_| "Unknown".into());
    let span = tracing::info_span!("aws_request", %operation, %request_id);
    cognate_common::telemetry::adopt_parent(&span, &headers);
    let caller = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(address)| address.ip());
    let outcome = async {
        let (model, operation) = resolved?;
        if !state.throttle.admits(&operation, caller, Instant::now()) {
            return Err(AwsError::new(
                400,
                CognitoError::new("TooManyRequestsException", "Too many requests"),
            ));
        }
        call(&state, model, &operation, &method, &uri, &headers, &body).await
    }
    .instrument(span.clone())
    .await;

    let labels = OperationLabels {
        operation: operation.clone(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    if let Err(AwsError { status, error }) = &outcome {
        state
            .metrics
            .errors
            .get_or_create(&ErrorLabels {
                operation,
                error_type: error.error_type.clone(),
            })
            .inc();
        span.in_scope(|| tracing::info!(status = status.as_u16(), error_type = %error.error_type, "request failed"));
    }
    respond(&request_id, outcome)
}

async fn call(
    state: &EdgeState,
    model: &'static ServiceModel,
    operation: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json, AwsError> {
    let spec = &model.operations[operation];
    if !spec.unsigned {
        let keys = &state.config.access_keys;
        if keys.is_empty() && !state.config.dev {
            return Err(AwsError::new(
                403,
                CognitoError::new(
                    "UnrecognizedClientException",
                    "No access keys are configured, so no signed call is accepted. Set COGNATE_ACCESS_KEYS=ID:SECRET (or --access-keys) and sign with that key, or start Cognate with --dev for local development.",
                ),
            ));
        }
        let lookup = |id: &str| {
            keys.iter()
                .find(|key| key.access_key_id == id)
                .map(|key| key.secret_access_key.expose().to_owned())
        };
        let lookup_ref: &dyn Fn(&str) -> Option<String> = &lookup;
        let checked = if state.config.accepts_any_signature() {
            None
        } else {
            Some(lookup_ref)
        };
        let caller = sigv4::verify(
            method,
            uri,
            headers,
            body,
            &model.signing_name,
            state.clock.now(),
            checked,
        )
        .map_err(|error| {
            AwsError::new(
                error.http_status(),
                CognitoError::new(error.error_type(), error.to_string()),
            )
        })?;
        // A signature for another region is for another endpoint, as at AWS.
        if checked.is_some() && caller.region != state.config.region {
            return Err(AwsError::new(
                403,
                CognitoError::new(
                    "InvalidSignatureException",
                    format!(
                        "Credential should be scoped to a valid region, not '{}'. ",
                        caller.region
                    ),
                ),
            ));
        }
    }
    let json: Json = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|error| {
            AwsError::new(
                400,
                CognitoError::new(
                    "SerializationException",
                    format!("The request body is not valid JSON: {error}"),
                ),
            )
        })?
    };
    let Json::Object(object) = &json else {
        return Err(AwsError::new(
            400,
            CognitoError::new(
                "SerializationException",
                "The request body must be a JSON object.",
            ),
        ));
    };
    validate(model, &spec.input, object).map_err(|error| AwsError::of(model, error))?;
    let input = DESCRIPTOR_POOL
        .get_message_by_name(&model.message_name(&spec.input))
        .ok_or_else(|| {
            AwsError::of(
                model,
                cognate_common::error::internal("input message missing", &spec.input),
            )
        })?;
    let output = DESCRIPTOR_POOL
        .get_message_by_name(&model.message_name(&spec.output))
        .ok_or_else(|| {
            AwsError::of(
                model,
                cognate_common::error::internal("output message missing", &spec.output),
            )
        })?;
    let message = awsjson::json_to_message(&json, &input, "")
        .map_err(|error| AwsError::of(model, CognitoError::invalid_parameter(error.to_string())))?;

    let kind = grpc_service_kind(&spec.grpc_service);
    let mut grpc = tonic::client::Grpc::new(state.peers.channel(kind));
    grpc.ready().await.map_err(|error| {
        AwsError::of(
            model,
            cognate_common::error::internal("peer service unavailable", error),
        )
    })?;
    let path = http::uri::PathAndQuery::try_from(format!("/{}/{operation}", spec.grpc_service))
        .map_err(|error| {
            AwsError::of(
                model,
                cognate_common::error::internal("bad gRPC path", error),
            )
        })?;
    let reply = grpc
        .unary(
            tonic::Request::new(Bytes::from(message.encode_to_vec())),
            path,
            RawCodec,
        )
        .await
        .map_err(|status| {
            let error = if status.code() == tonic::Code::Unimplemented {
                CognitoError::unsupported(operation)
            } else {
                CognitoError::from(status)
            };
            AwsError::of(model, error)
        })?;
    let decoded = DynamicMessage::decode(output, reply.into_inner()).map_err(|error| {
        AwsError::of(
            model,
            cognate_common::error::internal("undecodable reply", error),
        )
    })?;
    // Cognito's List* answers carry their (possibly empty) lists; elsewhere empty lists are left out.
    Ok(awsjson::message_to_json(
        &decoded,
        operation.starts_with("List"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_to_models_and_unknown_ones_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("AWSCognitoIdentityProviderService.CreateUserPool"),
        );
        let (model, operation) = resolve_target(&headers).ok().expect("known target");
        assert_eq!(model.signing_name, "cognito-idp");
        assert_eq!(
            grpc_service_kind(&model.operations[&operation].grpc_service),
            ServiceKind::Directory
        );
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("AWSCognitoIdentityService.GetId"),
        );
        let (model, operation) = resolve_target(&headers).ok().expect("known target");
        assert_eq!(
            grpc_service_kind(&model.operations[&operation].grpc_service),
            ServiceKind::IdentityPools
        );
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("AWSCognitoIdentityProviderService.Nope"),
        );
        let error = resolve_target(&headers).expect_err("unknown");
        assert_eq!(error.error.error_type, "UnknownOperationException");
    }

    #[test]
    fn validation_names_every_problem_in_aws_wording() {
        let body = json!({"MfaConfiguration": "SOMETIMES"});
        let error = validate(
            &model::IDP,
            "CreateUserPoolRequest",
            body.as_object().expect("object"),
        )
        .expect_err("invalid");
        assert_eq!(error.error_type, "InvalidParameterException");
        assert!(
            error.message.starts_with("2 validation errors detected: "),
            "{}",
            error.message
        );
        assert!(error.message.contains(
            "Value null at 'poolName' failed to satisfy constraint: Member must not be null"
        ));
        assert!(
            error
                .message
                .contains("Value 'SOMETIMES' at 'mfaConfiguration'")
        );
    }
}
