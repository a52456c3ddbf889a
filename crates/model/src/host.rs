//! An amphora host: a machine whose `ostia agent` builds the amphorae the worker places on
//! it, as Neutron keeps its LBaaS agents (reference §2.3). It registers itself with its
//! first signed report and is alive while it keeps reporting.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug, PartialEq)]
pub struct Host {
    /// The agent's id, as Neutron's agent API shows it.
    pub id: String,
    /// `--host`: unique among hosts.
    pub name: String,
    /// Its underlay address (VXLAN's endpoint).
    pub local_ip: IpAddr,
    /// Where its agent is reached over mutual TLS.
    pub agent: Option<SocketAddr>,
    /// An administrator's switch: a host that is down gets no new amphorae.
    pub admin_state_up: bool,
    /// An administrator's note.
    pub description: String,
    pub created_at: String,
    /// When its agent started (it reports it with every report).
    pub started_at: String,
    /// Its last report, milliseconds since the epoch.
    pub heartbeat_at: i64,
}

/// What an agent says of its host in each report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    pub name: String,
    pub local_ip: IpAddr,
    #[serde(default)]
    pub agent: Option<SocketAddr>,
    pub started_at: String,
    /// The amphorae it runs.
    #[serde(default)]
    pub amphorae: Vec<String>,
}

impl Host {
    /// Alive: it reported within `down_after` milliseconds of `now`.
    pub fn alive(&self, now: i64, down_after: i64) -> bool {
        now - self.heartbeat_at <= down_after
    }

    /// Its last report as Neutron prints an agent's `heartbeat_timestamp`.
    pub fn heartbeat_timestamp(&self) -> String {
        chrono::DateTime::from_timestamp_millis(self.heartbeat_at)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    }
}
