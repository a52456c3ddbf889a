//! v1 pools (each an Octavia pool on a load balancer of its own) and their members.

use super::*;
use front::neutron::bad;
use model::{LbAlgorithm, PoolProtocol};

/// What v1 pools take (fewer than Octavia's).
const PROTOCOLS: [PoolProtocol; 3] = [PoolProtocol::Tcp, PoolProtocol::Http, PoolProtocol::Https];
const METHODS: [LbAlgorithm; 3] = [
    LbAlgorithm::RoundRobin,
    LbAlgorithm::LeastConnections,
    LbAlgorithm::SourceIp,
];

pub async fn list(call: &Call<'_>, query: &front::listing::Query) -> Answer {
    let associations = call.state.core.store.v1_associations().await?;
    let items = visible_pools(call)
        .await?
        .iter()
        .map(|view| render::pool(view, &associations))
        .collect();
    listed("pools", items, query)
}

pub async fn show(call: &Call<'_>, id: &str) -> Answer {
    let view = find_pool(call, id).await?;
    let associations = call.state.core.store.v1_associations().await?;
    shown("pool", render::pool(&view, &associations))
}

async fn fresh(call: &Call<'_>, id: &str) -> Answer {
    let view = find_pool(call, id).await?;
    let associations = call.state.core.store.v1_associations().await?;
    created("pool", render::pool(&view, &associations))
}

/// A pool with its own load balancer on the pool's subnet: the load balancer first (v1 has
/// no such object), then the pool on it once the load balancer is up. If the pool cannot be
/// made, the load balancer goes again.
pub async fn create(call: &Call<'_>, bytes: &[u8]) -> Answer {
    let body = envelope(bytes, "pool")?;
    let subnet_id = required(&body, "subnet_id")?
        .as_str()
        .ok_or_else(|| bad("Invalid input for subnet_id. Reason: not a string.".into()))?
        .to_string();
    required(&body, "protocol")?;
    required(&body, "lb_method")?;
    one_of(&body, "protocol", &PROTOCOLS)?;
    one_of(&body, "lb_method", &METHODS)?;
    let admin_state_up = body.get("admin_state_up").cloned().unwrap_or(json!(true));
    let name = body.get("name").cloned().unwrap_or(json!(""));
    let mut lb = json!({"name": name, "vip_subnet_id": subnet_id,
        "description": "LBaaS v1 pool (neutron lb-pool-create)"});
    if let Some(project) = body.get("tenant_id") {
        lb["project_id"] = project.clone();
    }
    if let Some(provider) = body.get("provider") {
        lb["provider"] = provider.clone();
    }
    let made = call
        .v2(
            Method::POST,
            "loadbalancers",
            Some(json!({ "loadbalancer": lb })),
        )
        .await?;
    let lb_id = id_of(&made, "loadbalancer");
    let project = made
        .pointer("/loadbalancer/project_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut pool = json!({"loadbalancer_id": lb_id, "name": name,
        "protocol": body["protocol"], "lb_algorithm": body["lb_method"],
        "admin_state_up": admin_state_up});
    if let Some(d) = body.get("description") {
        pool["description"] = d.clone();
    }
    let pool_id = match made_pool(call, &lb_id, pool).await {
        Ok(id) => id,
        Err(refused) => {
            let cascade = format!("loadbalancers/{lb_id}?cascade=true");
            if let Err(e) = call.v2(Method::DELETE, &cascade, None).await {
                tracing::warn!(lb = %lb_id, error = ?e, "v1: could not remove the load balancer of a refused pool");
            }
            return Err(refused);
        }
    };
    let mut tx = call.state.core.store.begin().await?;
    tx.put_v1_pool(&store::V1Pool {
        pool_id: pool_id.clone(),
        lb_id,
        subnet_id,
        project_id: project,
        created_at: model::now(),
    })
    .await?;
    tx.commit().await?;
    fresh(call, &pool_id).await
}

async fn made_pool(call: &Call<'_>, lb_id: &str, pool: Value) -> Result<String, Fault> {
    call.settle(lb_id).await?;
    let made = call
        .v2(Method::POST, "pools", Some(json!({ "pool": pool })))
        .await?;
    Ok(id_of(&made, "pool"))
}

pub async fn update(call: &Call<'_>, bytes: &[u8], id: &str) -> Answer {
    let body = envelope(bytes, "pool")?;
    only(
        &body,
        &["name", "description", "lb_method", "admin_state_up"],
    )?;
    one_of(&body, "lb_method", &METHODS)?;
    let view = find_pool(call, id).await?;
    let mut change = Map::new();
    for (key, value) in body {
        let key = if key == "lb_method" {
            "lb_algorithm".into()
        } else {
            key
        };
        change.insert(key, value);
    }
    call.settle(&view.v1.lb_id).await?;
    call.v2(
        Method::PUT,
        &format!("pools/{id}"),
        Some(json!({ "pool": change })),
    )
    .await?;
    let view = find_pool(call, id).await?;
    let associations = call.state.core.store.v1_associations().await?;
    shown("pool", render::pool(&view, &associations))
}

/// v1 refuses to delete a pool that has a VIP; otherwise the pool goes with its load balancer.
pub async fn delete(call: &Call<'_>, id: &str) -> Answer {
    let view = find_pool(call, id).await?;
    if render::vip_of(&view.tree, id).is_some() {
        return Err(fault(
            StatusCode::CONFLICT,
            "PoolInUse",
            format!("Pool {id} is still in use"),
        ));
    }
    call.settle(&view.v1.lb_id).await?;
    call.v2(
        Method::DELETE,
        &format!("loadbalancers/{}?cascade=true", view.v1.lb_id),
        None,
    )
    .await?;
    let mut tx = call.state.core.store.begin().await?;
    tx.delete_v1_pool(id).await?;
    tx.commit().await?;
    no_content()
}

/// v1's pool statistics are its load balancer's.
pub async fn stats(call: &Call<'_>, id: &str) -> Answer {
    let view = find_pool(call, id).await?;
    let stats = call
        .v2(
            Method::GET,
            &format!("loadbalancers/{}/stats", view.v1.lb_id),
            None,
        )
        .await?;
    let s = &stats["stats"];
    shown(
        "stats",
        json!({"bytes_in": s["bytes_in"], "bytes_out": s["bytes_out"],
               "active_connections": s["active_connections"],
               "total_connections": s["total_connections"]}),
    )
}

fn member_not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "MemberNotFound",
        format!("Member {id} could not be found"),
    )
}

/// The member `id` of a v1 pool the caller sees, with that pool.
async fn find_member(call: &Call<'_>, id: &str) -> Result<(PoolView, model::Resource), Fault> {
    for view in visible_pools(call).await? {
        if let Some(m) = view.tree.get_kind(Kind::Member, id) {
            if m.parent_id.as_deref() == Some(&view.v1.pool_id) {
                let m = m.clone();
                return Ok((view, m));
            }
        }
    }
    Err(member_not_found(id))
}

pub async fn list_members(call: &Call<'_>, query: &front::listing::Query) -> Answer {
    let mut items = Vec::new();
    for view in visible_pools(call).await? {
        for m in view.tree.children(Kind::Member, &view.v1.pool_id) {
            items.push(render::member(&view, m));
        }
    }
    listed("members", items, query)
}

pub async fn show_member(call: &Call<'_>, id: &str) -> Answer {
    let (view, m) = find_member(call, id).await?;
    shown("member", render::member(&view, &m))
}

/// A member of a v1 pool lives on the pool's subnet.
pub async fn create_member(call: &Call<'_>, bytes: &[u8]) -> Answer {
    let body = envelope(bytes, "member")?;
    let pool_id = required(&body, "pool_id")?
        .as_str()
        .ok_or_else(|| bad("Invalid input for pool_id. Reason: not a string.".into()))?
        .to_string();
    required(&body, "address")?;
    required(&body, "protocol_port")?;
    let view = find_pool(call, &pool_id).await?;
    let mut member = json!({"subnet_id": view.v1.subnet_id});
    for key in ["address", "protocol_port", "weight", "admin_state_up"] {
        if let Some(v) = body.get(key) {
            member[key] = v.clone();
        }
    }
    call.settle(&view.v1.lb_id).await?;
    let made = call
        .v2(
            Method::POST,
            &format!("pools/{pool_id}/members"),
            Some(json!({ "member": member })),
        )
        .await?;
    let (view, m) = find_member(call, &id_of(&made, "member")).await?;
    created("member", render::member(&view, &m))
}

pub async fn update_member(call: &Call<'_>, bytes: &[u8], id: &str) -> Answer {
    let mut body = envelope(bytes, "member")?;
    let (view, _) = find_member(call, id).await?;
    // Moving a member to another pool would move it to another load balancer.
    if let Some(pool) = body.remove("pool_id") {
        if pool.as_str() != Some(&view.v1.pool_id) {
            return Err(bad(format!(
                "Member {id} cannot move to pool {pool}: each v1 pool is its own load \
                 balancer here; delete the member and create it in the other pool."
            )));
        }
    }
    only(&body, &["weight", "admin_state_up"])?;
    call.settle(&view.v1.lb_id).await?;
    call.v2(
        Method::PUT,
        &format!("pools/{}/members/{id}", view.v1.pool_id),
        Some(json!({ "member": body })),
    )
    .await?;
    let (view, m) = find_member(call, id).await?;
    shown("member", render::member(&view, &m))
}

pub async fn delete_member(call: &Call<'_>, id: &str) -> Answer {
    let (view, _) = find_member(call, id).await?;
    call.settle(&view.v1.lb_id).await?;
    call.v2(
        Method::DELETE,
        &format!("pools/{}/members/{id}", view.v1.pool_id),
        None,
    )
    .await?;
    no_content()
}
