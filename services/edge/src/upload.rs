//! `PUT /_import/<job id>?token=...`: the pre-signed URL of a user import job
//! (CreateUserImportJob's `PreSignedUrl`), where the CSV file is uploaded as to S3 (`curl -X PUT
//! --upload-file users.csv <url>`). The token in the URL is the authorisation; the file is
//! limited to Cognito's 100 MB.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use cognate_common::{CognitoError, ServiceKind};
use cognate_proto::internal::v1::UploadUserImportCsvRequest;
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;

use crate::EdgeState;

#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    token: Option<String>,
}

pub async fn upload_csv(
    State(state): State<EdgeState>,
    Path(job_id): Path<String>,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Response {
    let Ok(csv) = String::from_utf8(body.to_vec()) else {
        return (StatusCode::BAD_REQUEST, "the file is not UTF-8 text\n").into_response();
    };
    let mut directory = DirectoryInternalClient::new(state.peers.channel(ServiceKind::Directory))
        .max_encoding_message_size(cognate_common::MAX_IMPORT_CSV_BYTES + 1024);
    let outcome = directory
        .upload_user_import_csv(UploadUserImportCsvRequest {
            job_id,
            token: query.token.unwrap_or_default(),
            csv,
        })
        .await
        .map_err(CognitoError::from);
    match outcome {
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) if error.is_server_fault() => {
            (StatusCode::INTERNAL_SERVER_ERROR, "the upload failed\n").into_response()
        }
        Err(error) => (StatusCode::FORBIDDEN, format!("{}\n", error.message)).into_response(),
    }
}
