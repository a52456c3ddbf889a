//! The controller's client of amphora agents: one mutual-TLS connection per request, the
//! server's certificate checked against the CA and the amphora's id.

use crate::sender::HeartbeatSettings;
use bytes::Bytes;
use engine::{Applied, Status};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use model::AmphoraConfig;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

const MAX_ANSWER: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No answer: not listening, TLS refused, timed out.
    #[error("amphora agent at {addr} unreachable: {reason}")]
    Unreachable { addr: SocketAddr, reason: String },
    /// The agent answered 4xx: it refuses the request, for this reason.
    #[error("{0}")]
    Refused(String),
    #[error("amphora agent answered {status}: {body}")]
    Failed { status: u16, body: String },
}

#[derive(Clone)]
pub struct AgentClient {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

impl AgentClient {
    pub fn new(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> AgentClient {
        AgentClient {
            tls: tokio_rustls::TlsConnector::from(tls),
            timeout,
        }
    }

    pub async fn apply(
        &self,
        addr: SocketAddr,
        amphora_id: &str,
        config: &AmphoraConfig,
    ) -> Result<Applied, AgentError> {
        let body = serde_json::to_vec(config).expect("serialisable");
        self.json(
            addr,
            amphora_id,
            Method::PUT,
            "/1.0/loadbalancer",
            Some(body),
        )
        .await
    }

    pub async fn status(&self, addr: SocketAddr, amphora_id: &str) -> Result<Status, AgentError> {
        self.json(addr, amphora_id, Method::GET, "/1.0/status", None)
            .await
    }

    pub async fn info(
        &self,
        addr: SocketAddr,
        amphora_id: &str,
    ) -> Result<serde_json::Value, AgentError> {
        self.json(addr, amphora_id, Method::GET, "/1.0/info", None)
            .await
    }

    pub async fn configure(
        &self,
        addr: SocketAddr,
        amphora_id: &str,
        settings: &HeartbeatSettings,
    ) -> Result<(), AgentError> {
        let body = serde_json::to_vec(settings).expect("serialisable");
        self.request(addr, amphora_id, Method::PUT, "/1.0/config", Some(body))
            .await
            .map(|_| ())
    }

    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        addr: SocketAddr,
        amphora_id: &str,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, AgentError> {
        let bytes = self.request(addr, amphora_id, method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| AgentError::Failed {
            status: 200,
            body: format!("unreadable answer: {e}"),
        })
    }

    /// One request on a fresh connection; 2xx → the body, 4xx → `Refused` with the
    /// agent's `details`.
    pub async fn request(
        &self,
        addr: SocketAddr,
        amphora_id: &str,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, AgentError> {
        let unreachable = |reason: String| AgentError::Unreachable { addr, reason };
        let exchange = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let name = ServerName::try_from(amphora_id.to_string())
                .map_err(|e| unreachable(format!("bad amphora id: {e}")))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| unreachable(format!("TLS: {e}")))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            tokio::spawn(conn);
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", amphora_id)
                .header("content-type", "application/json")
                .header("user-agent", "Ostia controller")
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .expect("a valid request");
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            Ok::<_, AgentError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))??;
        if status.is_success() {
            Ok(bytes)
        } else if status.is_client_error() && status != StatusCode::NOT_FOUND {
            let details = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["details"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            Err(AgentError::Refused(details))
        } else {
            Err(AgentError::Failed {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        }
    }
}
