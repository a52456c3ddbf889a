//! `--amphora process`: each amphora is an `ostia amphora` process in its own session, with
//! its own agent endpoint on loopback, reached over mutual TLS. Such amphorae outlive the
//! control plane: `ostia up` stopping or crashing leaves them serving, and the next start
//! re-attaches to them. An amphora process that exits is noticed at once (pidfd), not after
//! the heartbeat timeout.

use super::{BoxFuture, ComputeDriver, ComputeError, Placed, Placement, Stop};
use amphora::agent::{AgentConfig, AgentFiles};
use amphora::client::{AgentClient, AgentError};
use amphora::pki::Authority;
use amphora::HeartbeatSettings;
use engine::Applied;
use model::AmphoraConfig;
use std::collections::HashSet;
use std::io::BufRead;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a new amphora may take to announce its agent.
const BOOT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries of a request to an agent that does not answer (Octavia: 120 × 5 s; amphorae on
/// this host answer in milliseconds or not at all).
const RETRY_DELAYS_MS: [u64; 4] = [100, 250, 500, 1000];

pub struct ProcessOptions {
    /// The `ostia` binary to run as `ostia amphora`.
    pub exe: PathBuf,
    /// Amphorae's directories live below this one, one per amphora id.
    pub dir: PathBuf,
    pub settings: HeartbeatSettings,
    pub drain: Duration,
    /// Whether amphora processes put addresses outside 127.0.0.0/8 on the shared interface.
    pub host_addresses: amphora::Management,
    /// Told the id of every amphora process that exits without being asked to.
    pub exits: mpsc::UnboundedSender<String>,
    /// Each amphora in a network namespace of its own, `amphora-<id>` (a host's agent); its
    /// addresses are the host agent's to plumb.
    pub namespaces: bool,
}

pub struct Process {
    opts: ProcessOptions,
    authority: Authority,
    client: AgentClient,
    /// Amphorae being stopped on purpose: their exit is expected.
    stopping: Arc<Mutex<HashSet<String>>>,
}

impl Process {
    /// `pki_dir` holds the CA (created on first use).
    pub fn new(opts: ProcessOptions, pki_dir: &std::path::Path) -> Result<Process, ComputeError> {
        let authority =
            Authority::load_or_create(pki_dir).map_err(|e| ComputeError::Failed(e.to_string()))?;
        let tls = authority
            .client_config()
            .map_err(|e| ComputeError::Failed(e.to_string()))?;
        Ok(Process {
            // Agents on this host answer in milliseconds: one that does not answer within
            // seconds is hung, and the bounded retry gives up on it in about fifteen.
            client: AgentClient::new(tls, Duration::from_secs(3)),
            opts,
            authority,
            stopping: Default::default(),
        })
    }

    fn files(&self, amphora_id: &str) -> AgentFiles {
        AgentFiles::new(&self.opts.dir.join(amphora_id))
    }

    /// The amphora's network namespace, when amphorae have their own.
    pub fn namespace(&self, amphora_id: &str) -> Option<String> {
        self.opts
            .namespaces
            .then(|| format!("{}{amphora_id}", host_net::namespace::AMPHORA))
    }

    /// Starts the process and reads the agent's address from its first line of output;
    /// (pid, agent address, certificate expiry).
    async fn spawn(&self, amphora_id: &str) -> Result<(u32, SocketAddr, String), ComputeError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            ComputeError::Failed(format!("amphora {amphora_id}: {what}: {e}"))
        };
        let files = self.files(amphora_id);
        let netns = match self.namespace(amphora_id) {
            Some(name) => {
                host_net::namespace::ensure(&name)
                    .await
                    .map_err(|e| failed("its network namespace", &e))?;
                Some(host_net::namespace::path(&name))
            }
            None => None,
        };
        let server = self
            .authority
            .issue(amphora_id, true)
            .map_err(|e| failed("certificate", &e))?;
        let config = AgentConfig {
            amphora_id: amphora_id.to_string(),
            bind: "127.0.0.1:0".parse().expect("literal"),
            heartbeat: self.opts.settings.clone(),
            drain_timeout_ms: self.opts.drain.as_millis() as u64,
            host_addresses: if netns.is_some() {
                amphora::Management::Off
            } else {
                self.opts.host_addresses
            },
            netns,
        };
        files
            .write(&config, self.authority.ca_pem(), &server)
            .map_err(|e| failed("writing its directory", &e))?;
        let log = std::fs::File::create(files.dir.join("amphora.log"))
            .map_err(|e| failed("creating its log", &e))?;
        let mut command = Command::new(&self.opts.exe);
        command
            .arg("amphora")
            .arg("--dir")
            .arg(&files.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // Its own session: no signal meant for the control plane's group reaches it.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| failed("starting", &e))?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped");
        let announce = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            line
        });
        let line = match tokio::time::timeout(BOOT_TIMEOUT, announce).await {
            Ok(Ok(line)) => line,
            _ => String::new(),
        };
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse::<SocketAddr>().ok());
        match addr {
            Some(addr) => Ok((pid, addr, server.not_after)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let log =
                    std::fs::read_to_string(files.dir.join("amphora.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                Err(ComputeError::Failed(format!(
                    "amphora {amphora_id} did not start: {tail}"
                )))
            }
        }
    }

    fn agent(placed: &Placed) -> Result<SocketAddr, ComputeError> {
        let p = &placed.placement;
        match (p.lb_network_ip.parse(), p.agent_port) {
            (Ok(ip), Some(port)) => Ok(SocketAddr::new(ip, port)),
            _ => Err(ComputeError::Unreachable(format!(
                "amphora {} has no agent address",
                placed.id
            ))),
        }
    }

    /// One agent request, retried a bounded number of times while nothing answers.
    async fn with_retry<T, F, Fut>(&self, placed: &Placed, call: F) -> Result<T, ComputeError>
    where
        F: Fn(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = Result<T, AgentError>>,
    {
        let addr = Self::agent(placed)?;
        let mut delays = RETRY_DELAYS_MS.iter();
        loop {
            match call(addr).await {
                Ok(v) => return Ok(v),
                Err(AgentError::Refused(reason)) => return Err(ComputeError::Refused(reason)),
                Err(e) => match delays.next() {
                    Some(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
                    None => return Err(ComputeError::Unreachable(e.to_string())),
                },
            }
        }
    }

    /// Reports the process's exit, unless it was stopped on purpose (then its directory
    /// goes).
    fn watch(&self, amphora_id: &str, pid: u32) {
        let (id, stopping, exits) = (
            amphora_id.to_string(),
            self.stopping.clone(),
            self.opts.exits.clone(),
        );
        let dir = self.files(amphora_id).dir;
        let namespace = self.namespace(amphora_id);
        tokio::spawn(async move {
            exited(pid).await;
            reap(pid);
            if stopping.lock().expect("not poisoned").remove(&id) {
                let _ = std::fs::remove_dir_all(dir);
                remove_namespace(namespace).await;
            } else {
                tracing::warn!(amphora = %id, pid, "amphora process exited");
                let _ = exits.send(id);
            }
        });
    }

    /// Is `pid` the amphora process of this directory (and not a recycled pid)?
    fn is_ours(&self, amphora_id: &str, pid: u32) -> bool {
        let dir = self.files(amphora_id).dir;
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|cmd| {
                cmd.split(|b| *b == 0)
                    .any(|arg| arg == dir.as_os_str().as_encoded_bytes())
            })
            .unwrap_or(false)
    }

    /// The amphora's process: the record's pid, or, for a record saved before its pid was
    /// (a worker killed while it booted the amphora), the process running its directory.
    fn process_of(&self, amphora: &Placed) -> Option<u32> {
        let ours = |pid: &u32| self.is_ours(&amphora.id, *pid);
        amphora.placement.pid.filter(ours).or_else(|| {
            std::fs::read_dir("/proc")
                .ok()?
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .find(ours)
        })
    }
}

/// Deletes a stopped amphora's namespace (its ports' veth pairs go with it).
async fn remove_namespace(namespace: Option<String>) {
    if let Some(name) = namespace {
        if let Err(e) = host_net::namespace::delete(&name).await {
            tracing::warn!(namespace = %name, error = %e, "namespace not deleted");
        }
    }
}

/// Resolves when the process has exited: a pidfd becomes readable then.
async fn exited(pid: u32) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd >= 0 {
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // Safety: we own this pidfd and nothing else registers or closes it.
        if let Ok(async_fd) = unsafe { tokio::io::unix::AsyncFd::register(fd) } {
            let _ = async_fd.readable().await;
            return;
        }
    } else if std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
        return;
    }
    // No pidfd here: look every 100 ms.
    while alive(pid) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Running (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Collects the exit status of our own child (a re-attached amphora is not ours to reap).
fn reap(pid: u32) {
    unsafe {
        libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG);
    }
}

impl ComputeDriver for Process {
    fn heartbeats(&self) -> bool {
        true
    }

    fn create<'a>(
        &'a self,
        amphora_id: &'a str,
        _lb_id: &'a str,
    ) -> BoxFuture<'a, Result<Placement, ComputeError>> {
        Box::pin(async move {
            let (pid, agent, cert_expiration) = self.spawn(amphora_id).await?;
            self.watch(amphora_id, pid);
            let placement = Placement {
                compute_id: uuid::Uuid::new_v4().to_string(),
                lb_network_ip: agent.ip().to_string(),
                agent_port: Some(agent.port()),
                pid: Some(pid),
                cert_expiration: Some(cert_expiration),
            };
            let placed = Placed {
                id: amphora_id.to_string(),
                placement: placement.clone(),
            };
            self.with_retry(&placed, |addr| self.client.info(addr, amphora_id))
                .await?;
            Ok(placement)
        })
    }

    fn apply<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<Applied, ComputeError>> {
        Box::pin(async move {
            self.with_retry(amphora, |addr| self.client.apply(addr, &amphora.id, config))
                .await
        })
    }

    fn delete<'a>(&'a self, amphora: &'a Placed, how: Stop) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.stopping
                .lock()
                .expect("not poisoned")
                .insert(amphora.id.clone());
            if how == Stop::Graceful {
                // Close its listeners now, so the VIP refuses as soon as the delete is done.
                if let Ok(addr) = Self::agent(amphora) {
                    let empty = AmphoraConfig::default();
                    let _ = self.client.apply(addr, &amphora.id, &empty).await;
                }
            }
            if let Some(pid) = self.process_of(amphora) {
                let signal = match how {
                    Stop::Graceful => libc::SIGTERM,
                    Stop::Kill => libc::SIGKILL,
                };
                unsafe {
                    libc::kill(pid as libc::pid_t, signal);
                }
                if how == Stop::Kill {
                    // Its sockets are closed once it is gone: the replacement can bind. Its
                    // namespace goes now too, so that its addresses are gone before the
                    // replacement (on this host, maybe) takes them.
                    let _ = tokio::time::timeout(Duration::from_secs(5), exited(pid)).await;
                    reap(pid);
                    remove_namespace(self.namespace(&amphora.id)).await;
                }
            } else {
                self.stopping
                    .lock()
                    .expect("not poisoned")
                    .remove(&amphora.id);
                let _ = std::fs::remove_dir_all(self.files(&amphora.id).dir);
                remove_namespace(self.namespace(&amphora.id)).await;
            }
        })
    }

    fn attach<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async move {
            let addr = Self::agent(amphora)?;
            let info = self
                .client
                .info(addr, &amphora.id)
                .await
                .map_err(|e| ComputeError::Unreachable(e.to_string()))?;
            // A newer generation than the record's was applied by a job still under way (of
            // another worker): that job settles it, and going back would undo it.
            let running = info["generation"].as_u64().unwrap_or(0);
            if running < config.generation || running == 0 {
                self.apply(amphora, config).await?;
            }
            match amphora.placement.pid {
                Some(pid) if self.is_ours(&amphora.id, pid) => self.watch(&amphora.id, pid),
                _ => {
                    tracing::warn!(amphora = %amphora.id, "re-attached without a process to watch")
                }
            }
            Ok(())
        })
    }

    fn configure<'a>(&'a self, amphora: &'a Placed) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async move {
            self.with_retry(amphora, |addr| {
                self.client
                    .configure(addr, &amphora.id, &self.opts.settings)
            })
            .await
        })
    }
}
