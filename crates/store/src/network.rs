//! The built-in network service: networks, subnets and ports with simple IPAM, so that VIPs
//! get real loopback addresses without any other service.

use crate::row::DbRow;
use crate::{Result, Store, WriteTx};
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

pub const LOCAL_NETWORK: &str = "ostia-local";
pub const LOCAL_SUBNET: &str = "ostia-local-subnet";
/// The built-in subnet of `ostia up` unless told otherwise.
pub const LOCAL_CIDR: &str = "127.10.0.0/16";
pub const SERVICE_PROJECT: &str = "ostia";
/// The external network of `ostia up`, for floating IPs on loopback.
pub const PROVIDER_NETWORK: &str = "provider";
pub const PROVIDER_SUBNET: &str = "provider-subnet";
pub const PROVIDER_CIDR: &str = "127.20.0.0/16";
pub const LOCAL_ROUTER: &str = "ostia-router";

/// Who owns a router's ports (Neutron's device owners).
pub const INTERFACE_OWNER: &str = "network:router_interface";
pub const GATEWAY_OWNER: &str = "network:router_gateway";

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub created_at: String,
    pub subnets: Vec<String>,
    /// `router:external`.
    pub external: bool,
    pub shared: bool,
    /// What Neutron echoes without interpreting: description, admin_state_up, mtu,
    /// provider:network_type / physical_network / segmentation_id.
    pub attrs: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    /// The first allocation pool (all of them are in `attrs.allocation_pools`).
    pub pool_start: String,
    pub pool_end: String,
    pub project_id: String,
    pub created_at: String,
    pub ip_version: i64,
    /// allocation_pools, dns_nameservers, host_routes, enable_dhcp, description.
    pub attrs: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub subnet_id: String,
    pub ip_address: String,
    pub device_id: String,
    pub device_owner: String,
    pub project_id: String,
    pub created_at: String,
}

impl Port {
    /// Its MAC address: Neutron's `fa:16:3e` prefix and 24 bits of the port's id (its first
    /// six hex digits; an id that has fewer is hashed).
    pub fn mac(&self) -> String {
        Port::mac_of(&self.id)
    }

    /// The MAC of the port with this id (it depends on the id alone).
    pub fn mac_of(id: &str) -> String {
        let digits: String = id.chars().filter(char::is_ascii_hexdigit).take(6).collect();
        let tail = if digits.len() == 6 {
            u32::from_str_radix(&digits, 16).unwrap_or_default()
        } else {
            // FNV-1a: stable across runs and releases, unlike the standard hasher.
            id.bytes().fold(0x811c_9dc5u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            }) & 0xff_ffff
        };
        format!(
            "fa:16:3e:{:02x}:{:02x}:{:02x}",
            (tail >> 16) & 0xff,
            (tail >> 8) & 0xff,
            tail & 0xff
        )
    }
}

fn subnet_from(row: &DbRow) -> Result<Subnet> {
    Ok(Subnet {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        network_id: row.try_get("network_id")?,
        cidr: row.try_get("cidr")?,
        gateway_ip: row.try_get("gateway_ip")?,
        pool_start: row.try_get("pool_start")?,
        pool_end: row.try_get("pool_end")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("created_at")?,
        ip_version: row.try_get("ip_version")?,
        attrs: crate::row::attrs_from(row)?,
    })
}

pub(crate) fn port_from(row: &DbRow) -> Result<Port> {
    Ok(Port {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        network_id: row.try_get("network_id")?,
        subnet_id: row.try_get("subnet_id")?,
        ip_address: row.try_get("ip_address")?,
        device_id: row.try_get("device_id")?,
        device_owner: row.try_get("device_owner")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Subnet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidr
            .parse::<ipnet::IpNet>()
            .map(|net| net.contains(&ip))
            .unwrap_or(false)
    }

    /// The allocation pools as address ranges.
    pub fn pools(&self) -> Vec<(IpAddr, IpAddr)> {
        let listed: Vec<(IpAddr, IpAddr)> = self
            .attrs
            .get("allocation_pools")
            .and_then(Value::as_array)
            .map(|pools| {
                pools
                    .iter()
                    .filter_map(|p| {
                        Some((
                            p.get("start")?.as_str()?.parse().ok()?,
                            p.get("end")?.as_str()?.parse().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !listed.is_empty() {
            return listed;
        }
        match (self.pool_start.parse(), self.pool_end.parse()) {
            (Ok(start), Ok(end)) => vec![(start, end)],
            _ => Vec::new(),
        }
    }
}

/// An address as a number, for ranges of either family.
fn ordinal(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Why a port could not be allocated.
#[derive(Debug, PartialEq)]
pub enum AllocError {
    /// The requested address is outside the subnet.
    NotInSubnet,
    /// The requested address is taken.
    InUse,
    /// No free address is left.
    Exhausted,
}

/// Why a network or subnet cannot go: ports still use it.
#[derive(Debug, PartialEq)]
pub struct InUse;

impl WriteTx {
    pub async fn insert_network(&mut self, n: &Network) -> Result<()> {
        sqlx::query(
            "INSERT INTO networks (id, name, project_id, created_at, external, shared, attrs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&n.id)
        .bind(&n.name)
        .bind(&n.project_id)
        .bind(&n.created_at)
        .bind(i64::from(n.external))
        .bind(i64::from(n.shared))
        .bind(Value::Object(n.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Saves a network's name, flags and attributes.
    pub async fn update_network(&mut self, n: &Network) -> Result<()> {
        sqlx::query(
            "UPDATE networks SET name = $1, external = $2, shared = $3, attrs = $4 WHERE id = $5",
        )
        .bind(&n.name)
        .bind(i64::from(n.external))
        .bind(i64::from(n.shared))
        .bind(Value::Object(n.attrs.clone()).to_string())
        .bind(&n.id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Deletes a network and its subnets, unless a port is on it.
    pub async fn delete_network(&mut self, id: &str) -> Result<std::result::Result<(), InUse>> {
        let ports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ports WHERE network_id = $1")
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        if ports > 0 {
            return Ok(Err(InUse));
        }
        for sql in [
            "DELETE FROM subnets WHERE network_id = $1",
            "DELETE FROM networks WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *self.tx).await?;
        }
        Ok(Ok(()))
    }

    pub async fn insert_subnet(&mut self, s: &Subnet) -> Result<()> {
        sqlx::query(
            "INSERT INTO subnets (id, name, network_id, cidr, gateway_ip, pool_start, pool_end, \
             project_id, created_at, ip_version, attrs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.network_id)
        .bind(&s.cidr)
        .bind(&s.gateway_ip)
        .bind(&s.pool_start)
        .bind(&s.pool_end)
        .bind(&s.project_id)
        .bind(&s.created_at)
        .bind(s.ip_version)
        .bind(Value::Object(s.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Saves a subnet's name, gateway and attributes.
    pub async fn update_subnet(&mut self, s: &Subnet) -> Result<()> {
        sqlx::query("UPDATE subnets SET name = $1, gateway_ip = $2, attrs = $3 WHERE id = $4")
            .bind(&s.name)
            .bind(&s.gateway_ip)
            .bind(Value::Object(s.attrs.clone()).to_string())
            .bind(&s.id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Deletes a subnet unless a port has an address on it.
    pub async fn delete_subnet(&mut self, id: &str) -> Result<std::result::Result<(), InUse>> {
        let ports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ports WHERE subnet_id = $1")
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        if ports > 0 {
            return Ok(Err(InUse));
        }
        sqlx::query("DELETE FROM subnets WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(Ok(()))
    }

    pub async fn subnet(&mut self, id: &str) -> Result<Option<Subnet>> {
        let row = sqlx::query("SELECT * FROM subnets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(subnet_from).transpose()
    }

    pub async fn network_subnets(&mut self, network_id: &str) -> Result<Vec<Subnet>> {
        let rows =
            sqlx::query("SELECT * FROM subnets WHERE network_id = $1 ORDER BY created_at, id")
                .bind(network_id)
                .fetch_all(&mut *self.tx)
                .await?;
        rows.iter().map(subnet_from).collect()
    }

    pub async fn network_exists(&mut self, id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM networks WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(n > 0)
    }

    pub async fn port(&mut self, id: &str) -> Result<Option<Port>> {
        let row = sqlx::query("SELECT * FROM ports WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(port_from).transpose()
    }

    /// Allocates a port on a subnet: the requested address, or the first free one of the
    /// allocation pool.
    pub async fn allocate_port(
        &mut self,
        subnet: &Subnet,
        address: Option<IpAddr>,
        name: &str,
        device_owner: &str,
        project_id: &str,
    ) -> Result<std::result::Result<Port, AllocError>> {
        let used: Vec<String> =
            sqlx::query_scalar("SELECT ip_address FROM ports WHERE subnet_id = $1")
                .bind(&subnet.id)
                .fetch_all(&mut *self.tx)
                .await?;
        let used: HashSet<String> = used.into_iter().collect();
        let ip = match address {
            Some(ip) if !subnet.contains(ip) => return Ok(Err(AllocError::NotInSubnet)),
            Some(ip) if used.contains(&ip.to_string()) => return Ok(Err(AllocError::InUse)),
            Some(ip) => ip,
            None => match first_free(subnet, &used) {
                Some(ip) => ip,
                None => return Ok(Err(AllocError::Exhausted)),
            },
        };
        let port = Port {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            network_id: subnet.network_id.clone(),
            subnet_id: subnet.id.clone(),
            ip_address: ip.to_string(),
            device_id: String::new(),
            device_owner: device_owner.to_string(),
            project_id: project_id.to_string(),
            created_at: model::now(),
        };
        sqlx::query(
            "INSERT INTO ports (id, name, network_id, subnet_id, ip_address, device_id, device_owner, \
             project_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&port.id)
        .bind(&port.name)
        .bind(&port.network_id)
        .bind(&port.subnet_id)
        .bind(&port.ip_address)
        .bind(&port.device_id)
        .bind(&port.device_owner)
        .bind(&port.project_id)
        .bind(&port.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(Ok(port))
    }

    pub async fn set_port_device(
        &mut self,
        port_id: &str,
        device_id: &str,
        owner: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE ports SET device_id = $1, device_owner = $2 WHERE id = $3")
            .bind(device_id)
            .bind(owner)
            .bind(port_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Deletes a port; floating IPs associated with it are disassociated, as in Neutron.
    pub async fn delete_port(&mut self, id: &str) -> Result<bool> {
        sqlx::query(
            "UPDATE floatingips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL \
             WHERE port_id = $1",
        )
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        let done = sqlx::query("DELETE FROM ports WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The first address of the subnet's pools that no port holds. Pools are walked a bounded
/// number of addresses at a time, so a huge IPv6 pool costs no more than its used part.
fn first_free(subnet: &Subnet, used: &HashSet<String>) -> Option<IpAddr> {
    for (start, end) in subnet.pools() {
        let (lo, hi) = (ordinal(start), ordinal(end));
        let tries = (used.len() as u128) + 1;
        let last = hi.min(lo.saturating_add(tries));
        for n in lo..=last {
            let ip = match start {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(n)),
            };
            if !used.contains(&ip.to_string()) {
                return Some(ip);
            }
        }
    }
    None
}

impl Store {
    pub async fn networks(&self) -> Result<Vec<Network>> {
        let rows = sqlx::query("SELECT * FROM networks ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        let subnets = self.subnets().await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(Network {
                    subnets: subnets
                        .iter()
                        .filter(|s| s.network_id == id)
                        .map(|s| s.id.clone())
                        .collect(),
                    id,
                    name: row.try_get("name")?,
                    project_id: row.try_get("project_id")?,
                    created_at: row.try_get("created_at")?,
                    external: row.try_get::<i64, _>("external")? != 0,
                    shared: row.try_get::<i64, _>("shared")? != 0,
                    attrs: crate::row::attrs_from(row)?,
                })
            })
            .collect()
    }

    pub async fn subnets(&self) -> Result<Vec<Subnet>> {
        let rows = sqlx::query("SELECT * FROM subnets ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(subnet_from).collect()
    }

    pub async fn ports(&self) -> Result<Vec<Port>> {
        let rows = sqlx::query("SELECT * FROM ports ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(port_from).collect()
    }

    pub async fn port(&self, id: &str) -> Result<Option<Port>> {
        let row = sqlx::query("SELECT * FROM ports WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(port_from).transpose()
    }
}
