//! Health monitors with Octavia's semantics: one task per monitored member probes every
//! `delay` seconds, a probe slower than `timeout` fails, and the member's health counter
//! (rise = `max_retries`, fall = `max_retries_down`) decides UP/DOWN. Checks write only the
//! member's atomic state; nothing is rebuilt when a member flaps.

use crate::member::MemberState;
use model::{MonitorConfig, MonitorType};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// A running checker; dropping it stops the checks.
pub struct Checker {
    pub monitor: MonitorConfig,
    pub target: SocketAddr,
    /// The pool's TLS settings when its checks go over TLS.
    pub tls: Option<model::PoolTls>,
    task: JoinHandle<()>,
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Checker {
    /// `tls`: an HTTPS pool's settings and client configuration; its checks then go over
    /// TLS with them (a member whose certificate does not verify is DOWN).
    pub fn spawn(
        monitor: MonitorConfig,
        target: SocketAddr,
        state: Arc<MemberState>,
        tls: Option<(Option<model::PoolTls>, Arc<rustls::ClientConfig>)>,
    ) -> Checker {
        let (settings, client) = match tls {
            Some((settings, client)) => (settings, Some(client)),
            None => (None, None),
        };
        let task = tokio::spawn(run(monitor.clone(), target, state, client));
        Checker {
            monitor,
            target,
            tls: settings,
            task,
        }
    }
}

async fn run(
    monitor: MonitorConfig,
    target: SocketAddr,
    state: Arc<MemberState>,
    tls: Option<Arc<rustls::ClientConfig>>,
) {
    let delay = Duration::from_secs(monitor.delay.max(1));
    let timeout = Duration::from_secs(monitor.timeout.max(1));
    // HAProxy spreads first checks over the interval so members are not probed in step.
    let spread = (crate::balancer::fnv1a(&target.to_string()) % 1000) as u32;
    tokio::time::sleep(delay * spread / 4000).await;
    let mut ticker = tokio::time::interval(delay);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let ok = tokio::time::timeout(timeout, probe(&monitor, target, tls.as_ref()))
            .await
            .unwrap_or(false);
        state.record_check(ok);
    }
}

async fn probe(
    monitor: &MonitorConfig,
    target: SocketAddr,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> bool {
    if let Some(config) = tls {
        if matches!(
            monitor.kind,
            MonitorType::Http | MonitorType::Https | MonitorType::Tcp | MonitorType::TlsHello
        ) {
            let Ok(stream) = TcpStream::connect(target).await else {
                return false;
            };
            let name = rustls::pki_types::ServerName::IpAddress(target.ip().into());
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let Ok(tls) = connector.connect(name, stream).await else {
                return false;
            };
            return match monitor.kind {
                MonitorType::Http | MonitorType::Https => http(monitor, target, tls).await,
                _ => true,
            };
        }
    }
    match monitor.kind {
        MonitorType::Http => match TcpStream::connect(target).await {
            Ok(stream) => http(monitor, target, stream).await,
            Err(_) => false,
        },
        MonitorType::Https => match TcpStream::connect(target).await {
            Ok(stream) => match crate::tls::connect_unverified(stream, target).await {
                Ok(tls) => http(monitor, target, tls).await,
                Err(_) => false,
            },
            Err(_) => false,
        },
        MonitorType::UdpConnect => udp_connect(target).await,
        MonitorType::Ping => crate::ping::echo(target.ip()).await,
        // TLS-HELLO as Octavia's HAProxy template renders it: a connect check. SCTP monitors
        // never get here: the engine refuses them.
        MonitorType::Tcp | MonitorType::TlsHello | MonitorType::Sctp => {
            TcpStream::connect(target).await.is_ok()
        }
    }
}

/// `option httpchk <method> <url_path> HTTP/<version>` with `http-check expect rstatus`,
/// over TCP or TLS.
async fn http<S: AsyncRead + AsyncWrite + Unpin>(
    monitor: &MonitorConfig,
    target: SocketAddr,
    mut stream: S,
) -> bool {
    let method = monitor.http_method.as_deref().unwrap_or("GET");
    let path = monitor.url_path.as_deref().unwrap_or("/");
    let version = monitor.http_version.as_deref().unwrap_or("1.0");
    let mut request = format!("{method} {path} HTTP/{version}\r\n");
    if let Some(host) = &monitor.domain_name {
        request.push_str(&format!("Host: {host}\r\n"));
    } else if version == "1.1" {
        request.push_str(&format!("Host: {}\r\n", target.ip()));
    }
    request.push_str("Connection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 32];
    let mut got = 0;
    while got < 12 {
        match stream.read(&mut head[got..]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    let line = String::from_utf8_lossy(&head[..got]);
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) => expected(monitor.expected_codes.as_deref().unwrap_or("200"), code),
        None => false,
    }
}

/// Octavia's `expected_codes`: "200", "200,202" or "200-204".
pub fn expected(codes: &str, code: u16) -> bool {
    codes
        .split(',')
        .any(|part| match part.trim().split_once('-') {
            Some((lo, hi)) => match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
                (Ok(lo), Ok(hi)) => (lo..=hi).contains(&code),
                _ => false,
            },
            None => part.trim().parse::<u16>() == Ok(code),
        })
}

/// As `nc -uz`: a datagram answered by ICMP port-unreachable fails; silence or an answer
/// within the timeout passes (the timeout is the caller's).
async fn udp_connect(target: SocketAddr) -> bool {
    let local: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(socket) = UdpSocket::bind(local).await else {
        return false;
    };
    if socket.connect(target).await.is_err() || socket.send(b"X").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf)).await {
        Ok(Ok(_)) | Err(_) => true,
        Ok(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn expected_codes_forms() {
        assert!(super::expected("200", 200));
        assert!(!super::expected("200", 201));
        assert!(super::expected("200,202", 202));
        assert!(super::expected("200-204", 203));
        assert!(!super::expected("200-204", 205));
    }
}
