//! The key manager's routes on :9311: open version discovery, then secrets and containers
//! for the caller the request authenticates.

use crate::call::Call;
use crate::{containers, secrets};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use front::barbican::fault;
use front::Core;
use serde_json::{json, Value};

/// The key manager (every path is the dispatcher's).
pub fn routes(core: Core) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(core)
}

fn versions(origin: &str) -> Value {
    json!({"id": "v1", "status": "CURRENT", "min_version": "1.0", "max_version": "1.1",
           "links": [{"rel": "self", "href": format!("{origin}/v1/")},
                     {"rel": "describedby", "type": "text/html",
                      "href": "https://docs.openstack.org/"}],
           "media-types": [{"base": "application/json",
                            "type": "application/vnd.openstack.key-manager-v1+json"}]})
}

async fn dispatch(State(state): State<Core>, request: Request<Body>) -> Response {
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
    let ctx = match front::authenticate(&state, &parts.headers).await {
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
        query: front::listing::Query::parse(parts.uri.query()),
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
