//! Shared pieces of the engine tests: configs, a raw HTTP client, status polling.

#![allow(dead_code)]

use engine::Engine;
use model::{AmphoraConfig, ListenerConfig, MemberConfig, PoolConfig};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn any(ip_s: &str) -> SocketAddr {
    SocketAddr::new(ip(ip_s), 0)
}

pub fn member(id: &str, addr: SocketAddr) -> MemberConfig {
    MemberConfig::new(id, addr.ip(), addr.port())
}

/// One listener on `vip:port` with one pool.
pub fn config(vip: &str, listener: ListenerConfig, pool: PoolConfig) -> AmphoraConfig {
    AmphoraConfig {
        lb_id: "lb".into(),
        generation: 1,
        vips: vec![ip(vip)],
        listeners: vec![listener],
        pools: vec![pool],
        plumbing: None,
        vrrp: None,
        engine: Default::default(),
    }
}

/// An engine serving `config`.
pub async fn start(config: AmphoraConfig) -> Engine {
    let engine = Engine::default();
    engine
        .apply(config)
        .await
        .expect("the configuration applies");
    engine
}

pub fn pool(protocol: &str, algorithm: &str, members: Vec<MemberConfig>) -> PoolConfig {
    let mut p = PoolConfig::new(
        "pool",
        protocol.parse().unwrap(),
        algorithm.parse().unwrap(),
    );
    p.members = members;
    p
}

pub fn listener(protocol: &str, port: u16) -> ListenerConfig {
    ListenerConfig::new("listener", protocol.parse().unwrap(), port, Some("pool"))
}

/// GET over a fresh connection from `from` (any port); (status, body).
pub async fn get_from(from: &str, to: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(any(from))?;
    let mut stream = socket.connect(to).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("read timed out"))??;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

pub async fn get(to: SocketAddr, path: &str) -> (u16, String) {
    get_from("127.0.0.1", to, path).await.expect("request")
}

/// The greeting a TCP backend sends through a TCP listener, from a client bound to `from`.
pub async fn tcp_hello(from: &str, to: SocketAddr) -> std::io::Result<String> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(any(from))?;
    let mut stream = socket.connect(to).await?;
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("no greeting"))??;
    Ok(String::from_utf8_lossy(&buf[..n]).to_string())
}

/// Polls the engine until `f` holds for the status of `member` (bounded: 20 s).
pub async fn wait_member(
    engine: &Engine,
    member: &str,
    f: impl Fn(&engine::MemberStatus) -> bool,
) -> engine::MemberStatus {
    for _ in 0..400 {
        let status = engine.status().await;
        if let Some(m) = status
            .pools
            .iter()
            .flat_map(|p| &p.members)
            .find(|m| m.id == member)
        {
            if f(m) {
                return m.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("member {member} never reached the expected state");
}

pub async fn connect(to: SocketAddr) -> TcpStream {
    TcpStream::connect(to).await.expect("connect")
}
