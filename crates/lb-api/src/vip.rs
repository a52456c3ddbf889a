//! VIP allocation at load-balancer create time, through the configured network driver:
//! the built-in network service (real loopback addresses) or Octavia's noop behaviour.

use crate::NetworkDriver;
use axum::http::StatusCode;
use front::{ApiError, ApiResult};
use model::IpAddress;
use std::net::IpAddr;
use store::{AllocError, WriteTx};

/// What a load balancer's POST (or a v1 VIP) asks of its VIP.
#[derive(Clone, Copy, Debug, Default)]
pub struct VipRequest<'a> {
    pub port_id: Option<&'a str>,
    pub network_id: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub address: Option<&'a IpAddress>,
}

/// What the VIP resolved to.
#[derive(Clone, Debug, PartialEq)]
pub struct Vip {
    pub address: IpAddress,
    pub port_id: String,
    pub subnet_id: String,
    pub network_id: String,
    /// Ostia created the port and frees it with the load balancer.
    pub owned: bool,
}

pub async fn allocate(
    tx: &mut WriteTx,
    driver: NetworkDriver,
    request: VipRequest<'_>,
    lb_id: &str,
    project: &str,
) -> ApiResult<Vip> {
    let (port, network, subnet) = (request.port_id, request.network_id, request.subnet_id);
    if port.is_none() && network.is_none() && subnet.is_none() {
        return Err(ApiError::validation(
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ));
    }
    let address = request.address.map(ToString::to_string);
    match driver {
        NetworkDriver::Noop => {
            // Octavia's noop port has no fixed IPs, so a port alone never yields an address.
            if port.is_some() {
                let detail = match (subnet, &address) {
                    (Some(_), _) => "No VIP address found on the specified VIP port within the specified subnet.",
                    (None, Some(_)) => "Specified VIP address not found on the specified VIP port.",
                    (None, None) => "VIP port's subnet could not be determined. Please specify either a VIP subnet or address.",
                };
                return Err(ApiError::validation(detail));
            }
            Ok(Vip {
                address: request
                    .address
                    .cloned()
                    .unwrap_or_else(|| IpAddr::from([198, 51, 100, 1]).into()),
                port_id: crate::handlers::new_id(),
                subnet_id: subnet
                    .map(str::to_string)
                    .unwrap_or_else(crate::handlers::new_id),
                network_id: network
                    .map(str::to_string)
                    .unwrap_or_else(crate::handlers::new_id),
                owned: false,
            })
        }
        NetworkDriver::Local => {
            let ip: Option<IpAddr> = request.address.map(IpAddress::ip);
            if let Some(port_id) = port {
                return existing_port(tx, port_id, subnet, ip, lb_id).await;
            }
            let subnet = match (subnet, network) {
                (Some(s), _) => {
                    let found = tx
                        .subnet(s)
                        .await?
                        .ok_or_else(|| ApiError::bad_request(format!("Subnet {s} not found.")))?;
                    if let Some(n) = network {
                        if found.network_id != n {
                            return Err(ApiError::validation(format!(
                                "Subnet {s} is not in network {n}."
                            )));
                        }
                    }
                    found
                }
                (None, Some(n)) => {
                    if !tx.network_exists(n).await? {
                        return Err(ApiError::bad_request(format!("Network {n} not found.")));
                    }
                    let subnets = tx.network_subnets(n).await?;
                    match ip {
                        Some(ip) => subnets.into_iter().find(|s| s.contains(ip)).ok_or_else(|| {
                            ApiError::validation("Supplied network does not contain a subnet for VIP address specified.")
                        })?,
                        None => subnets
                            .into_iter()
                            .next()
                            .ok_or_else(|| ApiError::validation("Supplied network does not contain a subnet."))?,
                    }
                }
                (None, None) => unreachable!("checked above"),
            };
            let name = format!("octavia-lb-{lb_id}");
            match tx.allocate_port(&subnet, ip, &name, "Octavia", project).await? {
                Ok(port) => {
                    tx.set_port_device(&port.id, &format!("lb-{lb_id}"), "Octavia").await?;
                    Ok(Vip {
                        address: parsed(&port.ip_address)?,
                        port_id: port.id,
                        subnet_id: subnet.id,
                        network_id: subnet.network_id,
                        owned: true,
                    })
                }
                Err(AllocError::NotInSubnet) => Err(ApiError::validation(format!(
                    "IP address {} is not a valid IP for the specified subnet.",
                    address.unwrap_or_default()
                ))),
                Err(AllocError::InUse) => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "The VIP IP address is already in use: IP address {} already allocated in subnet {}",
                        address.unwrap_or_default(),
                        subnet.id
                    ),
                )),
                Err(AllocError::Exhausted) => Err(ApiError::validation(
                    "Subnet(s) in the supplied network do not contain enough available IPs.",
                )),
            }
        }
    }
}

async fn existing_port(
    tx: &mut WriteTx,
    port_id: &str,
    subnet: Option<&str>,
    ip: Option<IpAddr>,
    lb_id: &str,
) -> ApiResult<Vip> {
    let port = tx
        .port(port_id)
        .await?
        .ok_or_else(|| ApiError::bad_request(format!("Port {port_id} not found.")))?;
    if !port.device_id.is_empty() {
        return Err(ApiError::validation(format!(
            "Port {port_id} is already used by device {} ",
            port.device_id
        )));
    }
    if let Some(s) = subnet {
        if s != port.subnet_id {
            return Err(ApiError::validation(
                "No VIP address found on the specified VIP port within the specified subnet.",
            ));
        }
    }
    if let Some(ip) = ip {
        if port.ip_address.parse::<IpAddr>().ok() != Some(ip) {
            return Err(ApiError::validation(
                "Specified VIP address not found on the specified VIP port.",
            ));
        }
    }
    tx.set_port_device(&port.id, &format!("lb-{lb_id}"), &port.device_owner)
        .await?;
    Ok(Vip {
        address: parsed(&port.ip_address)?,
        port_id: port.id,
        subnet_id: port.subnet_id,
        network_id: port.network_id,
        owned: false,
    })
}

/// A port's address, as the network service keeps it.
fn parsed(address: &str) -> ApiResult<IpAddress> {
    address.parse().map_err(|_| {
        tracing::error!(address, "a port's address does not parse");
        ApiError::internal()
    })
}
