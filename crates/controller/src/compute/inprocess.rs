//! `--amphora inprocess`: each amphora is an engine with its heartbeat sender inside this
//! process. Starting one costs microseconds; they share one UDP socket for heartbeats.

use super::{BoxFuture, ComputeDriver, ComputeError, Placed, Placement, Stop};
use amphora::{Amphora, HeartbeatSettings, HostAddresses, Management};
use engine::Applied;
use model::AmphoraConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;

pub struct InProcess {
    amphorae: Mutex<HashMap<String, Arc<Amphora>>>,
    socket: Arc<UdpSocket>,
    settings: HeartbeatSettings,
    drain: Duration,
    addresses: Arc<HostAddresses>,
    /// `<data-dir>/amphorae`: an amphora that runs haproxy keeps its files in `<id>/` below.
    dir: std::path::PathBuf,
}

impl InProcess {
    /// `manage_addresses`: put VIPs outside 127.0.0.0/8 on this namespace's `ostia0`.
    pub async fn new(
        settings: HeartbeatSettings,
        drain: Duration,
        manage_addresses: bool,
        dir: std::path::PathBuf,
    ) -> std::io::Result<InProcess> {
        let socket = UdpSocket::bind(amphora::agent::heartbeat_source(&settings)).await?;
        let management = if manage_addresses {
            Management::Owner
        } else {
            Management::Off
        };
        Ok(InProcess {
            amphorae: Mutex::new(HashMap::new()),
            socket: Arc::new(socket),
            settings,
            drain,
            addresses: Arc::new(HostAddresses::new(management)),
            dir,
        })
    }

    fn get(&self, id: &str) -> Option<Arc<Amphora>> {
        self.amphorae.lock().expect("not poisoned").get(id).cloned()
    }

    fn running(&self, id: &str) -> Result<Arc<Amphora>, ComputeError> {
        self.get(id)
            .ok_or_else(|| ComputeError::Unreachable(format!("amphora {id} is not running")))
    }

    fn start(&self, id: &str) -> Arc<Amphora> {
        let amphora = Arc::new(Amphora::start(
            id,
            self.settings.clone(),
            self.socket.clone(),
            self.drain,
            self.addresses.clone(),
            None,
            Some(self.dir.join(id)),
        ));
        let previous = self
            .amphorae
            .lock()
            .expect("not poisoned")
            .insert(id.to_string(), amphora.clone());
        if let Some(old) = previous {
            tokio::spawn(async move { drop(old.stop().await) });
        }
        amphora
    }

    /// Every amphora of this process (for shutdown).
    pub async fn stop_all(&self) {
        let all: Vec<Arc<Amphora>> = self
            .amphorae
            .lock()
            .expect("not poisoned")
            .drain()
            .map(|(_, a)| a)
            .collect();
        for amphora in all {
            drop(amphora.stop().await);
        }
        self.addresses.close().await;
    }

    /// How many amphorae run here.
    pub fn count(&self) -> usize {
        self.amphorae.lock().expect("not poisoned").len()
    }
}

async fn apply(amphora: &Amphora, config: &AmphoraConfig) -> Result<Applied, ComputeError> {
    amphora
        .apply(config.clone())
        .await
        .map_err(|e| ComputeError::Refused(e.to_string()))
}

impl ComputeDriver for InProcess {
    fn heartbeats(&self) -> bool {
        true
    }

    fn create<'a>(
        &'a self,
        amphora_id: &'a str,
        _lb_id: &'a str,
    ) -> BoxFuture<'a, Result<Placement, ComputeError>> {
        Box::pin(async move {
            self.start(amphora_id);
            Ok(Placement {
                compute_id: uuid::Uuid::new_v4().to_string(),
                lb_network_ip: "127.0.0.1".into(),
                ..Placement::default()
            })
        })
    }

    fn apply<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<Applied, ComputeError>> {
        Box::pin(async move {
            let running = self.running(&amphora.id)?;
            apply(&running, config).await
        })
    }

    fn delete<'a>(&'a self, amphora: &'a Placed, _how: Stop) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let removed = self
                .amphorae
                .lock()
                .expect("not poisoned")
                .remove(&amphora.id);
            if let Some(running) = removed {
                // Listening sockets close now; connections drain in the background.
                drop(running.stop().await);
            }
        })
    }

    fn attach<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async move {
            // After a restart nothing runs yet: the amphora is rebuilt from the store.
            let running = match self.get(&amphora.id) {
                Some(running) => running,
                None => self.start(&amphora.id),
            };
            apply(&running, config).await.map(|_| ())
        })
    }

    fn configure<'a>(&'a self, amphora: &'a Placed) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async move {
            let running = self.running(&amphora.id)?;
            running.configure(self.settings.clone());
            Ok(())
        })
    }
}
