//! v1 VIPs: the listener of a v1 pool's load balancer whose default pool is that pool. The
//! VIP's address is the load balancer's: it was made on the pool's subnet before any VIP
//! existed, so a VIP on another subnet or with a chosen address moves it there first.

use super::*;
use front::neutron::bad;
use model::{IpAddress, LoadBalancer, PoolProtocol};

fn not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "VipNotFound",
        format!("Vip {id} could not be found"),
    )
}

/// The v1 pool whose VIP is listener `id`.
async fn find(call: &Call<'_>, id: &str) -> Result<PoolView, Fault> {
    for view in visible_pools(call).await? {
        if render::vip_of(&view.tree, &view.v1.pool_id).is_some_and(|(l, _)| l.id == id) {
            return Ok(view);
        }
    }
    Err(not_found(id))
}

/// The VIP of a pool that has one, as v1 shows it.
fn view_of(view: &PoolView) -> Option<Value> {
    render::vip_of(&view.tree, &view.v1.pool_id).map(|vip| render::vip(view, vip))
}

pub async fn list(call: &Call<'_>, query: &front::listing::Query) -> Answer {
    let items = visible_pools(call)
        .await?
        .iter()
        .filter_map(view_of)
        .collect();
    listed("vips", items, query)
}

pub async fn show(call: &Call<'_>, id: &str) -> Answer {
    let view = find(call, id).await?;
    shown("vip", view_of(&view).unwrap_or_default())
}

/// Moves the load balancer's VIP to `subnet_id` (and `address`, when asked for). Only while
/// it has no listener, so nothing is served on the address it leaves.
async fn readdress(
    call: &Call<'_>,
    lb_id: &str,
    subnet_id: &str,
    address: Option<&IpAddress>,
) -> Result<(), Fault> {
    let mut tx = call.state.core.store.begin().await?;
    let Some(mut tree) = tx.tree(lb_id).await? else {
        return Err(pool_not_found(lb_id));
    };
    let lb = tree.load_balancer().clone();
    if lb.vip_subnet_id == subnet_id && address.is_none_or(|a| *a == lb.vip_address) {
        return Ok(());
    }
    if tree.of_kind(Kind::Listener).next().is_some() {
        return Err(fault(
            StatusCode::CONFLICT,
            "StateInvalid",
            format!("Load balancer {lb_id} already serves listeners; its address cannot move."),
        ));
    }
    if lb.vip_port_owned {
        tx.delete_port(&lb.vip_port_id).await?;
    }
    let wanted = crate::vip::VipRequest {
        subnet_id: Some(subnet_id),
        address,
        ..crate::vip::VipRequest::default()
    };
    let project = tree.lb().project_id.clone().unwrap_or_default();
    let vip = crate::vip::allocate(
        &mut tx,
        call.state.config.network_driver,
        wanted,
        lb_id,
        &project,
    )
    .await
    .map_err(Fault::from)?;
    // Amphorae are kept outside the tree; they bind the VIP themselves, so they name it.
    for mut amphora in tx.amphorae(lb_id).await? {
        let d = &mut amphora.details;
        d.vrrp_ip = Some(vip.address.clone());
        d.ha_ip = Some(vip.address.clone());
        d.vrrp_port_id = Some(vip.port_id.clone());
        d.ha_port_id = Some(vip.port_id.clone());
        tx.put_amphora(&amphora).await?;
    }
    let r = tree.lb_mut();
    r.updated_at = Some(model::now());
    let lb = r.get_mut::<LoadBalancer>().expect("a load balancer");
    lb.vip_address = vip.address;
    lb.vip_port_id = vip.port_id;
    lb.vip_subnet_id = vip.subnet_id;
    lb.vip_network_id = vip.network_id;
    lb.vip_port_owned = vip.owned;
    tx.save_tree(&tree).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create(call: &Call<'_>, bytes: &[u8]) -> Answer {
    let body = envelope(bytes, "vip")?;
    for key in ["pool_id", "subnet_id", "protocol", "protocol_port"] {
        required(&body, key)?;
    }
    one_of(
        &body,
        "protocol",
        &[PoolProtocol::Tcp, PoolProtocol::Http, PoolProtocol::Https],
    )?;
    let pool_id = body["pool_id"].as_str().unwrap_or_default().to_string();
    let subnet_id = body["subnet_id"].as_str().unwrap_or_default().to_string();
    let view = find_pool(call, &pool_id).await?;
    if render::vip_of(&view.tree, &pool_id).is_some() {
        return Err(fault(
            StatusCode::CONFLICT,
            "VipExists",
            format!("Another Vip already exists for pool {pool_id}"),
        ));
    }
    let pool = view
        .tree
        .typed::<model::Pool>(&pool_id)
        .expect("a pool view holds its pool");
    let protocol = body["protocol"].as_str().unwrap_or_default();
    if protocol.parse::<PoolProtocol>().ok() != Some(pool.protocol) {
        return Err(bad(format!(
            "Protocol {protocol} does not match pool protocol {}",
            pool.protocol
        )));
    }
    if call
        .state
        .core
        .store
        .subnets()
        .await?
        .iter()
        .all(|s| s.id != subnet_id)
    {
        return Err(front::neutron::subnet_not_found(&subnet_id));
    }
    let address: Option<IpAddress> = match body.get("address") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) if a.parse::<IpAddress>().is_ok() => a.parse().ok(),
        Some(other) => {
            return Err(bad(format!(
                "Invalid input for address. Reason: '{}' is not a valid IP address.",
                other
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or(other.to_string())
            )))
        }
    };
    let lb_id = view.v1.lb_id.clone();
    call.settle(&lb_id).await?;
    readdress(call, &lb_id, &subnet_id, address.as_ref()).await?;
    let persistence = body
        .get("session_persistence")
        .cloned()
        .unwrap_or(Value::Null);
    if render::persistence(&view) != persistence {
        set_persistence(call, &lb_id, &pool_id, persistence).await?;
    }
    let mut listener = json!({"loadbalancer_id": lb_id, "default_pool_id": pool_id,
        "protocol": body["protocol"], "protocol_port": body["protocol_port"]});
    for key in ["name", "description", "connection_limit", "admin_state_up"] {
        if let Some(v) = body.get(key) {
            listener[key] = v.clone();
        }
    }
    call.settle(&lb_id).await?;
    let made = call
        .v2(
            Method::POST,
            "listeners",
            Some(json!({ "listener": listener })),
        )
        .await?;
    let view = find(call, &id_of(&made, "listener")).await?;
    created("vip", view_of(&view).unwrap_or_default())
}

/// v1 keeps session persistence on the VIP; the model keeps it on the pool.
async fn set_persistence(
    call: &Call<'_>,
    lb_id: &str,
    pool_id: &str,
    persistence: Value,
) -> Result<(), Fault> {
    call.settle(lb_id).await?;
    call.v2(
        Method::PUT,
        &format!("pools/{pool_id}"),
        Some(json!({"pool": {"session_persistence": persistence}})),
    )
    .await?;
    Ok(())
}

pub async fn update(call: &Call<'_>, bytes: &[u8], id: &str) -> Answer {
    let mut body = envelope(bytes, "vip")?;
    let view = find(call, id).await?;
    if let Some(pool) = body.remove("pool_id") {
        if pool.as_str() != Some(&view.v1.pool_id) {
            return Err(bad(format!(
                "Vip {id} cannot move to pool {pool}: each v1 pool is its own load balancer \
                 here; delete the VIP and create one for the other pool."
            )));
        }
    }
    only(
        &body,
        &[
            "name",
            "description",
            "connection_limit",
            "admin_state_up",
            "session_persistence",
        ],
    )?;
    let lb_id = view.v1.lb_id.clone();
    if let Some(persistence) = body.remove("session_persistence") {
        set_persistence(call, &lb_id, &view.v1.pool_id, persistence).await?;
    }
    if !body.is_empty() {
        call.settle(&lb_id).await?;
        call.v2(
            Method::PUT,
            &format!("listeners/{id}"),
            Some(json!({ "listener": body })),
        )
        .await?;
    }
    let view = find(call, id).await?;
    shown("vip", view_of(&view).unwrap_or_default())
}

pub async fn delete(call: &Call<'_>, id: &str) -> Answer {
    let view = find(call, id).await?;
    call.settle(&view.v1.lb_id).await?;
    call.v2(Method::DELETE, &format!("listeners/{id}"), None)
        .await?;
    no_content()
}
