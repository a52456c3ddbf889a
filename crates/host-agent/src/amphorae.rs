//! The amphorae of this host: `ostia amphora` processes in namespaces of their own, run
//! through the process driver. Each one's directory keeps where its agent listens
//! (`placement.json`) and its last configuration with its plumbing (`config.json`), so
//! that a restarted host agent re-plumbs and re-attaches it.

use crate::networks::Networks;
use controller::compute::{ComputeDriver, ComputeError, Placed, Placement, Process, Stop};
use engine::Applied;
use model::{AmphoraConfig, Plumbing};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

pub struct Amphorae {
    driver: Process,
    dir: PathBuf,
    networks: Arc<Networks>,
    known: Mutex<BTreeMap<String, Local>>,
}

#[derive(Clone)]
struct Local {
    placed: Placed,
    plumbing: Plumbing,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedPlacement {
    lb_network_ip: String,
    agent_port: Option<u16>,
    pid: Option<u32>,
}

fn failed(e: impl std::fmt::Display) -> ComputeError {
    ComputeError::Failed(e.to_string())
}

impl Amphorae {
    pub fn new(driver: Process, dir: PathBuf, networks: Arc<Networks>) -> Amphorae {
        Amphorae {
            driver,
            dir,
            networks,
            known: Mutex::new(BTreeMap::new()),
        }
    }

    pub async fn ids(&self) -> Vec<String> {
        self.known.lock().await.keys().cloned().collect()
    }

    pub async fn create(&self, id: &str, lb_id: &str) -> Result<(), ComputeError> {
        if !valid_id(id) {
            return Err(ComputeError::Refused(format!(
                "'{id}' is not an amphora id"
            )));
        }
        if self.known.lock().await.contains_key(id) {
            return Ok(());
        }
        let placement = self.driver.create(id, lb_id).await?;
        let saved = SavedPlacement {
            lb_network_ip: placement.lb_network_ip.clone(),
            agent_port: placement.agent_port,
            pid: placement.pid,
        };
        let path = self.dir.join(id).join("placement.json");
        std::fs::write(&path, serde_json::to_vec(&saved).expect("serialisable")).map_err(failed)?;
        let placed = Placed {
            id: id.to_string(),
            placement,
        };
        self.known.lock().await.insert(
            id.to_string(),
            Local {
                placed,
                plumbing: Plumbing::default(),
            },
        );
        Ok(())
    }

    /// Plumbs what the configuration says the amphora is plugged into, then hands it the
    /// configuration.
    pub async fn apply(&self, id: &str, config: AmphoraConfig) -> Result<Applied, ComputeError> {
        let (placed, config) = self.plumb(id, config).await?;
        self.driver.apply(&placed, &config).await
    }

    /// After a worker restart: keeps a running amphora, bringing it to `config`.
    pub async fn attach(&self, id: &str, config: AmphoraConfig) -> Result<(), ComputeError> {
        let (placed, config) = self.plumb(id, config).await?;
        self.driver.attach(&placed, &config).await
    }

    pub async fn configure(&self, id: &str) -> Result<(), ComputeError> {
        let placed = self.placed(id).await?;
        self.driver.configure(&placed).await
    }

    pub async fn delete(&self, id: &str, how: Stop) {
        let Some(local) = self.known.lock().await.remove(id) else {
            return;
        };
        self.driver.delete(&local.placed, how).await;
    }

    /// At start: takes back every amphora its directory names; one that cannot be had is
    /// deleted (its load balancer fails it over when its heartbeats stop).
    pub async fn restore(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(id) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let dir = entry.path();
            let placement = std::fs::read(dir.join("placement.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<SavedPlacement>(&b).ok());
            let config = std::fs::read(dir.join("config.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<AmphoraConfig>(&b).ok());
            let placed = Placed {
                id: id.clone(),
                placement: Placement {
                    compute_id: id.clone(),
                    lb_network_ip: placement
                        .as_ref()
                        .map(|p| p.lb_network_ip.clone())
                        .unwrap_or_default(),
                    agent_port: placement.as_ref().and_then(|p| p.agent_port),
                    pid: placement.as_ref().and_then(|p| p.pid),
                    cert_expiration: None,
                },
            };
            self.known.lock().await.insert(
                id.clone(),
                Local {
                    placed: placed.clone(),
                    plumbing: Plumbing::default(),
                },
            );
            let attached = match config {
                Some(config) => self.attach(&id, config).await,
                None => Err(ComputeError::Unreachable("never configured".into())),
            };
            match attached {
                Ok(()) => tracing::info!(amphora = %id, "amphora taken back"),
                Err(e) => {
                    tracing::warn!(amphora = %id, error = %e, "amphora lost: deleting it");
                    self.delete(&id, Stop::Kill).await;
                }
            }
        }
    }

    async fn placed(&self, id: &str) -> Result<Placed, ComputeError> {
        self.known
            .lock()
            .await
            .get(id)
            .map(|l| l.placed.clone())
            .ok_or_else(|| ComputeError::Unreachable(format!("amphora {id} is not on this host")))
    }

    /// Makes the amphora's networks and ports what `config.plumbing` says (ports it no longer
    /// has are unplugged), keeps the configuration, and returns it without its plumbing.
    async fn plumb(
        &self,
        id: &str,
        mut config: AmphoraConfig,
    ) -> Result<(Placed, AmphoraConfig), ComputeError> {
        let placed = self.placed(id).await?;
        let plumbing = config.plumbing.take().unwrap_or_default();
        let namespace = self
            .driver
            .namespace(id)
            .ok_or_else(|| failed("amphorae of a host have namespaces"))?;
        for net in &plumbing.networks {
            self.networks.ensure(net).await.map_err(failed)?;
        }
        let before = self
            .known
            .lock()
            .await
            .get(id)
            .map(|l| l.plumbing.clone())
            .unwrap_or_default();
        for port in &plumbing.ports {
            host_net::port::attach(&namespace, port)
                .await
                .map_err(failed)?;
        }
        for gone in before
            .ports
            .iter()
            .filter(|p| !plumbing.ports.iter().any(|q| q.port_id == p.port_id))
        {
            host_net::port::detach(&namespace, &gone.port_id)
                .await
                .map_err(failed)?;
        }
        let mut saved = config.clone();
        saved.plumbing = Some(plumbing.clone());
        let path = self.dir.join(id).join("config.json");
        std::fs::write(&path, serde_json::to_vec(&saved).expect("serialisable")).map_err(failed)?;
        if let Some(local) = self.known.lock().await.get_mut(id) {
            local.plumbing = plumbing;
        }
        Ok((placed, config))
    }
}

/// An id that is safe as a directory and namespace name.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
