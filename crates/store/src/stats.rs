//! Listener statistics, one row per (listener, amphora), summed for the API.

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

impl Store {
    /// Sum of the statistics of the given listeners.
    pub async fn listener_stats(&self, listener_ids: &[String]) -> Result<ListenerStats> {
        let mut sum = ListenerStats::default();
        for id in listener_ids {
            let rows = sqlx::query(
                "SELECT bytes_in, bytes_out, active_connections, total_connections, request_errors \
                 FROM listener_stats WHERE listener_id = $1",
            )
            .bind(id)
            .fetch_all(&self.read)
            .await?;
            for r in rows {
                sum.bytes_in += r.try_get::<i64, _>("bytes_in")?;
                sum.bytes_out += r.try_get::<i64, _>("bytes_out")?;
                sum.active_connections += r.try_get::<i64, _>("active_connections")?;
                sum.total_connections += r.try_get::<i64, _>("total_connections")?;
                sum.request_errors += r.try_get::<i64, _>("request_errors")?;
            }
        }
        Ok(sum)
    }
}
