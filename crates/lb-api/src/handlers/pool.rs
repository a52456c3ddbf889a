//! `/v2/lbaas/pools`.

use super::flow::{self, answer, change, Change};
use super::validate::{check_alpn_list, check_tls_versions, DEFAULT_CIPHERS};
use super::*;
use crate::specs;
use front::schema::decode;
use model::protocol::{is_lvs_protocol, listener_pool_compatible};

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::Pool, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::Pool, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::Pool,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (_, [id, "members", more @ ..]) => super::member::route(state, req, id, more).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

/// Session persistence rules (reference §4.3); `sp` is the merged object. Octavia tests the
/// attributes for truth (`persistence_timeout: 0` counts as absent); its PUT text for
/// persistence_timeout/granularity on other pools names UDP only.
fn check_persistence(protocol: &str, sp: &Map<String, Value>, put: bool) -> ApiResult<()> {
    let kind = sp.get("type").and_then(Value::as_str).unwrap_or_default();
    let truthy = |k: &str| match sp.get(k) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    };
    let cookie = sp
        .get("cookie_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if is_lvs_protocol(protocol) {
        if kind == "SOURCE_IP" && truthy("cookie_name") {
            return Err(ApiError::validation(
                "session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: type, persistence_timeout, persistence_granularity.",
            ));
        }
        if truthy("cookie_name") {
            return Err(ApiError::validation(
                "Cookie names are not supported for UDP/SCTP pools.",
            ));
        }
        if matches!(kind, "HTTP_COOKIE" | "APP_COOKIE") {
            return Err(ApiError::validation(format!(
                "Session persistence of type {kind} is not supported for UDP/SCTP protocol pools."
            )));
        }
    } else if truthy("persistence_timeout") || truthy("persistence_granularity") {
        let protocols = if put { "UDP" } else { "UDP and SCTP" };
        return Err(ApiError::validation(format!(
            "persistence_timeout and persistence_granularity is only for {protocols} protocol pools."
        )));
    }
    // `validate.check_session_persistence`.
    if !cookie.is_empty() {
        if kind != "APP_COOKIE" {
            return Err(ApiError::validation("Field \"cookie_name\" can only be specified with session persistence of type \"APP_COOKIE\"."));
        }
        let bad = |c: char| matches!(c, '\x00'..='\x20' | '"' | '(' | ')' | ',' | '/' | ':'..='@' | '['..=']' | '{' | '}' | '\x7f');
        if cookie.chars().any(bad) || !cookie.chars().any(|c| (c as u32) <= 0xff) {
            return Err(ApiError::validation("Supplied \"cookie_name\" is invalid."));
        }
    }
    if kind == "APP_COOKIE" && cookie.is_empty() {
        return Err(ApiError::validation("Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type."));
    }
    Ok(())
}

fn persistence_object(sp: &Map<String, Value>) -> Value {
    json!({"type": sp.get("type"), "cookie_name": sp.get("cookie_name").cloned().unwrap_or(Value::Null),
           "persistence_timeout": sp.get("persistence_timeout").cloned().unwrap_or(Value::Null),
           "persistence_granularity": sp.get("persistence_granularity").cloned().unwrap_or(Value::Null)})
}

fn tls_defaults(attrs: &mut Map<String, Value>) {
    let tls = attrs
        .get("tls_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    default_attr(&mut *attrs, "tls_enabled", json!(false));
    let ciphers = if tls {
        json!(DEFAULT_CIPHERS)
    } else {
        Value::Null
    };
    default_attr(attrs, "tls_ciphers", ciphers);
    default_attr(
        attrs,
        "tls_versions",
        if tls {
            json!(["TLSv1.2", "TLSv1.3"])
        } else {
            Value::Null
        },
    );
    default_attr(
        attrs,
        "alpn_protocols",
        if tls {
            json!(["h2", "http/1.1", "http/1.0"])
        } else {
            Value::Null
        },
    );
    for key in [
        "tls_container_ref",
        "ca_tls_container_ref",
        "crl_container_ref",
    ] {
        default_attr(attrs, key, Value::Null);
    }
}

/// Builds a new pool of a tree, optionally as the default pool of `listener`.
pub fn prepare(
    tree: &Tree,
    mut attrs: Map<String, Value>,
    listener: Option<&str>,
) -> ApiResult<Resource> {
    body_project(&mut attrs);
    attrs.remove("loadbalancer_id");
    attrs.remove("listener_id");
    attrs.remove("healthmonitor");
    attrs.remove("members");
    let protocol = attrs
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(listener_id) = listener {
        let l = tree
            .get_kind(Kind::Listener, listener_id)
            .ok_or_else(|| ApiError::not_found(Kind::Listener, listener_id))?;
        let lp = l.str("protocol").unwrap_or_default();
        if lp == "PROMETHEUS" {
            return Err(ApiError::bad_request(
                "Protocol PROMETHEUS listeners cannot have child objects.",
            ));
        }
        if !listener_pool_compatible(lp, &protocol) {
            return Err(ApiError::validation(format!(
                "The pool protocol '{protocol}' is invalid while the listener protocol is '{lp}'."
            )));
        }
        if l.str("default_pool_id").is_some() {
            return Err(ApiError::conflict(
                "This listener already has a default pool",
            ));
        }
    }
    match attrs.get("session_persistence") {
        Some(Value::Object(sp)) => {
            check_persistence(&protocol, sp, false)?;
            let sp = persistence_object(sp);
            attrs.insert("session_persistence".into(), sp);
        }
        _ => {
            attrs.insert("session_persistence".into(), Value::Null);
        }
    }
    if attrs
        .get("crl_container_ref")
        .map(|v| !v.is_null())
        .unwrap_or(false)
        && attrs
            .get("ca_tls_container_ref")
            .map(Value::is_null)
            .unwrap_or(true)
    {
        return Err(ApiError::validation(
            "A CA certificate reference is required to specify a revocation list.",
        ));
    }
    if attrs.get("tls_enabled").and_then(Value::as_bool) == Some(true) {
        check_tls_versions(attrs.get("tls_versions"))?;
        check_alpn_list(attrs.get("alpn_protocols"))?;
    }
    default_admin(&mut attrs, "admin_state_up");
    default_tags(&mut attrs);
    tls_defaults(&mut attrs);
    let lb_id = tree.lb().id.clone();
    Ok(new_child(Kind::Pool, tree, &lb_id, attrs, OFFLINE))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let attrs = decode(&req.body, "pool_", "pool", &specs::POOL_POST)?;
    let id_of = |key: &str| attrs.get(key).and_then(Value::as_str).map(str::to_string);
    let (lb_id, listener_id) = (id_of("loadbalancer_id"), id_of("listener_id"));
    let at = match (&lb_id, &listener_id) {
        (Some(lb), _) => (Kind::LoadBalancer, lb.as_str()),
        (None, Some(l)) => (Kind::Listener, l.as_str()),
        (None, None) => {
            return Err(ApiError::validation(
                "Must provide at least one of: loadbalancer_id, listener_id",
            ))
        }
    };
    crate::certificates::check_refs(state, &req.ctx, &attrs).await?;
    let c = Change::create(Kind::Pool, at.0, at.1);
    let (tree, pool) = change(state, req, c, |tree| {
        if let Some(l) = &listener_id {
            if tree.get_kind(Kind::Listener, l).is_none() {
                return Err(ApiError::not_found(Kind::Listener, l));
            }
        }
        let pool = prepare(tree, attrs, listener_id.as_deref())?;
        lock_lb_for_child(tree)?;
        if let Some(l) = &listener_id {
            let listener = tree.get_mut(l).expect("checked above");
            listener.set("default_pool_id", json!(pool.id));
            listener.set_status(PENDING_UPDATE);
        }
        Ok(flow::insert(tree, pool))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &pool))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let update = decode(&req.body, "pool_", "pool", &specs::POOL_PUT)?;
    crate::certificates::check_refs(state, &req.ctx, &update).await?;
    let (tree, pool) = change(state, req, Change::update(Kind::Pool, id), |tree| {
        updated(tree, id, update)
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &pool))
}

fn updated(tree: &mut Tree, id: &str, mut update: Map<String, Value>) -> ApiResult<Resource> {
    let mut pool = tree.get(id).cloned().expect("found with its tree");
    let protocol = pool.str("protocol").unwrap_or_default().to_string();
    if let Some(sp) = update.remove("session_persistence") {
        match sp {
            Value::Object(mut sp) if !sp.is_empty() => {
                if sp.get("type").map(Value::is_null).unwrap_or(true) {
                    let old = pool
                        .get("session_persistence")
                        .get("type")
                        .cloned()
                        .unwrap_or(Value::Null);
                    if old.is_null() {
                        return Err(ApiError::mandatory("type"));
                    }
                    sp.insert("type".into(), old);
                }
                check_persistence(&protocol, &sp, true)?;
                pool.set("session_persistence", persistence_object(&sp));
            }
            _ => pool.set("session_persistence", Value::Null),
        }
    }
    check_tls_versions(update.get("tls_versions"))?;
    check_alpn_list(update.get("alpn_protocols"))?;
    let tls = update
        .get("tls_enabled")
        .and_then(Value::as_bool)
        .unwrap_or_else(|| pool.get("tls_enabled").as_bool().unwrap_or(false));
    let defaults = [
        ("tags", json!([])),
        ("admin_state_up", json!(false)),
        ("tls_enabled", json!(false)),
        (
            "tls_ciphers",
            if tls {
                json!(DEFAULT_CIPHERS)
            } else {
                Value::Null
            },
        ),
        (
            "tls_versions",
            if tls {
                json!(["TLSv1.2", "TLSv1.3"])
            } else {
                Value::Null
            },
        ),
        (
            "alpn_protocols",
            if tls {
                json!(["h2", "http/1.1", "http/1.0"])
            } else {
                Value::Null
            },
        ),
    ];
    if update.get("ca_tls_container_ref") == Some(&Value::Null)
        && !pool.get("crl_container_ref").is_null()
        && update
            .get("crl_container_ref")
            .map(|v| !v.is_null())
            .unwrap_or(true)
    {
        return Err(ApiError::validation(
            "A CA reference cannot be removed when a certificate revocation list is present.",
        ));
    }
    apply_update(&mut pool, &update, &defaults);
    lock_lb_for_child(tree)?;
    let listeners = tree.pool_listeners(id);
    mark_pending(tree, &listeners);
    Ok(flow::replace(tree, pool))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(state, req, Change::delete(Kind::Pool, id), |tree| {
        if let Some(policy) = tree
            .of_kind(Kind::L7Policy)
            .find(|p| p.str("redirect_pool_id") == Some(id))
        {
            return Err(ApiError::conflict(format!(
                "Pool {id} is in use by L7 policy {}",
                policy.id
            )));
        }
        lock_lb_for_child(tree)?;
        let listeners = tree.pool_listeners(id);
        mark_pending(tree, &listeners);
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
