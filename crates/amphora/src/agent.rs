//! The amphora agent: what an `ostia amphora` process serves to the controller over mutual
//! TLS (Octavia's agent listens on 9443 with the same trust model). Routes, under `/1.0`:
//! `GET /info`, `GET /status`, `PUT /loadbalancer` (an `AmphoraConfig`; answers the applied
//! generation) and `PUT /config` (heartbeat settings).

use crate::mtls::{self, invalid, reply, Call, Reply};
use crate::sender::HeartbeatSettings;
use crate::Amphora;
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the controller writes into an amphora's directory before starting it
/// (`agent.json`, next to `ca.pem`, `server.pem` and `server.key`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentConfig {
    pub amphora_id: String,
    /// Where the agent listens; port 0 picks one, announced on stdout.
    pub bind: SocketAddr,
    pub heartbeat: HeartbeatSettings,
    /// How long open connections may finish when the amphora stops.
    pub drain_timeout_ms: u64,
    /// Whether it puts the addresses it serves outside 127.0.0.0/8 on the shared interface.
    #[serde(default = "shared")]
    pub host_addresses: crate::Management,
    /// The network namespace it serves in (`/run/netns/amphora-<id>`), for amphorae of a
    /// host's agent; None: the namespace it was started in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<PathBuf>,
}

fn shared() -> crate::Management {
    crate::Management::Shared
}

/// The files of one amphora's directory.
pub struct AgentFiles {
    pub dir: PathBuf,
}

impl AgentFiles {
    pub fn new(dir: &Path) -> AgentFiles {
        AgentFiles {
            dir: dir.to_path_buf(),
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("agent.json")
    }

    pub fn write(
        &self,
        config: &AgentConfig,
        ca_pem: &str,
        server: &crate::pki::Issued,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        self.write_config(config)?;
        std::fs::write(self.dir.join("ca.pem"), ca_pem)?;
        std::fs::write(self.dir.join("server.pem"), &server.cert_pem)?;
        crate::pki::write_private(&self.dir.join("server.key"), &server.key_pem)
    }

    /// The heartbeat key is in it: readable by its owner only.
    pub fn write_config(&self, config: &AgentConfig) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(config).expect("serialisable");
        crate::pki::write_private(&self.config(), &json)
    }

    pub fn read_config(&self) -> std::io::Result<AgentConfig> {
        let text = std::fs::read_to_string(self.config())?;
        serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    pub fn tls(&self) -> Result<Arc<rustls::ServerConfig>, crate::pki::PkiError> {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        crate::pki::server_config(&read("ca.pem"), &read("server.pem"), &read("server.key"))
    }
}

struct Agent {
    amphora: Arc<Amphora>,
    files: AgentFiles,
    config: tokio::sync::Mutex<AgentConfig>,
}

/// Serves the agent until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    amphora: Arc<Amphora>,
    files: AgentFiles,
    config: AgentConfig,
    shutdown: CancellationToken,
) {
    let agent = Arc::new(Agent {
        amphora,
        files,
        config: tokio::sync::Mutex::new(config),
    });
    mtls::serve(listener, tls, agent, shutdown).await
}

impl mtls::Routes for Agent {
    fn who(&self) -> &'static str {
        "the amphora agent"
    }

    fn route(&self, call: Call) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
        Box::pin(self.answer(call))
    }
}

impl Agent {
    async fn answer(&self, call: Call) -> Reply {
        match (&call.method, call.path.as_str()) {
            (&Method::GET, "/") => reply(StatusCode::OK, json!({"api_version": "1.0"})),
            (&Method::GET, "/1.0/info") => {
                let status = self.amphora.status().await;
                reply(
                    StatusCode::OK,
                    json!({"hostname": self.amphora.id, "amphora_id": self.amphora.id,
                           "api_version": "1.0", "engine": "ostia",
                           "engine_version": env!("CARGO_PKG_VERSION"),
                           "generation": status.generation}),
                )
            }
            (&Method::GET, "/1.0/status") => reply(
                StatusCode::OK,
                serde_json::to_value(self.amphora.status().await).expect("serialisable"),
            ),
            (&Method::PUT, "/1.0/loadbalancer") => {
                let config: model::AmphoraConfig = match serde_json::from_slice(&call.body) {
                    Ok(c) => c,
                    Err(e) => return invalid(format!("not an AmphoraConfig: {e}")),
                };
                match self.amphora.apply(config).await {
                    Ok(applied) => reply(
                        StatusCode::OK,
                        serde_json::to_value(applied).expect("serialisable"),
                    ),
                    Err(refused) => invalid(refused),
                }
            }
            (&Method::PUT, "/1.0/config") => {
                let settings: HeartbeatSettings = match serde_json::from_slice(&call.body) {
                    Ok(s) => s,
                    Err(e) => return invalid(format!("not heartbeat settings: {e}")),
                };
                let mut config = self.config.lock().await;
                config.heartbeat = settings.clone();
                if let Err(e) = self.files.write_config(&config) {
                    tracing::warn!(error = %e, "agent settings not persisted");
                }
                self.amphora.configure(settings);
                reply(StatusCode::ACCEPTED, json!({"message": "OK"}))
            }
            (_, "/" | "/1.0/info" | "/1.0/status" | "/1.0/loadbalancer" | "/1.0/config") => {
                mtls::method_not_allowed(&call)
            }
            _ => mtls::not_found(&call.path),
        }
    }
}

/// An amphora process's sockets that stay in the namespace it was started in: its agent's
/// listener (where its host's agent reaches it) and its heartbeat socket (routed to the health
/// managers over the host's network). Everything it serves is opened later, inside its own
/// namespace when its configuration names one.
pub struct Prepared {
    files: AgentFiles,
    config: AgentConfig,
    listener: std::net::TcpListener,
    heartbeat: std::net::UdpSocket,
}

/// Opens the amphora of DIR and enters its namespace. Must run before any other thread
/// starts: a namespace is a thread's, and threads started later inherit it.
pub fn prepare(dir: &Path) -> std::io::Result<Prepared> {
    let files = AgentFiles::new(dir);
    let config = files.read_config()?;
    let listener = std::net::TcpListener::bind(config.bind)?;
    listener.set_nonblocking(true)?;
    let heartbeat = std::net::UdpSocket::bind(heartbeat_source(&config.heartbeat))?;
    heartbeat.set_nonblocking(true)?;
    if let Some(netns) = &config.netns {
        enter(netns)?;
    }
    Ok(Prepared {
        files,
        config,
        listener,
        heartbeat,
    })
}

fn enter(netns: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(netns).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("network namespace {}: {e}", netns.display()),
        )
    })?;
    // Safety: a valid descriptor of a namespace file; setns changes only this thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::new(
            e.kind(),
            format!("entering network namespace {}: {e}", netns.display()),
        ));
    }
    Ok(())
}

/// `ostia amphora --dir DIR`: serves the agent and the data plane of the amphora `prepare`d
/// until `stop` resolves (SIGTERM or SIGINT); then it stops accepting, lets open connections
/// finish (at most the drain timeout) and returns. `announce` is told the agent's address.
pub async fn run(
    prepared: Prepared,
    announce: impl FnOnce(SocketAddr),
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let Prepared {
        files,
        config,
        listener,
        heartbeat,
    } = prepared;
    let tls = files.tls().map_err(std::io::Error::other)?;
    let listener = TcpListener::from_std(listener)?;
    announce(listener.local_addr()?);
    let socket = Arc::new(tokio::net::UdpSocket::from_std(heartbeat)?);
    let amphora = Arc::new(Amphora::start(
        &config.amphora_id,
        config.heartbeat.clone(),
        socket,
        Duration::from_millis(config.drain_timeout_ms),
        Arc::new(crate::HostAddresses::new(config.host_addresses)),
        Some(files.dir.clone()),
        Some(files.dir.clone()),
    ));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        tls,
        amphora.clone(),
        files,
        config,
        shutdown.clone(),
    ));
    stop.await;
    tracing::info!(amphora = %amphora.id, "stopping: draining connections");
    shutdown.cancel();
    let _ = server.await;
    amphora.stop().await.wait().await;
    Ok(())
}

/// The unspecified address of the health managers' family, for the sending socket.
pub fn heartbeat_source(settings: &HeartbeatSettings) -> SocketAddr {
    match settings.targets.first() {
        Some(t) if t.is_ipv6() => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        _ => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
    }
}
