//! A small backend for tests and benchmarks: answers `you hit: <name>` over HTTP, TCP or UDP,
//! records what it received, and can be told to fail health checks, die and come back.
//! Over HTTP, `/echo` answers the request body, `/stream?<n>` a chunked body of `n`
//! kilobytes, `/headers` the request's header lines, `/login` sets the application's session
//! cookie `JSESSIONID=<name>-session`, and `/cached` says its answer may be cached for a minute.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Frame};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;

/// The path whose answer `fail_checks` turns into a 503.
pub const HEALTH_PATH: &str = "/health";

#[derive(Default)]
pub struct Seen {
    /// Requests (HTTP), connections (TCP) or datagrams (UDP) served.
    pub hits: AtomicU64,
    pub health_checks: AtomicU64,
    /// Headers of the last HTTP request, lower-case names, in order.
    pub last_headers: Mutex<Vec<(String, String)>>,
    /// The first bytes of the last TCP connection (up to 4 KiB).
    pub first_bytes: Mutex<Vec<u8>>,
}

pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    failing: Arc<AtomicBool>,
    kind: Kind,
    stop: Mutex<CancellationToken>,
}

#[derive(Clone, Copy)]
enum Kind {
    Http,
    Tcp,
    Udp,
}

impl Backend {
    pub async fn http(name: &str, addr: SocketAddr) -> std::io::Result<Backend> {
        Self::start(name, addr, Kind::Http).await
    }

    pub async fn tcp(name: &str, addr: SocketAddr) -> std::io::Result<Backend> {
        Self::start(name, addr, Kind::Tcp).await
    }

    pub async fn udp(name: &str, addr: SocketAddr) -> std::io::Result<Backend> {
        Self::start(name, addr, Kind::Udp).await
    }

    async fn start(name: &str, addr: SocketAddr, kind: Kind) -> std::io::Result<Backend> {
        let mut b = Backend {
            name: name.into(),
            addr,
            seen: Default::default(),
            failing: Default::default(),
            kind,
            stop: Mutex::new(CancellationToken::new()),
        };
        b.addr = b.listen().await?;
        Ok(b)
    }

    async fn listen(&self) -> std::io::Result<SocketAddr> {
        let stop = CancellationToken::new();
        if let Ok(mut s) = self.stop.lock() {
            *s = stop.clone();
        }
        let (name, seen, failing) = (self.name.clone(), self.seen.clone(), self.failing.clone());
        match self.kind {
            Kind::Udp => {
                let socket = UdpSocket::bind(self.addr).await?;
                let addr = socket.local_addr()?;
                tokio::spawn(udp(socket, name, seen, stop));
                Ok(addr)
            }
            kind => {
                let socket = socket2::Socket::new(
                    socket2::Domain::for_address(self.addr),
                    socket2::Type::STREAM,
                    None,
                )?;
                socket.set_reuse_address(true)?;
                socket.set_nonblocking(true)?;
                socket.bind(&self.addr.into())?;
                socket.listen(4096)?;
                let listener = TcpListener::from_std(socket.into())?;
                let addr = listener.local_addr()?;
                tokio::spawn(serve(listener, kind, name, seen, failing, stop));
                Ok(addr)
            }
        }
    }

    /// Health checks on `HEALTH_PATH` answer 503 (HTTP) while set.
    pub fn fail_checks(&self, failing: bool) {
        self.failing.store(failing, Relaxed);
    }

    /// Closes the socket and every connection: the member is dead.
    pub fn kill(&self) {
        if let Ok(s) = self.stop.lock() {
            s.cancel();
        }
    }

    /// Listens again on the same address.
    pub async fn revive(&self) -> std::io::Result<()> {
        self.listen().await.map(|_| ())
    }

    pub fn hits(&self) -> u64 {
        self.seen.hits.load(Relaxed)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn serve(
    listener: TcpListener,
    kind: Kind,
    name: String,
    seen: Arc<Seen>,
    failing: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let (name, seen, failing, stop) =
            (name.clone(), seen.clone(), failing.clone(), stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = async {
                    match kind {
                        Kind::Tcp => tcp(stream, &name, &seen).await,
                        _ => http(stream, name, seen, failing).await,
                    }
                } => {}
            }
        });
    }
}

async fn http(stream: TcpStream, name: String, seen: Arc<Seen>, failing: Arc<AtomicBool>) {
    let body = Bytes::from(format!("you hit: {name}\n"));
    let session = format!("JSESSIONID={name}-session; Path=/");
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let health = req.uri().path() == HEALTH_PATH;
        if health {
            seen.health_checks.fetch_add(1, Relaxed);
        } else {
            seen.hits.fetch_add(1, Relaxed);
            if let Ok(mut h) = seen.last_headers.lock() {
                *h = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
            }
        }
        let failed = health && failing.load(Relaxed);
        let body = body.clone();
        let login = (req.uri().path() == "/login").then(|| session.clone());
        let cached = req.uri().path() == "/cached";
        // `/headers`: the request's header lines, as the member got them.
        let head: String = req
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
            .collect();
        async move {
            let answer: BoxBody<Bytes, hyper::Error> = match req.uri().path() {
                "/echo" => {
                    let received = req.into_body().collect().await?.to_bytes();
                    Full::new(received).map_err(|e| match e {}).boxed()
                }
                "/stream" => {
                    let kib = req.uri().query().and_then(|q| q.parse().ok()).unwrap_or(1);
                    Kilobytes(kib).boxed()
                }
                "/headers" => Full::new(Bytes::from(head)).map_err(|e| match e {}).boxed(),
                _ => Full::new(body).map_err(|e| match e {}).boxed(),
            };
            let mut response = Response::new(answer);
            if failed {
                *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
            }
            if let Some(cookie) = login.and_then(|c| hyper::header::HeaderValue::from_str(&c).ok())
            {
                response
                    .headers_mut()
                    .insert(hyper::header::SET_COOKIE, cookie);
            }
            if cached {
                response.headers_mut().insert(
                    hyper::header::CACHE_CONTROL,
                    hyper::header::HeaderValue::from_static("max-age=60"),
                );
            }
            Ok::<_, hyper::Error>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A body of unknown length (so sent chunked): kilobytes of `0123456789abcdef` cycled.
struct Kilobytes(usize);

impl Body for Kilobytes {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.0 -= 1;
        let kib: Vec<u8> = b"0123456789abcdef".repeat(64);
        std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from(kib)))))
    }
}

/// The body `/stream?<kib>` answers.
pub fn stream_body(kib: usize) -> Vec<u8> {
    b"0123456789abcdef".repeat(64 * kib)
}

/// Greets, then reads until the client closes, keeping the first bytes.
async fn tcp(mut stream: TcpStream, name: &str, seen: &Seen) {
    seen.hits.fetch_add(1, Relaxed);
    let _ = stream
        .write_all(format!("you hit: {name}\n").as_bytes())
        .await;
    let mut first = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if first.len() < 4096 {
            first.extend_from_slice(&buf[..n.min(4096 - first.len())]);
            if let Ok(mut f) = seen.first_bytes.lock() {
                *f = first.clone();
            }
        }
    }
}

async fn udp(socket: UdpSocket, name: String, seen: Arc<Seen>, stop: CancellationToken) {
    let mut buf = vec![0u8; 65536];
    let answer = format!("you hit: {name}\n");
    loop {
        let received = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        if let Ok((_, peer)) = received {
            seen.hits.fetch_add(1, Relaxed);
            let _ = socket.send_to(answer.as_bytes(), peer).await;
        }
    }
}

/// A TLS client verifier that accepts any server certificate (a test then looks at which one
/// it got), still checking the handshake's signatures: the one the engine uses for
/// `verify none`.
pub fn any_certificate() -> Arc<dyn rustls::client::danger::ServerCertVerifier> {
    Arc::new(crate::tls::AnyCertificate(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    )))
}
