//! Amphora hosts: registered and refreshed by their agents' signed reports (through the
//! health manager), switched on and off by administrators, deleted once dead.

use crate::row::DbRow;
use crate::{Result, Store, StoreError};
use model::{Host, HostReport};
use sqlx::Row;

fn host_from(row: &DbRow) -> Result<Host> {
    let local_ip: String = row.try_get("local_ip")?;
    let agent: Option<String> = row.try_get("agent")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("host {what}"));
    Ok(Host {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        local_ip: local_ip.parse().map_err(|_| corrupt("local_ip"))?,
        agent: agent
            .map(|a| a.parse().map_err(|_| corrupt("agent")))
            .transpose()?,
        admin_state_up: row.try_get::<i64, _>("admin_state_up")? != 0,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
        networks: serde_json::from_str(&row.try_get::<String, _>("networks")?)
            .map_err(|_| corrupt("networks"))?,
    })
}

impl Store {
    /// Records reports received at `at` (milliseconds): a host named for the first time is
    /// registered with a new id; a known one has its address, agent, start and last report
    /// updated.
    pub async fn report_hosts(&self, reports: &[HostReport], at: i64) -> Result<()> {
        if reports.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer().await?;
        for r in reports {
            sqlx::query(
                "INSERT INTO hosts (id, name, local_ip, agent, admin_state_up, created_at, \
                 started_at, heartbeat_at, networks) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8) \
                 ON CONFLICT (name) DO UPDATE SET local_ip = excluded.local_ip, \
                 agent = excluded.agent, started_at = excluded.started_at, \
                 heartbeat_at = excluded.heartbeat_at, networks = excluded.networks",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&r.name)
            .bind(r.local_ip.to_string())
            .bind(r.agent.map(|a| a.to_string()))
            .bind(model::now())
            .bind(&r.started_at)
            .bind(at)
            .bind(serde_json::to_string(&r.networks).expect("serialisable"))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every host, in the order they registered.
    pub async fn hosts(&self) -> Result<Vec<Host>> {
        let rows = sqlx::query("SELECT * FROM hosts ORDER BY created_at, name")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(host_from).collect()
    }

    pub async fn host(&self, id: &str) -> Result<Option<Host>> {
        let row = sqlx::query("SELECT * FROM hosts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(host_from).transpose()
    }

    /// Sets what an administrator changes of a host (None leaves it); false when there is
    /// no such host.
    pub async fn update_host(
        &self,
        id: &str,
        admin_state_up: Option<bool>,
        description: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.writer().await?;
        let done = sqlx::query(
            "UPDATE hosts SET admin_state_up = COALESCE($1, admin_state_up), \
             description = COALESCE($2, description) WHERE id = $3",
        )
        .bind(admin_state_up.map(i64::from))
        .bind(description)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets a host; false when there is no such host.
    pub async fn delete_host(&self, id: &str) -> Result<bool> {
        let mut tx = self.writer().await?;
        let done = sqlx::query("DELETE FROM hosts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// The VXLAN id of a network, given it the first time it is asked for (the lowest unused).
    pub async fn network_vni(&self, network_id: &str) -> Result<u32> {
        let mut tx = self.writer().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT vni FROM network_vnis WHERE network_id = $1")
                .bind(network_id)
                .fetch_optional(&mut *tx)
                .await?;
        let vni = match found {
            Some(v) => v,
            None => {
                let next: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(vni), 0) + 1 FROM network_vnis")
                        .fetch_one(&mut *tx)
                        .await?;
                sqlx::query("INSERT INTO network_vnis (network_id, vni) VALUES ($1, $2)")
                    .bind(network_id)
                    .bind(next)
                    .execute(&mut *tx)
                    .await?;
                next
            }
        };
        tx.commit().await?;
        u32::try_from(vni).map_err(|_| StoreError::Corrupt(format!("network {network_id} VNI")))
    }
}
