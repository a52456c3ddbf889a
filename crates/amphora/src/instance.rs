//! One amphora: a data plane (the native engine or haproxy) serving one load balancer's
//! `AmphoraConfig`, and the heartbeat sender reporting on it. The in-process compute driver holds these directly; the
//! `ostia amphora` process holds one behind its agent.

use crate::plane::Plane;
use crate::sender::{self, HeartbeatSettings};
use crate::vrrp::Vrrp;
use crate::HostAddresses;
use engine::{Applied, ApplyError, Engine, Status};
use model::AmphoraConfig;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Amphora {
    pub id: String,
    plane: Arc<Plane>,
    /// Makes the addresses it serves local; `serving` is what it holds there.
    addresses: Arc<HostAddresses>,
    serving: tokio::sync::Mutex<Vec<IpAddr>>,
    /// Its keepalived, when it is one of a pair.
    vrrp: Arc<Vrrp>,
    /// Its stick tables shared with the other of the pair.
    peers: crate::peers::Peers,
    settings: watch::Sender<HeartbeatSettings>,
    sender: JoinHandle<()>,
}

impl Amphora {
    /// Starts with no load balancer configured (heartbeats report no listeners). `socket`
    /// sends the heartbeats; in-process amphorae share one. `dir`: a directory of its own,
    /// which an amphora needs to be one of an ACTIVE_STANDBY pair (its keepalived's files).
    /// `haproxy_root`: where it may run haproxy (`haproxy/<lb id>/` below it), if it may.
    pub fn start(
        id: &str,
        settings: HeartbeatSettings,
        socket: Arc<UdpSocket>,
        drain: Duration,
        addresses: Arc<HostAddresses>,
        dir: Option<PathBuf>,
        haproxy_root: Option<PathBuf>,
    ) -> Amphora {
        let plane = Arc::new(Plane::new(id, Arc::new(Engine::new(drain)), haproxy_root));
        let vrrp = Arc::new(Vrrp::new(dir));
        let (tx, rx) = watch::channel(settings);
        let sender = sender::spawn(id.to_string(), plane.clone(), vrrp.clone(), rx, socket);
        Amphora {
            id: id.to_string(),
            plane,
            addresses,
            vrrp,
            peers: Default::default(),
            serving: Default::default(),
            settings: tx,
            sender,
        }
    }

    /// Serves `config`: its addresses are made local first, and the ones it no longer names
    /// are given back once the engine has stopped serving them.
    pub async fn apply(&self, config: AmphoraConfig) -> Result<Applied, ApplyError> {
        let wanted = config.vips.clone();
        let mut serving = self.serving.lock().await;
        let added: Vec<IpAddr> = wanted
            .iter()
            .filter(|a| !serving.contains(a))
            .copied()
            .collect();
        // keepalived first: the engine binds VIPs this amphora may not hold (IP_FREEBIND).
        self.vrrp
            .apply(&self.id, config.vrrp.as_ref(), &config.vips)
            .await
            .map_err(ApplyError::Refused)?;
        self.peers
            .share(self.plane.native(), self.peer_link(&config));
        self.addresses.acquire(&added).await;
        let result = self.plane.apply(config).await;
        if result.is_ok() {
            let gone: Vec<IpAddr> = serving
                .iter()
                .filter(|a| !wanted.contains(a))
                .copied()
                .collect();
            self.addresses.release(&gone).await;
            *serving = wanted;
        } else {
            self.addresses.release(&added).await;
        }
        result
    }

    /// Where its stick tables are shared: from its VRRP address to the others'.
    fn peer_link(&self, config: &AmphoraConfig) -> Option<crate::peers::Link> {
        let group = config.vrrp.as_ref()?;
        let me = group.member(&self.id)?;
        let port = crate::peers::PORT;
        Some(crate::peers::Link {
            own: (me.address, port).into(),
            peers: group
                .members
                .iter()
                .filter(|m| m.amphora_id != self.id)
                .map(|m| (m.address, port).into())
                .collect(),
            key: self.settings.borrow().key.clone(),
        })
    }

    pub async fn status(&self) -> Status {
        self.plane.status().await
    }

    /// New agent settings (`PUT /amphorae/{id}/config`): the sender picks them up at once.
    pub fn configure(&self, settings: HeartbeatSettings) {
        self.settings.send_replace(settings);
    }

    pub fn settings(&self) -> HeartbeatSettings {
        self.settings.borrow().clone()
    }

    /// Stops reporting at once, then the data plane: listening sockets close now (so a
    /// replacement can bind the VIP), open connections get the drain timeout.
    pub async fn stop(&self) -> engine::Drain {
        self.sender.abort();
        self.peers.stop();
        self.vrrp.stop().await;
        let drain = self.plane.shutdown().await;
        let serving = std::mem::take(&mut *self.serving.lock().await);
        self.addresses.release(&serving).await;
        drain
    }
}

impl Drop for Amphora {
    fn drop(&mut self) {
        self.sender.abort();
    }
}
