//! UDP listeners: a flow per client address (LVS-style), each with its own connected socket
//! to the member chosen when the flow began, so answers go back to the right client. A flow
//! ends after `timeout_client_data` without traffic.

use super::{ms, Context};
use crate::member::Lease;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    super::free_bind(&socket, addr)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

type Flows = Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>>;

pub async fn serve(socket: UdpSocket, ctx: Context) {
    let socket = Arc::new(socket);
    let flows: Flows = Default::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let received = tokio::select! {
            _ = ctx.stop_accepting.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let Ok((n, client)) = received else { continue };
        let snapshot = ctx.snapshot.load_full();
        if !snapshot.allows(client.ip()) {
            continue;
        }
        snapshot.stats.bytes_in.fetch_add(n as u64, Relaxed);
        let existing = flows.lock().ok().and_then(|f| f.get(&client).cloned());
        let upstream = match existing {
            Some(upstream) => upstream,
            None => {
                if snapshot.full() {
                    continue;
                }
                let Some(pool) = snapshot.pool.clone() else {
                    continue;
                };
                let stick = pool.source_key(client.ip());
                let stuck = stick
                    .as_ref()
                    .zip(pool.sticky.as_ref())
                    .and_then(|(k, s)| s.lookup(k));
                let Some(i) = pool.choose(pool.key(client), stuck.as_deref(), &[]) else {
                    continue;
                };
                let backend = &pool.backends[i];
                if let (Some(k), Some(s)) = (&stick, &pool.sticky) {
                    s.store(k, &backend.config.id);
                }
                let local: SocketAddr = if backend.addr.is_ipv4() {
                    "0.0.0.0:0".parse().unwrap_or(backend.addr)
                } else {
                    "[::]:0".parse().unwrap_or(backend.addr)
                };
                let Ok(upstream) = UdpSocket::bind(local).await else {
                    continue;
                };
                if upstream.connect(backend.addr).await.is_err() {
                    continue;
                }
                let upstream = Arc::new(upstream);
                if let Ok(mut f) = flows.lock() {
                    f.insert(client, upstream.clone());
                }
                let flow = Flow {
                    client,
                    upstream: upstream.clone(),
                    listener: socket.clone(),
                    flows: flows.clone(),
                    lease: Lease::new(&backend.state),
                    idle: ms(snapshot.config.timeout_client_data),
                    stats: snapshot.stats.clone(),
                };
                let stop = ctx.stop_all.clone();
                ctx.tracker.spawn(async move {
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = flow.answer() => {}
                    }
                });
                upstream
            }
        };
        let _ = upstream.send(&buf[..n]).await;
    }
}

struct Flow {
    client: SocketAddr,
    upstream: Arc<UdpSocket>,
    listener: Arc<UdpSocket>,
    flows: Flows,
    lease: Lease,
    idle: std::time::Duration,
    stats: Arc<crate::stats::ListenerStats>,
}

impl Flow {
    /// Relays the member's answers to the client until the flow goes idle.
    async fn answer(self) {
        let _open = crate::stats::Open::new(&self.stats);
        let mut buf = vec![0u8; 65536];
        while let Ok(Ok(n)) = tokio::time::timeout(self.idle, self.upstream.recv(&mut buf)).await {
            self.stats.bytes_out.fetch_add(n as u64, Relaxed);
            self.lease.state().bytes_out.fetch_add(n as u64, Relaxed);
            let _ = self.listener.send_to(&buf[..n], self.client).await;
        }
        if let Ok(mut f) = self.flows.lock() {
            f.remove(&self.client);
        }
    }
}
