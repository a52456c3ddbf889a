//! v1's shapes of the model's objects: statuses folded into v1's one `status`, numbers as
//! numbers, `tenant_id` for the project.

use super::PoolView;
use model::{
    Kind, Listener, LoadBalancer, Member, OperatingStatus, Pool, ProvisioningStatus, Resource, Tree,
};
use serde_json::{json, Value};
use store::{V1Association, V1Monitor};

/// v1's `status`: the pending states as they are, ERROR, and otherwise ACTIVE, or INACTIVE
/// for an object that is administratively down or (for a member) found down.
pub fn status(r: &Resource) -> &'static str {
    use ProvisioningStatus::*;
    match r.provisioning_status {
        s @ (PendingCreate | PendingUpdate | PendingDelete | Error) => s.as_str(),
        _ if !r.enabled() => "INACTIVE",
        _ if r.kind() == Kind::Member && r.operating_status == OperatingStatus::Error => "INACTIVE",
        _ => "ACTIVE",
    }
}

/// The listener that is the pool's VIP: the first one whose default pool it is.
pub fn vip_of<'t>(tree: &'t Tree, pool_id: &str) -> Option<(&'t Resource, &'t Listener)> {
    tree.all::<Listener>()
        .find(|(_, l)| l.default_pool_id.as_deref() == Some(pool_id))
}

pub fn pool(view: &PoolView, associations: &[V1Association]) -> Value {
    let tree = &view.tree;
    let r = tree
        .get_kind(Kind::Pool, &view.v1.pool_id)
        .expect("a pool view holds its pool");
    let pool = r.get::<Pool>().expect("a pool");
    let members = tree.child_ids(Kind::Member, &r.id);
    let mine: Vec<&V1Association> = associations.iter().filter(|a| a.pool_id == r.id).collect();
    let monitors: Vec<&str> = mine.iter().map(|a| a.monitor_id.as_str()).collect();
    let monitor_status: Vec<Value> = mine
        .iter()
        .map(|a| {
            let status = tree.get(&a.healthmonitor_id).map(status).unwrap_or("ERROR");
            json!({"monitor_id": a.monitor_id, "status": status, "status_description": null})
        })
        .collect();
    json!({
        "id": r.id,
        "tenant_id": view.v1.project_id,
        "name": pool.name,
        "description": pool.description,
        "subnet_id": view.v1.subnet_id,
        "protocol": pool.protocol,
        "lb_method": pool.lb_algorithm,
        "admin_state_up": pool.admin_state_up,
        "status": status(r),
        "status_description": null,
        "vip_id": vip_of(tree, &r.id).map(|(l, _)| l.id.clone()),
        "members": members,
        "health_monitors": monitors,
        "health_monitors_status": monitor_status,
        "provider": tree.load_balancer().provider,
    })
}

pub fn member(view: &PoolView, r: &Resource) -> Value {
    let m = r.get::<Member>().expect("a member");
    json!({
        "id": r.id,
        "tenant_id": view.v1.project_id,
        "pool_id": view.v1.pool_id,
        "address": m.address,
        "protocol_port": m.protocol_port,
        "weight": m.weight,
        "admin_state_up": m.admin_state_up,
        "status": status(r),
        "status_description": null,
    })
}

/// The pool's session persistence as v1 shows it on the VIP.
pub fn persistence(view: &PoolView) -> Value {
    let pool = view.tree.typed::<Pool>(&view.v1.pool_id);
    json!(pool.and_then(|p| p.session_persistence.as_ref()))
}

pub fn vip(view: &PoolView, (r, listener): (&Resource, &Listener)) -> Value {
    let lb: &LoadBalancer = view.tree.load_balancer();
    json!({
        "id": r.id,
        "tenant_id": view.v1.project_id,
        "name": listener.name,
        "description": listener.description,
        "subnet_id": lb.vip_subnet_id,
        "address": lb.vip_address,
        "port_id": lb.vip_port_id,
        "protocol": listener.protocol,
        "protocol_port": listener.protocol_port,
        "pool_id": view.v1.pool_id,
        "session_persistence": persistence(view),
        "connection_limit": listener.connection_limit,
        "admin_state_up": listener.admin_state_up,
        "status": status(r),
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
