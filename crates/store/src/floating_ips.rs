//! Floating IPs of the built-in network service.

use crate::row::DbRow;
use crate::{Result, Store, WriteTx};
use serde_json::{Map, Value};
use sqlx::Row;

pub const FLOATING_IP_OWNER: &str = "network:floatingip";

#[derive(Clone, Debug, PartialEq)]
pub struct FloatingIp {
    pub id: String,
    pub floating_network_id: String,
    pub floating_ip_address: String,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<String>,
    pub router_id: Option<String>,
    pub project_id: String,
    pub created_at: String,
    /// description.
    pub attrs: Map<String, Value>,
}

fn fip_from(row: &DbRow) -> Result<FloatingIp> {
    let attrs = crate::row::attrs_from(row)?;
    Ok(FloatingIp {
        id: row.try_get("id")?,
        floating_network_id: row.try_get("floating_network_id")?,
        floating_ip_address: row.try_get("floating_ip_address")?,
        port_id: row.try_get("port_id")?,
        fixed_ip_address: row.try_get("fixed_ip_address")?,
        router_id: row.try_get("router_id")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("created_at")?,
        attrs,
    })
}

impl Store {
    /// The floating addresses associated with a port (a VIP's, for its amphorae to serve).
    pub async fn floating_addresses(&self, port_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT floating_ip_address FROM floatingips WHERE port_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(port_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn floating_ips(&self) -> Result<Vec<FloatingIp>> {
        let rows = sqlx::query("SELECT * FROM floatingips ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(fip_from).collect()
    }
}

impl WriteTx {
    pub async fn floating_ip(&mut self, id: &str) -> Result<Option<FloatingIp>> {
        let row = sqlx::query("SELECT * FROM floatingips WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(fip_from).transpose()
    }

    /// The floating IPs associated with a port.
    pub async fn floating_ips_of_port(&mut self, port_id: &str) -> Result<Vec<FloatingIp>> {
        let rows = sqlx::query("SELECT * FROM floatingips WHERE port_id = $1")
            .bind(port_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(fip_from).collect()
    }

    /// Inserts or replaces a floating IP.
    pub async fn put_floating_ip(&mut self, f: &FloatingIp) -> Result<()> {
        sqlx::query(
            "INSERT INTO floatingips (id, floating_network_id, floating_ip_address, port_id, \
             fixed_ip_address, router_id, project_id, created_at, attrs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET port_id = excluded.port_id, \
             fixed_ip_address = excluded.fixed_ip_address, router_id = excluded.router_id, \
             attrs = excluded.attrs",
        )
        .bind(&f.id)
        .bind(&f.floating_network_id)
        .bind(&f.floating_ip_address)
        .bind(&f.port_id)
        .bind(&f.fixed_ip_address)
        .bind(&f.router_id)
        .bind(&f.project_id)
        .bind(&f.created_at)
        .bind(Value::Object(f.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Deletes a floating IP and gives its address back.
    pub async fn delete_floating_ip(&mut self, id: &str) -> Result<()> {
        for sql in [
            "DELETE FROM ports WHERE device_id = $1 AND device_owner = 'network:floatingip'",
            "DELETE FROM floatingips WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}
