//! `/v2/lbaas/healthmonitors`.

use super::flow::{self, answer, change, Change};
use super::*;
use crate::specs;
use front::schema::decode;
use model::protocol::{hm_type_allowed, is_lvs_protocol};

const UDP_CONNECT_MIN_DELAY: i64 = 3;

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::HealthMonitor, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::HealthMonitor, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::HealthMonitor,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn is_http(kind: &str) -> bool {
    matches!(kind, "HTTP" | "HTTPS")
}

/// Type-dependent rules, checked on create and on the merged object of an update.
fn validate(
    pool_protocol: &str,
    kind: &str,
    attrs: &Map<String, Value>,
    check_http_fields: bool,
) -> ApiResult<()> {
    if is_lvs_protocol(pool_protocol) {
        if !hm_type_allowed(pool_protocol, kind) {
            return Err(ApiError::validation(format!(
                "The associated pool protocol is {pool_protocol}, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."
            )));
        }
        // An update that leaves `delay` alone is not checked against the minimum.
        let delay = attrs.get("delay").and_then(Value::as_i64);
        if let Some(delay) = delay.filter(|d| kind == "UDP-CONNECT" && *d < UDP_CONNECT_MIN_DELAY) {
            return Err(ApiError::validation(format!(
                "The request delay value {delay} should be larger than {UDP_CONNECT_MIN_DELAY} for {kind} health monitor type."
            )));
        }
    } else if !hm_type_allowed(pool_protocol, kind) {
        return Err(ApiError::validation(format!(
            "The {kind} type is only supported for pools of type UDP/SCTP."
        )));
    }
    if check_http_fields && !is_http(kind) {
        for key in ["http_method", "url_path", "expected_codes"] {
            if attrs.get(key).map(|v| !v.is_null()).unwrap_or(false) {
                return Err(ApiError::invalid_option(
                    key,
                    &format!("health monitors of type {kind}"),
                ));
            }
        }
    }
    if attrs
        .get("domain_name")
        .map(|v| !v.is_null())
        .unwrap_or(false)
    {
        match attrs.get("http_version").and_then(Value::as_f64) {
            None => {
                return Err(ApiError::validation(
                    "'http_version' must be specified when 'domain_name' is provided.",
                ))
            }
            Some(v) if v < 1.1 => {
                return Err(ApiError::invalid_option(
                    format!("http_version {v:?}"),
                    "health monitors HTTP 1.1 domain name health check",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn http_defaults(kind: &str, attrs: &mut Map<String, Value>) {
    let http = is_http(kind);
    let d = |v: &str| if http { json!(v) } else { Value::Null };
    default_attr(attrs, "http_method", d("GET"));
    default_attr(attrs, "url_path", d("/"));
    default_attr(attrs, "expected_codes", d("200"));
}

/// Builds a new monitor of `pool_id`.
pub fn prepare(tree: &Tree, pool_id: &str, mut attrs: Map<String, Value>) -> ApiResult<Resource> {
    body_project(&mut attrs);
    attrs.remove("pool_id");
    let pool = tree
        .get_kind(Kind::Pool, pool_id)
        .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))?;
    let kind = attrs
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    validate(
        pool.str("protocol").unwrap_or_default(),
        &kind,
        &attrs,
        true,
    )?;
    if tree.pool_monitor(pool_id).is_some() {
        return Err(ApiError::conflict("This pool already has a health monitor"));
    }
    default_attr(&mut attrs, "max_retries_down", json!(3));
    http_defaults(&kind, &mut attrs);
    default_attr(&mut attrs, "http_version", Value::Null);
    default_attr(&mut attrs, "domain_name", Value::Null);
    default_admin(&mut attrs, "admin_state_up");
    default_tags(&mut attrs);
    Ok(new_child(
        Kind::HealthMonitor,
        tree,
        pool_id,
        attrs,
        OFFLINE,
    ))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let attrs = decode(
        &req.body,
        "health_monitor_",
        "healthmonitor",
        &specs::HM_POST,
    )?;
    let pool_id = attrs
        .get("pool_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let c = Change::create(Kind::HealthMonitor, Kind::Pool, &pool_id);
    let (tree, hm) = change(state, req, c, |tree| {
        let hm = prepare(tree, &pool_id, attrs)?;
        super::member::lock_pool(tree, &pool_id)?;
        Ok(flow::insert(tree, hm))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &hm))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let update = decode(
        &req.body,
        "health_monitor_",
        "healthmonitor",
        &specs::HM_PUT,
    )?;
    for key in ["delay", "timeout", "max_retries"] {
        if update.get(key) == Some(&Value::Null) {
            return Err(ApiError::invalid_option("None", key));
        }
    }
    let (tree, hm) = change(
        state,
        req,
        Change::update(Kind::HealthMonitor, id),
        |tree| updated(tree, id, &update),
    )
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &hm))
}

fn updated(tree: &mut Tree, id: &str, update: &Map<String, Value>) -> ApiResult<Resource> {
    let mut hm = tree.get(id).cloned().expect("found with its tree");
    let pool_id = hm.parent_id.clone().unwrap_or_default();
    let kind = hm.str("type").unwrap_or_default().to_string();
    let pool_protocol = tree
        .get(&pool_id)
        .and_then(|p| p.str("protocol"))
        .unwrap_or_default()
        .to_string();
    // domain_name and http_version are checked on the merged monitor below: either may
    // come from the request or from the stored monitor.
    let mut request = update.clone();
    request.remove("domain_name");
    request.remove("http_version");
    validate(&pool_protocol, &kind, &request, true)?;
    let http = is_http(&kind);
    let d = |v: &str| if http { json!(v) } else { Value::Null };
    let defaults = [
        ("http_method", d("GET")),
        ("url_path", d("/")),
        ("expected_codes", d("200")),
        ("max_retries_down", json!(3)),
        ("tags", json!([])),
        ("admin_state_up", json!(false)),
    ];
    apply_update(&mut hm, update, &defaults);
    validate(&pool_protocol, &kind, &hm.attrs, false)?;
    super::member::lock_pool(tree, &pool_id)?;
    Ok(flow::replace(tree, hm))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(
        state,
        req,
        Change::delete(Kind::HealthMonitor, id),
        |tree| {
            let pool_id = tree
                .get(id)
                .and_then(|h| h.parent_id.clone())
                .unwrap_or_default();
            super::member::lock_pool(tree, &pool_id)?;
            Ok(flow::remove(tree, id))
        },
    )
    .await?;
    Ok(no_content())
}
