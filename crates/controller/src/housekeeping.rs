//! Housekeeping: purges load balancers and amphorae kept as DELETED past their expiry age
//! (Octavia's `load_balancer_expiry_age` and `amphora_expiry_age`), and old jobs.

use model::Kind;
use std::time::Duration;
use store::Store;
use tokio::sync::watch;

pub struct Housekeeping {
    pub store: Store,
    /// Octavia's `load_balancer_expiry_age` and `amphora_expiry_age` (default 7 days).
    pub lb_expiry: Duration,
    pub interval: Duration,
}

fn ago(d: Duration) -> String {
    let then = chrono::Utc::now() - chrono::Duration::from_std(d).unwrap_or_default();
    then.format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl Housekeeping {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            for kind in [Kind::LoadBalancer, Kind::Amphora] {
                match self.store.purge_deleted(kind, &ago(self.lb_expiry)).await {
                    Ok(n) if n > 0 => tracing::info!(purged = n, %kind, "purged deleted rows"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                }
            }
            let _ = self
                .store
                .purge_jobs(&ago(Duration::from_secs(86_400)))
                .await;
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}
