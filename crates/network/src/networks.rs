//! Networks and subnets on the network endpoint, as Neutron creates, changes and deletes
//! them: `router:external`, `shared` and `provider:*` (admin only, stored and echoed), IPv4
//! and IPv6 subnets with gateway, allocation pools, DNS servers and `enable_dhcp`, overlap and
//! in-use checks with Neutron's error types.

use crate::access::{is_admin, network_visible, owns};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use front::listing::Query;
use front::neutron::{
    bad, envelope, fault, filter_list, flag, invalid, network_not_found, subnet_not_found, Answer,
    Fault,
};
use front::{Core, RequestContext};
use ipnet::IpNet;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use store::{Network, Subnet};

/// A network as Neutron shows it.
pub fn network_json(n: &Network) -> Value {
    let mut v = json!({"id": n.id, "name": n.name, "status": "ACTIVE", "subnets": n.subnets,
           "admin_state_up": true, "shared": n.shared, "tenant_id": n.project_id,
           "project_id": n.project_id, "router:external": n.external, "mtu": 65536,
           "port_security_enabled": false, "availability_zones": [], "ipv4_address_scope": null,
           "ipv6_address_scope": null, "description": "", "tags": [],
           "created_at": format!("{}Z", n.created_at), "updated_at": format!("{}Z", n.created_at),
           "revision_number": 1});
    for (key, value) in &n.attrs {
        v[key] = value.clone();
    }
    v
}

/// A subnet as Neutron shows it.
pub fn subnet_json(s: &Subnet) -> Value {
    let pools: Vec<Value> = s
        .pools()
        .iter()
        .map(|(a, b)| json!({"start": a.to_string(), "end": b.to_string()}))
        .collect();
    let attr = |k: &str, d: Value| s.attrs.get(k).cloned().unwrap_or(d);
    json!({"id": s.id, "name": s.name, "network_id": s.network_id, "tenant_id": s.project_id,
           "project_id": s.project_id, "ip_version": s.ip_version, "cidr": s.cidr,
           "gateway_ip": s.gateway_ip, "allocation_pools": pools,
           "enable_dhcp": attr("enable_dhcp", json!(false)),
           "dns_nameservers": attr("dns_nameservers", json!([])),
           "host_routes": attr("host_routes", json!([])),
           "ipv6_ra_mode": attr("ipv6_ra_mode", Value::Null),
           "ipv6_address_mode": attr("ipv6_address_mode", Value::Null),
           "subnetpool_id": null, "description": attr("description", json!("")), "tags": [],
           "created_at": format!("{}Z", s.created_at), "updated_at": format!("{}Z", s.created_at),
           "revision_number": 0})
}

pub async fn list_networks(state: &Core, ctx: &RequestContext, q: &Query) -> Answer {
    let items = state
        .store
        .networks()
        .await?
        .iter()
        .filter(|n| network_visible(ctx, n))
        .map(network_json)
        .collect();
    Ok(axum::Json(json!({"networks": filter_list(items, q)})).into_response())
}

pub async fn show_network(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    let networks = state.store.networks().await?;
    match networks
        .iter()
        .find(|n| n.id == id && network_visible(ctx, n))
    {
        Some(n) => Ok(axum::Json(json!({"network": network_json(n)})).into_response()),
        None => Err(network_not_found(id)),
    }
}

pub async fn list_subnets(state: &Core, q: &Query) -> Answer {
    let items = state
        .store
        .subnets()
        .await?
        .iter()
        .map(subnet_json)
        .collect();
    Ok(axum::Json(json!({"subnets": filter_list(items, q)})).into_response())
}

pub async fn show_subnet(state: &Core, id: &str) -> Answer {
    match state.store.subnets().await?.iter().find(|s| s.id == id) {
        Some(s) => Ok(axum::Json(json!({"subnet": subnet_json(s)})).into_response()),
        None => Err(subnet_not_found(id)),
    }
}

/// Attributes only an administrator may set (Neutron's policy).
const ADMIN_ONLY: [&str; 5] = [
    "router:external",
    "shared",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
];
const NETWORK_ECHOED: [&str; 6] = [
    "description",
    "admin_state_up",
    "mtu",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
];

/// Sets what a create or update body says about a network.
fn apply_network(
    ctx: &RequestContext,
    n: &mut Network,
    body: &Map<String, Value>,
    action: &str,
) -> Result<(), Fault> {
    if let Some(attr) = ADMIN_ONLY
        .iter()
        .find(|a| body.contains_key(**a) && !is_admin(ctx))
    {
        return Err(fault(
            StatusCode::FORBIDDEN,
            "PolicyNotAuthorized",
            format!(
                "(rule:{action}_network and rule:{action}_network:{attr}) is disallowed by policy"
            ),
        ));
    }
    if let Some(name) = body.get("name") {
        n.name = name.as_str().unwrap_or_default().to_string();
    }
    if let Some(v) = flag(body.get("router:external"))? {
        n.external = v;
    }
    if let Some(v) = flag(body.get("shared"))? {
        n.shared = v;
    }
    for key in NETWORK_ECHOED {
        if let Some(v) = body.get(key) {
            n.attrs.insert(key.to_string(), v.clone());
        }
    }
    Ok(())
}

pub async fn create_network(state: &Core, bytes: &[u8], ctx: &RequestContext) -> Answer {
    let body = envelope(bytes, "network")?;
    let project = match body.get("project_id").or(body.get("tenant_id")) {
        Some(Value::String(p)) if is_admin(ctx) => p.clone(),
        _ => ctx.project_id.clone().unwrap_or_default(),
    };
    let mut n = Network {
        id: uuid::Uuid::new_v4().to_string(),
        name: String::new(),
        project_id: project,
        created_at: model::now(),
        subnets: Vec::new(),
        external: false,
        shared: false,
        attrs: Map::new(),
    };
    if let Err(r) = apply_network(ctx, &mut n, &body, "create") {
        return Ok(r.into_response());
    }
    let mut tx = state.store.begin().await?;
    tx.insert_network(&n).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"network": network_json(&n)})),
    )
        .into_response())
}

pub(crate) async fn find_network(state: &Core, ctx: &RequestContext, id: &str) -> Option<Network> {
    let networks = state.store.networks().await.ok()?;
    networks
        .into_iter()
        .find(|n| n.id == id && network_visible(ctx, n))
}

pub async fn update_network(state: &Core, bytes: &[u8], ctx: &RequestContext, id: &str) -> Answer {
    let Some(mut n) = find_network(state, ctx, id)
        .await
        .filter(|n| owns(ctx, &n.project_id))
    else {
        return Err(network_not_found(id));
    };
    let body = envelope(bytes, "network")?;
    if let Err(r) = apply_network(ctx, &mut n, &body, "update") {
        return Ok(r.into_response());
    }
    let mut tx = state.store.begin().await?;
    tx.update_network(&n).await?;
    tx.commit().await?;
    Ok(axum::Json(json!({"network": network_json(&n)})).into_response())
}

pub async fn delete_network(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    if find_network(state, ctx, id)
        .await
        .filter(|n| owns(ctx, &n.project_id))
        .is_none()
    {
        return Err(network_not_found(id));
    }
    let mut tx = state.store.begin().await?;
    if tx.delete_network(id).await?.is_err() {
        return Err(fault(
            StatusCode::CONFLICT,
            "NetworkInUse",
            format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network."),
        ));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn ip(v: &Value, field: &str) -> Result<IpAddr, Fault> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
        bad(format!(
            "Invalid input for {field}. Reason: '{}' is not a valid IP address.",
            v.as_str().unwrap_or(&v.to_string())
        ))
    })
}

fn ordinal(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The usable host range of a CIDR: IPv4 without network and broadcast addresses, IPv6
/// without the subnet-router anycast address.
fn host_range(net: &IpNet) -> Option<(IpAddr, IpAddr)> {
    match net {
        IpNet::V4(v4) => Some((
            IpAddr::V4(v4.hosts().next()?),
            IpAddr::V4(v4.hosts().last()?),
        )),
        IpNet::V6(v6) => {
            let first = u128::from(v6.network()).checked_add(1)?;
            let last = u128::from(v6.broadcast());
            (first <= last).then(|| (IpAddr::V6(first.into()), IpAddr::V6(last.into())))
        }
    }
}

/// The subnet a create body asks for, checked as Neutron checks it.
fn subnet_of(
    body: &Map<String, Value>,
    network: &Network,
    existing: &[Subnet],
    project: String,
) -> Result<Subnet, Fault> {
    let Some(cidr) = body.get("cidr").and_then(Value::as_str) else {
        return Err(bad(
            "Bad subnets request: a subnetpool must be specified in the absence of a cidr.".into(),
        ));
    };
    let net: IpNet = cidr.parse().map_err(|_| {
        bad(format!(
            "Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet."
        ))
    })?;
    let net = net.trunc();
    let version = match body.get("ip_version") {
        None => 4,
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|v| *v == 4 || *v == 6)
            .ok_or_else(|| {
                bad(format!(
                    "Invalid input for ip_version. Reason: {v} is not in [4, 6]."
                ))
            })?,
    };
    if (version == 4) != matches!(net, IpNet::V4(_)) {
        return Err(invalid(format!(
            "Cidr {net} does not match ip_version {version}."
        )));
    }
    if let Some(other) = existing.iter().find(|s| {
        s.cidr
            .parse::<IpNet>()
            .is_ok_and(|o| o.contains(&net.network()) || net.contains(&o.network()))
    }) {
        let _ = other;
        return Err(invalid(format!(
            "Requested subnet with cidr: {net} for network: {} overlaps with another subnet.",
            network.id
        )));
    }
    let (first, last) = host_range(&net)
        .ok_or_else(|| invalid(format!("Subnet {net} has no addresses to allocate.")))?;
    let gateway = match body.get("gateway_ip") {
        Some(Value::Null) => None,
        Some(v) => {
            let g = ip(v, "gateway_ip")?;
            if !net.contains(&g) {
                return Err(invalid(format!(
                    "Gateway IP {g} is not in the subnet {net}."
                )));
            }
            Some(g)
        }
        None => Some(first),
    };
    let pools: Vec<(IpAddr, IpAddr)> = match body.get("allocation_pools") {
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut pools = Vec::new();
            for p in list {
                let start = ip(p.get("start").unwrap_or(&Value::Null), "allocation_pools")?;
                let end = ip(p.get("end").unwrap_or(&Value::Null), "allocation_pools")?;
                if !net.contains(&start) || !net.contains(&end) || ordinal(start) > ordinal(end) {
                    return Err(bad(format!(
                        "The allocation pool {start}-{end} spans beyond the subnet cidr {net}."
                    )));
                }
                if let Some(g) = gateway {
                    if ordinal(start) <= ordinal(g) && ordinal(g) <= ordinal(end) {
                        return Err(invalid(format!(
                            "Gateway ip {g} conflicts with allocation pool {start}-{end}"
                        )));
                    }
                }
                pools.push((start, end));
            }
            pools
        }
        _ => default_pools(first, last, gateway),
    };
    let Some(&(pool_start, pool_end)) = pools.first() else {
        return Err(invalid(format!(
            "Subnet {net} has no addresses to allocate."
        )));
    };
    let mut attrs = Map::new();
    attrs.insert(
        "allocation_pools".into(),
        json!(pools
            .iter()
            .map(|(s, e)| json!({"start": s.to_string(), "end": e.to_string()}))
            .collect::<Vec<_>>()),
    );
    for (key, default) in [
        ("enable_dhcp", json!(true)),
        ("dns_nameservers", json!([])),
        ("host_routes", json!([])),
        ("description", json!("")),
    ] {
        attrs.insert(key.into(), body.get(key).cloned().unwrap_or(default));
    }
    for key in ["ipv6_ra_mode", "ipv6_address_mode"] {
        if let Some(v) = body.get(key) {
            attrs.insert(key.into(), v.clone());
        }
    }
    Ok(Subnet {
        id: uuid::Uuid::new_v4().to_string(),
        name: body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        network_id: network.id.clone(),
        cidr: net.to_string(),
        gateway_ip: gateway.map(|g| g.to_string()),
        pool_start: pool_start.to_string(),
        pool_end: pool_end.to_string(),
        project_id: project,
        created_at: model::now(),
        ip_version: version,
        attrs,
    })
}

/// Every host address but the gateway, as one or two ranges.
fn default_pools(first: IpAddr, last: IpAddr, gateway: Option<IpAddr>) -> Vec<(IpAddr, IpAddr)> {
    let at = |n: u128| match first {
        IpAddr::V4(_) => IpAddr::V4((n as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(n.into()),
    };
    let (lo, hi) = (ordinal(first), ordinal(last));
    match gateway.map(ordinal).filter(|g| lo <= *g && *g <= hi) {
        None => vec![(first, last)],
        Some(g) => {
            let mut pools = Vec::new();
            if g > lo {
                pools.push((first, at(g - 1)));
            }
            if g < hi {
                pools.push((at(g + 1), last));
            }
            pools
        }
    }
}

pub async fn create_subnet(state: &Core, bytes: &[u8], ctx: &RequestContext) -> Answer {
    let body = envelope(bytes, "subnet")?;
    let network_id = body
        .get("network_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(network) = find_network(state, ctx, &network_id).await else {
        return Err(network_not_found(&network_id));
    };
    if !owns(ctx, &network.project_id) && !network.shared {
        return Err(fault(
            StatusCode::FORBIDDEN,
            "PolicyNotAuthorized",
            "rule:create_subnet is disallowed by policy".into(),
        ));
    }
    let mut tx = state.store.begin().await?;
    let existing = tx.network_subnets(&network.id).await?;
    let project = ctx.project_id.clone().unwrap_or_default();
    let subnet = subnet_of(&body, &network, &existing, project)?;
    tx.insert_subnet(&subnet).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"subnet": subnet_json(&subnet)})),
    )
        .into_response())
}

pub(crate) async fn find_subnet(state: &Core, ctx: &RequestContext, id: &str) -> Option<Subnet> {
    let subnets = state.store.subnets().await.ok()?;
    let subnet = subnets.into_iter().find(|s| s.id == id)?;
    find_network(state, ctx, &subnet.network_id).await?;
    Some(subnet)
}

pub async fn update_subnet(state: &Core, bytes: &[u8], ctx: &RequestContext, id: &str) -> Answer {
    let Some(mut subnet) = find_subnet(state, ctx, id)
        .await
        .filter(|s| owns(ctx, &s.project_id))
    else {
        return Err(subnet_not_found(id));
    };
    let body = envelope(bytes, "subnet")?;
    if let Some(name) = body.get("name") {
        subnet.name = name.as_str().unwrap_or_default().to_string();
    }
    for key in [
        "enable_dhcp",
        "dns_nameservers",
        "host_routes",
        "description",
    ] {
        if let Some(v) = body.get(key) {
            subnet.attrs.insert(key.into(), v.clone());
        }
    }
    let mut tx = state.store.begin().await?;
    tx.update_subnet(&subnet).await?;
    tx.commit().await?;
    Ok(axum::Json(json!({"subnet": subnet_json(&subnet)})).into_response())
}

pub async fn delete_subnet(state: &Core, ctx: &RequestContext, id: &str) -> Answer {
    if find_subnet(state, ctx, id)
        .await
        .filter(|s| owns(ctx, &s.project_id))
        .is_none()
    {
        return Err(subnet_not_found(id));
    }
    let mut tx = state.store.begin().await?;
    if tx.delete_subnet(id).await?.is_err() {
        return Err(fault(
            StatusCode::CONFLICT,
            "SubnetInUse",
            format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
        ));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
