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
use prost_reflect::{DynamicMessage, MessageDescriptor};
use serde_json::{Value as Json, json};
use tracing::Instrument;

use cognate_common::{CognitoError, ErrorCode, ServiceKind};
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

    /// The one mapping of an error to the wire: the catalogue's status on `model`'s surface.
    fn of(model: &ServiceModel, error: CognitoError) -> Self {
        Self::new(error.code.http_status(&model.signing_name), error)
    }
}

/// The answer with AWS's headers: content type, request id, and for errors `x-amzn-ErrorType`.
fn respond(request_id: &str, outcome: Result<Json, AwsError>) -> Response {
    let (status, body, error_type) = match outcome {
        Ok(body) => (StatusCode::OK, body, None),
        Err(AwsError { status, error }) => (
            status,
            json!({"__type": error.error_type(), "message": error.message}),
            Some(error.error_type()),
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
                ErrorCode::UnknownOperationException,
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

/// The body of a request as the operation's input message: AWS JSON decoded, its top level
/// validated against the model, and converted by reflection. Any body at all gives the message
/// or a Cognito error (`SerializationException`, `InvalidParameterException`).
fn decode_input(
    model: &ServiceModel,
    input_shape: &str,
    body: &[u8],
) -> Result<DynamicMessage, AwsError> {
    let json: Json = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|error| {
            AwsError::new(
                400,
                CognitoError::new(
                    ErrorCode::SerializationException,
                    format!("The request body is not valid JSON: {error}"),
                ),
            )
        })?
    };
    let Json::Object(object) = &json else {
        return Err(AwsError::new(
            400,
            CognitoError::new(
                ErrorCode::SerializationException,
                "The request body must be a JSON object.",
            ),
        ));
    };
    validate(model, input_shape, object).map_err(|error| AwsError::of(model, error))?;
    let input = DESCRIPTOR_POOL
        .get_message_by_name(&model.message_name(input_shape))
        .ok_or_else(|| {
            AwsError::of(
                model,
                cognate_common::error::internal("input message missing", input_shape),
            )
        })?;
    awsjson::json_to_message(&json, &input, "")
        .map_err(|error| AwsError::of(model, CognitoError::invalid_parameter(error.to_string())))
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
            let error = CognitoError::new(
                ErrorCode::RequestEntityTooLargeException,
                rejection.body_text(),
            );
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
        let admitted = state
            .throttle
            .admits(&operation, caller, &headers)
            .await
            .map_err(|error| AwsError::of(model, error))?;
        if !admitted {
            return Err(AwsError::new(
                400,
                CognitoError::new(ErrorCode::TooManyRequestsException, "Too many requests"),
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
                error_type: error.error_type().to_owned(),
            })
            .inc();
        span.in_scope(|| {
            tracing::info!(
                status = status.as_u16(),
                error_type = error.error_type(),
                "request failed"
            )
        });
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
                    ErrorCode::UnrecognizedClientException,
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
                CognitoError::new(error.code(), error.to_string()),
            )
        })?;
        // A signature for another region is for another endpoint, as at AWS.
        if checked.is_some() && caller.region != state.config.region {
            return Err(AwsError::new(
                403,
                CognitoError::new(
                    ErrorCode::InvalidSignatureException,
                    format!(
                        "Credential should be scoped to a valid region, not '{}'. ",
                        caller.region
                    ),
                ),
            ));
        }
    }
    let message = decode_input(model, &spec.input, body)?;
    let output = DESCRIPTOR_POOL
        .get_message_by_name(&model.message_name(&spec.output))
        .ok_or_else(|| {
            AwsError::of(
                model,
                cognate_common::error::internal("output message missing", &spec.output),
            )
        })?;

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
    encode_reply(model, output, operation, reply.into_inner())
}

/// A peer's reply as the operation's AWS JSON answer; a reply that does not decode is an
/// internal error, whatever its bytes.
fn encode_reply(
    model: &ServiceModel,
    output: MessageDescriptor,
    operation: &str,
    reply: Bytes,
) -> Result<Json, AwsError> {
    let decoded = DynamicMessage::decode(output, reply).map_err(|error| {
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
        assert_eq!(error.error.code, ErrorCode::UnknownOperationException);
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
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
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

    /// Property tests (`fuzz_*`; README, "Fuzzing") of the decoding of request bodies and of
    /// peers' replies.
    mod fuzz {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD as BASE64;
        use proptest::prelude::*;
        use proptest::sample::Index;
        use prost_reflect::{FieldDescriptor, Kind, ReflectMessage};
        use serde_json::{Map, Number};

        use super::*;

        /// Every operation the edge serves over AWS JSON, in a fixed order.
        fn operations() -> Vec<(&'static ServiceModel, &'static str)> {
            let mut operations: Vec<(&'static ServiceModel, &'static str)> =
                [&*model::IDP, &*model::IDENTITY]
                    .into_iter()
                    .flat_map(|model| {
                        model
                            .operations
                            .keys()
                            .map(move |operation| (model, operation.as_str()))
                    })
                    .collect();
            operations.sort_by_key(|(model, operation)| (&model.signing_name, *operation));
            operations
        }

        /// Decodes a body for the chosen operation and checks that the answer is the message or a
        /// client error of the decoder's own two kinds, never an internal error.
        fn decode_checked(operation: Index, body: &[u8]) -> Result<(), TestCaseError> {
            let operations = operations();
            let (model, name) = operations[operation.index(operations.len())];
            let input = &model.operations[name].input;
            match decode_input(model, input, body) {
                Ok(message) => {
                    // What the edge decoded, it can write out again, and reading that back gives
                    // the same JSON: the conversion loses nothing it accepted.
                    let once = awsjson::message_to_json(&message, false);
                    let descriptor = message.descriptor();
                    let reread = awsjson::json_to_message(&once, &descriptor, "")
                        .map_err(|error| TestCaseError::fail(format!("{name}: {error}")))?;
                    prop_assert_eq!(awsjson::message_to_json(&reread, false), once);
                }
                Err(AwsError { status, error }) => {
                    prop_assert!(
                        ["SerializationException", "InvalidParameterException"]
                            .contains(&error.error_type()),
                        "{name}: {} {}",
                        error.error_type(),
                        error.message
                    );
                    prop_assert_eq!(status, StatusCode::BAD_REQUEST);
                }
            }
            Ok(())
        }

        /// Draws choices from fuzzer bytes, so that the same bytes always build the same JSON and
        /// proptest's shrinking of the bytes shrinks the JSON. Past the end every choice is 0.
        struct Choices<'bytes> {
            bytes: &'bytes [u8],
        }

        impl Choices<'_> {
            fn byte(&mut self) -> u8 {
                match self.bytes.split_first() {
                    Some((first, rest)) => {
                        self.bytes = rest;
                        *first
                    }
                    None => 0,
                }
            }

            /// A number below `bound` (0 when `bound` is 0).
            fn below(&mut self, bound: usize) -> usize {
                let wide = usize::from(self.byte()) << 8 | usize::from(self.byte());
                wide % bound.max(1)
            }

            fn one_in(&mut self, odds: usize) -> bool {
                self.below(odds) == 0
            }

            fn string(&mut self) -> String {
                const INTERESTING: [&str; 8] =
                    ["", " ", "\"", "\\", "\u{0}", "é", "\u{1F600}", "%"];
                let length = self.below(12);
                (0..length)
                    .map(|_| match self.below(4) {
                        0 => INTERESTING[self.below(INTERESTING.len())].to_owned(),
                        _ => char::from(b' ' + self.byte() % 95).to_string(),
                    })
                    .collect()
            }

            fn integer(&mut self) -> Json {
                const EDGES: [i64; 7] = [
                    0,
                    1,
                    -1,
                    i32::MAX as i64,
                    i32::MIN as i64,
                    i64::MAX,
                    i64::MIN,
                ];
                match self.below(4) {
                    0 => Json::from(EDGES[self.below(EDGES.len())]),
                    1 => Json::from(u64::MAX - u64::from(self.byte())),
                    _ => Json::from(i64::from(self.byte()) - 128),
                }
            }

            fn number(&mut self) -> Json {
                const EDGES: [f64; 5] = [0.5, -0.0, 1.7e9, f64::MAX, f64::MIN_POSITIVE];
                match self.below(3) {
                    0 => Number::from_f64(EDGES[self.below(EDGES.len())])
                        .map_or(Json::Null, Json::Number),
                    _ => self.integer(),
                }
            }

            /// Any JSON at all, nested at most `depth` deep.
            fn any_json(&mut self, depth: u32) -> Json {
                let kinds = if depth == 0 { 5 } else { 7 };
                match self.below(kinds) {
                    0 => Json::Null,
                    1 => Json::Bool(self.one_in(2)),
                    2 => self.number(),
                    3 | 4 => Json::String(self.string()),
                    5 => Json::Array(
                        (0..self.below(4))
                            .map(|_| self.any_json(depth - 1))
                            .collect(),
                    ),
                    _ => Json::Object(
                        (0..self.below(4))
                            .map(|_| (self.string(), self.any_json(depth - 1)))
                            .collect(),
                    ),
                }
            }

            /// JSON that mostly fits `descriptor`'s members, with now and then a member of the
            /// wrong type or one the message does not have. At the top level the model's required
            /// members are usually there and its enum members usually valid, so that many inputs
            /// get past validation to the conversion.
            fn shaped_object(
                &mut self,
                model: &ServiceModel,
                descriptor: &MessageDescriptor,
                depth: u32,
                top_level: bool,
            ) -> Json {
                let fields: Vec<FieldDescriptor> = descriptor.fields().collect();
                let mut object = Map::new();
                if top_level && let Some(shape) = model.shapes.get(descriptor.name()) {
                    for member in &shape.required {
                        if !self.one_in(8) {
                            object.insert(member.clone(), Json::String(self.string()));
                        }
                    }
                    for (member, rules) in &shape.members {
                        if let Some(allowed) = &rules.r#enum
                            && !allowed.is_empty()
                            && self.one_in(2)
                        {
                            let value = allowed[self.below(allowed.len())].clone();
                            object.insert(member.clone(), Json::String(value));
                        }
                    }
                }
                for _ in 0..self.below(fields.len() + 3) {
                    if fields.is_empty() || self.one_in(10) {
                        let value = self.any_json(depth);
                        object.insert(self.string(), value);
                        continue;
                    }
                    let field = &fields[self.below(fields.len())];
                    let value = self.shaped_member(model, field, depth);
                    object.insert(field.json_name().to_owned(), value);
                }
                Json::Object(object)
            }

            fn shaped_member(
                &mut self,
                model: &ServiceModel,
                field: &FieldDescriptor,
                depth: u32,
            ) -> Json {
                if self.one_in(10) {
                    return self.any_json(depth);
                }
                if field.is_map() {
                    let Kind::Message(entry) = field.kind() else {
                        return self.any_json(depth);
                    };
                    let value_kind = entry.map_entry_value_field().kind();
                    return Json::Object(
                        (0..self.below(4))
                            .map(|_| (self.string(), self.shaped_kind(model, &value_kind, depth)))
                            .collect(),
                    );
                }
                if field.is_list() {
                    let kind = field.kind();
                    return Json::Array(
                        (0..self.below(4))
                            .map(|_| self.shaped_kind(model, &kind, depth))
                            .collect(),
                    );
                }
                self.shaped_kind(model, &field.kind(), depth)
            }

            fn shaped_kind(&mut self, model: &ServiceModel, kind: &Kind, depth: u32) -> Json {
                match kind {
                    Kind::String => Json::String(self.string()),
                    Kind::Bool => Json::Bool(self.one_in(2)),
                    Kind::Int32 | Kind::Int64 => self.integer(),
                    Kind::Double => self.number(),
                    Kind::Bytes => {
                        let bytes: Vec<u8> = (0..self.below(8)).map(|_| self.byte()).collect();
                        let encoded = BASE64.encode(bytes);
                        if self.one_in(4) {
                            // Not base64, or base64 cut short.
                            Json::String(format!(
                                "{}{}",
                                encoded.get(1..).unwrap_or_default(),
                                self.string()
                            ))
                        } else {
                            Json::String(encoded)
                        }
                    }
                    Kind::Message(descriptor) if depth > 0 => {
                        self.shaped_object(model, descriptor, depth - 1, false)
                    }
                    _ => self.any_json(depth.min(1)),
                }
            }
        }

        proptest! {
            #![proptest_config(cognate_common::fuzzing::config())]

            #[test]
            fn fuzz_arbitrary_bytes_decode_or_are_refused(
                operation in any::<Index>(),
                body in prop::collection::vec(any::<u8>(), 0..256),
            ) {
                decode_checked(operation, &body)?;
            }

            #[test]
            fn fuzz_arbitrary_json_decodes_or_is_refused(
                operation in any::<Index>(),
                entropy in prop::collection::vec(any::<u8>(), 0..512),
            ) {
                let json = Choices { bytes: &entropy }.any_json(4);
                decode_checked(operation, json.to_string().as_bytes())?;
            }

            #[test]
            fn fuzz_json_shaped_like_the_input_decodes_or_is_refused(
                operation in any::<Index>(),
                entropy in prop::collection::vec(any::<u8>(), 0..2048),
            ) {
                let operations = operations();
                let (model, name) = operations[operation.index(operations.len())];
                let descriptor = DESCRIPTOR_POOL
                    .get_message_by_name(&model.message_name(&model.operations[name].input))
                    .expect("every input is in the descriptor pool");
                let json = Choices { bytes: &entropy }.shaped_object(model, &descriptor, 4, true);
                decode_checked(operation, json.to_string().as_bytes())?;
            }

            /// Well-formed JSON with a few bytes changed: mostly invalid JSON that is nearly valid.
            #[test]
            fn fuzz_mutated_json_decodes_or_is_refused(
                operation in any::<Index>(),
                entropy in prop::collection::vec(any::<u8>(), 0..1024),
                mutations in prop::collection::vec((any::<Index>(), any::<u8>()), 1..4),
            ) {
                let operations = operations();
                let (model, name) = operations[operation.index(operations.len())];
                let descriptor = DESCRIPTOR_POOL
                    .get_message_by_name(&model.message_name(&model.operations[name].input))
                    .expect("every input is in the descriptor pool");
                let json = Choices { bytes: &entropy }.shaped_object(model, &descriptor, 3, true);
                let mut body = json.to_string().into_bytes();
                for (position, byte) in mutations {
                    let at = position.index(body.len());
                    body[at] = byte;
                }
                decode_checked(operation, &body)?;
            }

            /// Nesting as deep as a client cares to send, in plain JSON and through a document
            /// member (`google.protobuf.Value`, whose conversion recurses).
            #[test]
            fn fuzz_deeply_nested_json_decodes_or_is_refused(
                operation in any::<Index>(),
                depth in 0..400usize,
                array in any::<bool>(),
            ) {
                let (open, close) = if array { ("[", "]") } else { (r#"{"a":"#, "}") };
                let plain = format!("{{\"a\":{}1{}}}", open.repeat(depth), close.repeat(depth));
                decode_checked(operation, plain.as_bytes())?;
                let document = format!(
                    r#"{{"UserPoolId":"p","ClientId":"c","Settings":{}{{"numberValue":1}}{}}}"#,
                    r#"{"structValue":{"fields":{"a":"#.repeat(depth),
                    "}}}".repeat(depth)
                );
                let body = document.as_bytes();
                let model = &*model::IDP;
                // serde_json refuses nesting 128 deep; each level here is three objects.
                let within_limit = 2 + 3 * depth < 128;
                match decode_input(model, "CreateManagedLoginBrandingRequest", body) {
                    Ok(_) => prop_assert!(within_limit, "{depth}"),
                    Err(AwsError { error, .. }) => {
                        prop_assert!(!within_limit, "{depth}: {}", error.message);
                        prop_assert_eq!(error.code, ErrorCode::SerializationException);
                    }
                }
            }

            /// A peer's reply, however garbled, is an answer or an internal error.
            #[test]
            fn fuzz_arbitrary_replies_encode_or_are_internal_errors(
                operation in any::<Index>(),
                reply in prop::collection::vec(any::<u8>(), 0..256),
            ) {
                let operations = operations();
                let (model, name) = operations[operation.index(operations.len())];
                let output = DESCRIPTOR_POOL
                    .get_message_by_name(&model.message_name(&model.operations[name].output))
                    .expect("every output is in the descriptor pool");
                match encode_reply(model, output, name, Bytes::from(reply)) {
                    Ok(json) => prop_assert!(json.is_object(), "{json}"),
                    Err(AwsError { status, error }) => {
                        prop_assert_eq!(error.code, ErrorCode::InternalErrorException);
                        prop_assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
                    }
                }
            }
        }
    }
}
