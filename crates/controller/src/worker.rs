//! The worker: claims jobs with a lease, runs the provider, then settles the tree in one
//! transaction (ACTIVE/ERROR, hard deletes, DELETED load balancers, VIP ports freed).

use crate::provider;
use model::status::*;
use model::{Kind, Resource, Tree};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use store::{Job, Store};
use tokio::sync::{watch, Notify};

/// How long a claimed job stays ours without renewal; a worker that dies loses its jobs
/// to another worker (or itself after a restart) once this runs out.
pub const LEASE_MS: i64 = 3000;
const POLL: Duration = Duration::from_millis(500);

pub struct Worker {
    store: Store,
    owner: String,
    wake: Arc<Notify>,
}

impl Worker {
    pub fn new(store: Store, wake: Arc<Notify>) -> Worker {
        Worker {
            store,
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
            wake,
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(owner = %self.owner, "worker started");
        loop {
            loop {
                match self.store.claim_job(&self.owner, LEASE_MS).await {
                    Ok(Some(job)) => self.process(job).await,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "claiming a job failed");
                        break;
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                tracing::info!("worker stopped");
                return;
            }
        }
    }

    async fn process(&self, job: Job) {
        let started = std::time::Instant::now();
        let result = match self.store.tree(&job.lb_id).await {
            Ok(Some(tree)) => {
                let renew = self.keep_lease(job.id);
                let outcome = provider::run(&job, &tree).await;
                renew.abort();
                outcome
            }
            Ok(None) => Err(provider::ProviderError("load balancer vanished".into())),
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "loading tree failed; job will be retried");
                return;
            }
        };
        match self
            .settle(&job, result.as_ref().err().map(|e| e.0.as_str()))
            .await
        {
            Ok(()) => tracing::info!(job = job.id, lb = %job.lb_id, action = %job.action,
                kind = %job.object_kind, ok = result.is_ok(), ms = started.elapsed().as_secs_f64() * 1000.0,
                "job finished"),
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "settling job failed; it will be retried")
            }
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

    async fn settle(&self, job: &Job, error: Option<&str>) -> store::Result<()> {
        let mut tx = self.store.begin().await?;
        let Some(mut tree) = tx.tree(&job.lb_id).await? else {
            tx.finish_job(job.id, "failed", Some("load balancer vanished"))
                .await?;
            return tx.commit().await;
        };
        match error {
            Some(reason) => {
                tracing::warn!(job = job.id, %reason, "provider failed");
                let target = if job.object_kind == Kind::Amphora.as_str() {
                    job.lb_id.as_str()
                } else {
                    job.object_id.as_str()
                };
                tree.settle_failure(target);
            }
            None => {
                let lb_deleted = tree.settle_success();
                let provider = tree.lb().str("provider").unwrap_or("amphora").to_string();
                if lb_deleted {
                    if tree.lb().get("vip_port_owned").as_bool() == Some(true) {
                        let port = tree.lb().str("vip_port_id").unwrap_or_default().to_string();
                        tx.delete_port(&port).await?;
                    }
                    for amphora in tx.list(Kind::Amphora).await? {
                        if amphora.lb_id.as_deref() == Some(job.lb_id.as_str()) {
                            tx.delete(&amphora.id).await?;
                        }
                    }
                } else if job.object_kind == Kind::LoadBalancer.as_str()
                    && job.action == "create"
                    && provider::uses_amphorae(&provider)
                {
                    tx.put(&new_amphora(&tree)).await?;
                }
            }
        }
        tx.save_tree(&tree).await?;
        tx.finish_job(
            job.id,
            if error.is_some() { "failed" } else { "done" },
            error,
        )
        .await?;
        tx.commit().await
    }
}

/// The amphora record of a SINGLE-topology load balancer.
fn new_amphora(tree: &Tree) -> Resource {
    let lb = tree.lb();
    let mut amp = Resource::new(Kind::Amphora, uuid::Uuid::new_v4().to_string());
    amp.lb_id = Some(lb.id.clone());
    amp.parent_id = Some(lb.id.clone());
    amp.project_id = lb.project_id.clone();
    amp.provisioning_status = "ALLOCATED".into();
    amp.operating_status = ONLINE.into();
    amp.updated_at = Some(model::now());
    let expiry = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    for (k, v) in [
        ("compute_id", json!(uuid::Uuid::new_v4().to_string())),
        ("lb_network_ip", json!("127.0.0.1")),
        ("vrrp_ip", json!(null)),
        ("ha_ip", lb.get("vip_address").clone()),
        ("vrrp_port_id", json!(null)),
        ("ha_port_id", lb.get("vip_port_id").clone()),
        ("cert_expiration", json!(expiry)),
        ("cert_busy", json!(false)),
        ("role", json!("STANDALONE")),
        ("vrrp_interface", json!(null)),
        ("vrrp_id", json!(1)),
        ("vrrp_priority", json!(null)),
        ("cached_zone", json!(null)),
        ("image_id", json!(null)),
        ("compute_flavor", json!(null)),
    ] {
        amp.set(k, v);
    }
    amp
}
