//! An amphora host: a machine whose `ostia agent` builds the amphorae the worker places on
//! it, as Neutron keeps its LBaaS agents (reference §2.3). It registers itself with its
//! first signed report and is alive while it keeps reporting.

use ipnet::IpNet;
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
    /// The networks it carries, as it last reported.
    pub networks: Vec<String>,
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
    /// The networks it carries (amphorae, probes or routers have ports on them).
    #[serde(default)]
    pub networks: Vec<String>,
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

/// What an amphora is plugged into on its host, handed to the host's agent with each
/// configuration (the engine ignores it): the networks with their VXLAN ids and the hosts
/// that carry them, and its ports on them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plumbing {
    pub networks: Vec<NetworkPlumbing>,
    pub ports: Vec<PortPlumbing>,
}

/// A network on a host: a bridge, and a VXLAN device flooding to the other hosts that carry
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPlumbing {
    pub network_id: String,
    pub vni: u32,
    /// The other hosts that carry this network (their `local_ip`).
    #[serde(default)]
    pub peers: Vec<IpAddr>,
}

/// A port of a network inside a namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortPlumbing {
    pub port_id: String,
    pub network_id: String,
    pub mac: String,
    /// Its addresses with their subnets' prefix lengths (a VIP and the amphora's own, say).
    pub addresses: Vec<IpNet>,
    /// The namespace's default route, when this port carries it.
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// Addresses that come and go on this port by another's hand (the VIP that keepalived
    /// moves between the amphorae of a pair): the plumbing neither adds nor removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floating: Vec<IpAddr>,
}

/// A router on a host: a namespace `qrouter-<id>` with a port on each of its subnets (their
/// gateway addresses), one on the external network (its gateway address and its floating
/// IPs), and NAT between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterPlumbing {
    pub router_id: String,
    pub networks: Vec<NetworkPlumbing>,
    pub interfaces: Vec<PortPlumbing>,
    #[serde(default)]
    pub gateway: Option<PortPlumbing>,
    /// Source NAT of the subnets' traffic to the gateway address (`enable_snat`).
    #[serde(default)]
    pub snat: bool,
    #[serde(default)]
    pub floating: Vec<FloatingPlumbing>,
}

/// A floating IP: traffic to `floating_ip` goes to `fixed_ip`, and `fixed_ip`'s traffic out
/// through the gateway leaves as `floating_ip`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingPlumbing {
    pub floating_ip: IpAddr,
    pub fixed_ip: IpAddr,
}

impl RouterPlumbing {
    /// Every port it has.
    pub fn ports(&self) -> impl Iterator<Item = &PortPlumbing> {
        self.interfaces.iter().chain(self.gateway.iter())
    }
}
