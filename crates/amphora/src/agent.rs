//! The amphora agent: what an `ostia amphora` process serves to the controller over mutual
//! TLS (Octavia's agent listens on 9443 with the same trust model). Routes, under `/1.0`:
//! `GET /info`, `GET /status`, `PUT /loadbalancer` (an `AmphoraConfig`; answers the applied
//! generation) and `PUT /config` (heartbeat settings).

use crate::sender::HeartbeatSettings;
use crate::Amphora;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Largest request body (an `AmphoraConfig` with many thousands of members fits).
const MAX_BODY: usize = 64 << 20;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let (agent, acceptor) = (agent.clone(), acceptor.clone());
        tokio::spawn(async move {
            if let Err(e) = connection(stream, acceptor, agent).await {
                tracing::debug!(%peer, error = %e, "agent connection ended");
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    agent: Arc<Agent>,
) -> std::io::Result<()> {
    // A TLS client starts with a handshake record (0x16); anyone else is told where they are.
    let mut first = [0u8; 1];
    let n = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await??;
    if n == 1 && first[0] != 0x16 {
        return plain_http_refusal(stream).await;
    }
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await??;
    let authenticated = tls.get_ref().1.peer_certificates().is_some();
    let service = hyper::service::service_fn(move |req| {
        let agent = agent.clone();
        async move { Ok::<_, std::convert::Infallible>(route(&agent, authenticated, req).await) }
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await
        .map_err(std::io::Error::other)
}

async fn plain_http_refusal(mut stream: TcpStream) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let body = r#"{"message": "Bad Request", "details": "This is the amphora agent: speak HTTPS with a client certificate from the controller's CA."}"#;
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn invalid(details: impl std::fmt::Display) -> Response<Full<Bytes>> {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"message": "Invalid request", "details": details.to_string()}),
    )
}

async fn route(
    agent: &Agent,
    authenticated: bool,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if !authenticated {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Unauthorized",
                   "details": "A client certificate issued by the controller's CA is required."}),
        );
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return invalid(format!("cannot read the request body: {e}")),
    };
    match (&method, path.as_str()) {
        (&Method::GET, "/") => reply(StatusCode::OK, json!({"api_version": "1.0"})),
        (&Method::GET, "/1.0/info") => {
            let status = agent.amphora.status().await;
            reply(
                StatusCode::OK,
                json!({"hostname": agent.amphora.id, "amphora_id": agent.amphora.id,
                       "api_version": "1.0", "engine": "ostia", "engine_version": env!("CARGO_PKG_VERSION"),
                       "generation": status.generation}),
            )
        }
        (&Method::GET, "/1.0/status") => reply(
            StatusCode::OK,
            serde_json::to_value(agent.amphora.status().await).expect("serialisable"),
        ),
        (&Method::PUT, "/1.0/loadbalancer") => {
            let config: model::AmphoraConfig = match serde_json::from_slice(&body) {
                Ok(c) => c,
                Err(e) => return invalid(format!("not an AmphoraConfig: {e}")),
            };
            match agent.amphora.apply(config).await {
                Ok(applied) => reply(
                    StatusCode::OK,
                    serde_json::to_value(applied).expect("serialisable"),
                ),
                Err(refused) => invalid(refused),
            }
        }
        (&Method::PUT, "/1.0/config") => {
            let settings: HeartbeatSettings = match serde_json::from_slice(&body) {
                Ok(s) => s,
                Err(e) => return invalid(format!("not heartbeat settings: {e}")),
            };
            let mut config = agent.config.lock().await;
            config.heartbeat = settings.clone();
            if let Err(e) = agent.files.write_config(&config) {
                tracing::warn!(error = %e, "agent settings not persisted");
            }
            agent.amphora.configure(settings);
            reply(StatusCode::ACCEPTED, json!({"message": "OK"}))
        }
        (_, "/" | "/1.0/info" | "/1.0/status" | "/1.0/loadbalancer" | "/1.0/config") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"message": "Method Not Allowed", "details": format!("{method} {path}")}),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({"message": "Not Found", "details": path}),
        ),
    }
}

/// `ostia amphora --dir DIR`: serves the agent and the data plane of the amphora described
/// in DIR until `stop` resolves (SIGTERM or SIGINT); then it stops accepting, lets open
/// connections finish (at most the drain timeout) and returns. `announce` is told the
/// agent's address.
pub async fn run(
    dir: &Path,
    announce: impl FnOnce(SocketAddr),
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let files = AgentFiles::new(dir);
    let config = files.read_config()?;
    let tls = files.tls().map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(config.bind).await?;
    announce(listener.local_addr()?);
    let socket = Arc::new(tokio::net::UdpSocket::bind(heartbeat_source(&config.heartbeat)).await?);
    let amphora = Arc::new(Amphora::start(
        &config.amphora_id,
        config.heartbeat.clone(),
        socket,
        Duration::from_millis(config.drain_timeout_ms),
        Arc::new(crate::HostAddresses::new(config.host_addresses)),
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
