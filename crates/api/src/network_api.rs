//! The network API on :9696: the part of Neutron's wire format that LBaaS clients use to
//! resolve subnets, networks and ports (the `openstack` CLI looks them up before every
//! `--vip-subnet-id`), backed by the built-in network service.

use crate::error::ApiError;
use crate::listing::Query;
use crate::networks::{self, neutron_error};
use crate::server::AppState;
use crate::{floating_ips, routers};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use store::{Network, Port, Subnet};
use tokio::net::TcpListener;

pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(dispatch).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

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

fn port_json(p: &Port) -> Value {
    let bytes = p.id.as_bytes();
    let mac = format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        bytes[0], bytes[1], bytes[2]
    );
    json!({"id": p.id, "name": p.name, "network_id": p.network_id, "tenant_id": p.project_id,
           "project_id": p.project_id, "mac_address": mac, "admin_state_up": true, "status": "ACTIVE",
           "device_id": p.device_id, "device_owner": p.device_owner,
           "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.ip_address}],
           "security_groups": [], "allowed_address_pairs": [], "description": "", "tags": [],
           "port_security_enabled": false, "created_at": format!("{}Z", p.created_at),
           "updated_at": format!("{}Z", p.created_at), "revision_number": 1})
}

/// Neutron filters: repeated keys are alternatives, different keys must all match.
pub(crate) fn filter_list(items: Vec<Value>, q: &Query) -> Vec<Value> {
    let keys: Vec<&str> = q
        .pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| {
            !matches!(
                *k,
                "fields" | "limit" | "marker" | "sort_key" | "sort_dir" | "page_reverse"
            )
        })
        .collect();
    let fields = q.fields();
    items
        .into_iter()
        .filter(|item| {
            keys.iter().all(|k| {
                let wanted = q.all(k);
                match item.get(*k) {
                    Some(Value::String(s)) => wanted.contains(&s.as_str()),
                    Some(Value::Bool(b)) => wanted
                        .iter()
                        .any(|w| crate::listing::bool_from_string(w) == *b),
                    Some(Value::Number(n)) => wanted.contains(&n.to_string().as_str()),
                    _ => false,
                }
            })
        })
        .map(|item| match item {
            Value::Object(map) if !fields.is_empty() => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| fields.contains(k))
                    .collect::<Map<_, _>>(),
            ),
            other => other,
        })
        .collect()
}

async fn dispatch(State(state): State<AppState>, request: Request<Body>) -> Response {
    let rid = format!("req-{}", uuid::Uuid::new_v4());
    let mut response = handle(&state, request)
        .await
        .unwrap_or_else(|e| e.into_response());
    if let Ok(v) = HeaderValue::from_str(&rid) {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}

async fn handle(state: &AppState, request: Request<Body>) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with("/v2.0/lbaas/") {
        let Ok(bytes) = axum::body::to_bytes(body, state.config.body_limit).await else {
            return Ok(neutron_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "Request body is too large.".into(),
            ));
        };
        return Ok(crate::lbaas_v2::serve(state, parts, bytes).await);
    }
    if parts.uri.path().starts_with("/v2.0/lb/") {
        let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
            return Ok(neutron_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "Request body is larger than 1 MiB.".into(),
            ));
        };
        return Ok(crate::lbaas_v1::serve(state, parts, bytes).await);
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:9696");
    let path = parts
        .uri
        .path()
        .strip_suffix(".json")
        .unwrap_or(parts.uri.path());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let q = Query::parse(parts.uri.query());
    let store = &state.store;
    let ok = |v: Value| Ok(axum::Json(v).into_response());
    // Version discovery is open, as in Neutron; everything else needs the caller.
    let ctx = if segments.is_empty() {
        None
    } else {
        match crate::server::context(state, &parts.headers).await {
            Ok(ctx) => Some(ctx),
            Err(refused) => return Ok(refused),
        }
    };
    let bytes = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(neutron_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "Request body is larger than 1 MiB.".into(),
            ))
        }
    };
    let caller = || {
        ctx.as_ref()
            .expect("authenticated: the path is not the root")
    };
    let sees = |n: &Network| {
        ctx.as_ref()
            .is_some_and(|c| networks::network_visible(c, n))
    };
    // Ports of other projects are invisible, except to administrators.
    let visible = |p: &Port| {
        ctx.as_ref().is_some_and(|c| {
            c.allows(crate::policy::Rule::Admin, None)
                || c.project_id.as_deref() == Some(&p.project_id)
        })
    };
    match (&parts.method, segments.as_slice()) {
        (&Method::GET, []) => ok(json!({"versions": [{"id": "v2.0", "status": "CURRENT",
            "links": [{"href": format!("http://{host}/v2.0/"), "rel": "self"}]}]})),
        (&Method::GET, ["v2.0"]) => {
            let resources: Vec<Value> = ["networks", "subnets", "ports", "routers", "floatingips"]
                .iter()
                .map(|c| {
                    json!({"name": c.trim_end_matches('s'), "collection": c,
                    "links": [{"href": format!("http://{host}/v2.0/{c}"), "rel": "self"}]})
                })
                .collect();
            ok(json!({ "resources": resources }))
        }
        (&Method::GET, ["v2.0", "extensions"]) => ok(json!({"extensions": []})),
        (&Method::GET, ["v2.0", "security-groups"]) => ok(json!({"security_groups": []})),
        (&Method::GET, ["v2.0", "qos", "policies"]) => ok(json!({"policies": []})),
        (&Method::GET, ["v2.0", "networks"]) => {
            let items = store
                .networks()
                .await?
                .iter()
                .filter(|n| sees(n))
                .map(network_json)
                .collect();
            ok(json!({"networks": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "networks", id]) => {
            match store
                .networks()
                .await?
                .iter()
                .find(|n| n.id == *id && sees(n))
            {
                Some(n) => ok(json!({"network": network_json(n)})),
                None => Ok(neutron_error(
                    StatusCode::NOT_FOUND,
                    "NetworkNotFound",
                    format!("Network {id} could not be found."),
                )),
            }
        }
        (&Method::GET, ["v2.0", "subnets"]) => {
            let items = store.subnets().await?.iter().map(subnet_json).collect();
            ok(json!({"subnets": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "subnets", id]) => {
            match store.subnets().await?.iter().find(|s| s.id == *id) {
                Some(s) => ok(json!({"subnet": subnet_json(s)})),
                None => Ok(neutron_error(
                    StatusCode::NOT_FOUND,
                    "SubnetNotFound",
                    format!("Subnet {id} could not be found."),
                )),
            }
        }
        (&Method::GET, ["v2.0", "ports"]) => {
            let items = store
                .ports()
                .await?
                .iter()
                .filter(|p| visible(p))
                .map(port_json)
                .collect();
            ok(json!({"ports": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "ports", id]) => match store.port(id).await?.filter(visible) {
            Some(p) => ok(json!({"port": port_json(&p)})),
            None => Ok(neutron_error(
                StatusCode::NOT_FOUND,
                "PortNotFound",
                format!("Port {id} could not be found."),
            )),
        },
        (&Method::POST, ["v2.0", "ports"]) => create_port(state, &bytes, caller()).await,
        (&Method::POST, ["v2.0", "networks"]) => {
            networks::create_network(state, &bytes, caller()).await
        }
        (&Method::PUT, ["v2.0", "networks", id]) => {
            networks::update_network(state, &bytes, caller(), id).await
        }
        (&Method::DELETE, ["v2.0", "networks", id]) => {
            networks::delete_network(state, caller(), id).await
        }
        (&Method::GET, ["v2.0", "floatingips"]) => {
            let items = floating_ips::list(state, caller()).await?;
            ok(json!({"floatingips": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "floatingips", id]) => {
            floating_ips::show(state, caller(), id).await
        }
        (&Method::POST, ["v2.0", "floatingips"]) => {
            floating_ips::create(state, &bytes, caller()).await
        }
        (&Method::PUT, ["v2.0", "floatingips", id]) => {
            floating_ips::update(state, &bytes, caller(), id).await
        }
        (&Method::DELETE, ["v2.0", "floatingips", id]) => {
            floating_ips::delete(state, caller(), id).await
        }
        (&Method::GET, ["v2.0", "routers"]) => {
            let items = routers::list(state, caller()).await?;
            ok(json!({"routers": filter_list(items, &q)}))
        }
        (&Method::GET, ["v2.0", "routers", id]) => routers::show(state, caller(), id).await,
        (&Method::POST, ["v2.0", "routers"]) => routers::create(state, &bytes, caller()).await,
        (&Method::PUT, ["v2.0", "routers", id]) => {
            routers::update(state, &bytes, caller(), id).await
        }
        (&Method::DELETE, ["v2.0", "routers", id]) => routers::delete(state, caller(), id).await,
        (&Method::PUT, ["v2.0", "routers", id, "add_router_interface"]) => {
            routers::add_interface(state, &bytes, caller(), id).await
        }
        (&Method::PUT, ["v2.0", "routers", id, "remove_router_interface"]) => {
            routers::remove_interface(state, &bytes, caller(), id).await
        }
        (&Method::POST, ["v2.0", "subnets"]) => {
            networks::create_subnet(state, &bytes, caller()).await
        }
        (&Method::PUT, ["v2.0", "subnets", id]) => {
            networks::update_subnet(state, &bytes, caller(), id).await
        }
        (&Method::DELETE, ["v2.0", "subnets", id]) => {
            networks::delete_subnet(state, caller(), id).await
        }
        (&Method::DELETE, ["v2.0", "ports", id]) => {
            let mut tx = store.begin().await?;
            let found = tx.port(id).await?.filter(visible);
            match found {
                None => Ok(neutron_error(
                    StatusCode::NOT_FOUND,
                    "PortNotFound",
                    format!("Port {id} could not be found."),
                )),
                Some(p) if p.device_owner.starts_with("network:") => Ok(neutron_error(
                    StatusCode::CONFLICT,
                    "ServicePortInUse",
                    format!(
                        "Port {id} cannot be deleted directly via the port API: has device owner {}.",
                        p.device_owner
                    ),
                )),
                Some(p) if p.device_owner == "Octavia" && !p.device_id.is_empty() => {
                    Ok(neutron_error(
                        StatusCode::CONFLICT,
                        "PortInUse",
                        format!("Port {id} is in use by device {}.", p.device_id),
                    ))
                }
                Some(_) => {
                    tx.delete_port(id).await?;
                    tx.commit().await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
            }
        }
        _ => Ok(neutron_error(
            StatusCode::NOT_FOUND,
            "HTTPNotFound",
            "The resource could not be found.".into(),
        )),
    }
}

async fn create_port(
    state: &AppState,
    bytes: &[u8],
    ctx: &crate::RequestContext,
) -> Result<Response, ApiError> {
    let bad = |m: &str| neutron_error(StatusCode::BAD_REQUEST, "BadRequest", m.to_string());
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(bad("Invalid JSON body."));
    };
    let Some(port) = body.get("port") else {
        return Ok(bad("Resource body required."));
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
        return Ok(neutron_error(
            StatusCode::NOT_FOUND,
            "NetworkNotFound",
            format!("Network {network_id} could not be found."),
        ));
    };
    let ip = match address.map(str::parse) {
        Some(Ok(ip)) => Some(ip),
        Some(Err(_)) => return Ok(bad("Invalid IP address.")),
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
        Err(store::AllocError::InUse) => Ok(neutron_error(
            StatusCode::CONFLICT,
            "IpAddressAlreadyAllocated",
            format!(
                "IP address {} already allocated in subnet {}",
                address.unwrap_or_default(),
                subnet.id
            ),
        )),
        Err(store::AllocError::NotInSubnet) => Ok(bad(&format!(
            "IP address {} is not a valid IP for the specified subnet.",
            address.unwrap_or_default()
        ))),
        Err(store::AllocError::Exhausted) => Ok(neutron_error(
            StatusCode::CONFLICT,
            "IpAddressGenerationFailure",
            format!("No more IP addresses available on network {network_id}."),
        )),
    }
}
