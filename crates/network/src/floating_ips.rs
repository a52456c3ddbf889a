//! Floating IPs on the network endpoint: an address from an external network, associated
//! with a port whose subnet reaches that network through a router (Neutron's rule), one per
//! fixed address.

use crate::access::{is_admin, owns};
use crate::networks::find_network;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use front::neutron::{bad, envelope, fault, network_not_found, Answer, Fault};
use front::{Core, RequestContext};
use model::{LoadBalancer, ProvisioningStatus};
use serde_json::{json, Map, Value};
use store::floating_ips::FLOATING_IP_OWNER;
use store::network::{GATEWAY_OWNER, INTERFACE_OWNER};
use store::{AllocError, FloatingIp, WriteTx};

fn not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "FloatingIPNotFound",
        format!("Floating IP {id} could not be found"),
    )
}

pub fn floating_ip_json(f: &FloatingIp) -> Value {
    let status = if f.port_id.is_some() {
        "ACTIVE"
    } else {
        "DOWN"
    };
    json!({"id": f.id, "floating_ip_address": f.floating_ip_address,
           "floating_network_id": f.floating_network_id, "router_id": f.router_id,
           "port_id": f.port_id, "fixed_ip_address": f.fixed_ip_address, "status": status,
           "tenant_id": f.project_id, "project_id": f.project_id,
           "description": f.attrs.get("description").cloned().unwrap_or(json!("")),
           "port_forwardings": [], "tags": [], "created_at": format!("{}Z", f.created_at),
           "updated_at": format!("{}Z", f.created_at), "revision_number": 1})
}

pub async fn list(state: &Core, ctx: &RequestContext) -> Result<Vec<Value>, Fault> {
    Ok(state
        .store
        .floating_ips()
        .await?
        .iter()
        .filter(|f| owns(ctx, &f.project_id))
        .map(floating_ip_json)
        .collect())
}

async fn find(tx: &mut WriteTx, ctx: &RequestContext, id: &str) -> Result<FloatingIp, Fault> {
    match tx.floating_ip(id).await? {
        Some(f) if owns(ctx, &f.project_id) => Ok(f),
        _ => Err(not_found(id)),
    }
}

pub async fn show(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    let mut tx = state.store.begin().await?;
    let f = find(&mut tx, ctx, id).await?;
    Ok(axum::Json(json!({"floatingip": floating_ip_json(&f)})).into_response())
}

pub async fn create(state: &Core, bytes: &[u8], ctx: &RequestContext) -> Answer {
    let body = envelope(bytes, "floatingip")?;
    let network_id = body
        .get("floating_network_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(network) = find_network(state, ctx, &network_id).await else {
        return Err(network_not_found(&network_id));
    };
    if !network.external {
        return Err(bad(format!(
            "Bad floatingip request: Network {network_id} is not a valid external network."
        )));
    }
    let project = match body.get("project_id").or(body.get("tenant_id")) {
        Some(Value::String(p)) if is_admin(ctx) => p.clone(),
        _ => ctx.project_id.clone().unwrap_or_default(),
    };
    let mut tx = state.store.begin().await?;
    let subnets = tx.network_subnets(&network_id).await?;
    let wanted = match body.get("floating_ip_address").and_then(Value::as_str) {
        Some(a) => match a.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                return Err(bad(format!(
                "Invalid input for floating_ip_address. Reason: '{a}' is not a valid IP address."
            )))
            }
        },
        None => None,
    };
    let subnet = match (body.get("subnet_id").and_then(Value::as_str), wanted) {
        (Some(s), _) => subnets.iter().find(|x| x.id == s),
        (None, Some(ip)) => subnets.iter().find(|x| x.contains(ip)),
        (None, None) => subnets.first(),
    };
    let Some(subnet) = subnet.cloned() else {
        return Err(bad(format!(
            "Bad floatingip request: no subnet of network {network_id} can hold the address."
        )));
    };
    let id = uuid::Uuid::new_v4().to_string();
    let port = match tx
        .allocate_port(&subnet, wanted, "", FLOATING_IP_OWNER, &project)
        .await?
    {
        Ok(p) => p,
        Err(AllocError::InUse) => {
            return Err(fault(
                StatusCode::CONFLICT,
                "IpAddressAlreadyAllocated",
                format!(
                    "IP address {} already allocated in subnet {}",
                    wanted.map(|w| w.to_string()).unwrap_or_default(),
                    subnet.id
                ),
            ))
        }
        Err(AllocError::NotInSubnet) => {
            return Err(bad(format!(
                "IP address {} is not a valid IP for the specified subnet.",
                wanted.map(|w| w.to_string()).unwrap_or_default()
            )))
        }
        Err(AllocError::Exhausted) => {
            return Err(fault(
                StatusCode::CONFLICT,
                "IpAddressGenerationFailure",
                format!("No more IP addresses available on network {network_id}."),
            ))
        }
    };
    tx.set_port_device(&port.id, &id, FLOATING_IP_OWNER).await?;
    let mut fip = FloatingIp {
        id,
        floating_network_id: network_id,
        floating_ip_address: port.ip_address.clone(),
        port_id: None,
        fixed_ip_address: None,
        router_id: None,
        project_id: project,
        created_at: model::now(),
        attrs: Map::new(),
    };
    if let Some(d) = body.get("description") {
        fip.attrs.insert("description".into(), d.clone());
    }
    if let Some(port_id) = body.get("port_id").and_then(Value::as_str) {
        associate(&mut tx, ctx, &mut fip, port_id, &body).await?;
    }
    tx.put_floating_ip(&fip).await?;
    let woken = reconfigure_vip(&mut tx, fip.port_id.as_deref()).await?;
    tx.commit().await?;
    if woken {
        state.jobs.notify_one();
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"floatingip": floating_ip_json(&fip)})),
    )
        .into_response())
}

/// Associates `fip` with a port, under Neutron's rules: the port's subnet must reach the
/// floating network through a router, and its fixed address must not have one already.
async fn associate(
    tx: &mut WriteTx,
    ctx: &RequestContext,
    fip: &mut FloatingIp,
    port_id: &str,
    body: &Map<String, Value>,
) -> Result<(), Fault> {
    let port = match tx.port(port_id).await? {
        Some(p) if owns(ctx, &p.project_id) || is_admin(ctx) => p,
        _ => {
            return Err(fault(
                StatusCode::NOT_FOUND,
                "PortNotFound",
                format!("Port {port_id} could not be found."),
            ))
        }
    };
    if let Some(fixed) = body.get("fixed_ip_address").and_then(Value::as_str) {
        if fixed != port.ip_address {
            return Err(bad(format!(
                "Bad floatingip request: Port {port_id} does not have fixed ip {fixed}."
            )));
        }
    }
    let Some(router) = reaching_router(tx, &port.subnet_id, &fip.floating_network_id).await? else {
        return Err(fault(
            StatusCode::NOT_FOUND,
            "ExternalGatewayForFloatingIPNotFound",
            format!(
                "External network {} is not reachable from subnet {}.  Therefore, cannot associate Port {port_id} with a Floating IP.",
                fip.floating_network_id, port.subnet_id
            ),
        ));
    };
    if let Some(other) = tx
        .floating_ips_of_port(port_id)
        .await?
        .into_iter()
        .find(|o| o.id != fip.id)
    {
        return Err(fault(
            StatusCode::CONFLICT,
            "FloatingIPPortAlreadyAssociated",
            format!(
                "Cannot associate floating IP {} ({}) with port {port_id} using fixed IP {}, as that fixed IP already has a floating IP on external network {}.",
                fip.floating_ip_address, fip.id, port.ip_address, other.floating_network_id
            ),
        ));
    }
    fip.port_id = Some(port.id);
    fip.fixed_ip_address = Some(port.ip_address);
    fip.router_id = Some(router);
    Ok(())
}

/// A load balancer whose VIP port gained or lost a floating address serves the new set: its
/// amphorae are reconfigured by a job (their other addresses are untouched).
async fn reconfigure_vip(tx: &mut WriteTx, port_id: Option<&str>) -> Result<bool, Fault> {
    let Some(port) = port_id else {
        return Ok(false);
    };
    let Some(port) = tx.port(port).await? else {
        return Ok(false);
    };
    let Some(lb_id) = port.device_id.strip_prefix("lb-") else {
        return Ok(false);
    };
    let Some(lb) = tx.get(model::Kind::LoadBalancer, lb_id).await? else {
        return Ok(false);
    };
    if matches!(
        lb.provisioning_status,
        ProvisioningStatus::Deleted | ProvisioningStatus::PendingDelete
    ) {
        return Ok(false);
    }
    let Some(provider) = lb.get::<LoadBalancer>().map(|l| l.provider) else {
        return Ok(false);
    };
    tx.enqueue(
        lb_id,
        model::JobAction::Update,
        model::Kind::LoadBalancer,
        lb_id,
        provider,
    )
    .await?;
    Ok(true)
}

/// A router with an interface on `subnet_id` and its gateway on `network_id`.
async fn reaching_router(
    tx: &mut WriteTx,
    subnet_id: &str,
    network_id: &str,
) -> Result<Option<String>, Fault> {
    let interfaces: Vec<String> = tx
        .subnet_ports(subnet_id)
        .await?
        .into_iter()
        .filter(|p| p.device_owner == INTERFACE_OWNER)
        .map(|p| p.device_id)
        .collect();
    for router in interfaces {
        let ports = tx.router_ports(&router).await?;
        if ports
            .iter()
            .any(|p| p.device_owner == GATEWAY_OWNER && p.network_id == network_id)
        {
            return Ok(Some(router));
        }
    }
    Ok(None)
}

pub async fn update(state: &Core, bytes: &[u8], ctx: &RequestContext, id: &str) -> Answer {
    let body = envelope(bytes, "floatingip")?;
    let mut tx = state.store.begin().await?;
    let mut fip = find(&mut tx, ctx, id).await?;
    if let Some(d) = body.get("description") {
        fip.attrs.insert("description".into(), d.clone());
    }
    let before = fip.port_id.clone();
    match body.get("port_id") {
        Some(Value::String(port_id)) => {
            let port_id = port_id.clone();
            associate(&mut tx, ctx, &mut fip, &port_id, &body).await?;
        }
        Some(Value::Null) => {
            fip.port_id = None;
            fip.fixed_ip_address = None;
            fip.router_id = None;
        }
        _ => {}
    }
    tx.put_floating_ip(&fip).await?;
    let mut woken = false;
    if before != fip.port_id {
        woken |= reconfigure_vip(&mut tx, before.as_deref()).await?;
        woken |= reconfigure_vip(&mut tx, fip.port_id.as_deref()).await?;
    }
    tx.commit().await?;
    if woken {
        state.jobs.notify_one();
    }
    Ok(axum::Json(json!({"floatingip": floating_ip_json(&fip)})).into_response())
}

pub async fn delete(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    let mut tx = state.store.begin().await?;
    let fip = find(&mut tx, ctx, id).await?;
    tx.delete_floating_ip(id).await?;
    let woken = reconfigure_vip(&mut tx, fip.port_id.as_deref()).await?;
    tx.commit().await?;
    if woken {
        state.jobs.notify_one();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
