//! Ports on the network endpoint: listed and shown to their project (all to an
//! administrator), created with an address from a subnet, deleted unless a router or a load
//! balancer holds them.

use crate::access::is_admin;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use front::listing::Query;
use front::neutron::{fault, filter_list, Answer, Fault};
use front::{Core, RequestContext};
use serde_json::{json, Value};
use store::Port;

/// Ports of other projects are invisible, except to administrators.
fn visible(ctx: &RequestContext, p: &Port) -> bool {
    is_admin(ctx) || ctx.project_id.as_deref() == Some(&p.project_id)
}

fn not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "PortNotFound",
        format!("Port {id} could not be found."),
    )
}

/// A port as Neutron shows it.
fn port_json(p: &Port) -> Value {
    let mac = p.mac();
    json!({"id": p.id, "name": p.name, "network_id": p.network_id, "tenant_id": p.project_id,
           "project_id": p.project_id, "mac_address": mac, "admin_state_up": true, "status": "ACTIVE",
           "device_id": p.device_id, "device_owner": p.device_owner,
           "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.ip_address}],
           "security_groups": [], "allowed_address_pairs": [], "description": "", "tags": [],
           "port_security_enabled": false, "created_at": format!("{}Z", p.created_at),
           "updated_at": format!("{}Z", p.created_at), "revision_number": 1})
}

pub async fn list(state: &Core, ctx: &RequestContext, q: &Query) -> Answer {
    let items = state
        .store
        .ports()
        .await?
        .iter()
        .filter(|p| visible(ctx, p))
        .map(port_json)
        .collect();
    Ok(axum::Json(json!({"ports": filter_list(items, q)})).into_response())
}

pub async fn show(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    match state.store.port(id).await?.filter(|p| visible(ctx, p)) {
        Some(p) => Ok(axum::Json(json!({"port": port_json(&p)})).into_response()),
        None => Err(not_found(id)),
    }
}

pub async fn delete(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    let mut tx = state.store.begin().await?;
    match tx.port(id).await?.filter(|p| visible(ctx, p)) {
        None => Err(not_found(id)),
        Some(p) if p.device_owner.starts_with("network:") => Err(fault(
            StatusCode::CONFLICT,
            "ServicePortInUse",
            format!(
                "Port {id} cannot be deleted directly via the port API: has device owner {}.",
                p.device_owner
            ),
        )),
        Some(p) if p.device_owner == "Octavia" && !p.device_id.is_empty() => Err(fault(
            StatusCode::CONFLICT,
            "PortInUse",
            format!("Port {id} is in use by device {}.", p.device_id),
        )),
        Some(_) => {
            tx.delete_port(id).await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

pub async fn create(state: &Core, bytes: &[u8], ctx: &RequestContext) -> Answer {
    let bad = |m: &str| fault(StatusCode::BAD_REQUEST, "BadRequest", m.to_string());
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        return Err(bad("Invalid JSON body."));
    };
    let Some(port) = body.get("port") else {
        return Err(bad("Resource body required."));
    };
    let network_id = port
        .get("network_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let fixed = port.get("fixed_ips").and_then(|f| f.get(0));
    let subnet_id = fixed
        .and_then(|f| f.get("subnet_id"))
        .and_then(Value::as_str);
    let address = fixed
        .and_then(|f| f.get("ip_address"))
        .and_then(Value::as_str);
    let name = port.get("name").and_then(Value::as_str).unwrap_or_default();
    let mut tx = state.store.begin().await?;
    let subnets = tx.network_subnets(network_id).await?;
    let subnet = match subnet_id {
        Some(id) => subnets.into_iter().find(|s| s.id == id),
        None => subnets.into_iter().next(),
    };
    let Some(subnet) = subnet else {
        return Err(fault(
            StatusCode::NOT_FOUND,
            "NetworkNotFound",
            format!("Network {network_id} could not be found."),
        ));
    };
    let ip = match address.map(str::parse) {
        Some(Ok(ip)) => Some(ip),
        Some(Err(_)) => return Err(bad("Invalid IP address.")),
        None => None,
    };
    match tx
        .allocate_port(
            &subnet,
            ip,
            name,
            "",
            ctx.project_id.as_deref().unwrap_or_default(),
        )
        .await?
    {
        Ok(p) => {
            tx.commit().await?;
            Ok((
                StatusCode::CREATED,
                axum::Json(json!({"port": port_json(&p)})),
            )
                .into_response())
        }
        Err(store::AllocError::InUse) => Err(fault(
            StatusCode::CONFLICT,
            "IpAddressAlreadyAllocated",
            format!(
                "IP address {} already allocated in subnet {}",
                address.unwrap_or_default(),
                subnet.id
            ),
        )),
        Err(store::AllocError::NotInSubnet) => Err(bad(&format!(
            "IP address {} is not a valid IP for the specified subnet.",
            address.unwrap_or_default()
        ))),
        Err(store::AllocError::Exhausted) => Err(fault(
            StatusCode::CONFLICT,
            "IpAddressGenerationFailure",
            format!("No more IP addresses available on network {network_id}."),
        )),
    }
}
