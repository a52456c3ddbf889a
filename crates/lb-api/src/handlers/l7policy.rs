//! `/v2/lbaas/l7policies` (rules are in `l7rule`).

use super::flow::{self, answer, change, Change};
use super::*;
use crate::specs;
use front::schema::decode;
use model::protocol::listener_pool_compatible;

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::L7Policy, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::L7Policy, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::L7Policy,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (_, [id, "rules", more @ ..]) => super::l7rule::route(state, req, id, more).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn args(msg: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid L7 Policy arguments: {msg}"))
}

fn set(attrs: &mut Map<String, Value>, key: &str, value: Value) {
    attrs.insert(key.to_string(), value);
}

/// `sanitize_l7policy_api_args`: actions imply and clear the redirect attributes.
pub fn sanitize(attrs: &mut Map<String, Value>, create: bool) -> ApiResult<()> {
    let given = |a: &Map<String, Value>, k: &str| {
        a.get(k).map(|v| !v.is_null() && v != "").unwrap_or(false)
    };
    if let Some(action) = attrs
        .get("action")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        match action.as_str() {
            "REJECT" => {
                set(attrs, "redirect_url", Value::Null);
                set(attrs, "redirect_pool_id", Value::Null);
                attrs.remove("redirect_pool");
            }
            "REDIRECT_TO_URL" => {
                if !given(attrs, "redirect_url") {
                    return Err(args("redirect_url must not be None"));
                }
                set(attrs, "redirect_pool_id", Value::Null);
                attrs.remove("redirect_pool");
            }
            "REDIRECT_TO_POOL" => {
                if !given(attrs, "redirect_pool_id") && !given(attrs, "redirect_pool") {
                    return Err(args("redirect_pool_id or redirect_pool must not be None"));
                }
                set(attrs, "redirect_url", Value::Null);
            }
            "REDIRECT_PREFIX" => {
                if !given(attrs, "redirect_prefix") {
                    return Err(args("redirect_prefix must not be None"));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Invalid L7 Policy action specified: {other}"
                )))
            }
        }
    }
    let pool = given(attrs, "redirect_pool_id") || given(attrs, "redirect_pool");
    if pool && (given(attrs, "redirect_url") || given(attrs, "redirect_prefix")) {
        return Err(args(
            "Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time",
        ));
    }
    if pool {
        set(attrs, "action", json!("REDIRECT_TO_POOL"));
        set(attrs, "redirect_url", Value::Null);
        set(attrs, "redirect_prefix", Value::Null);
        set(attrs, "redirect_http_code", Value::Null);
    }
    for (key, action, other) in [
        ("redirect_url", "REDIRECT_TO_URL", "redirect_prefix"),
        ("redirect_prefix", "REDIRECT_PREFIX", "redirect_url"),
    ] {
        if given(attrs, key) {
            set(attrs, "action", json!(action));
            set(attrs, "redirect_pool_id", Value::Null);
            set(attrs, other, Value::Null);
            attrs.remove("redirect_pool");
            if !given(attrs, "redirect_http_code") {
                set(attrs, "redirect_http_code", json!(302));
            }
        }
    }
    if attrs.get("action").and_then(Value::as_str) == Some("REJECT") {
        set(attrs, "redirect_prefix", Value::Null);
        set(attrs, "redirect_http_code", Value::Null);
    }
    if create && !attrs.contains_key("action") {
        return Err(ApiError::bad_request(
            "Invalid L7 Policy action specified: None",
        ));
    }
    if attrs.is_empty() {
        return Err(args("Invalid update options"));
    }
    Ok(())
}

fn check_listener(tree: &Tree, listener_id: &str) -> ApiResult<String> {
    let listener = tree
        .get_kind(Kind::Listener, listener_id)
        .ok_or_else(|| ApiError::not_found(Kind::Listener, listener_id))?;
    let protocol = listener.str("protocol").unwrap_or_default().to_string();
    if protocol == "PROMETHEUS" {
        return Err(ApiError::bad_request(
            "Protocol PROMETHEUS listeners cannot have child objects.",
        ));
    }
    Ok(protocol)
}

fn check_redirect_pool(
    tree: &Tree,
    listener_protocol: &str,
    attrs: &Map<String, Value>,
) -> ApiResult<()> {
    if let Some(pool_id) = attrs.get("redirect_pool_id").and_then(Value::as_str) {
        let pool = tree
            .get_kind(Kind::Pool, pool_id)
            .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))?;
        let pp = pool.str("protocol").unwrap_or_default();
        if !listener_pool_compatible(listener_protocol, pp) {
            return Err(ApiError::validation(format!(
                "The pool protocol '{pp}' is invalid while the listener protocol is '{listener_protocol}'."
            )));
        }
    }
    Ok(())
}

/// Renumbers a listener's policies 1..n, moving `moved` to `position` first.
pub fn place(tree: &mut Tree, listener_id: &str, moved: &str, position: i64) {
    let mut ids: Vec<(i64, String)> = tree
        .children(Kind::L7Policy, listener_id)
        .filter(|p| p.id != moved)
        .map(|p| (p.int("position").unwrap_or(i64::MAX), p.id.clone()))
        .collect();
    ids.sort();
    let mut order: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
    let at = ((position.max(1) - 1) as usize).min(order.len());
    order.insert(at, moved.to_string());
    for (i, id) in order.iter().enumerate() {
        let want = json!(i as i64 + 1);
        let changed = tree
            .get(id)
            .map(|p| p.get("position") != &want)
            .unwrap_or(false);
        if changed {
            tree.get_mut(id).expect("child").set("position", want);
        }
    }
}

/// Builds a new policy of a listener (rules are created by the caller).
pub fn prepare(
    tree: &Tree,
    listener_id: &str,
    mut attrs: Map<String, Value>,
) -> ApiResult<Resource> {
    body_project(&mut attrs);
    attrs.remove("listener_id");
    attrs.remove("rules");
    let protocol = check_listener(tree, listener_id)?;
    sanitize(&mut attrs, true)?;
    check_redirect_pool(tree, &protocol, &attrs)?;
    if tree.lb().str("provider") != Some("noop_driver")
        && !matches!(protocol.as_str(), "HTTP" | "TERMINATED_HTTPS")
    {
        let provider = tree.lb().str("provider").unwrap_or("amphora").to_string();
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("Provider '{provider}' does not support a requested action: {protocol} protocol listeners do not support L7 policies"),
        ));
    }
    for key in [
        "redirect_pool_id",
        "redirect_url",
        "redirect_prefix",
        "redirect_http_code",
    ] {
        default_attr(&mut attrs, key, Value::Null);
    }
    default_attr(&mut attrs, "position", json!(2_147_483_647));
    default_admin(&mut attrs, "admin_state_up");
    default_tags(&mut attrs);
    Ok(new_child(Kind::L7Policy, tree, listener_id, attrs, OFFLINE))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let mut attrs = decode(&req.body, "l7policy_", "l7policy", &specs::POLICY_POST)?;
    let listener_id = attrs
        .get("listener_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let rules = attrs.remove("rules");
    let c = Change::create(Kind::L7Policy, Kind::Listener, &listener_id);
    let (tree, policy) = change(state, req, c, |tree| {
        let policy = prepare(tree, &listener_id, attrs)?;
        lock_lb_for_child(tree)?;
        mark_pending(tree, std::slice::from_ref(&listener_id));
        let position = policy.int("position").unwrap_or(i64::MAX);
        let id = flow::insert(tree, policy).id;
        place(tree, &listener_id, &id, position);
        if let Some(Value::Array(rules)) = rules {
            super::l7rule::create_all(tree, &id, rules)?;
        }
        Ok(tree.get(&id).cloned().expect("inserted"))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &policy))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let mut update = decode(&req.body, "l7policy_", "l7policy", &specs::POLICY_PUT)?;
    sanitize(&mut update, false)?;
    let (tree, policy) = change(state, req, Change::update(Kind::L7Policy, id), |tree| {
        let mut policy = tree.get(id).cloned().expect("found with its tree");
        let listener_id = policy.parent_id.clone().unwrap_or_default();
        let protocol = check_listener(tree, &listener_id)?;
        check_redirect_pool(tree, &protocol, &update)?;
        apply_update(
            &mut policy,
            &update,
            &[("tags", json!([])), ("admin_state_up", json!(false))],
        );
        lock_lb_for_child(tree)?;
        mark_pending(tree, std::slice::from_ref(&listener_id));
        let position = policy.int("position").unwrap_or(i64::MAX);
        flow::replace(tree, policy);
        if update.contains_key("position") {
            place(tree, &listener_id, id, position);
        }
        Ok(tree.get(id).cloned().expect("present"))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &policy))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(state, req, Change::delete(Kind::L7Policy, id), |tree| {
        let listener_id = tree
            .get(id)
            .and_then(|p| p.parent_id.clone())
            .unwrap_or_default();
        lock_lb_for_child(tree)?;
        mark_pending(tree, std::slice::from_ref(&listener_id));
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
