//! One amphora: an engine serving one load balancer's `AmphoraConfig`, and the heartbeat
//! sender reporting on it. The in-process compute driver holds these directly; the
//! `ostia amphora` process holds one behind its agent.

use crate::sender::{self, HeartbeatSettings};
use engine::{Applied, ApplyError, Engine, Status};
use model::AmphoraConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Amphora {
    pub id: String,
    engine: Arc<Engine>,
    settings: watch::Sender<HeartbeatSettings>,
    sender: JoinHandle<()>,
}

impl Amphora {
    /// Starts with no load balancer configured (heartbeats report no listeners). `socket`
    /// sends the heartbeats; in-process amphorae share one.
    pub fn start(
        id: &str,
        settings: HeartbeatSettings,
        socket: Arc<UdpSocket>,
        drain: Duration,
    ) -> Amphora {
        let engine = Arc::new(Engine::new(drain));
        let (tx, rx) = watch::channel(settings);
        let sender = sender::spawn(id.to_string(), engine.clone(), rx, socket);
        Amphora {
            id: id.to_string(),
            engine,
            settings: tx,
            sender,
        }
    }

    pub async fn apply(&self, config: AmphoraConfig) -> Result<Applied, ApplyError> {
        self.engine.apply(config).await
    }

    pub async fn status(&self) -> Status {
        self.engine.status().await
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
        self.engine.shutdown().await
    }
}

impl Drop for Amphora {
    fn drop(&mut self) {
        self.sender.abort();
    }
}
