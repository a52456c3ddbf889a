//! `/v2/lbaas/l7policies/{id}/rules` (envelope `rule` / `rules`).

use super::*;
use crate::schema::decode;
use crate::specs;

const MAX_RULES: usize = 50;

pub async fn route(
    state: &AppState,
    req: &Req,
    policy_id: &str,
    rest: &[&str],
) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let (tree, _) = find(state, Kind::L7Policy, policy_id).await?;
            authorize(req, &tree)?;
            list_tree_kind(state, req, Kind::L7Rule, Some(policy_id)).await
        }
        (&Method::POST, []) => create(state, req, policy_id).await,
        (&Method::GET, [id]) => {
            let (tree, _) = find(state, Kind::L7Policy, policy_id).await?;
            authorize(req, &tree)?;
            let rule = rule_of(&tree, policy_id, id)?;
            Ok(one(
                Kind::L7Rule,
                render::in_tree(&tree, &rule),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, policy_id, id).await,
        (&Method::DELETE, [id]) => delete(state, req, policy_id, id).await,
        (_, []) | (_, [_]) => Err(method_not_allowed()),
        _ => Err(crate::server::not_found()),
    }
}

fn rule_of(tree: &Tree, policy_id: &str, id: &str) -> ApiResult<Resource> {
    tree.get_kind(Kind::L7Rule, id)
        .filter(|r| r.parent_id.as_deref() == Some(policy_id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(Kind::L7Rule, id))
}

fn rule_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Error parsing L7Rule: {msg}"))
}

fn header_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+,-.^_`|~".contains(&b))
}

fn header_value_ok(s: &str) -> bool {
    let plain = !s.is_empty() && s.bytes().all(|b| (b'!'..=b'~').contains(&b));
    let quoted = s.len() >= 2
        && s.starts_with('"')
        && s.ends_with('"')
        && s.bytes().all(|b| (b' '..=b'~').contains(&b) || b == b'\t');
    plain || quoted
}

fn cookie_value_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && !b"\";\\".contains(&b))
}

/// `validate.l7rule_data` (reference §5.4).
pub fn validate(attrs: &Map<String, Value>) -> ApiResult<()> {
    let get = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or_default();
    let (kind, compare, key, value) = (get("type"), get("compare_type"), get("key"), get("value"));
    let invalid = |msg: &str| rule_error(format!("Invalid L7 Rule: {msg}"));
    if value.is_empty() {
        return Err(invalid("L7 rule type requires a value"));
    }
    let regex_ok = || {
        regex::Regex::new(value)
            .map(|_| ())
            .map_err(|e| rule_error(format!("Unable to parse regular expression: {e}")))
    };
    let value_check = |ok: fn(&str) -> bool| {
        if compare == "REGEX" {
            regex_ok()
        } else if ok(value) {
            Ok(())
        } else {
            Err(rule_error("Invalid characters in value"))
        }
    };
    match kind {
        "HOST_NAME" | "PATH" => value_check(header_value_ok),
        "FILE_TYPE" => {
            if !matches!(compare, "EQUAL_TO" | "REGEX") {
                return Err(invalid(&format!(
                    "{kind} rule type only supports EQUAL_TO or REGEX compare types."
                )));
            }
            value_check(header_value_ok)
        }
        "HEADER" | "COOKIE" => {
            if key.is_empty() {
                return Err(invalid(&format!("{kind} rule type requires a key")));
            }
            if !header_name_ok(key) {
                return Err(rule_error("Invalid characters in key"));
            }
            value_check(if kind == "HEADER" {
                header_value_ok
            } else {
                cookie_value_ok
            })
        }
        "SSL_CONN_HAS_CERT" | "SSL_VERIFY_RESULT" => {
            if !key.is_empty() {
                return Err(invalid(&format!("{kind} rule type should not have a key")));
            }
            if compare != "EQUAL_TO" {
                return Err(invalid(&format!(
                    "{kind} rule type only supports EQUAL_TO compare type."
                )));
            }
            let ok = if kind == "SSL_CONN_HAS_CERT" {
                value.eq_ignore_ascii_case("true")
            } else {
                value.parse::<u64>().is_ok()
            };
            if ok {
                Ok(())
            } else {
                Err(invalid(&format!(
                    "{kind} rule type has an invalid value {value}"
                )))
            }
        }
        "SSL_DN_FIELD" => {
            let key_ok = key
                .chars()
                .next()
                .map(|c| c.is_ascii_alphabetic())
                .unwrap_or(false)
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !key_ok {
                return Err(invalid("SSL_DN_FIELD rule type requires a valid key"));
            }
            if compare == "REGEX" {
                regex_ok()
            } else {
                Ok(())
            }
        }
        _ => Err(invalid(&format!("invalid rule type {kind}"))),
    }
}

/// Builds a new rule of a policy.
pub fn prepare(tree: &Tree, policy_id: &str, mut attrs: Map<String, Value>) -> ApiResult<Resource> {
    body_project(&mut attrs);
    validate(&attrs)?;
    if tree.children(Kind::L7Rule, policy_id).count() >= MAX_RULES {
        return Err(ApiError::conflict(format!(
            "Too many rules on L7 policy {policy_id}"
        )));
    }
    default_attr(&mut attrs, "key", Value::Null);
    default_attr(&mut attrs, "invert", json!(false));
    default_admin(&mut attrs, "admin_state_up");
    default_tags(&mut attrs);
    Ok(new_child(Kind::L7Rule, tree, policy_id, attrs, OFFLINE))
}

/// Creates the rules given inline with a policy.
pub fn create_all(tree: &mut Tree, policy_id: &str, rules: Vec<Value>) -> ApiResult<()> {
    for rule in rules {
        let Value::Object(attrs) = rule else { continue };
        let rule = prepare(tree, policy_id, attrs)?;
        tree.insert(rule);
    }
    Ok(())
}

/// The rule lock rule: policy ACTIVE; load balancer, listener and policy PENDING_UPDATE.
fn lock_policy(tree: &mut Tree, policy_id: &str) -> ApiResult<()> {
    let policy = tree
        .get_kind(Kind::L7Policy, policy_id)
        .ok_or_else(|| ApiError::not_found(Kind::L7Policy, policy_id))?;
    if policy.provisioning_status != ACTIVE {
        return Err(ApiError::conflict(format!(
            "L7Policy {policy_id} is immutable and cannot be updated."
        )));
    }
    let listener = policy.parent_id.clone().unwrap_or_default();
    lock_lb_for_child(tree)?;
    mark_pending(tree, &[listener, policy_id.to_string()]);
    Ok(())
}

async fn create(state: &AppState, req: &Req, policy_id: &str) -> ApiResult<Response> {
    let attrs = decode(&req.body, "rule_", "rule", specs::RULE_POST)?;
    let mut tx = state.store.begin().await?;
    let mut tree = find_tx(&mut tx, Kind::L7Policy, policy_id).await?;
    authorize(req, &tree)?;
    let project = tree.lb().project_id.clone().unwrap_or_default();
    check_quota(&mut tx, Kind::L7Rule, &project, 1).await?;
    let rule = prepare(&tree, policy_id, attrs)?;
    lock_policy(&mut tree, policy_id)?;
    let id = rule.id.clone();
    tree.insert(rule.clone());
    commit_job(state, tx, &tree, "create", Kind::L7Rule, &id).await?;
    Ok(one(
        Kind::L7Rule,
        render::in_tree(&tree, &rule),
        &req.query,
        StatusCode::CREATED,
    ))
}

async fn update(state: &AppState, req: &Req, policy_id: &str, id: &str) -> ApiResult<Response> {
    let update = decode(&req.body, "l7rule_", "rule", specs::RULE_PUT)?;
    let mut tx = state.store.begin().await?;
    let mut tree = find_tx(&mut tx, Kind::L7Policy, policy_id).await?;
    authorize(req, &tree)?;
    let mut rule = rule_of(&tree, policy_id, id)?;
    apply_update(
        &mut rule,
        &update,
        &[
            ("invert", json!(false)),
            ("tags", json!([])),
            ("admin_state_up", json!(false)),
        ],
    );
    validate(&rule.attrs)?;
    lock_policy(&mut tree, policy_id)?;
    rule.set_status(PENDING_UPDATE);
    *tree.get_mut(id).expect("present") = rule.clone();
    commit_job(state, tx, &tree, "update", Kind::L7Rule, id).await?;
    Ok(one(
        Kind::L7Rule,
        render::in_tree(&tree, &rule),
        &req.query,
        StatusCode::OK,
    ))
}

async fn delete(state: &AppState, req: &Req, policy_id: &str, id: &str) -> ApiResult<Response> {
    let mut tx = state.store.begin().await?;
    let mut tree = find_tx(&mut tx, Kind::L7Policy, policy_id).await?;
    authorize(req, &tree)?;
    rule_of(&tree, policy_id, id)?;
    lock_policy(&mut tree, policy_id)?;
    tree.get_mut(id)
        .expect("present")
        .set_status(PENDING_DELETE);
    commit_job(state, tx, &tree, "delete", Kind::L7Rule, id).await?;
    Ok(no_content())
}
