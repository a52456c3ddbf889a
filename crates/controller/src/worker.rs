//! The worker: claims jobs with a lease, has the provider carry them out, then settles the
//! tree in one transaction (ACTIVE/ERROR, hard deletes, DELETED load balancers, VIP ports
//! freed, amphora records and their health watch).

use crate::amphorae::{Amphorae, Outcome};
use model::{AmphoraStatus, JobAction, JobState, Kind, ProvisioningStatus, Tree};
use std::sync::Arc;
use std::time::Duration;
use store::{Job, Store};
use tokio::sync::{watch, Notify};

/// How long a claimed job stays ours without renewal; a worker that dies loses its jobs
/// to another worker (or itself after a restart) once this runs out.
pub const LEASE_MS: i64 = 3000;
const POLL: Duration = Duration::from_millis(500);
/// Jobs carried out at once.
const JOBS_IN_FLIGHT: usize = 8;

pub struct Worker {
    store: Store,
    owner: String,
    wake: Arc<Notify>,
    amphorae: Arc<Amphorae>,
}

impl Worker {
    pub fn new(store: Store, wake: Arc<Notify>, amphorae: Arc<Amphorae>) -> Worker {
        Worker {
            store,
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
            wake,
            amphorae,
        }
    }
    /// Runs until `stop` turns true, carrying out up to `JOBS_IN_FLIGHT` jobs at once (of
    /// different load balancers: the lock rule gives a load balancer one job at a time), so
    /// that an amphora slow to answer holds up only its own load balancer.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(owner = %self.owner, "worker started");
        let this = Arc::new(self);
        let slots = Arc::new(tokio::sync::Semaphore::new(JOBS_IN_FLIGHT));
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("never closed"),
                _ = stop.wait_for(|s| *s) => break,
            };
            match this.store.claim_job(&this.owner, LEASE_MS).await {
                Ok(Some(job)) => {
                    let worker = this.clone();
                    running.spawn(async move {
                        worker.process(job).await;
                        drop(permit);
                    });
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "claiming a job failed"),
            }
            drop(permit);
            tokio::select! {
                _ = this.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        while running.join_next().await.is_some() {}
        tracing::info!("worker stopped");
    }

    async fn process(&self, job: Job) {
        let started = std::time::Instant::now();
        let outcome = match self.store.tree(&job.lb_id).await {
            Ok(Some(tree)) => {
                let renew = self.keep_lease(job.id);
                let outcome = self.carry_out(&job, &tree).await;
                renew.abort();
                outcome
            }
            Ok(None) => Outcome {
                error: Some("load balancer vanished".into()),
                ..Outcome::default()
            },
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "loading tree failed; job will be retried");
                return;
            }
        };
        let ok = outcome.error.is_none();
        match self.settle(&job, outcome).await {
            Ok(false) => {
                tracing::warn!(job = job.id, lb = %job.lb_id, "lease lost before settling: another worker has the job")
            }
            Ok(true) => tracing::info!(job = job.id, lb = %job.lb_id, action = %job.action,
                kind = %job.object_kind, ok, ms = started.elapsed().as_secs_f64() * 1000.0,
                "job finished"),
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "settling job failed; it will be retried")
            }
        }
    }

    async fn carry_out(&self, job: &Job, tree: &Tree) -> Outcome {
        if job.provider.uses_amphorae() {
            self.amphorae.run(job, tree).await
        } else {
            Outcome::default()
        }
    }

    /// Renews the lease while a provider works.
    fn keep_lease(&self, job_id: i64) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let owner = self.owner.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 3)).await;
                if !matches!(store.renew_job(job_id, &owner, LEASE_MS).await, Ok(true)) {
                    return;
                }
            }
        })
    }

    /// Commits the job's outcome; false when the lease was lost first (nothing is written).
    async fn settle(&self, job: &Job, outcome: Outcome) -> store::Result<bool> {
        let mut tx = self.store.begin_tree(&job.lb_id).await?;
        let now = store::jobs::now_millis();
        let heartbeats = self.amphorae.driver().heartbeats();
        for amp in &outcome.records {
            tx.put_amphora(amp).await?;
            match amp.status {
                AmphoraStatus::Allocated if heartbeats => tx.watch_amphora(&amp.id, now).await?,
                AmphoraStatus::Allocated => {}
                _ => tx.unwatch_amphora(&amp.id).await?,
            }
        }
        let retired: Vec<_> = outcome
            .records
            .iter()
            .filter(|a| a.status == AmphoraStatus::Deleted)
            .cloned()
            .collect();
        if !retired.is_empty() {
            let serving = crate::amphorae::in_service(tx.amphorae(&job.lb_id).await?);
            for port in crate::pair::freed_ports(&retired, &serving) {
                tx.delete_port(port).await?;
            }
        }
        let error = outcome.error.as_deref();
        // Pushing agent settings changes no object of the tree.
        if job.action != JobAction::Configure {
            let Some(mut tree) = tx.tree(&job.lb_id).await? else {
                let ours = tx
                    .finish_job(
                        job.id,
                        &self.owner,
                        JobState::Failed,
                        Some("load balancer vanished"),
                    )
                    .await?;
                return Self::commit_if(ours, tx).await;
            };
            settle_tree(&mut tx, job, &mut tree, &outcome).await?;
            tx.save_tree(&tree).await?;
        }
        if let Some(reason) = error {
            tracing::warn!(job = job.id, lb = %job.lb_id, %reason, "job failed");
        }
        let state = if error.is_some() {
            JobState::Failed
        } else {
            JobState::Done
        };
        let ours = tx.finish_job(job.id, &self.owner, state, error).await?;
        Self::commit_if(ours, tx).await
    }

    /// Commits a settlement only while this worker still holds the job's lease: a worker
    /// that stalled past it lets the one that took the job over settle it.
    async fn commit_if(ours: bool, tx: store::WriteTx) -> store::Result<bool> {
        if ours {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(ours)
    }
}

/// Octavia's end of a flow: success marks the changed objects ACTIVE (or removes them),
/// failure marks the target ERROR and its parents ACTIVE; listeners that could not start
/// are ERROR either way.
async fn settle_tree(
    tx: &mut store::WriteTx,
    job: &Job,
    tree: &mut Tree,
    outcome: &Outcome,
) -> store::Result<()> {
    match &outcome.error {
        Some(_) => {
            let target = if job.object_kind == Kind::Amphora {
                job.lb_id.as_str()
            } else {
                job.object_id.as_str()
            };
            tree.settle_failure(target);
        }
        None => {
            if tree.settle_success() && tree.load_balancer().vip_port_owned {
                let port = tree.load_balancer().vip_port_id.clone();
                tx.delete_port(&port).await?;
            }
        }
    }
    for failure in &outcome.failed_listeners {
        tracing::warn!(job = job.id, listener = %failure.id, reason = %failure.reason,
            "listener cannot serve");
        if let Some(l) = tree.get_mut(&failure.id) {
            l.set_status(ProvisioningStatus::Error);
        }
    }
    Ok(())
}
