//! TCP listeners (and the socket setup HTTP listeners share): each accepted connection gets a
//! member, the PROXY header when the pool asks for one, then a spliced relay.

use super::{ms, Context, Snapshot};
use crate::member::Lease;
use crate::relay::{self, Counters};
use crate::stats::Open;
use crate::{proxy_protocol, Pool};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// HAProxy's `retries 3` with `option redispatch`: up to four members are tried.
pub const CONNECT_ATTEMPTS: usize = 4;

pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    super::free_bind(&socket, addr)?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    TcpListener::from_std(socket.into())
}

/// Accepts until told to stop; refuses what the snapshot says to refuse.
pub async fn accept_loop<F, Fut>(listener: TcpListener, ctx: Context, handle: F)
where
    F: Fn(TcpStream, SocketAddr, Arc<Snapshot>, Context) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            _ = ctx.stop_accepting.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, client)) = accepted else {
            // EMFILE and friends: back off briefly rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let snapshot = ctx.snapshot.load_full();
        if !snapshot.allows(client.ip()) {
            reset(&stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let task = handle(stream, client, snapshot, ctx.clone());
        ctx.tracker.spawn(task);
    }
}

/// Closes with a reset, so the client sees a refusal rather than an empty answer.
pub fn reset(stream: &TcpStream) {
    let _ = SockRef::from(stream).set_linger(Some(std::time::Duration::ZERO));
}

pub async fn serve(listener: TcpListener, ctx: Context) {
    accept_loop(listener, ctx, |stream, client, snapshot, ctx| async move {
        // TCP listeners refuse connections over connection_limit with a reset (HAProxy
        // would leave them in the backlog; a refusal tells the client at once).
        if snapshot.full() {
            reset(&stream);
            return;
        }
        let _open = Open::new(&snapshot.stats);
        tokio::select! {
            _ = ctx.stop_all.cancelled() => {}
            _ = proxy(stream, client, &snapshot) => {}
        }
    })
    .await
}

async fn proxy(client_stream: TcpStream, client: SocketAddr, snapshot: &Snapshot) {
    let Some(pool) = &snapshot.pool else { return };
    let Some((member, lease)) =
        connect(pool, client, ms(snapshot.config.timeout_member_connect)).await
    else {
        return;
    };
    let local = client_stream.local_addr().unwrap_or(client);
    let header = proxy_protocol::Version::for_pool(pool.config.protocol)
        .map(|version| version.header(client, local));
    let mut member = member;
    if let Some(header) = header {
        if member.write_all(&header).await.is_err() {
            return;
        }
    }
    let stats = &snapshot.stats;
    let m = lease.state();
    let _ = relay::relay(
        &client_stream,
        &member,
        ms(snapshot.config.timeout_client_data),
        ms(snapshot.config.timeout_member_data),
        Counters {
            inbound: &[&stats.bytes_in, &m.bytes_in],
            outbound: &[&stats.bytes_out, &m.bytes_out],
        },
    )
    .await;
}

/// Connects to a member, trying others when one refuses or times out.
pub async fn connect(
    pool: &Pool,
    client: SocketAddr,
    timeout: std::time::Duration,
) -> Option<(TcpStream, Lease)> {
    let key = pool.key(client);
    let stick = pool.source_key(client.ip());
    let stuck = stick
        .as_ref()
        .zip(pool.sticky.as_ref())
        .and_then(|(k, s)| s.lookup(k));
    let mut tried = Vec::new();
    while tried.len() < CONNECT_ATTEMPTS {
        let i = pool.choose(key, stuck.as_deref(), &tried)?;
        tried.push(i);
        let backend = &pool.backends[i];
        let lease = Lease::new(&backend.state);
        match tokio::time::timeout(timeout, TcpStream::connect(backend.addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                if let (Some(k), Some(s)) = (&stick, &pool.sticky) {
                    s.store(k, &backend.config.id);
                }
                return Some((stream, lease));
            }
            _ => {
                backend
                    .state
                    .connect_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    None
}
