//! HTTP listeners: an HTTP/1 relay, one task per client connection doing each exchange in
//! order — read a request head, choose a member for it, send it, relay the answer — with no
//! task, channel or header map per request (heads are parsed by httparse and rewritten in
//! place, see `h1`). HTTP/1.0 and 1.1, keep-alive, pipelining, chunked bodies,
//! `Expect: 100-continue`, and upgrades (WebSocket), which become a spliced relay.
//! Error answers are HAProxy's pages: 400 for a bad request, 503 when no member can take it,
//! 504 when the member is too slow, 502 when its answer is broken.

use super::buf::Buf;
use super::route::{route, Route};
use super::tcp::{accept_loop, CONNECT_ATTEMPTS};
use super::{ms, Context, Snapshot};
use crate::h1::{self, Chunks, Framing, Invalid};

use crate::balancer::Backend;
use crate::member::{Lease, MemberState};
use crate::persistence::Persist;
use crate::pool::Pool;
use crate::proxy_protocol;
use crate::relay::{self, Counters};
use crate::stats::{ListenerStats, Open};
use crate::termination::TlsFacts;
use crate::upstream::{MemberStream, Upstream, Upstreams};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

pub async fn serve(listener: TcpListener, ctx: Context) {
    accept_loop(listener, ctx, |stream, client, snapshot, ctx| async move {
        if snapshot.full() {
            // HTTP listeners over connection_limit answer 503 and close.
            close_with(stream, 503).await;
            return;
        }
        let local = stream.local_addr().unwrap_or(client);
        converse(stream, client, local, None, &snapshot, &ctx).await;
    })
    .await
}

/// TERMINATED_HTTPS: the TLS handshake (within `timeout_client_data`), then HTTP as above.
/// A failed handshake gets rustls's alert and is counted as a request error.
pub async fn serve_tls(listener: TcpListener, ctx: Context) {
    accept_loop(listener, ctx, |stream, client, snapshot, ctx| async move {
        let Some(config) = snapshot.tls.clone() else {
            return;
        };
        let local = stream.local_addr().unwrap_or(client);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let handshake = acceptor.accept(stream);
        let stream =
            match tokio::time::timeout(ms(snapshot.config.timeout_client_data), handshake).await {
                Ok(Ok(stream)) => stream,
                _ => {
                    snapshot.stats.request_errors.fetch_add(1, Relaxed);
                    return;
                }
            };
        if snapshot.full() {
            close_with(stream, 503).await;
            return;
        }
        let facts = Arc::new(TlsFacts::of(stream.get_ref().1));
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            let _open = Open::new(&snapshot.stats);
            super::h2::serve(stream, client, local, facts, ctx.clone()).await;
            return;
        }
        converse(stream, client, local, Some(facts), &snapshot, &ctx).await;
    })
    .await
}

/// One client connection's requests, until it ends.
async fn converse<S: ClientStream>(
    stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    tls: Option<Arc<TlsFacts>>,
    snapshot: &Snapshot,
    ctx: &Context,
) {
    let _open = Open::new(&snapshot.stats);
    let mut session = Session {
        client: stream,
        tls,
        peer,
        local,
        cbuf: Buf::default(),
        mbuf: Buf::default(),
        request: Vec::with_capacity(512),
        response: Vec::with_capacity(512),
        upstreams: Upstreams::default(),
        persist: None,
        deadline: Deadline::new(),
        draining: Box::pin(ctx.stop_accepting.clone().cancelled_owned()),
    };
    let failure = tokio::select! {
        _ = ctx.stop_all.cancelled() => None,
        failure = session.run(ctx) => failure,
    };
    match failure {
        Some(code) => close_with(session.client, code).await,
        // A TLS client is owed its close_notify; a TCP one gets its FIN now rather than later.
        None => {
            let _ = tokio::time::timeout(Duration::from_secs(1), session.client.shutdown()).await;
        }
    }
}

/// A client connection: plain TCP, or TLS over it.
pub trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP connection itself when nothing is layered on it (an upgrade is then spliced).
    fn plain(&self) -> Option<&TcpStream>;
}

impl ClientStream for TcpStream {
    fn plain(&self) -> Option<&TcpStream> {
        Some(self)
    }
}

impl ClientStream for tokio_rustls::server::TlsStream<TcpStream> {
    fn plain(&self) -> Option<&TcpStream> {
        None
    }
}

/// Why an exchange ended the connection.
enum Failure {
    /// Answer with this error page, then close.
    Answer(u16),
    /// Close without a word (the peer went away, or an answer was already under way).
    Quiet,
}

enum Attempt {
    /// The exchange finished; keep the client connection open?
    Done(bool),
    /// The member could not be reached: try another.
    Unreachable,
    /// A reused member connection died before answering: try a fresh one.
    Stale,
    Failed(Failure),
}

struct Session<S> {
    client: S,
    /// What the TLS connection says of its client (TERMINATED_HTTPS).
    tls: Option<Arc<TlsFacts>>,
    peer: SocketAddr,
    local: SocketAddr,
    cbuf: Buf,
    mbuf: Buf,
    /// The request head (and first body bytes) as the member gets it.
    request: Vec<u8>,
    /// The answer head (and first body bytes) as the client gets it.
    response: Vec<u8>,
    upstreams: Upstreams,
    /// The pool's session persistence for the exchange under way.
    persist: Option<Persist>,
    deadline: Deadline,
    /// Registered once per connection, not per request.
    draining: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<S: ClientStream> Session<S> {
    /// Serves requests until the connection ends; the error page to close with, if any.
    async fn run(&mut self, ctx: &Context) -> Option<u16> {
        loop {
            // Each request reads the newest snapshot, so applies reach kept-alive clients.
            let snapshot = ctx.snapshot.load_full();
            let request = match self.read_request(&snapshot).await {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(failure) => return answer(failure, &snapshot.stats),
            };
            match self.exchange(&snapshot, &request, ctx).await {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(failure) => return answer(failure, &snapshot.stats),
            }
        }
    }

    /// The next request head, rewritten into `self.request`; `None` when the client is done
    /// (closed, idle past its timeout, or the listener drains).
    async fn read_request(&mut self, snapshot: &Snapshot) -> Result<Option<h1::Request>, Failure> {
        let forwarded = snapshot.forwarded(self.peer, self.local, self.tls.as_deref());
        let timeout = ms(snapshot.config.timeout_client_data);
        // A head must be complete within the timeout as a whole, not per read: a client
        // trickling a header line every few seconds is cut off (`timeout http-request`).
        let mut head_started = (!self.cbuf.is_empty()).then(Instant::now);
        loop {
            if !self.cbuf.is_empty() {
                match h1::request(self.cbuf.bytes(), &forwarded, &mut self.request) {
                    Ok(Some(r)) => return Ok(Some(r)),
                    Ok(None) if self.cbuf.is_full() => return Err(Failure::Answer(400)),
                    Ok(None) => {}
                    Err(Invalid) => return Err(Failure::Answer(400)),
                }
            }
            let idle = self.cbuf.is_empty();
            let limit = match head_started {
                Some(t) if !idle => timeout.saturating_sub(t.elapsed()),
                _ => timeout,
            };
            let read = self
                .deadline
                .within(limit, self.cbuf.fill(&mut self.client));
            let read = if idle {
                tokio::select! {
                    biased;
                    r = read => r,
                    _ = self.draining.as_mut() => return Ok(None),
                }
            } else {
                read.await
            };
            match read {
                Some(Ok(0)) | Some(Err(_)) => return Ok(None),
                Some(Ok(n)) => {
                    head_started.get_or_insert_with(Instant::now);
                    count(&snapshot.stats.bytes_in, n)
                }
                None if idle => return Ok(None),
                None => return Err(Failure::Answer(408)),
            }
        }
    }

    /// Sends the request to a member, redispatching while none has been reached, and
    /// relays the answer. `Ok(keep)`: whether the client connection stays open.
    async fn exchange(
        &mut self,
        snapshot: &Snapshot,
        req: &h1::Request,
        ctx: &Context,
    ) -> Result<bool, Failure> {
        let pool = match route(
            snapshot,
            &self.cbuf.bytes()[..req.head_len],
            self.tls.as_deref(),
        ) {
            Route::Pool(pool) => pool,
            Route::Answer(code) => return Err(Failure::Answer(code)),
            Route::Redirect(answer) => {
                self.cbuf.consume(req.head_len);
                self.write_client(snapshot, &answer).await?;
                return Ok(false);
            }
        };
        self.persist = Persist::of(
            pool.sticky.as_ref(),
            self.peer,
            &self.cbuf.bytes()[..req.head_len],
        );
        if let Some(name) = self.persist.as_ref().and_then(Persist::indirect_cookie) {
            h1::strip_cookie(&mut self.request, name);
        }
        self.cbuf.consume(req.head_len);
        // The body bytes that came with the head travel with it.
        let mut body = Body::new(req.framing, false);
        let n = body
            .take(self.cbuf.bytes())
            .map_err(|_| Failure::Answer(400))?;
        self.request.extend_from_slice(&self.cbuf.bytes()[..n]);
        self.cbuf.consume(n);
        if req.expect_continue && !body.done() {
            self.write_client(snapshot, b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        let replayable = req.replayable();
        let key = pool.key(self.peer);
        let mut tried = [usize::MAX; CONNECT_ATTEMPTS];
        for attempt in 0..CONNECT_ATTEMPTS {
            let stuck = self.persist.as_ref().and_then(|p| p.stuck.as_deref());
            let Some(i) = pool.choose(key, stuck, &tried[..attempt]) else {
                break;
            };
            tried[attempt] = i;
            let backend = &pool.backends[i];
            if let Some(p) = &mut self.persist {
                p.member.clone_from(&backend.config.id);
            }
            let lease = Lease::new(&backend.state);
            let mut fresh = false;
            loop {
                match self
                    .attempt(snapshot, &pool, req, &mut body, backend, fresh, ctx)
                    .await
                {
                    Attempt::Done(keep) => {
                        drop(lease);
                        return Ok(keep);
                    }
                    Attempt::Stale if replayable && !fresh => fresh = true,
                    Attempt::Stale => return Err(Failure::Answer(502)),
                    Attempt::Unreachable => {
                        // Nothing of the body beyond `self.request` was read yet: the next
                        // member can have the request.
                        backend.state.connect_errors.fetch_add(1, Relaxed);
                        break;
                    }
                    Attempt::Failed(f) => return Err(f),
                }
            }
        }
        Err(Failure::Answer(503))
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &mut self,
        snapshot: &Snapshot,
        pool: &Pool,
        req: &h1::Request,
        body: &mut Body,
        backend: &Backend,
        fresh: bool,
        ctx: &Context,
    ) -> Attempt {
        let config = &snapshot.config;
        // Built only if a new connection is opened.
        let proxy = proxy_protocol::Version::for_pool(pool.config.protocol)
            .map(|version| (version, self.peer, self.local));
        let connect_timeout = ms(config.timeout_member_connect);
        let sni = self.tls.as_ref().and_then(|t| t.sni.as_deref());
        let tls = pool.tls.as_ref().map(|c| (c, sni));
        let Ok(mut up) = self
            .upstreams
            .take(backend, fresh, proxy, tls, connect_timeout)
            .await
        else {
            return Attempt::Unreachable;
        };
        let state = &*backend.state;
        let member_timeout = ms(config.timeout_member_data);
        let request = &self.request;
        let write = async {
            up.stream.write_all(request).await?;
            // TLS holds records back until flushed.
            up.stream.flush().await
        };
        let sent = self.deadline.within(member_timeout, write).await;
        if !matches!(sent, Some(Ok(()))) {
            return if up.reused {
                Attempt::Stale
            } else {
                Attempt::Unreachable
            };
        }
        count(&state.bytes_in, self.request.len());
        let mut early = false;
        if !body.done() {
            let counters = [&snapshot.stats.bytes_in, &state.bytes_in];
            let timeout = ms(config.timeout_client_data);
            let pumped = match &mut up.stream {
                MemberStream::Plain(stream) => {
                    let (mut from_member, mut to_member) = stream.split();
                    let mut peek = [0u8; 1];
                    tokio::select! {
                        r = pump(
                            &mut self.client,
                            &mut self.cbuf,
                            &mut to_member,
                            body,
                            (&mut self.deadline, timeout),
                            &counters,
                        ) => Some(r),
                        // A member may answer before the body is all there (413, 401…), or close.
                        _ = from_member.peek(&mut peek) => None,
                    }
                }
                // Through TLS an early answer cannot be peeked at: the body goes whole.
                tls => Some(
                    pump(
                        &mut self.client,
                        &mut self.cbuf,
                        tls,
                        body,
                        (&mut self.deadline, timeout),
                        &counters,
                    )
                    .await,
                ),
            };
            match pumped {
                Some(Ok(())) => {}
                Some(Err(PumpError::Source)) => return Attempt::Failed(Failure::Quiet),
                Some(Err(PumpError::Invalid)) => return Attempt::Failed(Failure::Answer(400)),
                // What the member said, if anything, is relayed; the rest of the body is not
                // read, so the client connection closes after it.
                Some(Err(PumpError::Destination)) | None => early = true,
            }
        }
        self.relay_answer(snapshot, req, up, state, early, ctx)
            .await
    }

    /// Reads the member's answer and relays it to the client.
    async fn relay_answer(
        &mut self,
        snapshot: &Snapshot,
        req: &h1::Request,
        mut up: Upstream,
        state: &MemberState,
        early: bool,
        ctx: &Context,
    ) -> Attempt {
        let config = &snapshot.config;
        let member_timeout = ms(config.timeout_member_data);
        self.mbuf.clear();
        let mut answered = false;
        let resp = loop {
            if !self.mbuf.is_empty() {
                let closing = early || ctx.stop_accepting.is_cancelled();
                match h1::response(self.mbuf.bytes(), req, closing, &mut self.response) {
                    Ok(Some(r)) if (100..200).contains(&r.code) && r.code != 101 => {
                        // Interim answers (103 Early Hints…) pass through as they are, except
                        // to HTTP/1.0 clients, which must get none (RFC 9110 §15.2).
                        self.mbuf.consume(r.head_len);
                        let head = std::mem::take(&mut self.response);
                        let written = match req.http10 {
                            true => Ok(()),
                            false => self.write_client(snapshot, &head).await,
                        };
                        self.response = head;
                        if written.is_err() {
                            return Attempt::Failed(Failure::Quiet);
                        }
                        answered = true;
                        continue;
                    }
                    Ok(Some(r)) => break r,
                    Ok(None) if self.mbuf.is_full() => {
                        return Attempt::Failed(Failure::Answer(502))
                    }
                    Ok(None) => {}
                    Err(Invalid) => return Attempt::Failed(Failure::Answer(502)),
                }
            }
            let read = self
                .deadline
                .within(member_timeout, self.mbuf.fill(&mut up.stream));
            match read.await {
                None if answered => return Attempt::Failed(Failure::Quiet),
                None => return Attempt::Failed(Failure::Answer(504)),
                Some(Ok(n)) if n > 0 => count(&state.bytes_out, n),
                Some(_) if up.reused && self.mbuf.is_empty() && !answered => return Attempt::Stale,
                Some(_) => return Attempt::Failed(Failure::Answer(502)),
            }
        };
        self.mbuf.consume(resp.head_len);
        if let Some(p) = &self.persist {
            p.answered(&mut self.response);
        }
        if let Some(hsts) = snapshot.hsts() {
            h1::set_header(&mut self.response, "strict-transport-security", &hsts);
        }
        if resp.code == 101 {
            if !req.upgrade {
                return Attempt::Failed(Failure::Answer(502));
            }
            return self.switch_protocols(snapshot, up, state).await;
        }
        let mut body = Body::new(resp.framing, resp.dechunk);
        let Ok(n) = body.take(self.mbuf.bytes()) else {
            return Attempt::Failed(Failure::Quiet);
        };
        if resp.dechunk {
            self.response.append(&mut body.dechunked);
        } else {
            self.response.extend_from_slice(&self.mbuf.bytes()[..n]);
        }
        self.mbuf.consume(n);
        let head = std::mem::take(&mut self.response);
        let written = self.write_client(snapshot, &head).await;
        self.response = head;
        if written.is_err() {
            return Attempt::Failed(Failure::Quiet);
        }
        if !body.done() {
            let counters = [&snapshot.stats.bytes_out, &state.bytes_out];
            let timeout = member_timeout;
            let pumped = pump(
                &mut up.stream,
                &mut self.mbuf,
                &mut self.client,
                &mut body,
                (&mut self.deadline, timeout),
                &counters,
            )
            .await;
            if pumped.is_err() {
                return Attempt::Failed(Failure::Quiet);
            }
        }
        if resp.reusable && self.mbuf.is_empty() && !early {
            self.upstreams.keep(up);
        }
        Attempt::Done(resp.keep_client)
    }

    /// After a `101 Switching Protocols`: the two connections become one spliced relay.
    async fn switch_protocols(
        &mut self,
        snapshot: &Snapshot,
        mut up: Upstream,
        state: &MemberState,
    ) -> Attempt {
        self.response.extend_from_slice(self.mbuf.bytes());
        self.mbuf.clear();
        let head = std::mem::take(&mut self.response);
        let written = self.write_client(snapshot, &head).await;
        self.response = head;
        let member_timeout = ms(snapshot.config.timeout_member_data);
        let early = self
            .deadline
            .within(member_timeout, up.stream.write_all(self.cbuf.bytes()))
            .await;
        if written.is_err() || !matches!(early, Some(Ok(()))) {
            return Attempt::Failed(Failure::Quiet);
        }
        self.cbuf.clear();
        let stats = &snapshot.stats;
        match (self.client.plain(), &up.stream) {
            (Some(client), MemberStream::Plain(member)) => {
                let _ = relay::relay(
                    client,
                    member,
                    ms(snapshot.config.timeout_client_data),
                    ms(snapshot.config.timeout_member_data),
                    Counters {
                        inbound: &[&stats.bytes_in, &state.bytes_in],
                        outbound: &[&stats.bytes_out, &state.bytes_out],
                    },
                )
                .await;
            }
            _ => {
                // Through TLS: copied, not spliced; counted when the tunnel closes.
                if let Ok((to_member, to_client)) =
                    tokio::io::copy_bidirectional(&mut self.client, &mut up.stream).await
                {
                    count(&stats.bytes_in, to_member as usize);
                    count(&state.bytes_in, to_member as usize);
                    count(&stats.bytes_out, to_client as usize);
                    count(&state.bytes_out, to_client as usize);
                }
            }
        }
        Attempt::Done(false)
    }

    async fn write_client(&mut self, snapshot: &Snapshot, bytes: &[u8]) -> Result<(), Failure> {
        let timeout = ms(snapshot.config.timeout_client_data);
        match self
            .deadline
            .within(timeout, self.client.write_all(bytes))
            .await
        {
            Some(Ok(())) => {
                count(&snapshot.stats.bytes_out, bytes.len());
                Ok(())
            }
            _ => Err(Failure::Quiet),
        }
    }
}

fn answer(failure: Failure, stats: &ListenerStats) -> Option<u16> {
    match failure {
        Failure::Answer(code) => {
            if code == 400 || code == 408 {
                stats.request_errors.fetch_add(1, Relaxed);
            }
            Some(code)
        }
        Failure::Quiet => None,
    }
}

fn count(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Relaxed);
}

/// One message body on its way: what is left of it, by its framing.
struct Body {
    framing: Framing,
    left: u64,
    chunks: Chunks,
    dechunk: bool,
    /// The payload of chunks taken, when their framing is stripped.
    dechunked: Vec<u8>,
}

impl Body {
    fn new(framing: Framing, dechunk: bool) -> Body {
        let left = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        Body {
            framing,
            left,
            chunks: Chunks::default(),
            dechunk,
            dechunked: Vec::new(),
        }
    }

    fn done(&self) -> bool {
        match self.framing {
            Framing::Empty => true,
            Framing::Length(_) => self.left == 0,
            Framing::Chunked => self.chunks.done(),
            Framing::Close => false,
        }
    }

    /// How many bytes at the start of `buf` belong to the body. When chunk framing is
    /// stripped, the payload goes to `self.dechunked` too.
    fn take(&mut self, buf: &[u8]) -> Result<usize, Invalid> {
        let n = match self.framing {
            Framing::Empty => 0,
            Framing::Length(_) => {
                let n = self.left.min(buf.len() as u64);
                self.left -= n;
                n as usize
            }
            Framing::Chunked if self.dechunk => self.chunks.scan(buf, Some(&mut self.dechunked))?,
            Framing::Chunked => self.chunks.scan(buf, None)?,
            Framing::Close => buf.len(),
        };
        Ok(n)
    }
}

enum PumpError {
    Source,
    Destination,
    Invalid,
}

/// Moves the rest of `body` from `src` to `dst`, read by read, each wait bounded by `idle`.
async fn pump<W: AsyncWrite + Unpin>(
    src: &mut (impl AsyncRead + Unpin),
    buf: &mut Buf,
    dst: &mut W,
    body: &mut Body,
    (deadline, idle): (&mut Deadline, Duration),
    counters: &[&AtomicU64; 2],
) -> Result<(), PumpError> {
    while !body.done() {
        if buf.is_empty() {
            match deadline.within(idle, buf.fill(src)).await {
                Some(Ok(0)) if body.framing == Framing::Close => return Ok(()),
                Some(Ok(n)) if n > 0 => count(counters[0], n),
                _ => return Err(PumpError::Source),
            }
        }
        body.dechunked.clear();
        let n = body.take(buf.bytes()).map_err(|_| PumpError::Invalid)?;
        let out = if body.dechunk {
            &body.dechunked[..]
        } else {
            &buf.bytes()[..n]
        };
        if !matches!(
            deadline.within(idle, dst.write_all(out)).await,
            Some(Ok(()))
        ) {
            return Err(PumpError::Destination);
        }
        count(counters[1], out.len());
        buf.consume(n);
    }
    Ok(())
}

/// One timer per client connection, pushed forward before each wait: tokio extends a
/// registered timer without taking the timer wheel's lock, where a new `timeout` per read
/// would register and cancel an entry each time.
struct Deadline(Pin<Box<Sleep>>);

impl Deadline {
    fn new() -> Deadline {
        Deadline(Box::pin(tokio::time::sleep(Duration::from_secs(3600))))
    }

    /// `work`'s output, or `None` when it took longer than `limit`.
    async fn within<F: Future>(&mut self, limit: Duration, work: F) -> Option<F::Output> {
        self.0.as_mut().reset(Instant::now() + limit);
        tokio::select! {
            biased;
            output = work => Some(output),
            _ = self.0.as_mut() => None,
        }
    }
}

/// HAProxy's built-in error answer for `code`, which closes the connection.
pub fn error_page(code: u16) -> Vec<u8> {
    let (reason, message) = match code {
        400 => ("Bad Request", "Your browser sent an invalid request."),
        403 => ("Forbidden", "Request forbidden by administrative rules."),
        408 => (
            "Request Time-out",
            "Your browser didn't send a complete request in time.",
        ),
        502 => (
            "Bad Gateway",
            "The server returned an invalid or incomplete response.",
        ),
        504 => ("Gateway Time-out", "The server didn't respond in time."),
        _ => (
            "Service Unavailable",
            "No server is available to handle this request.",
        ),
    };
    let body = format!("<html><body><h1>{code} {reason}</h1>\n{message}\n</body></html>\n");
    format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-length: {}\r\ncache-control: no-cache\r\n\
         content-type: text/html\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes the error page and closes, reading what the client already sent first, so that
/// closing does not reset the answer away.
async fn close_with(mut stream: impl AsyncRead + AsyncWrite + Unpin, code: u16) {
    // A client that reads nothing must not hold the task forever.
    let page = error_page(code);
    let write = stream.write_all(&page);
    if !matches!(
        tokio::time::timeout(Duration::from_secs(1), write).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
}
