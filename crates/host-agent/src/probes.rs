//! Probes, as `neutron-debug probe-create` makes them: a namespace `qprobe-<port id>` with
//! one port of a network, so that a test or a user can run a backend or a client on that
//! network from this host.

use crate::networks::Networks;
use host_net::{namespace, NetworkPlumbing, PlumbingError, PortPlumbing};
use serde::{Deserialize, Serialize};

/// What a worker or `ostia probe-create` asks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeRequest {
    pub network: NetworkPlumbing,
    pub port: PortPlumbing,
}

pub fn name(port_id: &str) -> String {
    format!("{}{port_id}", namespace::PROBE)
}

pub async fn create(networks: &Networks, probe: &ProbeRequest) -> Result<String, PlumbingError> {
    if !crate::amphorae::valid_id(&probe.port.port_id) {
        return Err(PlumbingError::Invalid(format!(
            "'{}' is not a port id",
            probe.port.port_id
        )));
    }
    let ns = name(&probe.port.port_id);
    namespace::ensure(&ns).await?;
    networks.ensure(&probe.network).await?;
    host_net::port::attach(&ns, &probe.port).await?;
    Ok(ns)
}

/// Unplugs the probe's port and deletes its namespace, stopping what still runs in it (a
/// namespace lives on while a process is inside, and so would its veth).
pub async fn delete(port_id: &str) -> Result<(), PlumbingError> {
    let ns = name(port_id);
    host_net::port::detach(&ns, port_id).await?;
    namespace::stop_processes(&ns).await;
    namespace::delete(&ns).await
}

/// The ports of this host's probes.
pub fn list() -> Vec<String> {
    namespace::list(namespace::PROBE)
        .into_iter()
        .map(|n| n[namespace::PROBE.len()..].to_string())
        .collect()
}
