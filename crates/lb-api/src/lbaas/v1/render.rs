//! v1's shapes of the model's objects: statuses folded into v1's one `status`, numbers as
//! numbers, `tenant_id` for the project.

use super::PoolView;
use model::{Kind, Resource, Tree};
use serde_json::{json, Value};
use store::{V1Association, V1Monitor};

/// v1's `status`: the pending states as they are, ERROR, and otherwise ACTIVE, or INACTIVE
/// for an object that is administratively down or (for a member) found down.
pub fn status(r: &Resource) -> &'static str {
    match r.provisioning_status.as_str() {
        "PENDING_CREATE" => "PENDING_CREATE",
        "PENDING_UPDATE" => "PENDING_UPDATE",
        "PENDING_DELETE" => "PENDING_DELETE",
        "ERROR" => "ERROR",
        _ if !r.enabled() => "INACTIVE",
        _ if r.kind == Kind::Member && matches!(r.operating_status.as_str(), "DOWN" | "ERROR") => {
            "INACTIVE"
        }
        _ => "ACTIVE",
    }
}

/// The listener that is the pool's VIP: the first one whose default pool it is.
pub fn vip_of<'t>(tree: &'t Tree, pool_id: &str) -> Option<&'t Resource> {
    tree.of_kind(Kind::Listener)
        .find(|l| l.str("default_pool_id") == Some(pool_id))
}

fn text(r: &Resource, key: &str) -> Value {
    match r.get(key) {
        Value::Null => json!(""),
        v => v.clone(),
    }
}

pub fn pool(view: &PoolView, associations: &[V1Association]) -> Value {
    let tree = &view.tree;
    let pool = tree
        .get_kind(Kind::Pool, &view.v1.pool_id)
        .expect("a pool view holds its pool");
    let members = tree.child_ids(Kind::Member, &pool.id);
    let mine: Vec<&V1Association> = associations
        .iter()
        .filter(|a| a.pool_id == pool.id)
        .collect();
    let monitors: Vec<&str> = mine.iter().map(|a| a.monitor_id.as_str()).collect();
    let monitor_status: Vec<Value> = mine
        .iter()
        .map(|a| {
            let status = tree.get(&a.healthmonitor_id).map(status).unwrap_or("ERROR");
            json!({"monitor_id": a.monitor_id, "status": status, "status_description": null})
        })
        .collect();
    json!({
        "id": pool.id,
        "tenant_id": view.v1.project_id,
        "name": text(pool, "name"),
        "description": text(pool, "description"),
        "subnet_id": view.v1.subnet_id,
        "protocol": pool.get("protocol"),
        "lb_method": pool.get("lb_algorithm"),
        "admin_state_up": pool.enabled(),
        "status": status(pool),
        "status_description": null,
        "vip_id": vip_of(tree, &pool.id).map(|l| l.id.clone()),
        "members": members,
        "health_monitors": monitors,
        "health_monitors_status": monitor_status,
        "provider": tree.lb().get("provider"),
    })
}

pub fn member(view: &PoolView, m: &Resource) -> Value {
    json!({
        "id": m.id,
        "tenant_id": view.v1.project_id,
        "pool_id": view.v1.pool_id,
        "address": m.get("address"),
        "protocol_port": m.get("protocol_port"),
        "weight": m.get("weight"),
        "admin_state_up": m.enabled(),
        "status": status(m),
        "status_description": null,
    })
}

pub fn vip(view: &PoolView, listener: &Resource) -> Value {
    let lb = view.tree.lb();
    let pool = view.tree.get_kind(Kind::Pool, &view.v1.pool_id);
    let persistence = pool
        .map(|p| p.get("session_persistence").clone())
        .unwrap_or(Value::Null);
    json!({
        "id": listener.id,
        "tenant_id": view.v1.project_id,
        "name": text(listener, "name"),
        "description": text(listener, "description"),
        "subnet_id": lb.get("vip_subnet_id"),
        "address": lb.get("vip_address"),
        "port_id": lb.get("vip_port_id"),
        "protocol": listener.get("protocol"),
        "protocol_port": listener.get("protocol_port"),
        "pool_id": view.v1.pool_id,
        "session_persistence": persistence,
        "connection_limit": listener.get("connection_limit"),
        "admin_state_up": listener.enabled(),
        "status": status(listener),
        "status_description": null,
    })
}

pub fn monitor(m: &V1Monitor, pools: &[(String, &'static str)]) -> Value {
    let mut v = serde_json::Value::Object(m.attrs.clone());
    v["id"] = json!(m.id);
    v["tenant_id"] = json!(m.project_id);
    v["pools"] = pools
        .iter()
        .map(|(pool_id, status)| {
            json!({"pool_id": pool_id, "status": status, "status_description": null})
        })
        .collect();
    v
}
