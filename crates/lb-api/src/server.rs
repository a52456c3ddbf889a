//! The HTTP front: request ids, body limit, content negotiation, path routing.

use crate::handlers::{self, Req};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use front::listing::Query;
use front::{ApiError, ApiResult};
use model::Kind;
use serde_json::json;

/// Octavia's API version list: v2.0 … v2.30, the last CURRENT.
const VERSIONS: &[(&str, &str)] = &[
    ("v2.0", "2016-12-11"),
    ("v2.1", "2018-04-20"),
    ("v2.2", "2018-07-31"),
    ("v2.3", "2018-12-18"),
    ("v2.4", "2018-12-19"),
    ("v2.5", "2019-01-21"),
    ("v2.6", "2019-01-25"),
    ("v2.7", "2018-01-25"),
    ("v2.8", "2019-02-12"),
    ("v2.9", "2019-03-04"),
    ("v2.10", "2019-03-05"),
    ("v2.11", "2019-06-24"),
    ("v2.12", "2019-09-11"),
    ("v2.13", "2019-09-13"),
    ("v2.14", "2019-09-28"),
    ("v2.15", "2020-03-10"),
    ("v2.16", "2020-03-15"),
    ("v2.17", "2020-04-29"),
    ("v2.18", "2020-04-29"),
    ("v2.19", "2020-05-12"),
    ("v2.20", "2020-08-24"),
    ("v2.21", "2020-09-03"),
    ("v2.22", "2020-09-08"),
    ("v2.23", "2020-09-08"),
    ("v2.24", "2020-09-09"),
    ("v2.25", "2021-10-02"),
    ("v2.26", "2022-08-29"),
    ("v2.27", "2023-05-05"),
    ("v2.28", "2023-11-08"),
    ("v2.29", "2024-10-15"),
    ("v2.30", "2025-02-26"),
];

fn versions(host: &str) -> serde_json::Value {
    let last = VERSIONS.len() - 1;
    let list: Vec<_> = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, (id, date))| {
            json!({"id": id, "status": if i == last { "CURRENT" } else { "SUPPORTED" },
                   "updated": format!("{date}T00:00:00Z"),
                   "links": [{"href": format!("{host}/v2"), "rel": "self"}]})
        })
        .collect();
    json!({ "versions": list })
}

/// The load-balancer API's routes (every path is the dispatcher's).
pub fn routes(state: AppState) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(state)
}

async fn dispatch(State(state): State<AppState>, request: Request<Body>) -> Response {
    let rid = front::request_id();
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = match handle(&state, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let response = front::with_request_id(response, &rid);
    tracing::info!(request_id = %rid, %method, %path, status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0, "api request");
    response
}

pub(crate) async fn handle(state: &AppState, request: Request<Body>) -> ApiResult<Response> {
    let (parts, body) = request.into_parts();
    if let Some(accept) = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    {
        let ok = accept.trim().is_empty()
            || accept.split(',').any(|a| {
                let t = a.split(';').next().unwrap_or("").trim();
                matches!(t, "application/json" | "application/*" | "*/*" | "")
            });
        if !ok {
            let body = json!({"errors": [{"status": 406, "title": "Not Acceptable",
                "detail": "Only content type application/json is accepted.", "request_id": ""}]});
            return Ok((StatusCode::NOT_ACCEPTABLE, axum::Json(body)).into_response());
        }
    }
    let body = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(b) => b,
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request is too large. Larger than max_request_body_size (114688).",
            ))
        }
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:9876");
    let origin = format!("http://{host}");
    let raw_path = parts.uri.path();
    let path = raw_path.strip_suffix(".json").unwrap_or(raw_path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return match parts.method {
            Method::GET | Method::HEAD => Ok(axum::Json(versions(&origin)).into_response()),
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    let ctx = match front::authenticate(&state.core, &parts.headers).await {
        Ok(ctx) => ctx,
        Err(refused) => return Ok(refused),
    };
    let req = Req {
        method: parts.method.clone(),
        query: Query::parse(parts.uri.query()),
        body,
        url: format!("{origin}{path}"),
        ctx,
    };
    match segments.as_slice() {
        ["v2" | "v2.0"] => Ok(axum::Json(json!("v2")).into_response()),
        ["v2" | "v2.0", "octavia", "amphorae", rest @ ..] => {
            handlers::admin::amphorae(state, &req, rest).await
        }
        ["v2" | "v2.0", "lbaas", collection, rest @ ..]
        | ["v2" | "v2.0", collection, rest @ ..] => {
            route_collection(state, &req, collection, rest).await
        }
        _ => Err(ApiError::no_route()),
    }
}

async fn route_collection(
    state: &AppState,
    req: &Req,
    collection: &str,
    rest: &[&str],
) -> ApiResult<Response> {
    use handlers::*;
    match collection {
        "loadbalancers" => loadbalancer::route(state, req, rest).await,
        "listeners" => listener::route(state, req, rest).await,
        "pools" => pool::route(state, req, rest).await,
        "healthmonitors" => healthmonitor::route(state, req, rest).await,
        "l7policies" => l7policy::route(state, req, rest).await,
        "quotas" => admin::quotas(state, req, rest).await,
        "providers" => providers::route(req, rest).await,
        "flavors" => catalog::route(state, req, Kind::Flavor, rest).await,
        "flavorprofiles" => catalog::route(state, req, Kind::FlavorProfile, rest).await,
        "availabilityzones" => catalog::route(state, req, Kind::AvailabilityZone, rest).await,
        "availabilityzoneprofiles" => {
            catalog::route(state, req, Kind::AvailabilityZoneProfile, rest).await
        }
        _ => Err(ApiError::no_route()),
    }
}
