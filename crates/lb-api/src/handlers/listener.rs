//! `/v2/lbaas/listeners`.

use super::flow::{self, answer, change, Change};
use super::validate::{check_alpn_list, DEFAULT_CIPHERS};
use super::*;
use crate::specs;
use front::schema::decode;
use model::protocol::{is_lvs_protocol, l4_protocol, listener_pool_compatible};

const TIMEOUT_DEFAULTS: [(&str, i64); 4] = [
    ("timeout_client_data", 50000),
    ("timeout_member_connect", 5000),
    ("timeout_member_data", 50000),
    ("timeout_tcp_inspect", 0),
];
const HEADERS: &[&str] = &[
    "X-Forwarded-For",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "X-Forwarded-IP",
    "X-Client-IP",
    "X-Real-IP",
];
const SSL_HEADERS: &[&str] = &model::X_SSL_HEADERS;

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::Listener, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::Listener, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::Listener,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (&Method::GET, [id, "stats"]) => {
            let (tree, r) = find(state, Kind::Listener, id).await?;
            authorize(req, &tree)?;
            super::stats::respond(state, &[r.id]).await
        }
        (_, []) | (_, [_]) | (_, [_, "stats"]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn is_tls(protocol: &str, attrs: &Map<String, Value>) -> bool {
    protocol == "TERMINATED_HTTPS" || (protocol == "PROMETHEUS" && has_cert_refs(attrs))
}

fn has_cert_refs(attrs: &Map<String, Value>) -> bool {
    let set = |k: &str| {
        attrs
            .get(k)
            .map(|v| !v.is_null() && v != &json!([]))
            .unwrap_or(false)
    };
    set("default_tls_container_ref") || set("sni_container_refs")
}

/// Validates a listener (new or merged with an update) against its protocol and tree.
fn validate(
    tree: &Tree,
    self_id: &str,
    protocol: &str,
    attrs: &Map<String, Value>,
) -> ApiResult<()> {
    if let Some(Value::Object(headers)) = attrs.get("insert_headers") {
        if !headers.is_empty() {
            if is_lvs_protocol(protocol) {
                return Err(ApiError::validation(format!(
                    "{protocol} protocol listener does not support TLS."
                )));
            }
            if !matches!(protocol, "HTTP" | "TERMINATED_HTTPS") {
                return Err(ApiError::bad_request(format!(
                    "insert-headers is not a valid option for a {protocol} protocol listener."
                )));
            }
            for key in headers.keys() {
                if SSL_HEADERS.contains(&key.as_str()) && protocol != "TERMINATED_HTTPS" {
                    return Err(ApiError::invalid_option(
                        SSL_HEADERS.join(", "),
                        &format!("{protocol} protocol listener."),
                    ));
                }
                if !HEADERS.contains(&key.as_str()) && !SSL_HEADERS.contains(&key.as_str()) {
                    return Err(ApiError::invalid_option(key, "insert_headers"));
                }
            }
        }
    }
    let client_refs = ["client_ca_tls_container_ref", "client_crl_container_ref"]
        .iter()
        .any(|k| attrs.get(*k).map(|v| !v.is_null()).unwrap_or(false));
    if is_lvs_protocol(protocol) && (has_cert_refs(attrs) || client_refs) {
        return Err(ApiError::validation(format!(
            "{protocol} protocol listener does not support TLS."
        )));
    }
    if !is_tls(protocol, attrs) && (has_cert_refs(attrs) || client_refs) && protocol != "PROMETHEUS"
    {
        return Err(ApiError::validation(format!(
            "Certificate container references are not allowed on {protocol} protocol listeners."
        )));
    }
    if protocol == "TERMINATED_HTTPS" && !has_cert_refs(attrs) {
        return Err(ApiError::validation(format!(
            "An SNI or default certificate container reference must be provided for {protocol} protocol listeners."
        )));
    }
    let ca = attrs
        .get("client_ca_tls_container_ref")
        .map(|v| !v.is_null())
        .unwrap_or(false);
    if let Some(auth) = attrs.get("client_authentication").and_then(Value::as_str) {
        if auth != "NONE" && !ca {
            return Err(ApiError::validation(format!(
                "Client authentication setting {auth} requires a client CA container reference."
            )));
        }
    }
    if attrs
        .get("client_crl_container_ref")
        .map(|v| !v.is_null())
        .unwrap_or(false)
        && !ca
    {
        return Err(ApiError::validation(
            "A client authentication CA reference is required to specify a client authentication revocation list.",
        ));
    }
    if let Some(Value::Array(versions)) = attrs.get("tls_versions") {
        let bad: Vec<&str> = versions
            .iter()
            .filter_map(Value::as_str)
            .filter(|v| !model::protocol::TLS_VERSIONS.contains(v))
            .collect();
        if versions.is_empty() && is_tls(protocol, attrs) {
            return Err(ApiError::validation("Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default."));
        }
        if !bad.is_empty() {
            return Err(ApiError::validation(format!(
                "Invalid TLS versions: {}",
                bad.join(", ")
            )));
        }
    }
    if is_tls(protocol, attrs) {
        check_alpn_list(attrs.get("alpn_protocols"))?;
    }
    // `validate.check_hsts_options` (create) / `check_hsts_options_put` (update).
    let hsts_flag = |k: &str| attrs.get(k).and_then(Value::as_bool).unwrap_or(false);
    let max_age = attrs
        .get("hsts_max_age")
        .map(|v| !v.is_null())
        .unwrap_or(false);
    if (hsts_flag("hsts_include_subdomains") || hsts_flag("hsts_preload")) && !max_age {
        return Err(ApiError::validation(if self_id.is_empty() {
            "HSTS configuration options hsts_include_subdomains and hsts_preload only make sense if hsts_max_age is set as well."
        } else {
            "Cannot enable hsts_include_subdomains or hsts_preload if hsts_max_age was not set as well."
        }));
    }
    if max_age && protocol != "TERMINATED_HTTPS" {
        return Err(ApiError::validation(
            "The HSTS feature can only be used for listeners using the TERMINATED_HTTPS protocol.",
        ));
    }
    if let Some(pool_id) = attrs.get("default_pool_id").and_then(Value::as_str) {
        check_default_pool(tree, protocol, pool_id)?;
    }
    if let Some(Value::Array(cidrs)) = attrs.get("allowed_cidrs") {
        check_cidrs(tree, cidrs)?;
    }
    Ok(())
}

pub fn check_default_pool(tree: &Tree, protocol: &str, pool_id: &str) -> ApiResult<()> {
    if protocol == "PROMETHEUS" {
        return Err(ApiError::bad_request(
            "Protocol PROMETHEUS listeners cannot have child objects.",
        ));
    }
    let pool = tree
        .get_kind(Kind::Pool, pool_id)
        .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))?;
    let pool_protocol = pool.str("protocol").unwrap_or_default();
    if !listener_pool_compatible(protocol, pool_protocol) {
        return Err(ApiError::validation(format!(
            "The pool protocol '{pool_protocol}' is invalid while the listener protocol is '{protocol}'."
        )));
    }
    Ok(())
}

fn check_cidrs(tree: &Tree, cidrs: &[Value]) -> ApiResult<()> {
    let lb = tree.lb();
    let mut vips: Vec<String> = lb
        .str("vip_address")
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(Value::Array(extra)) = lb.attrs.get("additional_vips") {
        vips.extend(
            extra
                .iter()
                .filter_map(|v| v.get("ip_address").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    let v6 = |s: &str| s.contains(':');
    for cidr in cidrs.iter().filter_map(Value::as_str) {
        if !vips.is_empty() && !vips.iter().any(|vip| v6(vip) == v6(cidr)) {
            let list = vips
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::validation(format!(
                "CIDR {cidr} IP version incompatible with all VIPs [{list}] IP version."
            )));
        }
    }
    Ok(())
}

/// Builds a new listener of a tree: defaults, validation, port conflicts.
pub fn prepare(tree: &Tree, mut attrs: Map<String, Value>) -> ApiResult<Resource> {
    body_project(&mut attrs);
    attrs.remove("loadbalancer_id");
    let protocol = attrs
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let port = attrs
        .get("protocol_port")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    validate(tree, "", &protocol, &attrs)?;
    let l4 = l4_protocol(&protocol);
    if tree.of_kind(Kind::Listener).any(|l| {
        l.int("protocol_port") == Some(port)
            && l4_protocol(l.str("protocol").unwrap_or_default()) == l4
    }) {
        return Err(ApiError::conflict(format!(
            "Another Listener on this Load Balancer is already using protocol {protocol} and protocol_port {port}"
        )));
    }
    default_admin(&mut attrs, "admin_state_up");
    default_attr(&mut attrs, "connection_limit", json!(-1));
    for key in [
        "default_tls_container_ref",
        "default_pool_id",
        "client_ca_tls_container_ref",
        "client_crl_container_ref",
        "hsts_max_age",
    ] {
        default_attr(&mut attrs, key, Value::Null);
    }
    default_attr(&mut attrs, "sni_container_refs", json!([]));
    default_attr(&mut attrs, "insert_headers", json!({}));
    for (key, value) in TIMEOUT_DEFAULTS {
        default_attr(&mut attrs, key, json!(value));
    }
    default_tags(&mut attrs);
    default_attr(&mut attrs, "client_authentication", json!("NONE"));
    if matches!(attrs.get("allowed_cidrs"), Some(Value::Array(a)) if a.is_empty()) {
        attrs.insert("allowed_cidrs".into(), Value::Null);
    }
    default_attr(&mut attrs, "allowed_cidrs", Value::Null);
    let tls = is_tls(&protocol, &attrs);
    default_attr(
        &mut attrs,
        "tls_ciphers",
        if tls {
            json!(DEFAULT_CIPHERS)
        } else {
            Value::Null
        },
    );
    default_attr(
        &mut attrs,
        "tls_versions",
        if tls {
            json!(["TLSv1.2", "TLSv1.3"])
        } else {
            Value::Null
        },
    );
    default_attr(
        &mut attrs,
        "alpn_protocols",
        if tls {
            json!(["h2", "http/1.1", "http/1.0"])
        } else {
            Value::Null
        },
    );
    default_attr(&mut attrs, "hsts_include_subdomains", json!(false));
    default_attr(&mut attrs, "hsts_preload", json!(false));
    let peer = tree
        .of_kind(Kind::Listener)
        .filter_map(|l| l.int("peer_port"))
        .max()
        .map(|p| p + 1)
        .unwrap_or(1025);
    attrs.insert("peer_port".into(), json!(peer));
    let lb_id = tree.lb().id.clone();
    Ok(new_child(Kind::Listener, tree, &lb_id, attrs, OFFLINE))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let attrs = decode(&req.body, "listener_", "listener", &specs::LISTENER_POST)?;
    let lb_id = attrs
        .get("loadbalancer_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    crate::certificates::check_refs(state, &req.ctx, &attrs).await?;
    let c = Change::create(Kind::Listener, Kind::LoadBalancer, &lb_id);
    let (tree, listener) = change(state, req, c, |tree| {
        let listener = prepare(tree, attrs)?;
        lock_lb_for_child(tree)?;
        Ok(flow::insert(tree, listener))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &listener))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let update = decode(&req.body, "listener_", "listener", &specs::LISTENER_PUT)?;
    crate::certificates::check_refs(state, &req.ctx, &update).await?;
    let (tree, listener) = change(state, req, Change::update(Kind::Listener, id), |tree| {
        updated(tree, id, &update)
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &listener))
}

/// The listener after a PUT: null resets to Octavia's defaults, then the merged listener is
/// validated as a new one would be.
fn updated(tree: &mut Tree, id: &str, update: &Map<String, Value>) -> ApiResult<Resource> {
    let mut listener = tree.get(id).cloned().expect("found with its tree");
    let protocol = listener.str("protocol").unwrap_or_default().to_string();
    let tls = protocol == "TERMINATED_HTTPS";
    let mut defaults: Vec<(&str, Value)> = TIMEOUT_DEFAULTS
        .iter()
        .map(|(k, v)| (*k, json!(v)))
        .collect();
    defaults.extend([
        ("connection_limit", json!(-1)),
        ("client_authentication", json!("NONE")),
        ("hsts_include_subdomains", json!(false)),
        ("hsts_preload", json!(false)),
        ("sni_container_refs", json!([])),
        ("insert_headers", json!({})),
        ("tags", json!([])),
        ("admin_state_up", json!(false)),
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
    ]);
    apply_update(&mut listener, update, &defaults);
    if matches!(listener.attrs.get("allowed_cidrs"), Some(Value::Array(a)) if a.is_empty()) {
        listener.set("allowed_cidrs", Value::Null);
    }
    validate(tree, id, &protocol, &listener.attrs)?;
    lock_lb_for_child(tree)?;
    Ok(flow::replace(tree, listener))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(state, req, Change::delete(Kind::Listener, id), |tree| {
        lock_lb_for_child(tree)?;
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
