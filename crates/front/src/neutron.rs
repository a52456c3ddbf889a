//! Neutron's dialect: its error envelope (`{"NeutronError": {"type", "message", "detail"}}`),
//! request envelopes and list filters, as the network API and Neutron-LBaaS speak them.

use crate::error::ApiError;
use crate::listing::{bool_from_string, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// A Neutron error.
#[derive(Debug)]
pub struct Fault {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

pub type Answer = Result<Response, Fault>;

impl Fault {
    pub fn body(&self) -> Value {
        json!({"NeutronError": {"type": self.kind, "message": self.message, "detail": ""}})
    }

    /// The NeutronError for an error answer of another service (Octavia's `faultstring`,
    /// pecan's or Barbican's `description`, Keystone's `error.message`).
    pub fn from_answer(status: StatusCode, body: &Value) -> Fault {
        let message = body
            .get("faultstring")
            .or_else(|| body.get("description"))
            .or_else(|| body.pointer("/error/message"))
            .and_then(Value::as_str)
            .unwrap_or("Request failed.");
        fault(status, error_type(status), message.to_string())
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Octavia's error in Neutron's dialect (Neutron-LBaaS answers with NeutronErrors).
impl From<ApiError> for Fault {
    fn from(e: ApiError) -> Fault {
        fault(e.status, error_type(e.status), e.message)
    }
}

impl From<store::StoreError> for Fault {
    fn from(e: store::StoreError) -> Fault {
        tracing::error!(error = %e, "network endpoint: store error");
        fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "HTTPInternalServerError",
            "Request Failed: internal server error while processing your request.".into(),
        )
    }
}

/// The NeutronError type Neutron gives an HTTP status when nothing more precise applies.
fn error_type(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BadRequest",
        StatusCode::UNAUTHORIZED => "NotAuthorized",
        StatusCode::FORBIDDEN => "PolicyNotAuthorized",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::CONFLICT => "Conflict",
        StatusCode::NOT_IMPLEMENTED => "NotImplemented",
        _ => "HTTPError",
    }
}

pub fn fault(status: StatusCode, kind: &'static str, message: String) -> Fault {
    Fault {
        status,
        kind,
        message,
    }
}

pub fn bad(message: String) -> Fault {
    fault(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub fn invalid(message: String) -> Fault {
    fault(
        StatusCode::BAD_REQUEST,
        "InvalidInput",
        format!("Invalid input for operation: {message}"),
    )
}

pub fn network_not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "NetworkNotFound",
        format!("Network {id} could not be found."),
    )
}

pub fn subnet_not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "SubnetNotFound",
        format!("Subnet {id} could not be found."),
    )
}

/// A boolean attribute as Neutron's `convert_to_boolean` takes it: JSON booleans and the
/// strings `true`/`false` in any case.
pub fn flag(v: Option<&Value>) -> Result<Option<bool>, Fault> {
    match v {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(bad(format!(
            "Invalid input for operation: '{other}' is not a valid boolean value."
        ))),
    }
}

/// The `{"<singular>": {...}}` object of a request body.
pub fn envelope(bytes: &[u8], singular: &str) -> Result<Map<String, Value>, Fault> {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        return Err(bad("Invalid JSON body.".into()));
    };
    match body.get(singular) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(bad("Resource body required.".into())),
    }
}

/// Neutron filters: repeated keys are alternatives, different keys must all match; `fields=`
/// keeps only the attributes named.
pub fn filter_list(items: Vec<Value>, q: &Query) -> Vec<Value> {
    let keys: Vec<&str> = q
        .pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| {
            !matches!(
                *k,
                "fields" | "limit" | "marker" | "sort_key" | "sort_dir" | "page_reverse"
            )
        })
        .collect();
    let fields = q.fields();
    items
        .into_iter()
        .filter(|item| {
            keys.iter().all(|k| {
                let wanted = q.all(k);
                match item.get(*k) {
                    Some(Value::String(s)) => wanted.contains(&s.as_str()),
                    Some(Value::Bool(b)) => wanted.iter().any(|w| bool_from_string(w) == *b),
                    Some(Value::Number(n)) => wanted.contains(&n.to_string().as_str()),
                    _ => false,
                }
            })
        })
        .map(|item| match item {
            Value::Object(map) if !fields.is_empty() => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| fields.contains(k))
                    .collect::<Map<_, _>>(),
            ),
            other => other,
        })
        .collect()
}
