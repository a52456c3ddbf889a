//! Full TLS handshakes for `ostia bench engine`. wrk resumes sessions, so its "new connection"
//! figures are mostly abbreviated handshakes; this client never resumes (no session cache, no
//! tickets), so every connection costs the proxy a full handshake: key exchange (X25519 only,
//! which both proxies support, so neither is handed a costlier group) and a signature with the
//! certificate's key. Each connection sends one request and reads the answer to the close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What one run measured.
pub struct Handshakes {
    pub completed: u64,
    pub errors: u64,
    /// Per connection, connect to answer, sorted.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

fn client_config() -> anyhow::Result<rustls::ClientConfig> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(engine::testing::any_certificate())
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `connections` clients, each opening one TLS connection after another to `addr` for
/// `seconds`.
pub async fn run(
    addr: SocketAddr,
    server_name: &'static str,
    seconds: u64,
    connections: usize,
) -> anyhow::Result<Handshakes> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config()?));
    let name = rustls::pki_types::ServerName::try_from(server_name)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let request = format!("GET / HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (connector, name, request) = (connector.clone(), name.clone(), request.clone());
        tasks.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let began = Instant::now();
                let one = async {
                    let tcp = tokio::net::TcpStream::connect(addr).await?;
                    tcp.set_nodelay(true)?;
                    let mut tls = connector.connect(name.clone(), tcp).await?;
                    tls.write_all(request.as_bytes()).await?;
                    let mut answer = Vec::with_capacity(512);
                    // A proxy may close without close_notify; the answer is what counts.
                    let _ = tls.read_to_end(&mut answer).await;
                    Ok::<bool, std::io::Error>(answer.starts_with(b"HTTP/1.1 200"))
                };
                match tokio::time::timeout(Duration::from_secs(5), one).await {
                    Ok(Ok(true)) => latencies.push(began.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let mut all = Handshakes {
        completed: 0,
        errors: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, errors) = done?;
        all.errors += errors;
        all.latencies.extend(latencies);
    }
    all.elapsed = start.elapsed();
    all.completed = all.latencies.len() as u64;
    all.latencies.sort();
    Ok(all)
}
