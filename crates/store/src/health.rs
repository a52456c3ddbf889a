//! What the health manager keeps: when each amphora last reported (Octavia's
//! `amphora_health`), and the operating statuses it derives from the reports.

use crate::{Dialect, Result, StatsDelta, Store, WriteTx};
use model::OperatingStatus;

/// Rows per multi-row statement are powers of two up to this, so that a handful of
/// statement shapes serve every batch (and stay in the prepared-statement cache). Larger
/// is not faster: binding `$n` parameters costs time quadratic in their number.
const MAX_CHUNK: usize = 32;

/// Splits `n` rows into chunks whose sizes are powers of two.
fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if n == 0 {
            return None;
        }
        let size = if n >= MAX_CHUNK {
            MAX_CHUNK
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        n -= size;
        Some(size)
    })
}

/// `VALUES` placeholders for `rows` rows of `columns` columns.
fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let cols: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// What the health manager gathered since its last flush, in one transaction: when
    /// each amphora last reported in full (milliseconds since the epoch), and listener
    /// statistics to add (`active_connections` replaces).
    pub async fn record_reports(&self, seen: &[(String, i64)], stats: &[StatsDelta]) -> Result<()> {
        if seen.is_empty() && stats.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer().await?;
        let mut rest = seen;
        for size in chunk_sizes(seen.len()) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let sql = format!(
                "INSERT INTO amphora_health (amphora_id, last_update) VALUES {} \
                 ON CONFLICT (amphora_id) DO UPDATE SET last_update = excluded.last_update",
                values(size, 2)
            );
            let mut q = sqlx::query(&sql);
            for (id, at) in chunk {
                q = q.bind(id).bind(at);
            }
            q.execute(&mut *tx).await?;
        }
        let mut rest = stats;
        for size in chunk_sizes(stats.len()) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let sql = format!(
                "INSERT INTO listener_stats (listener_id, amphora_id, bytes_in, bytes_out, \
                 active_connections, total_connections, request_errors) VALUES {} \
                 ON CONFLICT (listener_id, amphora_id) DO UPDATE SET \
                 bytes_in = listener_stats.bytes_in + excluded.bytes_in, \
                 bytes_out = listener_stats.bytes_out + excluded.bytes_out, \
                 active_connections = excluded.active_connections, \
                 total_connections = listener_stats.total_connections + excluded.total_connections, \
                 request_errors = listener_stats.request_errors + excluded.request_errors",
                values(size, 7)
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q
                    .bind(&d.listener_id)
                    .bind(&d.amphora_id)
                    .bind(d.stats.bytes_in)
                    .bind(d.stats.bytes_out)
                    .bind(d.stats.active_connections)
                    .bind(d.stats.total_connections)
                    .bind(d.stats.request_errors);
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
    /// row, is busy already, or reported at or after `silent_before` (milliseconds; `None`:
    /// however recently). On PostgreSQL the row is taken with `FOR UPDATE SKIP LOCKED`: a
    /// row another health manager is taking, or a heartbeat is refreshing, is passed over
    /// rather than waited for, and the conditions are read again as the row is locked.
    pub async fn claim_amphora_health(
        &mut self,
        amphora_id: &str,
        silent_before: Option<i64>,
    ) -> Result<bool> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "UPDATE amphora_health SET busy = 1 \
                 WHERE amphora_id = $1 AND busy = 0 AND last_update < $2"
            }
            Dialect::Postgres => {
                "UPDATE amphora_health SET busy = 1 WHERE amphora_id = \
                 (SELECT amphora_id FROM amphora_health \
                  WHERE amphora_id = $1 AND busy = 0 AND last_update < $2 FOR UPDATE SKIP LOCKED)"
            }
        };
        let done = sqlx::query(sql)
            .bind(amphora_id)
            .bind(silent_before.unwrap_or(i64::MAX))
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
        self.lock_tree(lb_id).await?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two_that_add_up() {
        for n in [0, 1, 2, 3, 255, 256, 257, 1000] {
            let sizes: Vec<usize> = super::chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes
                .iter()
                .all(|s| s.is_power_of_two() && *s <= super::MAX_CHUNK));
        }
        assert_eq!(super::chunk_sizes(7).collect::<Vec<_>>(), vec![4, 2, 1]);
    }
}
