//! Providers: what carries a job out. `amphora` (alias `octavia`) will drive amphorae running
//! the data plane; `noop_driver` completes jobs without traffic. Until the data plane lands,
//! both complete at once and leave operating status as Octavia's worker does.

use model::Tree;
use store::Job;

#[derive(Debug, PartialEq)]
pub struct ProviderError(pub String);

/// Carries out one job on the load balancer tree as the API left it.
pub async fn run(job: &Job, tree: &Tree) -> Result<(), ProviderError> {
    match job.provider.as_str() {
        "noop_driver" | "amphora" | "octavia" => {
            let _ = tree;
            Ok(())
        }
        other => Err(ProviderError(format!("Provider '{other}' was not found."))),
    }
}

/// Providers whose load balancers run in amphorae (listed by the amphora API).
pub fn uses_amphorae(provider: &str) -> bool {
    matches!(provider, "amphora" | "octavia")
}
