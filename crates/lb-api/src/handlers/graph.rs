//! Creating a fully populated load balancer in one POST (Octavia's `_graph_create`): pools are
//! defined at top level or inline and referenced by name; everything is validated as if it
//! were created one by one, and all of it commits with the load balancer or not at all.

use super::*;

fn validation(msg: String) -> ApiError {
    ApiError::validation(msg)
}

/// An inline pool object that only names a pool refers to a definition elsewhere.
fn is_reference(pool: &Map<String, Value>) -> bool {
    pool.keys()
        .all(|k| matches!(k.as_str(), "name" | "admin_state_up" | "tls_enabled"))
}

fn name_of(pool: &Map<String, Value>) -> ApiResult<String> {
    match pool.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => Ok(n.to_string()),
        _ => Err(validation(
            "Pools must be named when creating a fully populated loadbalancer.".into(),
        )),
    }
}

pub async fn create(
    state: &AppState,
    tx: &mut WriteTx,
    tree: &mut Tree,
    listeners: Option<Value>,
    pools: Option<Value>,
) -> ApiResult<()> {
    let as_list = |v: Option<Value>| match v {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| match i {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let listeners: Vec<Map<String, Value>> = as_list(listeners);
    let top_pools: Vec<Map<String, Value>> = as_list(pools);
    if listeners.is_empty() && top_pools.is_empty() {
        return Ok(());
    }

    // Collect every full pool definition, from the top level and inline.
    let mut definitions: Vec<Map<String, Value>> = Vec::new();
    let mut references: Vec<String> = Vec::new();
    let mut consider =
        |pool: &Map<String, Value>, definitions: &mut Vec<Map<String, Value>>| -> ApiResult<()> {
            let name = name_of(pool)?;
            if is_reference(pool) {
                references.push(name);
            } else {
                if definitions
                    .iter()
                    .any(|d| d.get("name").and_then(Value::as_str) == Some(&name))
                {
                    return Err(validation(
                        "Pool names must be unique when creating a fully populated loadbalancer."
                            .into(),
                    ));
                }
                definitions.push(pool.clone());
            }
            Ok(())
        };
    for pool in &top_pools {
        consider(pool, &mut definitions)?;
    }
    for listener in &listeners {
        if let Some(Value::Object(pool)) = listener.get("default_pool") {
            consider(pool, &mut definitions)?;
        }
        if let Some(Value::Array(policies)) = listener.get("l7policies") {
            for policy in policies {
                if let Some(Value::Object(pool)) = policy.get("redirect_pool") {
                    consider(pool, &mut definitions)?;
                }
            }
        }
    }
    for name in &references {
        if !definitions
            .iter()
            .any(|d| d.get("name").and_then(Value::as_str) == Some(name))
        {
            return Err(validation(format!(
                "Pool '{name}' was referenced but no full definition was found."
            )));
        }
    }
    for d in &definitions {
        for attr in ["protocol", "lb_algorithm"] {
            if d.get(attr).map(Value::is_null).unwrap_or(true) {
                let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
                return Err(validation(format!(
                    "Pool definition for '{name}' missing required attribute: {attr}"
                )));
            }
        }
    }
    let project = tree.lb().project_id.clone().unwrap_or_default();
    check_quota(state, tx, Kind::Pool, &project, definitions.len() as i64).await?;
    check_quota(state, tx, Kind::Listener, &project, listeners.len() as i64).await?;

    // Pools first, with their members and monitor.
    let mut pool_ids: Vec<(String, String)> = Vec::new();
    for d in definitions {
        let name = d
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let members = d.get("members").cloned();
        let monitor = d.get("healthmonitor").cloned();
        let pool = super::pool::prepare(tree, d, None)?;
        let pool_id = pool.id.clone();
        tree.insert(pool);
        if let Some(Value::Object(hm)) = monitor {
            check_quota(state, tx, Kind::HealthMonitor, &project, 1).await?;
            let hm = super::healthmonitor::prepare(tree, &pool_id, hm)?;
            tree.insert(hm);
        }
        if let Some(Value::Array(members)) = members {
            check_quota(state, tx, Kind::Member, &project, members.len() as i64).await?;
            for m in members {
                if let Value::Object(m) = m {
                    let member = super::member::prepare(tree, &pool_id, m)?;
                    tree.insert(member);
                }
            }
        }
        pool_ids.push((name, pool_id));
    }
    let pool_id_of = |pool: &Value| -> Option<String> {
        let name = pool.get("name").and_then(Value::as_str)?;
        pool_ids
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.clone())
    };

    // Then listeners, with their default pool and L7 policies.
    for mut listener in listeners {
        let default_pool = listener.remove("default_pool");
        let policies = listener.remove("l7policies");
        if let Some(pool) = default_pool.as_ref().and_then(pool_id_of) {
            listener.insert("default_pool_id".into(), json!(pool));
        }
        let l = super::listener::prepare(tree, listener)?;
        let listener_id = l.id.clone();
        let protocol = l.str("protocol").unwrap_or_default().to_string();
        if let Some(pool) = l.str("default_pool_id") {
            super::listener::check_default_pool(tree, &protocol, pool)?;
        }
        tree.insert(l);
        if let Some(Value::Array(policies)) = policies {
            for policy in policies {
                let Value::Object(mut policy) = policy else {
                    continue;
                };
                if let Some(pool) = policy.remove("redirect_pool").as_ref().and_then(pool_id_of) {
                    policy.insert("redirect_pool_id".into(), json!(pool));
                }
                let rules = policy.remove("rules");
                let p = super::l7policy::prepare(tree, &listener_id, policy)?;
                let policy_id = p.id.clone();
                let position = p.int("position").unwrap_or(i64::MAX);
                tree.insert(p);
                super::l7policy::place(tree, &listener_id, &policy_id, position);
                if let Some(Value::Array(rules)) = rules {
                    if rules.len() > 50 {
                        return Err(ApiError::conflict(format!(
                            "Too many rules on L7 policy {policy_id}"
                        )));
                    }
                    super::l7rule::create_all(tree, &policy_id, rules)?;
                }
            }
        }
    }
    Ok(())
}
