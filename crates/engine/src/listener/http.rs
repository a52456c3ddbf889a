//! HTTP listeners: hyper on the client side (HTTP/1.0 and 1.1, keep-alive), each request
//! sent to a member chosen for it over pooled keep-alive connections. Error answers are
//! HAProxy's: 503 when no member can take the request, 504 when the member is too slow,
//! 502 when its answer is broken.

use super::tcp::{accept_loop, CONNECT_ATTEMPTS};
use super::{ms, Context, Snapshot};
use crate::member::Lease;
use crate::stats::{ListenerStats, Open};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Pooled keep-alive connections to members, one pool per listener.
pub struct Client {
    pub connect_timeout: Duration,
    inner: hyper_util::client::legacy::Client<HttpConnector, ProxyBody>,
}

impl Client {
    pub fn new(connect_timeout: Duration) -> Client {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1024)
            .build(connector);
        Client {
            connect_timeout,
            inner,
        }
    }
}

pub async fn serve(listener: TcpListener, ctx: Context) {
    accept_loop(listener, ctx, |stream, client, snapshot, ctx| async move {
        if snapshot.full() {
            // HTTP listeners over connection_limit answer 503 and close.
            let mut stream = stream;
            let _ = stream.write_all(&raw_503()).await;
            let _ = stream.shutdown().await;
            // Read what the client already sent, so closing does not reset the answer away.
            let mut sink = [0u8; 4096];
            let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
            return;
        }
        let _open = Open::new(&snapshot.stats);
        let local = stream.local_addr().unwrap_or(client);
        let stats = snapshot.stats.clone();
        let io = TokioIo::new(Counted {
            stream,
            stats: stats.clone(),
        });
        let current = ctx.snapshot.clone();
        let service = hyper::service::service_fn(move |req| {
            let snapshot = current.load_full();
            async move { Ok::<_, Infallible>(forward(req, client, local, snapshot).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(ms(snapshot.config.timeout_client_data));
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let served = async {
            tokio::select! {
                r = conn.as_mut() => r,
                _ = ctx.stop_accepting.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            }
        };
        tokio::select! {
            _ = ctx.stop_all.cancelled() => {}
            r = served => if let Err(e) = r {
                if e.is_parse() || e.is_parse_too_large() {
                    stats.request_errors.fetch_add(1, Relaxed);
                }
            }
        }
    })
    .await
}

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

async fn forward(
    req: Request<Incoming>,
    client: SocketAddr,
    local: SocketAddr,
    snapshot: Arc<Snapshot>,
) -> Response<ProxyBody> {
    let (Some(pool), Some(http)) = (&snapshot.pool, &snapshot.http) else {
        return canned(StatusCode::SERVICE_UNAVAILABLE);
    };
    let (mut parts, body) = req.into_parts();
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    insert_headers(&snapshot, &mut parts.headers, client, local);
    // Only a request without a body can be sent again to another member.
    let replayable = body.is_end_stream();
    let mut body = Some(body.boxed());
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let key = pool.key(client);
    let mut tried = Vec::new();
    while tried.len() < CONNECT_ATTEMPTS {
        let Some(i) = pool.select(key, &tried) else {
            break;
        };
        tried.push(i);
        let backend = &pool.backends[i];
        let lease = Lease::new(&backend.state);
        let mut builder = Request::builder()
            .method(parts.method.clone())
            .uri(format!("http://{}{}", backend.addr, path));
        if let Some(headers) = builder.headers_mut() {
            *headers = parts.headers.clone();
        }
        let attempt_body = match body.take() {
            Some(b) => b,
            None => Empty::new().map_err(|e| match e {}).boxed(),
        };
        let Ok(request) = builder.body(attempt_body) else {
            return canned(StatusCode::BAD_REQUEST);
        };
        let timeout = ms(snapshot.config.timeout_member_data);
        match tokio::time::timeout(timeout, http.inner.request(request)).await {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                for name in HOP_BY_HOP {
                    parts.headers.remove(name);
                }
                let body = Leased {
                    inner: body,
                    _lease: lease,
                };
                return Response::from_parts(parts, body.boxed());
            }
            Ok(Err(e)) if e.is_connect() => {
                backend.state.connect_errors.fetch_add(1, Relaxed);
                if !replayable {
                    break;
                }
            }
            Ok(Err(_)) => return canned(StatusCode::BAD_GATEWAY),
            Err(_) => return canned(StatusCode::GATEWAY_TIMEOUT),
        }
    }
    canned(StatusCode::SERVICE_UNAVAILABLE)
}

fn insert_headers(
    snapshot: &Snapshot,
    headers: &mut hyper::HeaderMap,
    client: SocketAddr,
    local: SocketAddr,
) {
    let wanted = |name: &str| {
        snapshot
            .config
            .insert_headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(name) && v.eq_ignore_ascii_case("true"))
    };
    let set = |headers: &mut hyper::HeaderMap, name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    if wanted("X-Forwarded-For") {
        // `option forwardfor` adds a header line of its own after any the client sent.
        if let Ok(v) = HeaderValue::from_str(&client.ip().to_canonical().to_string()) {
            headers.append(HeaderName::from_static("x-forwarded-for"), v);
        }
    }
    if wanted("X-Forwarded-Port") {
        set(headers, "x-forwarded-port", local.port().to_string());
    }
    if wanted("X-Forwarded-Proto") {
        set(headers, "x-forwarded-proto", "http".into());
    }
}

fn message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Your browser sent an invalid request.",
        StatusCode::BAD_GATEWAY => "The server returned an invalid or incomplete response.",
        StatusCode::GATEWAY_TIMEOUT => "The server didn't respond in time.",
        _ => "No server is available to handle this request.",
    }
}

/// HAProxy's built-in error page body for `status`.
fn error_page(status: StatusCode) -> String {
    format!(
        "<html><body><h1>{} {}</h1>\n{}\n</body></html>\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        message(status)
    )
}

fn canned(status: StatusCode) -> Response<ProxyBody> {
    let body = error_page(status);
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/html"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

/// The 503 written straight to a connection refused before hyper serves it.
fn raw_503() -> Vec<u8> {
    let body = error_page(StatusCode::SERVICE_UNAVAILABLE);
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\ncache-control: no-cache\r\n\
         content-type: text/html\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A member's response body that keeps the member's request counted until it is sent.
struct Leased {
    inner: Incoming,
    _lease: Lease,
}

impl Body for Leased {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The client connection, counting bytes into the listener's stats.
struct Counted {
    stream: TcpStream,
    stats: Arc<ListenerStats>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.stream).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.stats.bytes_in.fetch_add(n as u64, Relaxed);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.stats.bytes_out.fetch_add(n as u64, Relaxed);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.stats.bytes_out.fetch_add(n as u64, Relaxed);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
