//! API errors rendered as Octavia renders them: `{"faultcode", "faultstring", "debuginfo"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use model::Kind;
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Rendered as pecan's routing errors (`{"code", "title", "description"}`) instead of
    /// WSME's fault body.
    pub pecan_title: Option<&'static str>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            pecan_title: None,
        }
    }

    /// pecan's answer for an unknown route or method.
    pub fn routing(status: StatusCode, title: &'static str) -> ApiError {
        ApiError {
            status,
            message: String::new(),
            pecan_title: Some(title),
        }
    }

    /// pecan's 404 for a path no controller serves.
    pub fn no_route() -> ApiError {
        ApiError::routing(StatusCode::NOT_FOUND, "Not Found")
    }

    /// pecan's 405 for a method a controller does not take.
    pub fn method_not_allowed() -> ApiError {
        ApiError::routing(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// `ValidationException`.
    pub fn validation(detail: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(format!("Validation failure: {detail}"))
    }

    pub fn not_found(kind: Kind, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{} {id} not found.", kind.display_name()),
        )
    }

    pub fn not_found_named(what: &str, id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} {id} not found."))
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// `ImmutableObject`.
    pub fn immutable(kind: Kind, id: &str) -> ApiError {
        ApiError::conflict(format!(
            "{} {id} is immutable and cannot be updated.",
            kind.display_name()
        ))
    }

    /// `LBPendingStateError`.
    pub fn lb_pending(state: &str, id: &str) -> ApiError {
        ApiError::conflict(format!(
            "Invalid state {state} of loadbalancer resource {id}"
        ))
    }

    /// `InvalidOption`.
    pub fn invalid_option(value: impl std::fmt::Display, option: &str) -> ApiError {
        ApiError::bad_request(format!("{value} is not a valid option for {option}"))
    }

    pub fn invalid_input(field: &str, value: impl std::fmt::Display, reason: &str) -> ApiError {
        ApiError::bad_request(format!(
            "Invalid input for field/attribute {field}. Value: '{value}'. {reason}"
        ))
    }

    pub fn mandatory(field: &str) -> ApiError {
        ApiError::invalid_input(field, "None", "Mandatory field missing.")
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Policy does not allow this request to be performed.",
        )
    }

    pub fn invalid_filter() -> ApiError {
        ApiError::bad_request("One or more arguments are either duplicate or invalid")
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something unknown went wrong",
        )
    }

    pub fn unsupported_option(provider: &str, message: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("Provider '{provider}' does not support a requested option: {message}"),
        )
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> ApiError {
        tracing::error!(error = %e, "store failure");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(title) = self.pecan_title {
            let body =
                json!({"code": self.status.as_u16(), "title": title, "description": self.message});
            return (self.status, axum::Json(body)).into_response();
        }
        let faultcode = if self.status.is_server_error() {
            "Server"
        } else {
            "Client"
        };
        let body = json!({"faultcode": faultcode, "faultstring": self.message, "debuginfo": null});
        (self.status, axum::Json(body)).into_response()
    }
}
