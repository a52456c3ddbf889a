//! One key-manager request as the handlers see it: the caller, the answer's origin, the
//! query; the page of a list; the JSON object of a body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use front::barbican::{fault, Fault};
use front::RequestContext;
use serde_json::{json, Value};

pub type Answer = Result<Response, Fault>;

/// One request as the handlers see it.
pub struct Call<'a> {
    pub state: &'a front::Core,
    pub ctx: RequestContext,
    /// `http://host:port`, for the refs in answers.
    pub origin: String,
    pub headers: axum::http::HeaderMap,
    pub query: front::listing::Query,
}

impl Call<'_> {
    pub fn project(&self) -> Result<String, Fault> {
        self.ctx
            .project_id
            .clone()
            .ok_or_else(|| fault(StatusCode::FORBIDDEN, "A project-scoped token is required."))
    }

    pub fn reads(&self, project: &str) -> bool {
        self.ctx.allows(front::Rule::Read, Some(project))
    }

    pub fn writes(&self, project: &str) -> Result<(), Fault> {
        if self.ctx.allows(front::Rule::Write, Some(project)) {
            Ok(())
        } else {
            Err(fault(
                StatusCode::FORBIDDEN,
                "Forbidden to perform this action.",
            ))
        }
    }

    pub fn creator(&self) -> String {
        self.ctx.user_id.clone().unwrap_or_default()
    }

    /// `limit` (default 10, at most 100) and `offset` of a list.
    pub fn page(&self) -> (usize, usize) {
        let number = |k: &str, d: usize| {
            self.query
                .get(k)
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(d)
        };
        (number("limit", 10).min(100), number("offset", 0))
    }
}

/// `{"<plural>": [...], "total", "next", "previous"}` of one page.
pub fn paged(call: &Call, plural: &str, items: Vec<Value>) -> Answer {
    let (limit, offset) = call.page();
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut body = json!({ plural: page, "total": total });
    let link = |o: usize| format!("{}/v1/{plural}?limit={limit}&offset={o}", call.origin);
    if offset + limit < total {
        body["next"] = json!(link(offset + limit));
    }
    if offset > 0 {
        body["previous"] = json!(link(offset.saturating_sub(limit)));
    }
    Ok(axum::Json(body).into_response())
}

/// The JSON object of a request body.
pub fn object(bytes: &[u8], what: &str) -> Result<serde_json::Map<String, Value>, Fault> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(fault(
            StatusCode::BAD_REQUEST,
            format!(
                "Provided object does not match schema '{what}': the body must be a JSON object."
            ),
        )),
    }
}
