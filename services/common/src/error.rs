//! The one error every service returns: a Cognito error type (`__type`) and its message. It
//! crosses gRPC as a `tonic::Status` whose metadata carries the type, so the edge can answer
//! exactly as Cognito does; internals are logged where they happen, never sent.

use tonic::metadata::MetadataValue;

const ERROR_TYPE_KEY: &str = "cognate-error-type";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct CognitoError {
    /// Cognito's `__type`, e.g. `ResourceNotFoundException`.
    pub error_type: String,
    pub message: String,
}

pub type CognitoResult<T> = Result<T, CognitoError>;

impl CognitoError {
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", message)
    }

    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new("NotAuthorizedException", message)
    }

    /// For failures the caller cannot fix. Log the cause before calling this: it is not sent.
    pub fn internal() -> Self {
        Self::new("InternalErrorException", "Internal server error.")
    }

    /// An operation Cognate does not implement yet.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            "UnsupportedOperationException",
            format!("Cognate does not implement {operation} yet."),
        )
    }

    /// HTTP status for AWS JSON responses when the service model has no entry for the type.
    pub fn is_server_fault(&self) -> bool {
        matches!(
            self.error_type.as_str(),
            "InternalErrorException" | "InternalServerException" | "InternalFailure"
        )
    }
}

/// Logs an internal failure with its cause and returns the opaque Cognito error.
pub fn internal(context: &str, cause: impl std::fmt::Display) -> CognitoError {
    tracing::error!(%cause, "{context}");
    CognitoError::internal()
}

impl From<CognitoError> for tonic::Status {
    fn from(error: CognitoError) -> Self {
        let code = match error.error_type.as_str() {
            "ResourceNotFoundException" | "UserNotFoundException" => tonic::Code::NotFound,
            "NotAuthorizedException" => tonic::Code::PermissionDenied,
            "TooManyRequestsException" | "LimitExceededException" => tonic::Code::ResourceExhausted,
            _ if error.is_server_fault() => tonic::Code::Internal,
            _ => tonic::Code::FailedPrecondition,
        };
        let mut status = tonic::Status::new(code, error.message);
        if let Ok(value) = MetadataValue::try_from(error.error_type.as_str()) {
            status.metadata_mut().insert(ERROR_TYPE_KEY, value);
        }
        status
    }
}

impl From<tonic::Status> for CognitoError {
    fn from(status: tonic::Status) -> Self {
        if let Some(error_type) = status
            .metadata()
            .get(ERROR_TYPE_KEY)
            .and_then(|value| value.to_str().ok())
        {
            return Self::new(error_type, status.message());
        }
        match status.code() {
            tonic::Code::Unimplemented => Self::new(
                "UnsupportedOperationException",
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

    #[test]
    fn an_untyped_failure_is_an_opaque_internal_error() {
        let error = CognitoError::from(tonic::Status::unavailable("connection refused"));
        assert_eq!(error, CognitoError::internal());
        let error = CognitoError::from(tonic::Status::unimplemented("nope"));
        assert_eq!(error.error_type, "UnsupportedOperationException");
    }
}
