//! `PUT /_import/<job id>?token=...`: the pre-signed URL of a user import job
//! (CreateUserImportJob's `PreSignedUrl`), where the CSV file is uploaded as to S3 (`curl -X PUT
//! --upload-file users.csv <url>`). The token in the URL is the authorisation, and anyone can
//! send a body, so the directory checks the token before a byte of the file is read; the file
//! then streams to the directory in pieces, never whole in memory, cut off at Cognito's 100 MB,
//! and only `MAX_CONCURRENT_UPLOADS` stream through a process at once.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use futures::channel::mpsc;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prometheus_client::metrics::gauge::Gauge;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use cognate_common::grpc::{Peers, StreamedRequest};
use cognate_common::{CognitoError, ErrorCode, MAX_IMPORT_CSV_BYTES, ServiceKind};
use cognate_proto::internal::v1::directory_internal_client::DirectoryInternalClient;
use cognate_proto::internal::v1::{UploadUserImportCsvPiece, UserImportUpload};

/// Uploads that may stream through one process at once. Each holds a few pieces here and in the
/// directory, and a file is imported once: a few at a time is plenty.
pub const MAX_CONCURRENT_UPLOADS: usize = 4;

/// The largest piece of a file sent to the directory in one message.
const PIECE_BYTES: usize = 64 * 1024;

/// The upload route's state: the directory, and the permits of the uploads in progress.
#[derive(Clone)]
pub struct Uploads {
    peers: Peers,
    permits: Arc<Semaphore>,
    in_progress: Gauge,
}

impl Uploads {
    /// `in_progress`: the metric counting the uploads that hold a permit.
    pub fn new(peers: Peers, in_progress: Gauge) -> Self {
        Self {
            peers,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_UPLOADS)),
            in_progress,
        }
    }
}

/// An upload's place among the few that may stream at once, shown in the metric while held.
struct Streaming {
    _permit: OwnedSemaphorePermit,
    in_progress: Gauge,
}

impl Streaming {
    fn new(permit: OwnedSemaphorePermit, in_progress: &Gauge) -> Self {
        in_progress.inc();
        Self {
            _permit: permit,
            in_progress: in_progress.clone(),
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.in_progress.dec();
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    token: Option<String>,
}

/// Why the edge stopped reading an upload's body.
#[derive(Debug)]
enum BodyFailure {
    TooLarge,
    Read(axum::BoxError),
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the file is larger than {} MB\n",
            MAX_IMPORT_CSV_BYTES / (1024 * 1024)
        ),
    )
        .into_response()
}

/// The answer to a directory's refusal, as S3 would give it to the uploader.
fn refusal(error: &CognitoError) -> Response {
    let status = match error.code {
        ErrorCode::NotAuthorizedException => StatusCode::FORBIDDEN,
        ErrorCode::EntityTooLarge => return too_large(),
        _ if error.is_server_fault() => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "the upload failed\n").into_response();
        }
        _ => StatusCode::BAD_REQUEST,
    };
    (status, format!("{}\n", error.message)).into_response()
}

pub async fn upload_csv(
    State(uploads): State<Uploads>,
    Path(job_id): Path<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let upload = UserImportUpload {
        job_id,
        token: query.token.unwrap_or_default(),
    };
    let mut directory = DirectoryInternalClient::new(uploads.peers.channel(ServiceKind::Directory));
    // Before any of the body: a wrong token costs the sender its request, not this process.
    if let Err(error) = directory
        .authorize_user_import_upload(upload.clone())
        .await
        .map_err(CognitoError::from)
    {
        return refusal(&error);
    }
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > MAX_IMPORT_CSV_BYTES) {
        return too_large();
    }
    let Ok(permit) = uploads.permits.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many uploads are in progress; try again shortly\n",
        )
            .into_response();
    };
    let _streaming = Streaming::new(permit, &uploads.in_progress);
    // One piece waits while the next is read: the directory's pace sets the reading's.
    let (pieces, receiver) = mpsc::channel(1);
    let mut request = tonic::Request::new(receiver);
    request.extensions_mut().insert(StreamedRequest);
    let (read, stored) = tokio::join!(
        feed(body, upload, pieces),
        directory.upload_user_import_csv(request)
    );
    match (read, stored.map_err(CognitoError::from)) {
        (Err(BodyFailure::TooLarge), _) => too_large(),
        (Err(BodyFailure::Read(error)), _) => {
            tracing::info!(%error, "an upload's body ended early");
            (StatusCode::BAD_REQUEST, "the upload was cut short\n").into_response()
        }
        (Ok(()), Ok(_)) => StatusCode::OK.into_response(),
        (Ok(()), Err(error)) => refusal(&error),
    }
}

/// Reads the body and sends it on in pieces, the job named in the first and the end marked in
/// the last; the directory takes the file only once that last piece arrives. Stops reading when
/// the directory stops listening (it has answered).
async fn feed(
    body: Body,
    upload: UserImportUpload,
    mut pieces: mpsc::Sender<UploadUserImportCsvPiece>,
) -> Result<(), BodyFailure> {
    let mut body = Limited::new(body, MAX_IMPORT_CSV_BYTES);
    let mut first = Some(upload);
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) if error.is::<LengthLimitError>() => return Err(BodyFailure::TooLarge),
            Err(error) => return Err(BodyFailure::Read(error)),
        };
        // Trailers carry nothing of the file.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        while !data.is_empty() {
            let piece = data.split_to(data.len().min(PIECE_BYTES));
            let sent = pieces
                .send(UploadUserImportCsvPiece {
                    upload: first.take(),
                    data: piece.to_vec(),
                    last: false,
                })
                .await;
            if sent.is_err() {
                return Ok(());
            }
        }
    }
    // Unsent only when the directory has answered already; its answer says why.
    let _ = pieces
        .send(UploadUserImportCsvPiece {
            upload: first.take(),
            data: Vec::new(),
            last: true,
        })
        .await;
    Ok(())
}
