//! The sync of hosts' agents with the store.

use super::{Hosts, NetworkPlumbing};
use crate::compute::ComputeError;
use hyper::Method;
use model::Host;

/// What the sync last told each host: (host id, its agent's start, what) → a fingerprint of
/// it (a network's peers, a router's plumbing).
pub type Pushed = std::collections::HashMap<(String, String, String), String>;

impl Hosts {
    /// Brings live hosts' agents in step with the store, as l2population and neutron-lbaas's
    /// agent sync do: each network's VXLAN peers (the live hosts that carry it) go to the
    /// hosts that carry it when they change, and amphorae a host runs that the store no
    /// longer places on it (failed over while it was away, deleted meanwhile) are deleted
    /// there.
    pub async fn sync(&self, pushed: &mut Pushed) -> Result<(), ComputeError> {
        let live: Vec<Host> = self
            .live()
            .await?
            .into_iter()
            .filter(|h| h.agent.is_some())
            .collect();
        pushed.retain(|(host, started, _), _| {
            live.iter()
                .any(|h| &h.id == host && &h.started_at == started)
        });
        let records = self.store.amphorae(None).await.map_err(Self::failed)?;
        for host in &live {
            let Some(agent) = host.agent else { continue };
            for network_id in &host.networks {
                let mut peers: Vec<std::net::IpAddr> = live
                    .iter()
                    .filter(|h| h.networks.contains(network_id))
                    .map(|h| h.local_ip)
                    .collect();
                peers.sort();
                let key = (host.id.clone(), host.started_at.clone(), network_id.clone());
                let fingerprint = format!("{peers:?}");
                if pushed.get(&key) == Some(&fingerprint) {
                    continue;
                }
                let net = NetworkPlumbing {
                    network_id: network_id.clone(),
                    vni: self
                        .store
                        .network_vni(network_id)
                        .await
                        .map_err(Self::failed)?,
                    peers,
                };
                let body = serde_json::to_vec(&net).expect("serialisable");
                let path = format!("/1.0/networks/{network_id}");
                match self
                    .quick
                    .json::<serde_json::Value>(agent, &host.name, Method::PUT, &path, Some(body))
                    .await
                {
                    Ok(_) => {
                        pushed.insert(key, fingerprint);
                    }
                    Err(e) => tracing::warn!(host = %host.name, network = %network_id,
                        error = %e, "VXLAN peers not pushed"),
                }
            }
            if self.router_host.as_deref() == Some(host.name.as_str()) {
                if let Err(e) = self.sync_routers(host, pushed).await {
                    tracing::warn!(host = %host.name, error = %e, "routers not synced");
                }
            }
            let listed: serde_json::Value = match self
                .quick
                .json(agent, &host.name, Method::GET, "/1.0/amphorae", None)
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    tracing::debug!(host = %host.name, error = %e, "amphorae not listed");
                    continue;
                }
            };
            let ids = listed["amphorae"].as_array().cloned().unwrap_or_default();
            for id in ids.iter().filter_map(|v| v.as_str()) {
                let owned = records.iter().any(|a| {
                    a.id == id
                        && !a.status.is_gone()
                        && a.details.compute_id.as_deref().is_none_or(|c| c == host.id)
                });
                if owned {
                    continue;
                }
                tracing::info!(host = %host.name, amphora = %id,
                    "deleting an amphora the host no longer owns");
                let path = format!("/1.0/amphorae/{id}?stop=kill");
                if let Err(e) = self
                    .quick
                    .json::<serde_json::Value>(agent, &host.name, Method::DELETE, &path, None)
                    .await
                {
                    tracing::warn!(host = %host.name, amphora = %id, error = %e,
                        "amphora not deleted");
                }
            }
        }
        Ok(())
    }
}
