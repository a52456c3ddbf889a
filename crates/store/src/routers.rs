//! Routers of the built-in network service. Interfaces and the external gateway are ports
//! owned by the router, so "which subnets reach which external network" is a port query.

use crate::row::DbRow;
use crate::{Result, Store, WriteTx};
use serde_json::{Map, Value};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq)]
pub struct Router {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub created_at: String,
    /// admin_state_up, description, external_gateway_info.
    pub attrs: Map<String, Value>,
}

fn router_from(row: &DbRow) -> Result<Router> {
    let attrs = crate::row::attrs_from(row)?;
    Ok(Router {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("created_at")?,
        attrs,
    })
}

impl Store {
    pub async fn routers(&self) -> Result<Vec<Router>> {
        let rows = sqlx::query("SELECT * FROM routers ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(router_from).collect()
    }
}

impl WriteTx {
    pub async fn router(&mut self, id: &str) -> Result<Option<Router>> {
        let row = sqlx::query("SELECT * FROM routers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(router_from).transpose()
    }

    /// Inserts or replaces a router.
    pub async fn put_router(&mut self, r: &Router) -> Result<()> {
        sqlx::query(
            "INSERT INTO routers (id, name, project_id, created_at, attrs) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, attrs = excluded.attrs",
        )
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.project_id)
        .bind(&r.created_at)
        .bind(Value::Object(r.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_router(&mut self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM routers WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The ports with an address on a subnet.
    pub async fn subnet_ports(&mut self, subnet_id: &str) -> Result<Vec<crate::Port>> {
        let rows = sqlx::query("SELECT * FROM ports WHERE subnet_id = $1 ORDER BY created_at, id")
            .bind(subnet_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(crate::network::port_from).collect()
    }

    /// The ports a router owns (interfaces and gateway).
    pub async fn router_ports(&mut self, router_id: &str) -> Result<Vec<crate::Port>> {
        let rows = sqlx::query("SELECT * FROM ports WHERE device_id = $1 ORDER BY created_at, id")
            .bind(router_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(crate::network::port_from).collect()
    }
}
