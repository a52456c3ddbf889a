//! The key manager on :9311: the part of Barbican's v1 API that `openstack secret …`
//! (python-barbicanclient) and Octavia use for TLS certificates: secrets (payload at create
//! time or later, metadata, `/payload`, delete, paged lists), containers (`certificate`,
//! `generic`, `rsa`) and their consumers. Project-scoped with the LB API's policy; payloads
//! are sealed before they reach the store (`sealer`).

mod barbican;
pub mod certificates;
mod containers;
mod secrets;

use crate::server::AppState;
use crate::RequestContext;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub use store::{ref_id, Sealer};

pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(dispatch).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A Barbican error: `{"code", "title", "description"}`.
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

pub(crate) fn fault(status: StatusCode, description: impl Into<String>) -> Fault {
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

type Answer = Result<Response, Fault>;

/// One request as the handlers see it.
pub(crate) struct Call<'a> {
    state: &'a AppState,
    ctx: RequestContext,
    /// `http://host:port`, for the refs in answers.
    origin: String,
    headers: HeaderMap,
    query: crate::listing::Query,
}

impl Call<'_> {
    fn project(&self) -> Result<String, Fault> {
        self.ctx
            .project_id
            .clone()
            .ok_or_else(|| fault(StatusCode::FORBIDDEN, "A project-scoped token is required."))
    }

    fn reads(&self, project: &str) -> bool {
        self.ctx.allows(crate::policy::Rule::Read, Some(project))
    }

    fn writes(&self, project: &str) -> Result<(), Fault> {
        if self.ctx.allows(crate::policy::Rule::Write, Some(project)) {
            Ok(())
        } else {
            Err(fault(
                StatusCode::FORBIDDEN,
                "Forbidden to perform this action.",
            ))
        }
    }

    fn creator(&self) -> String {
        self.ctx.user_id.clone().unwrap_or_default()
    }

    /// `limit` (default 10, at most 100) and `offset` of a list.
    fn page(&self) -> (usize, usize) {
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
fn paged(call: &Call, plural: &str, items: Vec<Value>) -> Answer {
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

fn versions(origin: &str) -> Value {
    json!({"id": "v1", "status": "CURRENT", "min_version": "1.0", "max_version": "1.1",
           "links": [{"rel": "self", "href": format!("{origin}/v1/")},
                     {"rel": "describedby", "type": "text/html",
                      "href": "https://docs.openstack.org/"}],
           "media-types": [{"base": "application/json",
                            "type": "application/vnd.openstack.key-manager-v1+json"}]})
}

async fn dispatch(State(state): State<AppState>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:9311");
    let origin = format!("http://{host}");
    let path = parts.uri.path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Version discovery is open, as in Barbican.
    match segments.as_slice() {
        [] => {
            let body = json!({"versions": {"values": [versions(&origin)]}});
            return (StatusCode::MULTIPLE_CHOICES, axum::Json(body)).into_response();
        }
        ["v1"] if parts.method == Method::GET => {
            return axum::Json(json!({ "version": versions(&origin) })).into_response();
        }
        _ => {}
    }
    let ctx = match crate::server::context(&state, &parts.headers).await {
        Ok(ctx) => ctx,
        Err(refused) => return refused,
    };
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return fault(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is larger than 1 MiB.",
        )
        .into_response();
    };
    let call = Call {
        state: &state,
        ctx,
        origin,
        headers: parts.headers.clone(),
        query: crate::listing::Query::parse(parts.uri.query()),
    };
    let answer = match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["v1", "secrets"]) => secrets::list(&call).await,
        (&Method::POST, ["v1", "secrets"]) => secrets::create(&call, &bytes).await,
        (&Method::GET, ["v1", "secrets", id]) => secrets::show(&call, id).await,
        (&Method::PUT, ["v1", "secrets", id]) => secrets::put_payload(&call, id, &bytes).await,
        (&Method::DELETE, ["v1", "secrets", id]) => secrets::delete(&call, id).await,
        (&Method::GET, ["v1", "secrets", id, "payload"]) => secrets::payload(&call, id).await,
        (&Method::GET, ["v1", "containers"]) => containers::list(&call).await,
        (&Method::POST, ["v1", "containers"]) => containers::create(&call, &bytes).await,
        (&Method::GET, ["v1", "containers", id]) => containers::show(&call, id).await,
        (&Method::DELETE, ["v1", "containers", id]) => containers::delete(&call, id).await,
        (&Method::GET, ["v1", "containers", id, "consumers"]) => {
            containers::consumers(&call, id).await
        }
        (&Method::POST, ["v1", "containers", id, "consumers"]) => {
            containers::add_consumer(&call, id, &bytes).await
        }
        (&Method::DELETE, ["v1", "containers", id, "consumers"]) => {
            containers::remove_consumer(&call, id, &bytes).await
        }
        (_, ["v1", "secrets" | "containers", ..]) => Err(fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method is not allowed for this resource.",
        )),
        _ => Err(fault(StatusCode::NOT_FOUND, "Not Found")),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

/// The JSON object of a request body.
fn object(bytes: &[u8], what: &str) -> Result<serde_json::Map<String, Value>, Fault> {
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
