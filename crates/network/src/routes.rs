//! The network API's routes on :9696: version discovery, then each Neutron resource's
//! handlers, for the caller the request authenticates.

use crate::{floating_ips, networks, ports, routers};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use front::listing::Query;
use front::neutron::{fault, filter_list, Answer};
use front::Core;
use serde_json::{json, Value};

/// The network API (every path is the dispatcher's; `ostia` mounts Neutron-LBaaS beside).
pub fn routes(core: Core) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(core)
}

async fn dispatch(State(state): State<Core>, request: Request<Body>) -> Response {
    let rid = front::request_id();
    let response = handle(&state, request)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    front::with_request_id(response, &rid)
}

fn ok(v: Value) -> Answer {
    Ok(axum::Json(v).into_response())
}

async fn handle(state: &Core, request: Request<Body>) -> Answer {
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:9696");
    let path = parts
        .uri
        .path()
        .strip_suffix(".json")
        .unwrap_or(parts.uri.path());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Version discovery is open, as in Neutron; everything else needs the caller.
    if segments.is_empty() {
        return match parts.method {
            Method::GET => ok(json!({"versions": [{"id": "v2.0", "status": "CURRENT",
                "links": [{"href": format!("http://{host}/v2.0/"), "rel": "self"}]}]})),
            _ => Err(not_found()),
        };
    }
    let ctx = match front::authenticate(state, &parts.headers).await {
        Ok(ctx) => ctx,
        Err(refused) => return Ok(refused),
    };
    let ctx = &ctx;
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Err(fault(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Request body is larger than 1 MiB.".into(),
        ));
    };
    let q = Query::parse(parts.uri.query());
    match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["v2.0"]) => {
            let resources: Vec<Value> = ["networks", "subnets", "ports", "routers", "floatingips"]
                .iter()
                .map(|c| {
                    json!({"name": c.trim_end_matches('s'), "collection": c,
                    "links": [{"href": format!("http://{host}/v2.0/{c}"), "rel": "self"}]})
                })
                .collect();
            ok(json!({ "resources": resources }))
        }
        (&Method::GET, ["v2.0", "extensions"]) => ok(json!({"extensions": []})),
        (&Method::GET, ["v2.0", "security-groups"]) => ok(json!({"security_groups": []})),
        (&Method::GET, ["v2.0", "qos", "policies"]) => ok(json!({"policies": []})),
        (&Method::GET, ["v2.0", "networks"]) => networks::list_networks(state, ctx, &q).await,
        (&Method::GET, ["v2.0", "networks", id]) => networks::show_network(state, ctx, id).await,
        (&Method::POST, ["v2.0", "networks"]) => networks::create_network(state, &bytes, ctx).await,
        (&Method::PUT, ["v2.0", "networks", id]) => {
            networks::update_network(state, &bytes, ctx, id).await
        }
        (&Method::DELETE, ["v2.0", "networks", id]) => {
            networks::delete_network(state, ctx, id).await
        }
        (&Method::GET, ["v2.0", "subnets"]) => networks::list_subnets(state, &q).await,
        (&Method::GET, ["v2.0", "subnets", id]) => networks::show_subnet(state, id).await,
        (&Method::POST, ["v2.0", "subnets"]) => networks::create_subnet(state, &bytes, ctx).await,
        (&Method::PUT, ["v2.0", "subnets", id]) => {
            networks::update_subnet(state, &bytes, ctx, id).await
        }
        (&Method::DELETE, ["v2.0", "subnets", id]) => networks::delete_subnet(state, ctx, id).await,
        (&Method::GET, ["v2.0", "ports"]) => ports::list(state, ctx, &q).await,
        (&Method::GET, ["v2.0", "ports", id]) => ports::show(state, ctx, id).await,
        (&Method::POST, ["v2.0", "ports"]) => ports::create(state, &bytes, ctx).await,
        (&Method::DELETE, ["v2.0", "ports", id]) => ports::delete(state, ctx, id).await,
        (&Method::GET, ["v2.0", "floatingips"]) => {
            let items = floating_ips::list(state, ctx).await?;
            ok(json!({"floatingips": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "floatingips", id]) => floating_ips::show(state, ctx, id).await,
        (&Method::POST, ["v2.0", "floatingips"]) => floating_ips::create(state, &bytes, ctx).await,
        (&Method::PUT, ["v2.0", "floatingips", id]) => {
            floating_ips::update(state, &bytes, ctx, id).await
        }
        (&Method::DELETE, ["v2.0", "floatingips", id]) => {
            floating_ips::delete(state, ctx, id).await
        }
        (&Method::GET, ["v2.0", "routers"]) => {
            let items = routers::list(state, ctx).await?;
            ok(json!({"routers": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "routers", id]) => routers::show(state, ctx, id).await,
        (&Method::POST, ["v2.0", "routers"]) => routers::create(state, &bytes, ctx).await,
        (&Method::PUT, ["v2.0", "routers", id]) => routers::update(state, &bytes, ctx, id).await,
        (&Method::DELETE, ["v2.0", "routers", id]) => routers::delete(state, ctx, id).await,
        (&Method::PUT, ["v2.0", "routers", id, "add_router_interface"]) => {
            routers::add_interface(state, &bytes, ctx, id).await
        }
        (&Method::PUT, ["v2.0", "routers", id, "remove_router_interface"]) => {
            routers::remove_interface(state, &bytes, ctx, id).await
        }
        _ => Err(not_found()),
    }
}

fn not_found() -> front::neutron::Fault {
    fault(
        StatusCode::NOT_FOUND,
        "HTTPNotFound",
        "The resource could not be found.".into(),
    )
}
