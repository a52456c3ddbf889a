//! The job queue between the API and the worker. A job is claimed with a lease; a worker
//! renews it while it works, and a job whose lease ran out (its worker died) is claimed again.

use crate::{Dialect, Result, Store, StoreError, WriteTx};
use model::{JobAction, JobState, Kind, Provider};
use sqlx::Row;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    pub lb_id: String,
    pub action: JobAction,
    pub object_kind: Kind,
    pub object_id: String,
    pub provider: Provider,
    pub attempts: i64,
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl WriteTx {
    pub async fn enqueue(
        &mut self,
        lb_id: &str,
        action: JobAction,
        object_kind: Kind,
        object_id: &str,
        provider: Provider,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (lb_id, action, object_kind, object_id, provider, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(lb_id)
        .bind(action.as_str())
        .bind(object_kind.as_str())
        .bind(object_id)
        .bind(provider.as_str())
        .bind(JobState::Pending.as_str())
        .bind(model::now())
        .fetch_one(&mut *self.tx)
        .await?;
        if self.dialect == Dialect::Postgres {
            // Delivered to listening workers at commit (several in one transaction fold
            // into one), naming this handle, whose own worker is woken in-process.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(JOBS_CHANNEL)
                .bind(&*self.instance)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(id)
    }

    /// Marks a job `Done` or `Failed` in the same transaction that settles its tree, if
    /// `owner` still holds its lease. False when it does not: the lease ran out and another
    /// worker has the job, whose outcome counts instead (the caller rolls back), so a job
    /// settles once however many workers ran it.
    pub async fn finish_job(
        &mut self,
        id: i64,
        owner: &str,
        state: JobState,
        error: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_owner = NULL, \
             lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND state = $6",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(model::now())
        .bind(id)
        .bind(owner)
        .bind(JobState::Running.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The claim: the oldest open job without a live lease. The outer condition repeats the
/// lease test so that a claimer that waited on another's row lock sees the row as that one
/// left it and takes nothing. PostgreSQL's `SKIP LOCKED` lets claimers of several workers
/// pass over a row another is claiming and take the next one instead of waiting.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = $1, lease_owner = $2, lease_until = $3, \
             attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE state IN ($4, $1) \
                         AND (lease_until IS NULL OR lease_until < $5) ORDER BY id LIMIT 1",
            $lock,
            ") AND state IN ($4, $1) AND (lease_until IS NULL OR lease_until < $5) \
             RETURNING id, lb_id, action, object_kind, object_id, provider, attempts"
        )
    };
}

/// The PostgreSQL channel a commit that queued jobs notifies.
const JOBS_CHANNEL: &str = "ostia_jobs";

/// Wakes `wake` at each notice on `JOBS_CHANNEL` from another handle than `own` until the
/// connection fails (this process's commits wake its worker directly: a second wake would
/// only cost a claim that finds nothing).
async fn listen_for_jobs(
    url: &str,
    own: &str,
    wake: &tokio::sync::Notify,
) -> sqlx::Result<std::convert::Infallible> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(JOBS_CHANNEL).await?;
    // Jobs queued while nobody listened are looked for at once.
    wake.notify_one();
    loop {
        if listener.recv().await?.payload() != own {
            wake.notify_one();
        }
    }
}

impl Store {
    /// Wakes `wake` whenever any process commits a new job, so that a worker in another
    /// process starts it at once instead of at its next poll (PostgreSQL's LISTEN/NOTIFY;
    /// on SQLite, whose writers share this process or a host, workers poll). The task ends
    /// when `stop` turns true.
    pub fn forward_new_jobs(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let url = self.url.clone()?;
        let own = self.instance.clone();
        Some(tokio::spawn(async move {
            loop {
                let listen = listen_for_jobs(&url, &own, &wake);
                tokio::select! {
                    Err(e) = listen => {
                        tracing::warn!(error = %e, "listening for new jobs failed; polling meanwhile");
                    },
                    _ = stop.wait_for(|s| *s) => return,
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }))
    }

    /// Takes the oldest job nobody holds a live lease on.
    pub async fn claim_job(&self, owner: &str, lease_ms: i64) -> Result<Option<Job>> {
        let now = now_millis();
        let sql = match self.dialect {
            // One writer at a time: the select and the update cannot interleave with another.
            Dialect::Sqlite => claim_sql!(""),
            Dialect::Postgres => claim_sql!(" FOR UPDATE SKIP LOCKED"),
        };
        let row = sqlx::query(sql)
            .bind(JobState::Running.as_str())
            .bind(owner)
            .bind(now + lease_ms)
            .bind(JobState::Pending.as_str())
            .bind(now)
            .fetch_optional(&self.write)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let action: String = row.try_get("action")?;
        let kind: String = row.try_get("object_kind")?;
        let provider: String = row.try_get("provider")?;
        Ok(Some(Job {
            id: row.try_get("id")?,
            lb_id: row.try_get("lb_id")?,
            action: action
                .parse()
                .map_err(|e: model::wire::UnknownValue| StoreError::Corrupt(e.to_string()))?,
            object_kind: Kind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("job kind {kind}")))?,
            object_id: row.try_get("object_id")?,
            provider: provider
                .parse()
                .map_err(|e: model::wire::UnknownValue| StoreError::Corrupt(e.to_string()))?,
            attempts: row.try_get("attempts")?,
        }))
    }

    /// Extends a lease; false when the lease was lost to another worker.
    pub async fn renew_job(&self, id: i64, owner: &str, lease_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = $4",
        )
        .bind(now_millis() + lease_ms)
        .bind(id)
        .bind(owner)
        .bind(JobState::Running.as_str())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Jobs not finished yet (pending or running).
    pub async fn open_jobs(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ($1, $2)")
                .bind(JobState::Pending.as_str())
                .bind(JobState::Running.as_str())
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Drops finished jobs older than `older_than` (isoformat).
    pub async fn purge_jobs(&self, older_than: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM jobs WHERE state IN ($1, $2) AND finished_at < $3")
            .bind(JobState::Done.as_str())
            .bind(JobState::Failed.as_str())
            .bind(older_than)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
}
