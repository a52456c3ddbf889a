//! The server side of the agent protocol: HTTP/1.1 over TLS with client certificates of the
//! control plane's CA, as Octavia's amphora agent serves on 9443. Amphora processes and
//! hosts' agents serve their routes through it; a client without a certificate is refused,
//! and one that speaks plain HTTP is told where it is.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Largest request body (an `AmphoraConfig` with many thousands of members fits).
const MAX_BODY: usize = 64 << 20;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub type Reply = Response<Full<Bytes>>;

/// One authenticated request.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub body: Bytes,
}

/// What a server answers; `who` names the service in refusals ("the amphora agent").
pub trait Routes: Send + Sync + 'static {
    fn who(&self) -> &'static str;
    fn route(&self, call: Call) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>>;
}

pub fn reply(status: StatusCode, body: serde_json::Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

/// 400 with the reason, which the client reports as a refusal.
pub fn invalid(details: impl std::fmt::Display) -> Reply {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"message": "Invalid request", "details": details.to_string()}),
    )
}

pub fn not_found(details: impl std::fmt::Display) -> Reply {
    reply(
        StatusCode::NOT_FOUND,
        json!({"message": "Not Found", "details": details.to_string()}),
    )
}

pub fn method_not_allowed(call: &Call) -> Reply {
    reply(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"message": "Method Not Allowed",
               "details": format!("{} {}", call.method, call.path)}),
    )
}

/// Serves `routes` until `shutdown` fires.
pub async fn serve<R: Routes>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    routes: Arc<R>,
    shutdown: CancellationToken,
) {
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
        let (routes, acceptor) = (routes.clone(), acceptor.clone());
        tokio::spawn(async move {
            if let Err(e) = connection(stream, acceptor, routes).await {
                tracing::debug!(%peer, error = %e, "agent connection ended");
            }
        });
    }
}

async fn connection<R: Routes>(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    routes: Arc<R>,
) -> std::io::Result<()> {
    // A TLS client starts with a handshake record (0x16); anyone else is told where they are.
    let mut first = [0u8; 1];
    let n = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await??;
    if n == 1 && first[0] != 0x16 {
        return plain_http_refusal(stream, routes.who()).await;
    }
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await??;
    let authenticated = tls.get_ref().1.peer_certificates().is_some();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let routes = routes.clone();
        async move {
            if !authenticated {
                return Ok::<_, std::convert::Infallible>(reply(
                    StatusCode::UNAUTHORIZED,
                    json!({"message": "Unauthorized",
                           "details": "A client certificate issued by the controller's CA is required."}),
                ));
            }
            let (method, path) = (req.method().clone(), req.uri().path().to_string());
            let query = req.uri().query().map(str::to_string);
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return Ok(invalid(format!("cannot read the request body: {e}"))),
            };
            let call = Call {
                method,
                path,
                query,
                body,
            };
            Ok(routes.route(call).await)
        }
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await
        .map_err(std::io::Error::other)
}

async fn plain_http_refusal(mut stream: TcpStream, who: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let body = json!({"message": "Bad Request",
        "details": format!("This is {who}: speak HTTPS with a client certificate from the controller's CA.")})
    .to_string();
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
