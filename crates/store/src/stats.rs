//! Listener statistics, one row per (listener, amphora), summed for the API.

use crate::row::DbRow;
use crate::{Result, Store};
use sqlx::Row;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenerStats {
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub active_connections: i64,
    pub total_connections: i64,
    pub request_errors: i64,
}

/// One heartbeat's worth of statistics for one (listener, amphora): byte, connection and
/// error counts are deltas to add, `active_connections` replaces the stored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsDelta {
    pub listener_id: String,
    pub amphora_id: String,
    pub stats: ListenerStats,
}

const COLUMNS: &str = "bytes_in, bytes_out, active_connections, total_connections, request_errors";

fn add(sum: &mut ListenerStats, r: &DbRow) -> Result<()> {
    sum.bytes_in += r.try_get::<i64, _>("bytes_in")?;
    sum.bytes_out += r.try_get::<i64, _>("bytes_out")?;
    sum.active_connections += r.try_get::<i64, _>("active_connections")?;
    sum.total_connections += r.try_get::<i64, _>("total_connections")?;
    sum.request_errors += r.try_get::<i64, _>("request_errors")?;
    Ok(())
}

impl Store {
    /// Sum of the statistics of the given listeners.
    pub async fn listener_stats(&self, listener_ids: &[String]) -> Result<ListenerStats> {
        let mut sum = ListenerStats::default();
        for id in listener_ids {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM listener_stats WHERE listener_id = $1"
            ))
            .bind(id)
            .fetch_all(&self.read)
            .await?;
            for r in &rows {
                add(&mut sum, r)?;
            }
        }
        Ok(sum)
    }

    /// The statistics one amphora reported, per listener.
    pub async fn amphora_stats(&self, amphora_id: &str) -> Result<Vec<(String, ListenerStats)>> {
        let rows = sqlx::query(&format!(
            "SELECT listener_id, {COLUMNS} FROM listener_stats WHERE amphora_id = $1 \
             ORDER BY listener_id"
        ))
        .bind(amphora_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let mut s = ListenerStats::default();
                add(&mut s, r)?;
                Ok((r.try_get("listener_id")?, s))
            })
            .collect()
    }
}
