//! `GET /_dev/outbox?userPoolId=..&username=..`: the messages Cognate recorded instead of sending
//! them, newest first, as JSON. Served in development mode only; 404 otherwise.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use cognate_common::{CognitoError, ErrorCode, ServiceKind};
use cognate_proto::internal::v1::ListDevOutboxRequest;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;

use crate::EdgeState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxQuery {
    user_pool_id: Option<String>,
    username: Option<String>,
}

pub async fn dev_outbox(
    State(state): State<EdgeState>,
    Query(query): Query<OutboxQuery>,
) -> Response {
    if !state.config.development_mode() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut client = DirectoryInternalClient::new(state.peers.channel(ServiceKind::Directory));
    let outcome = client
        .list_dev_outbox(ListDevOutboxRequest {
            user_pool_id: query.user_pool_id.unwrap_or_default(),
            username: query.username.unwrap_or_default(),
        })
        .await
        .map_err(CognitoError::from);
    let (status, body) = match outcome {
        Ok(outbox) => {
            let messages: Vec<_> = outbox
                .into_inner()
                .messages
                .into_iter()
                .map(|message| {
                    json!({
                        "userPoolId": message.user_pool_id,
                        "username": message.username,
                        "destination": message.destination,
                        "channel": message.channel,
                        "subject": message.subject,
                        "body": message.body,
                        "created": message.created,
                    })
                })
                .collect();
            (StatusCode::OK, json!(messages))
        }
        Err(error) if error.code == ErrorCode::NotAuthorizedException => {
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "message": error.message }),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
