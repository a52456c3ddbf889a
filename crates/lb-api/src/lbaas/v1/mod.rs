//! Neutron-LBaaS v1 on the network endpoint (`/v2.0/lb/*` on :9696), as the `neutron lb-*`
//! commands speak it, translated onto the load-balancer model:
//! - a v1 pool is an Octavia pool on a load balancer of its own, made on the pool's subnet;
//! - its VIP is that load balancer's listener (the VIP's protocol and port) whose default
//!   pool is the pool; the VIP's address and port are the load balancer's;
//! - members are the pool's members; a v1 health monitor is shared between pools, and each
//!   association is one Octavia health monitor on that pool.
//!
//! Changes go through the load-balancer API itself (its validation, policy, quotas and
//! jobs); v1 never refused a change because the load balancer was busy, so each change
//! first waits for the previous one to settle. Only objects made through v1 are shown in v1
//! views: an Octavia-made pool may not fit v1's shape.

mod monitors;
mod pools;
mod render;
mod vips;

use crate::AppState;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use front::neutron::{fault, Fault};
use front::RequestContext;
use model::{Kind, Tree};
use serde_json::{json, Map, Value};
use std::time::Duration;

type Answer = Result<Response, Fault>;

/// What one v1 request works with: the caller, and the headers to call the LB API as them.
pub(crate) struct Call<'a> {
    state: &'a AppState,
    ctx: RequestContext,
    headers: HeaderMap,
}

/// Serves one `/v2.0/lb/…` request.
pub async fn serve(
    state: &AppState,
    parts: axum::http::request::Parts,
    body: bytes::Bytes,
) -> Response {
    let ctx = match front::authenticate(&state.core, &parts.headers).await {
        Ok(ctx) => ctx,
        Err(refused) => return refused,
    };
    let mut headers = parts.headers.clone();
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::ACCEPT);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let call = Call {
        state,
        ctx,
        headers,
    };
    let path = parts
        .uri
        .path()
        .strip_suffix(".json")
        .unwrap_or(parts.uri.path());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let query = front::listing::Query::parse(parts.uri.query());
    let answer = match (&parts.method, &segments[2..]) {
        (&Method::GET, ["pools"]) => pools::list(&call, &query).await,
        (&Method::POST, ["pools"]) => pools::create(&call, &body).await,
        (&Method::GET, ["pools", id]) => pools::show(&call, id).await,
        (&Method::PUT, ["pools", id]) => pools::update(&call, &body, id).await,
        (&Method::DELETE, ["pools", id]) => pools::delete(&call, id).await,
        (&Method::GET, ["pools", id, "stats"]) => pools::stats(&call, id).await,
        (&Method::POST, ["pools", id, "health_monitors"]) => {
            monitors::associate(&call, &body, id).await
        }
        (&Method::DELETE, ["pools", id, "health_monitors", monitor]) => {
            monitors::disassociate(&call, id, monitor).await
        }
        (&Method::GET, ["members"]) => pools::list_members(&call, &query).await,
        (&Method::POST, ["members"]) => pools::create_member(&call, &body).await,
        (&Method::GET, ["members", id]) => pools::show_member(&call, id).await,
        (&Method::PUT, ["members", id]) => pools::update_member(&call, &body, id).await,
        (&Method::DELETE, ["members", id]) => pools::delete_member(&call, id).await,
        (&Method::GET, ["health_monitors"]) => monitors::list(&call, &query).await,
        (&Method::POST, ["health_monitors"]) => monitors::create(&call, &body).await,
        (&Method::GET, ["health_monitors", id]) => monitors::show(&call, id).await,
        (&Method::PUT, ["health_monitors", id]) => monitors::update(&call, &body, id).await,
        (&Method::DELETE, ["health_monitors", id]) => monitors::delete(&call, id).await,
        (&Method::GET, ["vips"]) => vips::list(&call, &query).await,
        (&Method::POST, ["vips"]) => vips::create(&call, &body).await,
        (&Method::GET, ["vips", id]) => vips::show(&call, id).await,
        (&Method::PUT, ["vips", id]) => vips::update(&call, &body, id).await,
        (&Method::DELETE, ["vips", id]) => vips::delete(&call, id).await,
        (_, ["pools" | "members" | "health_monitors" | "vips"])
        | (_, ["pools" | "members" | "health_monitors" | "vips", _]) => Err(fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTPMethodNotAllowed",
            "The method is not allowed for this resource.".into(),
        )),
        _ => Err(fault(
            StatusCode::NOT_FOUND,
            "HTTPNotFound",
            "The resource could not be found.".into(),
        )),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

impl Call<'_> {
    /// One request to the load-balancer API as the caller; its error becomes a NeutronError.
    async fn v2(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, Fault> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/v2.0/lbaas/{path}"))
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .expect("a relative URI and a method are a valid request");
        *request.headers_mut() = self.headers.clone();
        let response = match crate::server::handle(self.state, request).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap_or_default();
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(json)
        } else {
            Err(Fault::from_answer(status, &json))
        }
    }

    /// Waits until nothing of the load balancer is PENDING_* (bounded), so that a v1 change
    /// right after another one is applied rather than refused as Octavia would.
    async fn settle(&self, lb_id: &str) -> Result<(), Fault> {
        let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
        loop {
            let changed = self.state.core.store.tree_changed();
            match self.state.core.store.tree(lb_id).await? {
                Some(tree) if tree.is_busy() => {}
                _ => return Ok(()),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(fault(
                    StatusCode::CONFLICT,
                    "StateInvalid",
                    format!(
                        "Load balancer {lb_id} is still applying a previous change after {} s; \
                         try again later.",
                        SETTLE_LIMIT.as_secs()
                    ),
                ));
            }
            // Writers in other processes do not wake us: look again on a timer as well.
            let _ = tokio::time::timeout(Duration::from_millis(200), changed).await;
        }
    }

    fn sees(&self, project: &str) -> bool {
        self.ctx.allows(front::Rule::Read, Some(project))
    }
}

const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// A v1 pool as stored, with its load balancer's tree.
struct PoolView {
    v1: store::V1Pool,
    tree: Tree,
}

/// The v1 pool `id` if it exists and the caller sees it.
async fn find_pool(call: &Call<'_>, id: &str) -> Result<PoolView, Fault> {
    let not_found = || pool_not_found(id);
    let v1 = call
        .state
        .core
        .store
        .v1_pool(id)
        .await?
        .ok_or_else(not_found)?;
    if !call.sees(&v1.project_id) {
        return Err(not_found());
    }
    let tree = call
        .state
        .core
        .store
        .tree(&v1.lb_id)
        .await?
        .ok_or_else(not_found)?;
    if tree.get_kind(Kind::Pool, id).is_none() {
        return Err(not_found());
    }
    Ok(PoolView { v1, tree })
}

/// Every v1 pool the caller sees, in creation order.
async fn visible_pools(call: &Call<'_>) -> Result<Vec<PoolView>, Fault> {
    let mut out = Vec::new();
    for v1 in call.state.core.store.v1_pools().await? {
        if !call.sees(&v1.project_id) {
            continue;
        }
        if let Some(tree) = call.state.core.store.tree(&v1.lb_id).await? {
            if tree.get_kind(Kind::Pool, &v1.pool_id).is_some() {
                out.push(PoolView { v1, tree });
            }
        }
    }
    Ok(out)
}

fn pool_not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "PoolNotFound",
        format!("Pool {id} could not be found"),
    )
}

/// The `{"<singular>": {...}}` object of a request body, numbers sent as strings coerced.
fn envelope(bytes: &[u8], singular: &str) -> Result<Map<String, Value>, Fault> {
    let mut body = front::neutron::envelope(bytes, singular)?;
    for (key, value) in body.iter_mut() {
        if NUMERIC.contains(&key.as_str()) {
            if let Some(n) = value.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
                *value = Value::from(n);
            }
        }
    }
    Ok(body)
}

const NUMERIC: [&str; 6] = [
    "protocol_port",
    "weight",
    "delay",
    "timeout",
    "max_retries",
    "connection_limit",
];

fn required<'b>(body: &'b Map<String, Value>, key: &str) -> Result<&'b Value, Fault> {
    body.get(key).ok_or_else(|| {
        front::neutron::bad(format!(
            "Failed to parse request. Required attribute '{key}' not specified"
        ))
    })
}

/// `key`, when given, is the wire name of one of `allowed` (v1 takes fewer values than the
/// model has).
fn one_of<T: std::fmt::Display + std::str::FromStr + PartialEq>(
    body: &Map<String, Value>,
    key: &str,
    allowed: &[T],
) -> Result<(), Fault> {
    let known = |s: &str| s.parse::<T>().is_ok_and(|v| allowed.contains(&v));
    match body.get(key) {
        None => Ok(()),
        Some(Value::String(s)) if known(s) => Ok(()),
        Some(other) => {
            let shown = other
                .as_str()
                .map(str::to_string)
                .unwrap_or(other.to_string());
            let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            Err(front::neutron::bad(format!(
                "Invalid input for {key}. Reason: '{shown}' is not in {names:?}."
            )))
        }
    }
}

/// Refuses attributes a v1 update may not change.
fn only(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), Fault> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(front::neutron::bad(format!(
            "Cannot update read-only attribute {k}"
        ))),
    }
}

fn created(singular: &str, item: Value) -> Answer {
    Ok((StatusCode::CREATED, axum::Json(json!({ singular: item }))).into_response())
}

fn shown(singular: &str, item: Value) -> Answer {
    Ok(axum::Json(json!({ singular: item })).into_response())
}

fn listed(plural: &str, items: Vec<Value>, query: &front::listing::Query) -> Answer {
    let items = front::neutron::filter_list(items, query);
    Ok(axum::Json(json!({ plural: items })).into_response())
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The id of the object in a load-balancer API answer.
fn id_of(answer: &Value, singular: &str) -> String {
    answer
        .pointer(&format!("/{singular}/id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
