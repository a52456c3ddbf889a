//! The host's reports: every interval, a signed heartbeat that names the host, to the next
//! health manager of the list.

use model::HostReport;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Reports being sent; dropping it stops them.
pub struct Reports {
    task: JoinHandle<()>,
    /// What is reported (the amphorae and networks the host carries change it).
    pub report: watch::Sender<HostReport>,
}

impl Drop for Reports {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts reporting `name` at `local_ip` (reports leave from it), signed with `key`.
pub async fn start_reports(
    name: &str,
    local_ip: IpAddr,
    agent: Option<SocketAddr>,
    controllers: Vec<SocketAddr>,
    interval: Duration,
    key: String,
) -> anyhow::Result<Reports> {
    anyhow::ensure!(
        !controllers.is_empty(),
        "--controller-ip-port-list names no health manager to report to"
    );
    let socket = tokio::net::UdpSocket::bind((local_ip, 0))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot send from --local-ip {local_ip} (is it an address of this host?): {e}"
            )
        })?;
    let (report, reports) = watch::channel(HostReport {
        name: name.to_string(),
        local_ip,
        agent,
        started_at: model::now(),
        amphorae: Vec::new(),
        networks: Vec::new(),
    });
    let settings = amphora::HeartbeatSettings {
        targets: controllers,
        interval_ms: interval.as_millis() as u64,
        key,
    };
    let task = amphora::host::spawn(reports, settings, Arc::new(socket));
    Ok(Reports { task, report })
}
