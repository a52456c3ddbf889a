//! What LBaaS v1 (`neutron lb-*`) needs beyond the load-balancer model: which pools were
//! made through v1 (and the subnet their members live on), v1's shared health monitors, and
//! which Octavia health monitor stands for each monitor↔pool association.

use crate::row::DbRow;
use crate::{Result, Store, WriteTx};
use serde_json::{Map, Value};
use sqlx::Row;

/// A pool made through v1: an Octavia pool on a load balancer of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct V1Pool {
    pub pool_id: String,
    pub lb_id: String,
    pub subnet_id: String,
    pub project_id: String,
    pub created_at: String,
}

/// A v1 health monitor: shared between pools, so it lives outside every tree.
#[derive(Clone, Debug, PartialEq)]
pub struct V1Monitor {
    pub id: String,
    pub project_id: String,
    pub created_at: String,
    /// type, delay, timeout, max_retries, http_method, url_path, expected_codes,
    /// admin_state_up.
    pub attrs: Map<String, Value>,
}

/// One monitor↔pool association and the Octavia health monitor that carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct V1Association {
    pub monitor_id: String,
    pub pool_id: String,
    pub healthmonitor_id: String,
}

fn pool_from(row: &DbRow) -> Result<V1Pool> {
    Ok(V1Pool {
        pool_id: row.try_get("pool_id")?,
        lb_id: row.try_get("lb_id")?,
        subnet_id: row.try_get("subnet_id")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn monitor_from(row: &DbRow) -> Result<V1Monitor> {
    Ok(V1Monitor {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("created_at")?,
        attrs: crate::row::attrs_from(row)?,
    })
}

fn association_from(row: &DbRow) -> Result<V1Association> {
    Ok(V1Association {
        monitor_id: row.try_get("monitor_id")?,
        pool_id: row.try_get("pool_id")?,
        healthmonitor_id: row.try_get("healthmonitor_id")?,
    })
}

impl Store {
    pub async fn v1_pools(&self) -> Result<Vec<V1Pool>> {
        let rows = sqlx::query("SELECT * FROM v1_pools ORDER BY created_at, pool_id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(pool_from).collect()
    }

    pub async fn v1_pool(&self, pool_id: &str) -> Result<Option<V1Pool>> {
        let row = sqlx::query("SELECT * FROM v1_pools WHERE pool_id = $1")
            .bind(pool_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(pool_from).transpose()
    }

    pub async fn v1_monitors(&self) -> Result<Vec<V1Monitor>> {
        let rows = sqlx::query("SELECT * FROM v1_monitors ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(monitor_from).collect()
    }

    pub async fn v1_monitor(&self, id: &str) -> Result<Option<V1Monitor>> {
        let row = sqlx::query("SELECT * FROM v1_monitors WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(monitor_from).transpose()
    }

    pub async fn v1_associations(&self) -> Result<Vec<V1Association>> {
        let rows = sqlx::query("SELECT * FROM v1_monitor_pools ORDER BY monitor_id, pool_id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(association_from).collect()
    }
}

impl WriteTx {
    pub async fn put_v1_pool(&mut self, p: &V1Pool) -> Result<()> {
        sqlx::query(
            "INSERT INTO v1_pools (pool_id, lb_id, subnet_id, project_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&p.pool_id)
        .bind(&p.lb_id)
        .bind(&p.subnet_id)
        .bind(&p.project_id)
        .bind(&p.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Forgets a v1 pool and its monitor associations.
    pub async fn delete_v1_pool(&mut self, pool_id: &str) -> Result<()> {
        for table in ["v1_pools", "v1_monitor_pools"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE pool_id = $1"))
                .bind(pool_id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Inserts or replaces a v1 health monitor.
    pub async fn put_v1_monitor(&mut self, m: &V1Monitor) -> Result<()> {
        sqlx::query(
            "INSERT INTO v1_monitors (id, project_id, created_at, attrs) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET attrs = excluded.attrs",
        )
        .bind(&m.id)
        .bind(&m.project_id)
        .bind(&m.created_at)
        .bind(Value::Object(m.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_v1_monitor(&mut self, id: &str) -> Result<()> {
        for (table, column) in [("v1_monitors", "id"), ("v1_monitor_pools", "monitor_id")] {
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn put_v1_association(&mut self, a: &V1Association) -> Result<()> {
        sqlx::query(
            "INSERT INTO v1_monitor_pools (monitor_id, pool_id, healthmonitor_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(&a.monitor_id)
        .bind(&a.pool_id)
        .bind(&a.healthmonitor_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_v1_association(&mut self, monitor_id: &str, pool_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM v1_monitor_pools WHERE monitor_id = $1 AND pool_id = $2")
            .bind(monitor_id)
            .bind(pool_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
