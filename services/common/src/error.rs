//! The one error every service returns: a code of the error catalogue (`ErrorCode`, generated
//! from the service models: the `__type` and its HTTP status) and its message. It crosses gRPC
//! as a `tonic::Status` whose metadata carries the code, so the edge can answer exactly as
//! Cognito does; internals are logged where they happen, never sent.

use tonic::metadata::MetadataValue;

pub use cognate_proto::ErrorCode;

const ERROR_TYPE_KEY: &str = "cognate-error-type";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct CognitoError {
    /// Cognito's `__type`, e.g. `ResourceNotFoundException`.
    pub code: ErrorCode,
    pub message: String,
}

pub type CognitoResult<T> = Result<T, CognitoError>;

impl CognitoError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterException, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFoundException, message)
    }

    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotAuthorizedException, message)
    }

    /// For failures the caller cannot fix. Log the cause before calling this: it is not sent.
    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalErrorException, "Internal server error.")
    }

    /// An operation Cognate does not implement yet.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            ErrorCode::UnsupportedOperationException,
            format!("Cognate does not implement {operation} yet."),
        )
    }

    /// The `__type` on the wire.
    pub fn error_type(&self) -> &'static str {
        self.code.name()
    }

    pub fn is_server_fault(&self) -> bool {
        self.code.is_server_fault()
    }
}

/// Logs an internal failure with its cause and returns the opaque Cognito error.
pub fn internal(context: &str, cause: impl std::fmt::Display) -> CognitoError {
    tracing::error!(%cause, "{context}");
    CognitoError::internal()
}

impl From<CognitoError> for tonic::Status {
    fn from(error: CognitoError) -> Self {
        let code = match error.code {
            ErrorCode::ResourceNotFoundException | ErrorCode::UserNotFoundException => {
                tonic::Code::NotFound
            }
            ErrorCode::NotAuthorizedException => tonic::Code::PermissionDenied,
            ErrorCode::TooManyRequestsException | ErrorCode::LimitExceededException => {
                tonic::Code::ResourceExhausted
            }
            _ if error.is_server_fault() => tonic::Code::Internal,
            _ => tonic::Code::FailedPrecondition,
        };
        let mut status = tonic::Status::new(code, error.message);
        status.metadata_mut().insert(
            ERROR_TYPE_KEY,
            MetadataValue::from_static(error.code.name()),
        );
        status
    }
}

impl From<tonic::Status> for CognitoError {
    fn from(status: tonic::Status) -> Self {
        let carried = status
            .metadata()
            .get(ERROR_TYPE_KEY)
            .and_then(|value| value.to_str().ok())
            .and_then(ErrorCode::from_name);
        if let Some(code) = carried {
            return Self::new(code, status.message());
        }
        match status.code() {
            tonic::Code::Unimplemented => Self::new(
                ErrorCode::UnsupportedOperationException,
                "Cognate does not implement this operation yet.",
            ),
            code => {
                tracing::error!(
                    ?code,
                    message = status.message(),
                    "peer service call failed"
                );
                Self::internal()
            }
        }
    }
}

/// The scope an access token needs for the user's own operations (GetUser, ChangePassword, MFA
/// settings, devices, sign-out), wherever they are served.
pub fn require_user_admin_scope(scopes: &[String]) -> CognitoResult<()> {
    if scopes
        .iter()
        .any(|scope| scope == "aws.cognito.signin.user.admin")
    {
        return Ok(());
    }
    Err(CognitoError::not_authorized(
        "Access Token does not have required scopes",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_type_survives_a_grpc_hop() {
        let error = CognitoError::not_found("User pool us-east-1_abc does not exist.");
        let status = tonic::Status::from(error.clone());
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(CognitoError::from(status), error);
    }

    /// The catalogue knows every error the models list, with their statuses per surface.
    #[test]
    fn the_catalogue_covers_the_models() {
        for model in [
            &*cognate_proto::model::IDP,
            &*cognate_proto::model::IDENTITY,
            &*cognate_proto::model::SYNC,
        ] {
            for (name, error) in &model.errors {
                let code = ErrorCode::from_name(name).expect("in the catalogue");
                assert_eq!(code.name(), name);
                assert_eq!(
                    code.http_status(&model.signing_name),
                    error.http_status,
                    "{name}"
                );
            }
        }
        assert_eq!(
            ErrorCode::NotAuthorizedException.http_status("cognito-idp"),
            400
        );
        assert_eq!(
            ErrorCode::NotAuthorizedException.http_status("cognito-sync"),
            403
        );
        assert!(ErrorCode::InternalErrorException.is_server_fault());
        assert!(!ErrorCode::UserNotFoundException.is_server_fault());
        assert_eq!(ErrorCode::from_name("NoSuchException"), None);
    }

    #[test]
    fn an_untyped_failure_is_an_opaque_internal_error() {
        let error = CognitoError::from(tonic::Status::unavailable("connection refused"));
        assert_eq!(error, CognitoError::internal());
        let error = CognitoError::from(tonic::Status::unimplemented("nope"));
        assert_eq!(error.code, ErrorCode::UnsupportedOperationException);
    }
}
