//! The built-in network service: networks, subnets and ports with simple IPAM, so that VIPs
//! get real loopback addresses without any other service.

use crate::{Result, Store, WriteTx};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

pub const LOCAL_NETWORK: &str = "ostia-local";
pub const LOCAL_SUBNET: &str = "ostia-local-subnet";
/// The built-in subnet of `ostia up` unless told otherwise.
pub const LOCAL_CIDR: &str = "127.10.0.0/16";
pub const SERVICE_PROJECT: &str = "ostia";

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub created_at: String,
    pub subnets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub pool_start: String,
    pub pool_end: String,
    pub project_id: String,
    pub created_at: String,
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

fn subnet_from(row: &SqliteRow) -> Result<Subnet> {
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
    })
}

fn port_from(row: &SqliteRow) -> Result<Port> {
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

    fn in_pool(&self, ip: IpAddr) -> bool {
        match (ip, self.pool_start.parse(), self.pool_end.parse()) {
            (IpAddr::V4(ip), Ok(IpAddr::V4(start)), Ok(IpAddr::V4(end))) => {
                start <= ip && ip <= end
            }
            _ => false,
        }
    }
}

impl Store {
    /// Creates the built-in network and its subnet on `cidr` (IPv4) on first start: the
    /// gateway is the first address, VIPs come from the rest.
    pub async fn seed_network(&self, cidr: ipnet::Ipv4Net) -> Result<()> {
        let mut hosts = cidr.hosts();
        let gateway = hosts.next().map(|a| a.to_string());
        let pool_start = hosts.next().map(|a| a.to_string()).unwrap_or_default();
        let pool_end = cidr
            .hosts()
            .last()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM networks WHERE name = $1")
            .bind(LOCAL_NETWORK)
            .fetch_one(&self.write)
            .await?;
        if exists > 0 {
            return Ok(());
        }
        let net_id = uuid::Uuid::new_v4().to_string();
        let now = model::now();
        let mut tx = self.write.begin_with(crate::db::BEGIN_WRITE).await?;
        sqlx::query(
            "INSERT INTO networks (id, name, project_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&net_id)
        .bind(LOCAL_NETWORK)
        .bind(SERVICE_PROJECT)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO subnets (id, name, network_id, cidr, gateway_ip, pool_start, pool_end, \
             project_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(LOCAL_SUBNET)
        .bind(&net_id)
        .bind(cidr.to_string())
        .bind(gateway)
        .bind(pool_start)
        .bind(pool_end)
        .bind(SERVICE_PROJECT)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn networks(&self) -> Result<Vec<Network>> {
        let rows = sqlx::query(
            "SELECT id, name, project_id, created_at FROM networks ORDER BY created_at, id",
        )
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

impl WriteTx {
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

    pub async fn delete_port(&mut self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ports WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn first_free(subnet: &Subnet, used: &HashSet<String>) -> Option<IpAddr> {
    let (Ok(start), Ok(end)) = (
        subnet.pool_start.parse::<Ipv4Addr>(),
        subnet.pool_end.parse::<Ipv4Addr>(),
    ) else {
        return None;
    };
    (u32::from(start)..=u32::from(end))
        .map(|n| IpAddr::V4(Ipv4Addr::from(n)))
        .find(|ip| subnet.in_pool(*ip) && !used.contains(&ip.to_string()))
}
