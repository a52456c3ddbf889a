//! `ostia agent`: one per amphora host. Opens what it shares with the control plane (the
//! data dir's `heartbeat.key`) and reports its host to the health managers in turn.

use model::HostReport;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Holds `heartbeat.key`, copied from the control plane's data dir.
    pub data_dir: PathBuf,
    /// `--host`: the host's name, unique among hosts.
    pub host: String,
    /// Its underlay address: reports leave from it.
    pub local_ip: IpAddr,
    /// Health managers, used in turn.
    pub controllers: Vec<SocketAddr>,
    pub report_interval: Duration,
}

/// A running agent; dropping it stops its reports.
pub struct RunningAgent {
    reporter: JoinHandle<()>,
    /// What it reports (the amphorae it runs change it).
    pub report: watch::Sender<HostReport>,
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.reporter.abort();
    }
}

/// Starts reporting. Refuses a data dir without the control plane's key: reports signed
/// with a key of its own would all be dropped, and the host would never appear.
pub async fn start(opts: AgentOptions) -> anyhow::Result<RunningAgent> {
    anyhow::ensure!(
        !opts.host.trim().is_empty(),
        "--host must name the host (its agent's name in `neutron agent-list`)"
    );
    anyhow::ensure!(
        !opts.controllers.is_empty(),
        "--controller-ip-port-list names no health manager to report to"
    );
    let key_path = opts.data_dir.join("heartbeat.key");
    let key = std::fs::read_to_string(&key_path)
        .map(|k| k.trim().to_string())
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read {} ({e}): copy heartbeat.key from the control plane's data dir",
                key_path.display()
            )
        })?;
    anyhow::ensure!(!key.is_empty(), "{} is empty", key_path.display());
    let socket = tokio::net::UdpSocket::bind((opts.local_ip, 0))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot send from --local-ip {} (is it an address of this host?): {e}",
                opts.local_ip
            )
        })?;
    let (report, reports) = watch::channel(HostReport {
        name: opts.host.clone(),
        local_ip: opts.local_ip,
        agent: None,
        started_at: model::now(),
        amphorae: Vec::new(),
    });
    let settings = amphora::HeartbeatSettings {
        targets: opts.controllers.clone(),
        interval_ms: opts.report_interval.as_millis() as u64,
        key,
    };
    let reporter = amphora::host::spawn(reports, settings, Arc::new(socket));
    Ok(RunningAgent { reporter, report })
}
