//! `/v2/lbaas/l7policies/{id}/rules` (envelope `rule` / `rules`).

use super::flow::{self, answer, change, Change};
use super::*;
use crate::specs;
use front::schema::decode;

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
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
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

/// `validate.l7rule_data` (reference §5.4), with Octavia's checks in Octavia's order.
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
    // `validate.header_name` / `header_value_string` / `cookie_value_string` (InvalidString).
    let chars = |ok: fn(&str) -> bool, s: &str, what: &str| {
        if ok(s) {
            Ok(())
        } else {
            Err(rule_error(format!("Invalid characters in {what}")))
        }
    };
    let ssl_key = || {
        if key.is_empty() {
            Ok(())
        } else {
            Err(invalid(&format!(
                "L7rule type {kind} does not use the \"key\" field."
            )))
        }
    };
    let equal_to_only = || {
        if compare == "EQUAL_TO" {
            Ok(())
        } else {
            Err(invalid(&format!(
                "L7rule type {kind} only supports the EQUAL_TO compare type."
            )))
        }
    };
    match kind {
        "HEADER" | "COOKIE" => {
            if key.is_empty() {
                return Err(invalid("L7 rule type requires a key"));
            }
            chars(header_name_ok, key, "key")?;
            if compare == "REGEX" {
                regex_ok()
            } else if kind == "HEADER" {
                chars(header_value_ok, value, "header value")
            } else {
                chars(cookie_value_ok, value, "cookie value")
            }
        }
        "HOST_NAME" | "PATH" if compare == "REGEX" => regex_ok(),
        "HOST_NAME" | "PATH" => chars(header_value_ok, value, "comparison value"),
        "FILE_TYPE" => match compare {
            "REGEX" => regex_ok(),
            "EQUAL_TO" => chars(header_value_ok, value, "comparison value"),
            _ => Err(invalid("invalid comparison type for rule type")),
        },
        "SSL_CONN_HAS_CERT" => {
            ssl_key()?;
            if value.to_lowercase() != "true" {
                return Err(invalid(&format!(
                    "L7rule value {value} is not a boolean True string."
                )));
            }
            equal_to_only()
        }
        "SSL_VERIFY_RESULT" => {
            ssl_key()?;
            // `str.isdigit()`: no sign, no blanks.
            if !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!(
                    "L7rule type {kind} needs a int value, which is >= 0"
                )));
            }
            equal_to_only()
        }
        "SSL_DN_FIELD" => {
            if compare == "REGEX" {
                regex_ok()?;
            }
            // `DISTINGUISHED_NAME_FIELD_REGEX`: `^([a-zA-Z][A-Za-z0-9-]*)$`.
            let key_ok = key
                .chars()
                .next()
                .map(|c| c.is_ascii_alphabetic())
                .unwrap_or(false)
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if key.is_empty() {
                Err(invalid(&format!(
                    "L7rule type {kind} needs to specify a key and a value."
                )))
            } else if !key_ok {
                Err(invalid("Invalid L7rule distinguished name field."))
            } else {
                Ok(())
            }
        }
        _ => Err(invalid("invalid rule type")),
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
    let attrs = decode(&req.body, "rule_", "rule", &specs::RULE_POST)?;
    let c = Change::create(Kind::L7Rule, Kind::L7Policy, policy_id);
    let (tree, rule) = change(state, req, c, |tree| {
        let rule = prepare(tree, policy_id, attrs)?;
        lock_policy(tree, policy_id)?;
        Ok(flow::insert(tree, rule))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &rule))
}

async fn update(state: &AppState, req: &Req, policy_id: &str, id: &str) -> ApiResult<Response> {
    let update = decode(&req.body, "l7rule_", "rule", &specs::RULE_PUT)?;
    let c = Change::update(Kind::L7Rule, id).through(Kind::L7Policy, policy_id);
    let (tree, rule) = change(state, req, c, |tree| {
        let mut rule = rule_of(tree, policy_id, id)?;
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
        lock_policy(tree, policy_id)?;
        Ok(flow::replace(tree, rule))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &rule))
}

async fn delete(state: &AppState, req: &Req, policy_id: &str, id: &str) -> ApiResult<Response> {
    let c = Change::delete(Kind::L7Rule, id).through(Kind::L7Policy, policy_id);
    change(state, req, c, |tree| {
        rule_of(tree, policy_id, id)?;
        lock_policy(tree, policy_id)?;
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
