//! The agent over real mutual TLS on loopback: the controller's client applies a config and
//! traffic flows; clients without the CA's certificate are refused; heartbeats arrive signed.

use amphora::agent::{AgentConfig, AgentFiles};
use amphora::client::{AgentClient, AgentError};
use amphora::heartbeat::Codec;
use amphora::pki::Authority;
use amphora::HeartbeatSettings;
use engine::testing::Backend;
use model::{
    AmphoraConfig, LbAlgorithm, ListenerConfig, ListenerProtocol, MemberConfig, PoolConfig,
    PoolProtocol,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Setup {
    _dir: tempfile::TempDir,
    authority: Authority,
    addr: SocketAddr,
    id: String,
    heartbeats: tokio::net::UdpSocket,
    /// A second health manager: amphorae report to the list in turn.
    second: tokio::net::UdpSocket,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_agent() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::load_or_create(&dir.path().join("pki")).unwrap();
    let id = "6a1f4c9e-2b7d-4e0a-9c3b-1d2e3f4a5b6c".to_string();
    let heartbeats = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let second = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let files = AgentFiles::new(&dir.path().join("amp"));
    let config = AgentConfig {
        amphora_id: id.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        heartbeat: HeartbeatSettings {
            targets: vec![
                heartbeats.local_addr().unwrap(),
                second.local_addr().unwrap(),
            ],
            interval_ms: 100,
            key: "secret".into(),
        },
        drain_timeout_ms: 1000,
        host_addresses: amphora::Management::Off,
        netns: None,
    };
    files
        .write(
            &config,
            authority.ca_pem(),
            &authority.issue(&id, true).unwrap(),
        )
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let prepared = amphora::agent::prepare(&files.dir).unwrap();
    let server = tokio::spawn(async move {
        amphora::agent::run(
            prepared,
            |addr| {
                let _ = tx.send(addr);
            },
            std::future::pending(),
        )
        .await
    });
    let addr = rx.await.unwrap();
    Setup {
        _dir: dir,
        authority,
        addr,
        id,
        heartbeats,
        second,
        _server: server,
    }
}

fn config(generation: u64, vip: &str, member: SocketAddr) -> AmphoraConfig {
    let mut pool = PoolConfig::new("pool", PoolProtocol::Http, LbAlgorithm::RoundRobin);
    pool.members
        .push(MemberConfig::new("m1", member.ip(), member.port()));
    AmphoraConfig {
        lb_id: "lb".into(),
        generation,
        vips: vec![vip.parse().unwrap()],
        listeners: vec![ListenerConfig::new(
            "listener",
            ListenerProtocol::Http,
            8080,
            Some("pool"),
        )],
        pools: vec![pool],
        plumbing: None,
        vrrp: None,
        engine: Default::default(),
    }
}

#[tokio::test]
async fn the_controller_applies_a_config_over_mutual_tls_and_traffic_flows() {
    let s = start_agent().await;
    let client = AgentClient::new(s.authority.client_config().unwrap(), Duration::from_secs(5));
    let info = client.info(s.addr, &s.id).await.unwrap();
    assert_eq!(info["amphora_id"], s.id.as_str());
    assert_eq!(info["generation"], 0);

    let backend = Backend::http("web1", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let applied = client
        .apply(s.addr, &s.id, &config(7, "127.31.0.1", backend.addr))
        .await
        .unwrap();
    assert_eq!(applied.generation, 7);
    assert!(applied.failed_listeners.is_empty());
    let mut c = tokio::net::TcpStream::connect("127.31.0.1:8080")
        .await
        .unwrap();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).await.unwrap();
    assert!(answer.contains("you hit: web1"), "{answer}");
    assert_eq!(client.status(s.addr, &s.id).await.unwrap().generation, 7);

    // A config the engine cannot serve is refused with its reason and changes nothing.
    let mut bad = config(8, "127.31.0.1", backend.addr);
    bad.listeners[0].protocol = ListenerProtocol::TerminatedHttps;
    match client.apply(s.addr, &s.id, &bad).await {
        Err(AgentError::Refused(reason)) => {
            assert!(reason.contains("TERMINATED_HTTPS"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(client.status(s.addr, &s.id).await.unwrap().generation, 7);

    // Heartbeats arrive, signed with the key, naming the listener.
    let codec = Codec::new(b"secret");
    let mut buf = vec![0u8; 65536];
    let message = loop {
        let n = tokio::time::timeout(Duration::from_secs(5), s.heartbeats.recv(&mut buf))
            .await
            .expect("a heartbeat within 5 s")
            .unwrap();
        let m = codec.decode(&buf[..n]).unwrap();
        if !m.listeners.is_empty() {
            break m;
        }
    };
    assert_eq!(message.id, s.id);
    assert!(message.listeners.contains_key("listener"));
    assert!(message.pools.contains_key("pool:listener"));
}

#[tokio::test]
async fn heartbeats_go_to_each_health_manager_of_the_list_in_turn() {
    let s = start_agent().await;
    let codec = Codec::new(b"secret");
    let mut buf = vec![0u8; 65536];
    let mut seqs = [Vec::new(), Vec::new()];
    for _ in 0..3 {
        for (i, socket) in [&s.heartbeats, &s.second].into_iter().enumerate() {
            let n = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
                .await
                .expect("a heartbeat within 5 s")
                .unwrap();
            let m = codec.decode(&buf[..n]).unwrap();
            assert_eq!(m.id, s.id);
            seqs[i].push(m.seq);
        }
    }
    // Round-robin: each beat goes to the next of the list, so each gets every other one.
    for (i, got) in seqs.iter().enumerate() {
        assert!(
            got.iter().all(|seq| seq % 2 == i as u64),
            "target {i} got {got:?}"
        );
        assert!(got.windows(2).all(|w| w[1] == w[0] + 2), "{got:?}");
    }
}

#[tokio::test]
async fn clients_without_the_cas_certificate_are_refused() {
    let s = start_agent().await;
    // Another CA's client certificate fails the handshake.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Authority::load_or_create(other_dir.path()).unwrap();
    let client = AgentClient::new(other.client_config().unwrap(), Duration::from_secs(5));
    assert!(matches!(
        client.info(s.addr, &s.id).await,
        Err(AgentError::Unreachable { .. })
    ));
    // The right CA but the wrong amphora id: the server's certificate does not match.
    let client = AgentClient::new(s.authority.client_config().unwrap(), Duration::from_secs(5));
    assert!(matches!(
        client
            .info(s.addr, "00000000-0000-0000-0000-000000000001")
            .await,
        Err(AgentError::Unreachable { .. })
    ));
    // No client certificate at all: 401 with the reason.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(s.authority.ca_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let anonymous = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = AgentClient::new(Arc::new(anonymous), Duration::from_secs(5));
    match client.info(s.addr, &s.id).await {
        Err(AgentError::Refused(reason)) => assert!(reason.contains("client certificate")),
        other => panic!("expected 401, got {other:?}"),
    }
    // Plain HTTP is told to speak HTTPS.
    let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"GET /1.0/info HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}
