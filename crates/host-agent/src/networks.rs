//! The networks this host carries: a bridge and a VXLAN device each, with the peers the
//! control plane last named, kept in `networks.json` so that a restart finds them.

use host_net::{NetworkPlumbing, PlumbingError};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub struct Networks {
    local_ip: IpAddr,
    path: PathBuf,
    carried: Mutex<BTreeMap<String, NetworkPlumbing>>,
    /// When each network was last asked for.
    touched: std::sync::Mutex<HashMap<String, Instant>>,
}

/// How long a network asked for stays even with nothing plugged in.
const GRACE: Duration = Duration::from_secs(10);

impl Networks {
    pub fn open(path: PathBuf, local_ip: IpAddr) -> Networks {
        let carried = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<NetworkPlumbing>>(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|n| (n.network_id.clone(), n))
            .collect();
        Networks {
            local_ip,
            path,
            carried: Mutex::new(carried),
            touched: Default::default(),
        }
    }

    /// Makes the network here (or brings its peers up to date).
    pub async fn ensure(&self, net: &NetworkPlumbing) -> Result<(), PlumbingError> {
        let mut carried = self.carried.lock().await;
        let mut net = net.clone();
        net.peers.retain(|p| *p != self.local_ip);
        host_net::network::ensure(&net, self.local_ip).await?;
        // A port is plugged in next: the network is not pruned before it is.
        self.touched
            .lock()
            .expect("not poisoned")
            .insert(net.network_id.clone(), Instant::now());
        carried.insert(net.network_id.clone(), net);
        self.save(&carried);
        Ok(())
    }

    /// New peers of a network this host carries; false when it carries none of that id.
    pub async fn set_peers(&self, net: &NetworkPlumbing) -> Result<bool, PlumbingError> {
        let mut carried = self.carried.lock().await;
        let Some(known) = carried.get_mut(&net.network_id) else {
            return Ok(false);
        };
        let peers: Vec<IpAddr> = net
            .peers
            .iter()
            .copied()
            .filter(|p| *p != self.local_ip)
            .collect();
        host_net::network::set_peers(known.vni, &peers).await?;
        known.peers = peers;
        self.save(&carried);
        Ok(true)
    }

    /// Rebuilds every carried network (after a restart, or a host whose links were lost).
    pub async fn restore(&self) {
        let carried = self.carried.lock().await.clone();
        for net in carried.values() {
            if let Err(e) = host_net::network::ensure(net, self.local_ip).await {
                tracing::warn!(network = %net.network_id, error = %e, "network not restored");
            }
        }
    }

    /// Removes the networks nothing is plugged into any more.
    pub async fn prune(&self) {
        let mut carried = self.carried.lock().await;
        let mut removed = Vec::new();
        let fresh: Vec<String> = {
            let mut touched = self.touched.lock().expect("not poisoned");
            touched.retain(|_, at| at.elapsed() < GRACE);
            touched.keys().cloned().collect()
        };
        for net in carried.values().filter(|n| !fresh.contains(&n.network_id)) {
            if let Ok(false) = host_net::network::in_use(&net.network_id).await {
                match host_net::network::remove(&net.network_id, net.vni).await {
                    Ok(()) => removed.push(net.network_id.clone()),
                    Err(e) => tracing::warn!(network = %net.network_id, error = %e,
                        "unused network not removed"),
                }
            }
        }
        if !removed.is_empty() {
            for id in &removed {
                carried.remove(id);
            }
            self.save(&carried);
        }
    }

    pub async fn ids(&self) -> Vec<String> {
        self.carried.lock().await.keys().cloned().collect()
    }

    fn save(&self, carried: &BTreeMap<String, NetworkPlumbing>) {
        let all: Vec<&NetworkPlumbing> = carried.values().collect();
        let json = serde_json::to_vec_pretty(&all).expect("serialisable");
        if let Err(e) = std::fs::write(&self.path, json) {
            tracing::warn!(path = %self.path.display(), error = %e, "networks not saved");
        }
    }
}
