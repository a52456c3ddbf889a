//! HTTP/2 from clients of TERMINATED_HTTPS listeners (ALPN h2), with hyper's server: each
//! stream is one request, routed as an HTTP/1 one is (L7 policies on the same head) and
//! relayed to a member over HTTP/1.1 (or HTTPS for an HTTPS pool), as HAProxy relays h2
//! clients to HTTP/1.1 servers. Failures get HAProxy's status codes (503 when no member can
//! take the request, 504 when it is too slow, 403 for REJECT).
//!
//! Session persistence works as on HTTP/1 (the same stick tables and cookies). Each stream
//! holds its member's lease until its answer ends (LEAST_CONNECTIONS and `active` see it), and
//! its heads and data count into the listener's and the member's bytes, as HAProxy counts
//! HTTP-layer bytes.

use super::route::{route, Route};
use super::{ms, Context, Snapshot};
use crate::member::{Lease, MemberState};
use crate::persistence::Persist;
use crate::stats::ListenerStats;
use crate::termination::TlsFacts;
use crate::upstream::Upstreams;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty};
use hyper::body::Incoming;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

type Answer = Response<BoxBody<Bytes, hyper::Error>>;

/// Headers that belong to one HTTP/1.1 connection, never forwarded across protocols.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

pub async fn serve(
    stream: TlsStream<TcpStream>,
    peer: SocketAddr,
    local: SocketAddr,
    tls: Arc<TlsFacts>,
    ctx: Context,
) {
    let snapshot = ctx.snapshot.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (snapshot, tls) = (snapshot.load_full(), tls.clone());
        async move {
            Ok::<_, std::convert::Infallible>(exchange(req, &snapshot, peer, local, &tls).await)
        }
    });
    let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = ctx.stop_all.cancelled() => {}
        _ = connection => {}
    }
}

fn status(code: u16) -> Answer {
    let mut answer = Response::new(Empty::new().map_err(|e| match e {}).boxed());
    *answer.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    answer
}

/// The request as an HTTP/1.1 head, for the L7 policies.
fn head_of(req: &Request<Incoming>) -> Vec<u8> {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut head = format!("{} {target} HTTP/1.1\r\n", req.method()).into_bytes();
    if let Some(authority) = req.uri().authority() {
        head.extend_from_slice(format!("host: {authority}\r\n").as_bytes());
    }
    for (name, value) in req.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

async fn exchange(
    req: Request<Incoming>,
    snapshot: &Snapshot,
    peer: SocketAddr,
    local: SocketAddr,
    tls: &TlsFacts,
) -> Answer {
    let head = head_of(&req);
    let pool = match route(snapshot, &head, Some(tls)) {
        Route::Pool(pool) => pool,
        Route::Answer(code) => return status(code),
        Route::Redirect(bytes) => {
            let mut headers = [httparse::EMPTY_HEADER; 8];
            let mut parsed = httparse::Response::new(&mut headers);
            let _ = parsed.parse(&bytes);
            let mut answer = status(parsed.code.unwrap_or(302));
            if let Some(h) = parsed.headers.iter().find(|h| h.name == "location") {
                if let Ok(v) = HeaderValue::from_bytes(h.value) {
                    answer.headers_mut().insert(hyper::header::LOCATION, v);
                }
            }
            return answer;
        }
    };
    let (mut parts, body) = req.into_parts();
    let authority = parts.uri.authority().map(|a| a.to_string());
    parts.version = hyper::Version::HTTP_11;
    parts.uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()
        .unwrap_or_default();
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    if let Some(a) = authority.and_then(|a| HeaderValue::from_str(&a).ok()) {
        parts.headers.entry(hyper::header::HOST).or_insert(a);
    }
    let fwd = snapshot.forwarded(peer, local, Some(tls));
    let mut set = |name: &str, value: String| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            parts.headers.insert(n, v);
        }
    };
    if let Some(ip) = fwd.for_client {
        set("x-forwarded-for", ip.to_canonical().to_string());
    }
    if let Some(port) = fwd.port {
        set("x-forwarded-port", port.to_string());
    }
    if let Some(proto) = fwd.proto {
        set("x-forwarded-proto", proto.to_string());
    }
    for (name, value) in fwd.set {
        set(name, value);
    }
    let config = &snapshot.config;
    let mut persist = Persist::of(pool.sticky.as_ref(), peer, &head);
    if let Some(name) = persist.as_ref().and_then(Persist::indirect_cookie) {
        strip_cookie(&mut parts.headers, name);
    }
    let stuck = persist.as_ref().and_then(|p| p.stuck.clone());
    let Some(i) = pool.choose(pool.key(peer), stuck.as_deref(), &[]) else {
        return status(503);
    };
    let backend = &pool.backends[i];
    let lease = Lease::new(&backend.state);
    let head_bytes = head.len() as u64;
    snapshot.stats.bytes_in.fetch_add(head_bytes, Relaxed);
    backend.state.bytes_in.fetch_add(head_bytes, Relaxed);
    let body = Counted::new(body, Way::In, &snapshot.stats, &backend.state, None);
    if let Some(p) = &mut persist {
        p.member.clone_from(&backend.config.id);
    }
    let sni = tls.sni.as_deref();
    let member_tls = pool.tls.as_ref().map(|c| (c, sni));
    let mut upstreams = Upstreams::default();
    let Ok(up) = upstreams
        .take(
            backend,
            true,
            None,
            member_tls,
            ms(config.timeout_member_connect),
        )
        .await
    else {
        return status(503);
    };
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Counted<Incoming>>(TokioIo::new(up.stream))
            .await
    else {
        return status(503);
    };
    tokio::spawn(connection);
    let relayed = tokio::time::timeout(
        ms(config.timeout_member_data),
        sender.send_request(Request::from_parts(parts, body)),
    )
    .await;
    match relayed {
        Ok(Ok(answer)) => {
            let (mut parts, body) = answer.into_parts();
            for name in HOP_BY_HOP {
                parts.headers.remove(name);
            }
            if let Some(hsts) = snapshot.hsts() {
                if let Ok(v) = HeaderValue::from_str(&hsts) {
                    parts
                        .headers
                        .insert(hyper::header::STRICT_TRANSPORT_SECURITY, v);
                }
            }
            if let Some(p) = &persist {
                answered(p, &mut parts);
            }
            let head_bytes = head_size(&parts) as u64;
            snapshot.stats.bytes_out.fetch_add(head_bytes, Relaxed);
            backend.state.bytes_out.fetch_add(head_bytes, Relaxed);
            let body = Counted::new(body, Way::Out, &snapshot.stats, &backend.state, Some(lease));
            Response::from_parts(parts, body.boxed())
        }
        Ok(Err(_)) => status(502),
        Err(_) => status(504),
    }
}

/// Persistence learns from the answer (and may add the client's cookie), as on HTTP/1.
fn answered(p: &Persist, parts: &mut hyper::http::response::Parts) {
    let mut head = format!("HTTP/1.1 {} -\r\n", parts.status.as_u16()).into_bytes();
    for (name, value) in parts.headers.iter() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    for (name, value) in p.cookie_fields(&head) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            parts.headers.append(name, v);
        }
    }
    // SOURCE_IP stores the client; APP_COOKIE reads the answer's cookies from its head.
    p.answered(&mut head);
}

/// `cookie … indirect` on h2's Cookie fields (one per cookie, or joined), as `h1::strip_cookie`.
fn strip_cookie(headers: &mut hyper::HeaderMap, name: &str) {
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    for value in headers.get_all(hyper::header::COOKIE) {
        head.extend_from_slice(b"cookie: ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    crate::h1::strip_cookie(&mut head, name);
    headers.remove(hyper::header::COOKIE);
    for line in head.split(|b| *b == b'\n').skip(1) {
        let value = line.strip_prefix(b"cookie: ").map(|v| v.trim_ascii_end());
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.append(hyper::header::COOKIE, v);
        }
    }
}

/// The size of an answer's head as HTTP/1.1 would carry it.
fn head_size(parts: &hyper::http::response::Parts) -> usize {
    let headers: usize = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    "HTTP/1.1 200 OK\r\n".len() + headers + 2
}

#[derive(Clone, Copy)]
enum Way {
    /// From the client: the listener's and member's `bytes_in`.
    In,
    /// To the client: their `bytes_out`.
    Out,
}

/// A body whose data counts into the listener's and the member's bytes; the answer's body
/// also keeps the member's lease until it ends.
struct Counted<B> {
    inner: B,
    way: Way,
    listener: Arc<ListenerStats>,
    member: Arc<MemberState>,
    _lease: Option<Lease>,
}

impl<B> Counted<B> {
    fn new(
        inner: B,
        way: Way,
        listener: &Arc<ListenerStats>,
        member: &Arc<MemberState>,
        lease: Option<Lease>,
    ) -> Counted<B> {
        Counted {
            inner,
            way,
            listener: listener.clone(),
            member: member.clone(),
            _lease: lease,
        }
    }

    fn counters(&self) -> [&AtomicU64; 2] {
        match self.way {
            Way::In => [&self.listener.bytes_in, &self.member.bytes_in],
            Way::Out => [&self.listener.bytes_out, &self.member.bytes_out],
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                for counter in self.counters() {
                    counter.fetch_add(data.len() as u64, Relaxed);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
