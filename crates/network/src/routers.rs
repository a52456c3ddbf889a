//! Routers on the network endpoint, as Neutron shapes them: an external gateway on an external
//! network (a port with an address from it), interfaces on subnets (a port holding the
//! subnet's gateway address), and Neutron's refusals.

use crate::access::{is_admin, owns};
use crate::networks::{find_network, find_subnet};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use front::neutron::{bad, envelope, fault, network_not_found, subnet_not_found, Answer, Fault};
use front::{Core, RequestContext};
use serde_json::{json, Map, Value};
use store::network::{GATEWAY_OWNER, INTERFACE_OWNER};
use store::{AllocError, Port, Router, WriteTx};

fn router_not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "RouterNotFound",
        format!("Router {id} could not be found"),
    )
}

fn bad_router(message: String) -> Fault {
    bad(format!("Bad router request: {message}."))
}

/// Neutron refuses a router interface whose subnet overlaps a subnet the router is on already:
/// the router could not tell where to send an address of both.
async fn overlapping(
    state: &Core,
    existing: &[Port],
    subnet_id: &str,
) -> Result<Option<Fault>, store::StoreError> {
    let subnets = state.store.subnets().await?;
    let cidr = |id: &str| {
        subnets
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.cidr.parse::<ipnet::IpNet>().ok())
    };
    let Some(new) = cidr(subnet_id) else {
        return Ok(None);
    };
    for port in existing.iter().filter(|p| p.subnet_id != subnet_id) {
        if let Some(old) = cidr(&port.subnet_id) {
            if old.contains(&new.network()) || new.contains(&old.network()) {
                return Ok(Some(bad_router(format!(
                    "Cidr {new} of subnet {subnet_id} overlaps with cidr {old} of subnet {}",
                    port.subnet_id
                ))));
            }
        }
    }
    Ok(None)
}

/// A router on the wire, with its gateway's addresses.
fn router_json(r: &Router, ports: &[Port]) -> Value {
    let gateway = r
        .attrs
        .get("external_gateway_info")
        .filter(|g| !g.is_null())
        .map(|g| {
            let ips: Vec<Value> = ports
                .iter()
                .filter(|p| p.device_owner == GATEWAY_OWNER)
                .map(|p| json!({"subnet_id": p.subnet_id, "ip_address": p.ip_address}))
                .collect();
            json!({"network_id": g["network_id"], "enable_snat": g.get("enable_snat").cloned().unwrap_or(json!(true)),
                   "external_fixed_ips": ips})
        });
    let attr = |k: &str, d: Value| r.attrs.get(k).cloned().unwrap_or(d);
    json!({"id": r.id, "name": r.name, "status": "ACTIVE", "admin_state_up": attr("admin_state_up", json!(true)),
           "external_gateway_info": gateway, "tenant_id": r.project_id, "project_id": r.project_id,
           "routes": [], "description": attr("description", json!("")), "distributed": false, "ha": false,
           "availability_zones": [], "tags": [], "created_at": format!("{}Z", r.created_at),
           "updated_at": format!("{}Z", r.created_at), "revision_number": 1})
}

fn visible(ctx: &RequestContext, r: &Router) -> bool {
    owns(ctx, &r.project_id)
}

pub async fn list(state: &Core, ctx: &RequestContext) -> Result<Vec<Value>, Fault> {
    let ports = state.store.ports().await?;
    Ok(state
        .store
        .routers()
        .await?
        .iter()
        .filter(|r| visible(ctx, r))
        .map(|r| {
            let own: Vec<Port> = ports
                .iter()
                .filter(|p| p.device_id == r.id)
                .cloned()
                .collect();
            router_json(r, &own)
        })
        .collect())
}

/// Loads a router the caller may act on, in `tx`.
async fn find(tx: &mut WriteTx, ctx: &RequestContext, id: &str) -> Result<Router, Fault> {
    match tx.router(id).await? {
        Some(r) if visible(ctx, &r) => Ok(r),
        _ => Err(router_not_found(id)),
    }
}

pub async fn show(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    let mut tx = state.store.begin().await?;
    let router = find(&mut tx, ctx, id).await?;
    let ports = tx.router_ports(id).await?;
    Ok(axum::Json(json!({"router": router_json(&router, &ports)})).into_response())
}

pub async fn create(state: &Core, bytes: &[u8], ctx: &RequestContext) -> Answer {
    let body = envelope(bytes, "router")?;
    let project = match body.get("project_id").or(body.get("tenant_id")) {
        Some(Value::String(p)) if is_admin(ctx) => p.clone(),
        _ => ctx.project_id.clone().unwrap_or_default(),
    };
    let mut router = Router {
        id: uuid::Uuid::new_v4().to_string(),
        name: String::new(),
        project_id: project,
        created_at: model::now(),
        attrs: Map::new(),
    };
    let mut tx = state.store.begin().await?;
    apply(state, &mut tx, ctx, &mut router, &body).await?;
    tx.put_router(&router).await?;
    let ports = tx.router_ports(&router.id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"router": router_json(&router, &ports)})),
    )
        .into_response())
}

pub async fn update(state: &Core, bytes: &[u8], ctx: &RequestContext, id: &str) -> Answer {
    let body = envelope(bytes, "router")?;
    let mut tx = state.store.begin().await?;
    let mut router = find(&mut tx, ctx, id).await?;
    apply(state, &mut tx, ctx, &mut router, &body).await?;
    tx.put_router(&router).await?;
    let ports = tx.router_ports(id).await?;
    tx.commit().await?;
    Ok(axum::Json(json!({"router": router_json(&router, &ports)})).into_response())
}

/// Name, description, admin state, and the external gateway (set, moved or cleared).
async fn apply(
    state: &Core,
    tx: &mut WriteTx,
    ctx: &RequestContext,
    router: &mut Router,
    body: &Map<String, Value>,
) -> Result<(), Fault> {
    if let Some(name) = body.get("name") {
        router.name = name.as_str().unwrap_or_default().to_string();
    }
    for key in ["description", "admin_state_up"] {
        if let Some(v) = body.get(key) {
            router.attrs.insert(key.into(), v.clone());
        }
    }
    let Some(gateway) = body.get("external_gateway_info") else {
        return Ok(());
    };
    let network_id = gateway.get("network_id").and_then(Value::as_str);
    let current = router
        .attrs
        .get("external_gateway_info")
        .and_then(|g| g.get("network_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if network_id.is_some() && network_id == current.as_deref() {
        return Ok(());
    }
    // Moving or clearing the gateway gives its address back first.
    for port in tx.router_ports(&router.id).await? {
        if port.device_owner == GATEWAY_OWNER {
            tx.delete_port(&port.id).await?;
        }
    }
    router
        .attrs
        .insert("external_gateway_info".into(), Value::Null);
    let Some(network_id) = network_id else {
        return Ok(());
    };
    let Some(network) = find_network(state, ctx, network_id).await else {
        return Err(network_not_found(network_id));
    };
    if !network.external {
        return Err(bad_router(format!(
            "Network {network_id} is not an external network"
        )));
    }
    let Some(subnet) = tx.network_subnets(network_id).await?.into_iter().next() else {
        return Err(bad_router(format!(
            "Network {network_id} has no subnet for the gateway"
        )));
    };
    match tx
        .allocate_port(&subnet, None, "", GATEWAY_OWNER, &router.project_id)
        .await?
    {
        Ok(port) => {
            tx.set_port_device(&port.id, &router.id, GATEWAY_OWNER)
                .await?;
        }
        Err(_) => {
            return Err(fault(
                StatusCode::CONFLICT,
                "IpAddressGenerationFailure",
                format!("No more IP addresses available on network {network_id}."),
            ))
        }
    }
    let snat = gateway.get("enable_snat").cloned().unwrap_or(json!(true));
    router.attrs.insert(
        "external_gateway_info".into(),
        json!({"network_id": network_id, "enable_snat": snat}),
    );
    Ok(())
}

pub async fn delete(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    let mut tx = state.store.begin().await?;
    find(&mut tx, ctx, id).await?;
    let ports = tx.router_ports(id).await?;
    if ports.iter().any(|p| p.device_owner == INTERFACE_OWNER) {
        return Err(fault(
            StatusCode::CONFLICT,
            "RouterInUse",
            format!("Router {id} still has ports"),
        ));
    }
    for port in ports {
        tx.delete_port(&port.id).await?;
    }
    tx.delete_router(id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What both interface calls start with: the body (no envelope) and the router, in a
/// transaction.
async fn interface_request(
    state: &Core,
    bytes: &[u8],
    ctx: &RequestContext,
    id: &str,
) -> Result<(Value, WriteTx, Router), Fault> {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        return Err(bad("Invalid JSON body.".into()));
    };
    let mut tx = state.store.begin().await?;
    let router = find(&mut tx, ctx, id).await?;
    Ok((body, tx, router))
}

/// `PUT /routers/{id}/add_router_interface` with `{"subnet_id"}` or `{"port_id"}` (no
/// envelope); the answer names the port.
pub async fn add_interface(state: &Core, bytes: &[u8], ctx: &RequestContext, id: &str) -> Answer {
    let (body, mut tx, router) = interface_request(state, bytes, ctx, id).await?;
    let existing = tx.router_ports(id).await?;
    let port = if let Some(subnet_id) = body.get("subnet_id").and_then(Value::as_str) {
        let Some(subnet) = find_subnet(state, ctx, subnet_id).await else {
            return Err(subnet_not_found(subnet_id));
        };
        if existing
            .iter()
            .any(|p| p.subnet_id == subnet.id && p.device_owner == INTERFACE_OWNER)
        {
            return Err(bad_router(format!(
                "Router already has a port on subnet {subnet_id}"
            )));
        }
        if let Some(refused) = overlapping(state, &existing, &subnet.id).await? {
            return Err(refused);
        }
        let Some(gateway) = subnet.gateway_ip.as_deref().and_then(|g| g.parse().ok()) else {
            return Err(bad_router(format!(
                "Subnet {subnet_id} does not have a gateway IP"
            )));
        };
        match tx
            .allocate_port(
                &subnet,
                Some(gateway),
                "",
                INTERFACE_OWNER,
                &router.project_id,
            )
            .await?
        {
            Ok(p) => p,
            Err(AllocError::InUse) => {
                return Err(fault(
                    StatusCode::CONFLICT,
                    "IpAddressAlreadyAllocated",
                    format!("IP address {gateway} already allocated in subnet {subnet_id}"),
                ))
            }
            Err(_) => {
                return Err(bad_router(format!(
                    "Subnet {subnet_id} cannot hold the interface"
                )))
            }
        }
    } else if let Some(port_id) = body.get("port_id").and_then(Value::as_str) {
        match tx.port(port_id).await? {
            Some(p) if !p.device_id.is_empty() => {
                return Err(fault(
                    StatusCode::CONFLICT,
                    "PortInUse",
                    format!("Port {port_id} is in use by device {}.", p.device_id),
                ))
            }
            Some(p) if owns(ctx, &p.project_id) => {
                if let Some(refused) = overlapping(state, &existing, &p.subnet_id).await? {
                    return Err(refused);
                }
                p
            }
            _ => {
                return Err(fault(
                    StatusCode::NOT_FOUND,
                    "PortNotFound",
                    format!("Port {port_id} could not be found."),
                ))
            }
        }
    } else {
        return Err(bad_router(
            "Either subnet_id or port_id must be specified".into(),
        ));
    };
    tx.set_port_device(&port.id, id, INTERFACE_OWNER).await?;
    tx.commit().await?;
    Ok(axum::Json(interface_json(&router, &port)).into_response())
}

fn interface_json(router: &Router, port: &Port) -> Value {
    json!({"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id,
           "port_id": port.id, "subnet_id": port.subnet_id, "subnet_ids": [port.subnet_id],
           "network_id": port.network_id})
}

/// `PUT /routers/{id}/remove_router_interface` with `{"subnet_id"}` or `{"port_id"}`.
pub async fn remove_interface(
    state: &Core,
    bytes: &[u8],
    ctx: &RequestContext,
    id: &str,
) -> Answer {
    let (body, mut tx, router) = interface_request(state, bytes, ctx, id).await?;
    let interfaces: Vec<Port> = tx
        .router_ports(id)
        .await?
        .into_iter()
        .filter(|p| p.device_owner == INTERFACE_OWNER)
        .collect();
    let (port, missing) = match (
        body.get("subnet_id").and_then(Value::as_str),
        body.get("port_id").and_then(Value::as_str),
    ) {
        (_, Some(port_id)) => (
            interfaces.iter().find(|p| p.id == port_id),
            fault(
                StatusCode::NOT_FOUND,
                "RouterInterfaceNotFound",
                format!("Router {id} does not have an interface with id {port_id}"),
            ),
        ),
        (Some(subnet_id), None) => (
            interfaces.iter().find(|p| p.subnet_id == subnet_id),
            fault(
                StatusCode::NOT_FOUND,
                "RouterInterfaceNotFoundForSubnet",
                format!("Router {id} has no interface on subnet {subnet_id}"),
            ),
        ),
        (None, None) => {
            return Err(bad_router(
                "Either subnet_id or port_id must be specified".into(),
            ))
        }
    };
    let Some(port) = port.cloned() else {
        return Err(missing);
    };
    tx.delete_port(&port.id).await?;
    tx.commit().await?;
    Ok(axum::Json(interface_json(&router, &port)).into_response())
}
