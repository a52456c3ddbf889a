//! One amphora's data plane: the native engine, or Debian's haproxy run from the
//! configuration Octavia would write (`haproxy::render_served`), one master per load balancer
//! in `<root>/haproxy/<lb id>/`. The configuration's `engine` picks which; when it changes,
//! the one serving is emptied before the other binds. Both report the engine's `Status`, so
//! the heartbeat is rendered the same way whichever serves. UDP and SCTP listeners are not
//! served on haproxy (reported as failed listeners, the others serve).

use crate::haproxy::{self, process::Haproxy};
use engine::{Applied, ApplyError, Counters, Drain, Engine, ListenerFailure, Status};
use model::{AmphoraConfig, EngineKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Plane {
    /// The amphora's id (its peer name in a pair's haproxy).
    id: String,
    native: Arc<Engine>,
    /// The native engine has served something since it was last emptied.
    native_used: AtomicBool,
    haproxy: tokio::sync::Mutex<Option<Served>>,
    /// The last status reported, for the heartbeats while an apply holds `haproxy`.
    last: std::sync::Mutex<Status>,
    /// The amphora's own directory (absolute); None: it cannot run haproxy.
    root: Option<PathBuf>,
}

/// A running haproxy and the configuration it serves.
struct Served {
    process: Haproxy,
    dir: PathBuf,
    config: AmphoraConfig,
    /// Per listener, what the workers before the current one counted.
    carried: HashMap<String, Counters>,
}

impl Plane {
    pub fn new(id: &str, native: Arc<Engine>, root: Option<PathBuf>) -> Plane {
        Plane {
            id: id.to_string(),
            native,
            native_used: AtomicBool::new(false),
            haproxy: Default::default(),
            last: Default::default(),
            // haproxy runs in its directory: a relative data dir would resolve twice.
            root: root.map(|r| std::path::absolute(&r).unwrap_or(r)),
        }
    }

    /// The native engine (its stick tables are what a pair shares).
    pub fn native(&self) -> &Arc<Engine> {
        &self.native
    }

    /// Serves `config`. Runs to its end even when the caller stops waiting (an agent's
    /// client timing out): a reload given up half-way would leave no haproxy serving.
    pub async fn apply(self: &Arc<Self>, config: AmphoraConfig) -> Result<Applied, ApplyError> {
        let plane = self.clone();
        tokio::spawn(async move { plane.apply_now(config).await })
            .await
            .unwrap_or_else(|e| Err(ApplyError::Refused(format!("the apply failed: {e}"))))
    }

    async fn apply_now(&self, config: AmphoraConfig) -> Result<Applied, ApplyError> {
        match config.engine {
            EngineKind::Native => {
                self.stop_haproxy().await;
                self.native_used.store(true, Ordering::Relaxed);
                self.native.apply(config).await
            }
            EngineKind::Haproxy => self.apply_haproxy(config).await,
        }
    }

    async fn apply_haproxy(&self, config: AmphoraConfig) -> Result<Applied, ApplyError> {
        let Some(root) = &self.root else {
            return Err(ApplyError::Refused(
                "this amphora has no directory to run haproxy in".into(),
            ));
        };
        let applied = Applied {
            generation: config.generation,
            failed_listeners: unserved(&config),
        };
        let mut served = self.haproxy.lock().await;
        if let Some(s) = served.as_mut() {
            // A haproxy that died (a crash, the OOM killer) is started again.
            if s.config == config && s.process.pid().is_some() {
                return Ok(applied);
            }
        }
        if self.native_used.load(Ordering::Relaxed) {
            // Its listening sockets close, so haproxy can bind the same addresses.
            let empty = AmphoraConfig {
                lb_id: config.lb_id.clone(),
                generation: config.generation,
                ..AmphoraConfig::default()
            };
            self.native.apply(empty).await?;
            self.native_used.store(false, Ordering::Relaxed);
        }
        if config.vrrp.is_some() {
            // The BACKUP of a pair binds the VIP it does not hold yet, as Octavia's amphora
            // lets its haproxy (only in the amphora's own namespace).
            nonlocal_bind();
        }
        let dir = root.join("haproxy").join(&config.lb_id);
        let mut current = match served.take() {
            Some(s) if s.dir == dir => s,
            Some(mut other) => {
                other.stop().await;
                Served::new(dir)
            }
            None => Served::new(dir),
        };
        current.save_server_state().await;
        let counted = current.counters().await;
        let result = match haproxy::render_served(&config, &current.dir, &self.id) {
            Ok(rendered) => current
                .process
                .apply(&rendered)
                .await
                .map_err(|e| ApplyError::Refused(e.to_string())),
            Err(e) => Err(ApplyError::Refused(format!(
                "{}: {e}",
                current.dir.display()
            ))),
        };
        if result.is_ok() {
            current.config = config;
            // The new worker counts from zero: what the old one counted is carried on.
            for (id, c) in counted {
                current.carried.entry(id).or_default().add(&c);
            }
        }
        // A refused configuration leaves the running one serving.
        let running = current.process.pid().is_some();
        if running {
            *served = Some(current);
        } else {
            current.stop().await;
        }
        result.map(|()| applied)
    }

    /// One command of HAProxy's CLI to the haproxy serving (None: none serves).
    pub async fn haproxy_command(
        &self,
        command: &str,
    ) -> Option<Result<String, haproxy::process::HaproxyError>> {
        let served = self.haproxy.lock().await;
        Some(served.as_ref()?.process.ask_worker(command).await)
    }

    pub async fn status(&self) -> Status {
        let Ok(served) = self.haproxy.try_lock() else {
            // An apply holds it (a reload may take seconds): the last report stands, so the
            // heartbeats go on and a slow reload is not taken for a dead amphora.
            return self.last.lock().expect("not poisoned").clone();
        };
        let status = match served.as_ref() {
            Some(s) => match s.process.show_stat().await {
                Ok(csv) => {
                    let mut status = haproxy::stats::status(&csv, s.config.generation);
                    for l in &mut status.listeners {
                        if let Some(c) = s.carried.get(&l.id) {
                            l.counters.add(c);
                        }
                    }
                    status
                }
                // Nothing reported serves: its listeners go OFFLINE, as when a worker dies.
                Err(e) => {
                    tracing::warn!(lb = %s.config.lb_id, error = %e, "haproxy's stats unreadable");
                    Status {
                        generation: s.config.generation,
                        ..Status::default()
                    }
                }
            },
            None => self.native.status().await,
        };
        *self.last.lock().expect("not poisoned") = status.clone();
        status
    }

    /// Stops serving: haproxy at once, the native engine's connections given the drain time.
    pub async fn shutdown(&self) -> Drain {
        self.stop_haproxy().await;
        self.native.shutdown().await
    }

    async fn stop_haproxy(&self) {
        if let Some(mut s) = self.haproxy.lock().await.take() {
            s.stop().await;
        }
    }
}

impl Served {
    fn new(dir: PathBuf) -> Served {
        Served {
            process: Haproxy::new(&dir),
            dir,
            config: AmphoraConfig::default(),
            carried: HashMap::new(),
        }
    }

    /// Member health as the running haproxy knows it, for the next one to start from
    /// (`server-state-file`): a reload does not send every member back through its checks.
    async fn save_server_state(&mut self) {
        if self.process.pid().is_none() {
            return;
        }
        match self.process.show_servers_state().await {
            Ok(state) => {
                let path = haproxy::server_state_file(&self.dir);
                if let Err(e) = std::fs::write(&path, state) {
                    tracing::warn!(path = %path.display(), error = %e, "server state not saved");
                }
            }
            Err(e) => tracing::warn!(error = %e, "haproxy's server state unreadable"),
        }
    }

    /// The current worker's listener counters (none when haproxy does not run).
    async fn counters(&mut self) -> Vec<(String, Counters)> {
        if self.process.pid().is_none() {
            return Vec::new();
        }
        match self.process.show_stat().await {
            Ok(csv) => haproxy::stats::status(&csv, 0)
                .listeners
                .into_iter()
                .map(|l| (l.id, l.counters))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Stops haproxy and removes its files (certificates and keys among them).
    async fn stop(&mut self) {
        self.process.stop().await;
        remove_dir(&self.dir);
    }
}

fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), error = %e, "haproxy's directory not removed");
        }
    }
}

/// The listeners haproxy cannot serve, each with the reason: UDP and SCTP (Octavia's amphora
/// serves those with LVS). The others serve; the worker puts these in ERROR.
fn unserved(config: &AmphoraConfig) -> Vec<ListenerFailure> {
    config
        .listeners
        .iter()
        .filter(|l| l.protocol.is_lvs())
        .map(|l| ListenerFailure {
            id: l.id.clone(),
            reason: format!(
                "the haproxy engine does not serve {} listeners (Octavia serves them with LVS): \
                 use the native engine",
                l.protocol
            ),
        })
        .collect()
}

/// `net.ipv{4,6}.ip_nonlocal_bind = 1` in this namespace, when it is an amphora's own (never
/// in the namespace of the machine's init).
fn nonlocal_bind() {
    let namespace = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
    if namespace("self").is_none() || namespace("self") == namespace("1") {
        return;
    }
    for path in [
        "/proc/sys/net/ipv4/ip_nonlocal_bind",
        "/proc/sys/net/ipv6/ip_nonlocal_bind",
    ] {
        if let Err(e) = std::fs::write(path, "1") {
            tracing::warn!(path, error = %e, "non-local bind not allowed");
        }
    }
}
