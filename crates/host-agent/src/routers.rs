//! The routers this host holds (the control plane's host holds them all): each a namespace
//! `qrouter-<id>` with its ports and NAT, made to match what the control plane last said,
//! which `routers.json` keeps for the next start.

use crate::networks::Networks;
use host_net::{namespace, PlumbingError};
use model::RouterPlumbing;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tokio::sync::Mutex;

pub struct Routers {
    path: PathBuf,
    held: Mutex<BTreeMap<String, RouterPlumbing>>,
}

pub fn name(router_id: &str) -> String {
    format!("{}{router_id}", namespace::ROUTER)
}

impl Routers {
    pub fn open(path: PathBuf) -> Routers {
        let held = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<RouterPlumbing>>(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.router_id.clone(), r))
            .collect();
        Routers {
            path,
            held: Mutex::new(held),
        }
    }

    pub async fn ids(&self) -> Vec<String> {
        self.held.lock().await.keys().cloned().collect()
    }

    /// Makes the router what `router` says: its namespace, networks and ports (ports it no
    /// longer has are unplugged), forwarding and NAT.
    pub async fn apply(
        &self,
        networks: &Networks,
        router: &RouterPlumbing,
    ) -> Result<(), PlumbingError> {
        if !crate::amphorae::valid_id(&router.router_id) {
            return Err(PlumbingError::Invalid(format!(
                "'{}' is not a router id",
                router.router_id
            )));
        }
        let mut held = self.held.lock().await;
        let ns = name(&router.router_id);
        namespace::ensure(&ns).await?;
        for net in &router.networks {
            networks.ensure(net).await?;
        }
        for port in router.ports() {
            host_net::port::attach(&ns, port).await?;
        }
        if let Some(before) = held.get(&router.router_id) {
            for gone in before
                .ports()
                .filter(|p| !router.ports().any(|q| q.port_id == p.port_id))
            {
                host_net::port::detach(&ns, &gone.port_id).await?;
            }
        }
        host_net::router::configure(&ns, router).await?;
        held.insert(router.router_id.clone(), router.clone());
        self.save(&held);
        Ok(())
    }

    pub async fn delete(&self, router_id: &str) -> Result<(), PlumbingError> {
        let mut held = self.held.lock().await;
        let ns = name(router_id);
        if let Some(router) = held.get(router_id) {
            for port in router.ports() {
                host_net::port::detach(&ns, &port.port_id).await?;
            }
        }
        namespace::delete(&ns).await?;
        held.remove(router_id);
        self.save(&held);
        Ok(())
    }

    /// After a restart: every router held is made again (its namespace may have gone with
    /// the machine).
    pub async fn restore(&self, networks: &Networks) {
        let held: Vec<RouterPlumbing> = self.held.lock().await.values().cloned().collect();
        for router in held {
            if let Err(e) = self.apply(networks, &router).await {
                tracing::warn!(router = %router.router_id, error = %e, "router not restored");
            }
        }
    }

    fn save(&self, held: &BTreeMap<String, RouterPlumbing>) {
        let all: Vec<&RouterPlumbing> = held.values().collect();
        let json = serde_json::to_vec_pretty(&all).expect("serialisable");
        if let Err(e) = std::fs::write(&self.path, json) {
            tracing::warn!(path = %self.path.display(), error = %e, "routers not saved");
        }
    }
}
