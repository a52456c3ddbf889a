//! Neutron-LBaaS on the network port: v2 (`/v2.0/lbaas/…`, the `neutron lbaas-*` commands)
//! and v1 (`/v2.0/lb/…`, the `neutron lb-*` commands), both Octavia's objects in Neutron's
//! dialect, and the agent scheduler extension's view of the hosts' agents (`/v2.0/agents`).
//! `ostia` mounts these routes beside the network API's.

mod agents;
mod v1;
mod v2;

use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use front::neutron::fault;

/// The LBaaS routes, for the network port.
pub fn routes(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/v2.0/lbaas/", any(v2_request))
        .route("/v2.0/lbaas/{*rest}", any(v2_request))
        .route("/v2.0/agents", any(agents_request))
        .route("/v2.0/agents/{*rest}", any(agents_request))
        .route("/v2.0/lb/", any(v1_request))
        .route("/v2.0/lb/{*rest}", any(v1_request))
        .with_state(state)
}

async fn v2_request(State(state): State<AppState>, request: Request<Body>) -> Response {
    let rid = front::request_id();
    let (parts, body) = request.into_parts();
    let response = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(bytes) => v2::serve(&state, parts, bytes).await,
        Err(_) => too_large("Request body is too large."),
    };
    front::with_request_id(response, &rid)
}

async fn v1_request(State(state): State<AppState>, request: Request<Body>) -> Response {
    let rid = front::request_id();
    let (parts, body) = request.into_parts();
    let response = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(bytes) => v1::serve(&state, parts, bytes).await,
        Err(_) => too_large("Request body is larger than 1 MiB."),
    };
    front::with_request_id(response, &rid)
}

async fn agents_request(State(state): State<AppState>, request: Request<Body>) -> Response {
    let rid = front::request_id();
    let (parts, body) = request.into_parts();
    let response = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(bytes) => match front::authenticate(&state.core, &parts.headers).await {
            Ok(ctx) => {
                let path = parts.uri.path();
                let path = path.strip_suffix(".json").unwrap_or(path);
                let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
                let query = front::listing::Query::parse(parts.uri.query());
                agents::respond(
                    agents::serve(&state, &ctx, &parts.method, &segments[2..], &query, &bytes)
                        .await,
                )
            }
            Err(refused) => refused,
        },
        Err(_) => too_large("Request body is larger than 1 MiB."),
    };
    front::with_request_id(response, &rid)
}

fn too_large(message: &str) -> Response {
    fault(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        message.into(),
    )
    .into_response()
}
