//! Neutron-LBaaS v2 on the network endpoint (`/v2.0/lbaas/*` on :9696), as the `neutron
//! lbaas-*` commands speak it: the same objects and handlers as the Octavia API, with
//! Neutron's dialect at the edge: numbers sent as strings are accepted, objects carry
//! `tenant_id` beside `project_id`, and errors are NeutronError bodies.

use crate::AppState;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use front::neutron::Fault;
use serde_json::Value;

/// Fields the neutron client sends as JSON strings.
const NUMERIC: [&str; 14] = [
    "protocol_port",
    "weight",
    "delay",
    "timeout",
    "max_retries",
    "max_retries_down",
    "connection_limit",
    "position",
    "redirect_http_code",
    "monitor_port",
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
];

pub(crate) fn coerce_numbers(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if NUMERIC.contains(&k.as_str()) {
                    if let Some(n) = item.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
                        *item = Value::from(n);
                        continue;
                    }
                }
                coerce_numbers(item);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(coerce_numbers),
        _ => {}
    }
}

fn add_tenant_ids(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(p) = map.get("project_id").cloned() {
                map.entry("tenant_id").or_insert(p);
            }
            map.values_mut().for_each(add_tenant_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(add_tenant_ids),
        _ => {}
    }
}

/// Serves one `/v2.0/lbaas/…` request through the load-balancer API.
pub async fn serve(
    state: &AppState,
    parts: axum::http::request::Parts,
    body: bytes::Bytes,
) -> Response {
    let path = parts.uri.path();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["v2.0", "lbaas", "loadbalancers", lb_id, "loadbalancer-hosting-agent"] = *segments {
        if parts.method == axum::http::Method::GET {
            return match front::authenticate(&state.core, &parts.headers).await {
                Ok(ctx) => super::agents::respond(super::agents::hosting(state, &ctx, lb_id).await),
                Err(refused) => refused,
            };
        }
    }
    let body = if body.is_empty() {
        body
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(mut v) => {
                coerce_numbers(&mut v);
                bytes::Bytes::from(v.to_string())
            }
            // Left as it is: the LB API says what is wrong with it.
            Err(_) => body,
        }
    };
    let request = Request::from_parts(parts, Body::from(body));
    let response = match crate::server::handle(state, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if parts.status.is_client_error() || parts.status.is_server_error() {
        json = Fault::from_answer(parts.status, &json).body();
    } else {
        add_tenant_ids(&mut json);
    }
    let out = json.to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}
