//! Connections to members for HTTP listeners, as HAProxy's `http-reuse safe`: a client
//! connection keeps the member connections it has used (reused without a lock), and hands
//! them to the member's idle list when it ends, where the next client's first request finds
//! them. A connection that carried a PROXY header speaks for its client: it is never shared.

use crate::member::MemberState;
use crate::pool::Backend;
use crate::proxy_protocol;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Idle connections kept per member for other clients.
const IDLE_PER_MEMBER: usize = 256;

pub struct Upstream {
    pub stream: TcpStream,
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
    pub async fn take(
        &mut self,
        backend: &Backend,
        fresh: bool,
        proxy: Option<(proxy_protocol::Version, SocketAddr, SocketAddr)>,
        connect_timeout: Duration,
    ) -> io::Result<Upstream> {
        if !fresh {
            let same =
                |u: &Upstream| u.addr == backend.addr && Arc::ptr_eq(&u.state, &backend.state);
            if let Some(i) = self.held.iter().position(same) {
                let mut up = self.held.swap_remove(i);
                if open(&up.stream) {
                    up.reused = true;
                    return Ok(up);
                }
            }
            if proxy.is_none() {
                if let Some(stream) = idle_connection(&backend.state) {
                    return Ok(Upstream {
                        stream,
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
            Ok::<_, io::Error>(stream)
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
    if up.private {
        return;
    }
    if let Ok(mut idle) = up.state.idle.lock() {
        if idle.len() < IDLE_PER_MEMBER {
            idle.push(up.stream);
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
