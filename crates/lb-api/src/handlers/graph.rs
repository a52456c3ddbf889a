//! Creating a fully populated load balancer in one POST (Octavia's `_graph_create`): pools are
//! defined at top level or inline and referenced by name; everything is validated as if it
//! were created one by one, and all of it commits with the load balancer or not at all.

use super::*;
use model::resource::{ListenerCreate, PoolCreate};
use model::{L7Policy, Patch};

fn validation(msg: String) -> ApiError {
    ApiError::validation(msg)
}

fn name_of(pool: &PoolCreate) -> ApiResult<String> {
    match pool.name.value() {
        Some(n) if !n.is_empty() => Ok(n.clone()),
        _ => Err(validation(
            "Pools must be named when creating a fully populated loadbalancer.".into(),
        )),
    }
}

/// Every full pool definition of the graph (top level first, then inline), checked: named,
/// unique, every reference defined, protocol and algorithm given.
fn definitions(listeners: &[ListenerCreate], top: Vec<PoolCreate>) -> ApiResult<Vec<PoolCreate>> {
    let mut definitions: Vec<PoolCreate> = Vec::new();
    let mut references: Vec<String> = Vec::new();
    let mut consider = |pool: &PoolCreate, definitions: &mut Vec<PoolCreate>| -> ApiResult<()> {
        let name = name_of(pool)?;
        if pool.is_reference() {
            references.push(name);
        } else if definitions.iter().any(|d| d.name.value() == Some(&name)) {
            return Err(validation(
                "Pool names must be unique when creating a fully populated loadbalancer.".into(),
            ));
        } else {
            definitions.push(pool.clone());
        }
        Ok(())
    };
    for pool in &top {
        consider(pool, &mut definitions)?;
    }
    for listener in listeners {
        if let Some(pool) = listener.default_pool.value() {
            consider(pool, &mut definitions)?;
        }
        for policy in listener.l7policies.value().into_iter().flatten() {
            if let Some(pool) = policy.redirect.redirect_pool.value() {
                consider(pool, &mut definitions)?;
            }
        }
    }
    for name in &references {
        if !definitions.iter().any(|d| d.name.value() == Some(name)) {
            return Err(validation(format!(
                "Pool '{name}' was referenced but no full definition was found."
            )));
        }
    }
    for d in &definitions {
        for (attr, missing) in [
            ("protocol", d.protocol.value().is_none()),
            ("lb_algorithm", d.lb_algorithm.value().is_none()),
        ] {
            if missing {
                let name = d.name.value().cloned().unwrap_or_default();
                return Err(validation(format!(
                    "Pool definition for '{name}' missing required attribute: {attr}"
                )));
            }
        }
    }
    Ok(definitions)
}

pub async fn create(
    state: &AppState,
    tx: &mut WriteTx,
    tree: &mut Tree,
    listeners: Vec<ListenerCreate>,
    pools: Vec<PoolCreate>,
) -> ApiResult<()> {
    if listeners.is_empty() && pools.is_empty() {
        return Ok(());
    }
    let definitions = definitions(&listeners, pools)?;
    let project = tree.lb().project_id.clone().unwrap_or_default();
    check_quota(state, tx, Kind::Pool, &project, definitions.len() as i64).await?;
    check_quota(state, tx, Kind::Listener, &project, listeners.len() as i64).await?;

    // Pools first, with their members and monitor.
    let mut pool_ids: Vec<(String, String)> = Vec::new();
    for mut d in definitions {
        let name = d.name.value().cloned().unwrap_or_default();
        let members = std::mem::take(&mut d.members).or_else(Vec::new);
        let monitor = std::mem::take(&mut d.healthmonitor);
        let pool = super::pool::prepare(tree, d, None)?;
        let pool_id = pool.id.clone();
        tree.insert(pool);
        if let Patch::Set(hm) = monitor {
            check_quota(state, tx, Kind::HealthMonitor, &project, 1).await?;
            let hm = super::healthmonitor::prepare(tree, &pool_id, hm)?;
            tree.insert(hm);
        }
        if !members.is_empty() {
            check_quota(state, tx, Kind::Member, &project, members.len() as i64).await?;
        }
        for m in members {
            let member = super::member::prepare(tree, &pool_id, m)?;
            tree.insert(member);
        }
        pool_ids.push((name, pool_id));
    }
    let pool_id_of = |pool: &PoolCreate| -> Option<String> {
        let name = pool.name.value()?;
        pool_ids
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.clone())
    };

    // Then listeners, with their default pool and L7 policies.
    for mut listener in listeners {
        let default_pool = std::mem::take(&mut listener.default_pool);
        let policies = std::mem::take(&mut listener.l7policies).or_else(Vec::new);
        if let Some(pool) = default_pool.value().and_then(pool_id_of) {
            listener.default_pool_id = Patch::Set(pool);
        }
        let l = super::listener::prepare(tree, listener)?;
        let listener_id = l.id.clone();
        tree.insert(l);
        for mut policy in policies {
            let redirect_pool = std::mem::take(&mut policy.redirect.redirect_pool);
            if let Some(pool) = redirect_pool.value().and_then(pool_id_of) {
                policy.redirect.redirect_pool_id = Patch::Set(pool);
            }
            let rules = std::mem::take(&mut policy.rules).or_else(Vec::new);
            let p = super::l7policy::prepare(tree, &listener_id, policy)?;
            let policy_id = p.id.clone();
            let position = p.get::<L7Policy>().map_or(u32::MAX, |p| p.position);
            tree.insert(p);
            super::l7policy::place(tree, &listener_id, &policy_id, position);
            if rules.len() > 50 {
                return Err(ApiError::conflict(format!(
                    "Too many rules on L7 policy {policy_id}"
                )));
            }
            super::l7rule::create_all(tree, &policy_id, rules)?;
        }
    }
    Ok(())
}
