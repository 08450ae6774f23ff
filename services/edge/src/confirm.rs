//! `GET /confirmUser?client_id=..&user_name=..&confirmation_code=..`: the link a
//! CONFIRM_WITH_LINK pool emails at sign-up, as on Cognito's hosted pages. It confirms the user
//! and answers with a small HTML page.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use cognate_common::{CognitoError, ServiceKind};
use cognate_proto::internal::v1::ConfirmSignUpByLinkRequest;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;

use crate::EdgeState;

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmQuery {
    client_id: Option<String>,
    user_name: Option<String>,
    confirmation_code: Option<String>,
}

pub async fn confirm_user(
    State(state): State<EdgeState>,
    Query(query): Query<ConfirmQuery>,
) -> Response {
    let present = |value: Option<String>| value.filter(|text| !text.is_empty());
    let (Some(client_id), Some(username), Some(code)) = (
        present(query.client_id),
        present(query.user_name),
        present(query.confirmation_code),
    ) else {
        return page(
            StatusCode::BAD_REQUEST,
            "This confirmation link is incomplete.",
        );
    };
    let mut directory = DirectoryInternalClient::new(state.peers.channel(ServiceKind::Directory));
    let outcome = directory
        .confirm_sign_up_by_link(ConfirmSignUpByLinkRequest {
            client_id,
            username,
            confirmation_code: code,
        })
        .await
        .map_err(CognitoError::from);
    match outcome {
        Ok(_) => page(StatusCode::OK, "Your registration has been confirmed!"),
        Err(error) if error.is_server_fault() => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An error was encountered with the confirmation. Please try again later.",
        ),
        Err(error) => page(StatusCode::BAD_REQUEST, &error.message),
    }
}

fn page(status: StatusCode, message: &str) -> Response {
    let message = escape(message);
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Confirmation</title></head>\
         <body><p>{message}</p></body></html>\n"
    );
    (status, Html(body)).into_response()
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_are_escaped() {
        assert_eq!(
            super::escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
