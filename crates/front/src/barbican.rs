//! Barbican's error envelope: `{"code", "title", "description"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct Fault {
    status: StatusCode,
    description: String,
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({"code": self.status.as_u16(), "title": title,
                          "description": self.description});
        (self.status, axum::Json(body)).into_response()
    }
}

pub fn fault(status: StatusCode, description: impl Into<String>) -> Fault {
    Fault {
        status,
        description: description.into(),
    }
}

impl From<store::StoreError> for Fault {
    fn from(e: store::StoreError) -> Fault {
        tracing::error!(error = %e, "key manager: store error");
        fault(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
    }
}
