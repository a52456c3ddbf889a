//! What the health manager keeps: when each amphora last reported (Octavia's
//! `amphora_health`), and the operating statuses it derives from the reports.

use crate::{Result, Store, WriteTx};
use model::OperatingStatus;

/// Rows per multi-row statement (SQLite allows 32,766 bound values).
const CHUNK: usize = 500;

impl Store {
    /// Records that these amphorae reported at these times (milliseconds since the epoch).
    pub async fn record_heartbeats(&self, seen: &[(String, i64)]) -> Result<()> {
        if seen.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for chunk in seen.chunks(CHUNK) {
            let values = (0..chunk.len())
                .map(|i| format!("(${}, ${}, 0)", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO amphora_health (amphora_id, last_update, busy) VALUES {values} \
                 ON CONFLICT (amphora_id) DO UPDATE SET last_update = excluded.last_update"
            );
            let mut q = sqlx::query(&sql);
            for (id, at) in chunk {
                q = q.bind(id).bind(at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives every watched amphora a fresh `heartbeat_timeout`, as after a restart of the
    /// control plane nobody could hear them (Octavia waits as long after a database outage).
    pub async fn refresh_watched(&self, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE amphora_health SET last_update = $1")
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Amphorae not busy whose last report is older than `before` (milliseconds).
    pub async fn stale_amphorae(&self, before: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT amphora_id FROM amphora_health WHERE busy = 0 AND last_update < $1 \
             ORDER BY last_update",
        )
        .bind(before)
        .fetch_all(&self.read)
        .await?)
    }

    /// Amphorae that reported at or after `since` (milliseconds).
    pub async fn fresh_amphorae(&self, since: i64) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT amphora_id FROM amphora_health WHERE last_update >= $1")
                .bind(since)
                .fetch_all(&self.read)
                .await?,
        )
    }
}

impl WriteTx {
    /// Starts watching an amphora as if it had just reported (a new or restored amphora gets
    /// a full `heartbeat_timeout` to send its first heartbeat).
    pub async fn watch_amphora(&mut self, amphora_id: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO amphora_health (amphora_id, last_update, busy) VALUES ($1, $2, 0) \
             ON CONFLICT (amphora_id) DO UPDATE SET last_update = excluded.last_update, busy = 0",
        )
        .bind(amphora_id)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn unwatch_amphora(&mut self, amphora_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM amphora_health WHERE amphora_id = $1")
            .bind(amphora_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Marks an amphora's health row busy (a failover is under way); false when it has no
    /// row or is busy already.
    pub async fn claim_amphora_health(&mut self, amphora_id: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE amphora_health SET busy = 1 WHERE amphora_id = $1 AND busy = 0")
                .bind(amphora_id)
                .execute(&mut *self.tx)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes one object's operating status (and nothing else of its row), so that the
    /// health manager never overwrites what the API or the worker changed meanwhile.
    pub async fn set_operating_status(
        &mut self,
        lb_id: &str,
        id: &str,
        status: OperatingStatus,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE resources SET operating_status = $1 WHERE id = $2 AND operating_status <> $1",
        )
        .bind(status.as_str())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() > 0 {
            self.touched.insert(lb_id.to_string());
        }
        Ok(())
    }
}
