//! Connections to members for HTTP listeners, as HAProxy's `http-reuse safe`: a client
//! connection keeps the member connections it has used (reused without a lock), and hands
//! them to the member's idle list when it ends, where the next client's first request finds
//! them. A connection that carried a PROXY header speaks for its client: it is never shared.

use crate::balancer::Backend;
use crate::member::MemberState;
use crate::proxy_protocol;
use rustls::pki_types::ServerName;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Idle connections kept per member for other clients.
const IDLE_PER_MEMBER: usize = 256;

/// A connection to a member: plain, or TLS for an HTTPS pool.
pub enum MemberStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for MemberStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MemberStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MemberStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MemberStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MemberStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MemberStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MemberStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MemberStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MemberStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MemberStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl MemberStream {
    /// Still open, as far as can be told without reading: a plain connection with nothing
    /// to read; a TLS one is assumed open (a dead one fails its first write or read, and a
    /// reused connection that fails is retried on a fresh one).
    fn open(&self) -> bool {
        match self {
            MemberStream::Plain(s) => open(s),
            MemberStream::Tls(_) => true,
        }
    }
}

pub struct Upstream {
    pub stream: MemberStream,
    /// It carried a request before: if it fails before answering, a fresh one may be tried.
    pub reused: bool,
    addr: SocketAddr,
    state: Arc<MemberState>,
    private: bool,
}

/// The member connections one client connection holds.
#[derive(Default)]
pub struct Upstreams {
    held: Vec<Upstream>,
}

impl Upstreams {
    /// A connection to `backend`: one this client used before, an idle one, or a new one
    /// (`fresh` asks for a new one). A kept connection with anything to read (the member
    /// closed it, or sent bytes no request asked for) is not used. With `proxy` (version,
    /// client, VIP), a new connection first carries a PROXY header.
    /// With `tls` (the pool's client configuration and the name to send, if any), a new
    /// connection speaks TLS.
    pub async fn take(
        &mut self,
        backend: &Backend,
        fresh: bool,
        proxy: Option<(proxy_protocol::Version, SocketAddr, SocketAddr)>,
        tls: Option<(&Arc<rustls::ClientConfig>, Option<&str>)>,
        connect_timeout: Duration,
    ) -> io::Result<Upstream> {
        if !fresh {
            let same =
                |u: &Upstream| u.addr == backend.addr && Arc::ptr_eq(&u.state, &backend.state);
            if let Some(i) = self.held.iter().position(same) {
                let mut up = self.held.swap_remove(i);
                if up.stream.open() {
                    up.reused = true;
                    return Ok(up);
                }
            }
            if proxy.is_none() && tls.is_none() {
                if let Some(stream) = idle_connection(&backend.state) {
                    return Ok(Upstream {
                        stream: MemberStream::Plain(stream),
                        reused: true,
                        addr: backend.addr,
                        state: backend.state.clone(),
                        private: false,
                    });
                }
            }
        }
        let private = proxy.is_some();
        let connect = async {
            let mut stream = TcpStream::connect(backend.addr).await?;
            let _ = stream.set_nodelay(true);
            if let Some((version, client, local)) = proxy {
                stream.write_all(&version.header(client, local)).await?;
            }
            let Some((config, sni)) = tls else {
                return Ok::<_, io::Error>(MemberStream::Plain(stream));
            };
            // `sni ssl_fc_sni`: the name the client asked the listener for; else none.
            let name = match sni.and_then(|n| ServerName::try_from(n.to_string()).ok()) {
                Some(name) => name,
                None => ServerName::IpAddress(backend.addr.ip().into()),
            };
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let stream = connector.connect(name, stream).await?;
            Ok(MemberStream::Tls(Box::new(stream)))
        };
        let stream = tokio::time::timeout(connect_timeout, connect)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        Ok(Upstream {
            stream,
            reused: false,
            addr: backend.addr,
            state: backend.state.clone(),
            private,
        })
    }

    /// Keeps a connection that finished an exchange cleanly, for this client's next request.
    pub fn keep(&mut self, up: Upstream) {
        // A client spreading requests over many members keeps a few; the rest go idle.
        if self.held.len() >= 8 {
            let oldest = self.held.remove(0);
            release(oldest);
        }
        self.held.push(up);
    }
}

impl Drop for Upstreams {
    fn drop(&mut self) {
        for up in self.held.drain(..) {
            release(up);
        }
    }
}

fn release(up: Upstream) {
    // Only plain connections are shared: a TLS one stays with the client that made it.
    let MemberStream::Plain(stream) = up.stream else {
        return;
    };
    if up.private {
        return;
    }
    if let Ok(mut idle) = up.state.idle.lock() {
        if idle.len() < IDLE_PER_MEMBER {
            idle.push(stream);
        }
    }
}

/// An idle connection the member has not closed meanwhile.
fn idle_connection(state: &MemberState) -> Option<TcpStream> {
    loop {
        let stream = state.idle.lock().ok()?.pop()?;
        if open(&stream) {
            return Some(stream);
        }
    }
}

/// An idle HTTP connection with nothing to read is still open. No syscall unless the socket
/// was seen readable, which for an idle connection means closed (or garbage).
fn open(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}
