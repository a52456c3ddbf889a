//! An amphora whose configuration says `engine: haproxy`: it runs one haproxy master for its
//! load balancer under its own directory, reports `show stat` as its status (the counters of
//! workers before a reload carried on), keeps member health across reloads (the server-state file: a member found down stays down through a
//! reload instead of starting over as UP), reports UDP listeners as failed while the rest
//! serves, refuses configurations haproxy refuses while the running one keeps serving, and removes its files when stopped. Skips,
//! saying so, where HAProxy is not installed.

mod oracle;

use amphora::{Amphora, HeartbeatSettings, HostAddresses, Management};
use engine::testing::HEALTH_PATH;
use model::{
    AmphoraConfig, EngineKind, LbAlgorithm, ListenerConfig, ListenerProtocol, MemberConfig,
    MemberHealth, MonitorConfig, MonitorType, PoolConfig, PoolProtocol,
};
use oracle::{backend, exchange, free_port, have_haproxy, http_lb, until_answers};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GET: &str = "GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n";

fn monitor() -> MonitorConfig {
    MonitorConfig {
        id: "hm".into(),
        kind: MonitorType::Http,
        delay: 1,
        timeout: 1,
        max_retries: 1,
        max_retries_down: 1,
        admin_state_up: true,
        http_method: Some("GET".into()),
        url_path: Some(HEALTH_PATH.into()),
        expected_codes: Some("200".into()),
        http_version: None,
        domain_name: None,
    }
}

fn config(port: u16, members: &[(&str, SocketAddr)], generation: u64) -> AmphoraConfig {
    let mut pool = PoolConfig::new("pool", PoolProtocol::Http, LbAlgorithm::RoundRobin);
    pool.members = members
        .iter()
        .map(|(id, a)| MemberConfig::new(id, a.ip(), a.port()))
        .collect();
    pool.healthmonitor = Some(monitor());
    let mut config = http_lb(port, pool);
    config.lb_id = "lb-7a1c".into();
    config.generation = generation;
    config.engine = EngineKind::Haproxy;
    config
}

async fn amphora(root: &std::path::Path) -> Amphora {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    Amphora::start(
        "amp-1",
        HeartbeatSettings {
            targets: Vec::new(),
            interval_ms: 1000,
            key: "k".into(),
        },
        Arc::new(socket),
        Duration::from_secs(1),
        Arc::new(HostAddresses::new(Management::Off)),
        None,
        Some(root.to_path_buf()),
    )
}

/// The member's status in the amphora's report, once it is `want` (10 s at most).
async fn until_member(amphora: &Amphora, id: &str, want: MemberHealth) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = amphora.status().await;
        let seen = status
            .pools
            .iter()
            .flat_map(|p| &p.members)
            .find(|m| m.id == id)
            .map(|m| m.status);
        if seen == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "member {id}: {seen:?}, not {want:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_amphora_serves_through_haproxy_keeps_member_health_and_refuses_what_it_cannot() {
    if !have_haproxy("the haproxy engine") {
        return;
    }
    let (web1, web2, web3) = (
        backend("web1").await,
        backend("web2").await,
        backend("web3").await,
    );
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let vip = SocketAddr::from(([127, 0, 0, 1], port));
    let amphora = amphora(root.path()).await;
    let members = [("m1", web1.addr), ("m2", web2.addr)];

    let applied = amphora.apply(config(port, &members, 1)).await.unwrap();
    assert_eq!(applied.generation, 1);
    until_answers(vip, "haproxy engine").await;
    let dir = root.path().join("haproxy").join("lb-7a1c");
    assert!(dir.join("haproxy.cfg").exists(), "one directory per LB");
    let cfg = std::fs::read_to_string(dir.join("haproxy.cfg")).unwrap();
    assert!(cfg.contains("server-state-file"), "{cfg}");
    assert!(cfg.contains("load-server-state-from-file global"), "{cfg}");
    let mut bodies: Vec<String> = Vec::new();
    for _ in 0..4 {
        bodies.push(exchange(vip, GET).await.body);
    }
    assert!(bodies.contains(&"you hit: web1".to_string()), "{bodies:?}");
    assert!(bodies.contains(&"you hit: web2".to_string()), "{bodies:?}");
    let status = amphora.status().await;
    assert_eq!(status.generation, 1);
    assert_eq!(status.listeners.len(), 1, "{status:?}");
    assert_eq!(status.listeners[0].id, "listener");
    until_member(&amphora, "m1", MemberHealth::Up).await;

    // m2 fails its checks and goes down; a reload (m3 added) keeps it down.
    web2.fail_checks(true);
    until_member(&amphora, "m2", MemberHealth::Down).await;
    let members3 = [("m1", web1.addr), ("m2", web2.addr), ("m3", web3.addr)];
    let counted = amphora.status().await.listeners[0].counters.clone();
    assert!(counted.total_connections >= 4, "{counted:?}");
    amphora.apply(config(port, &members3, 2)).await.unwrap();
    let status = amphora.status().await;
    assert_eq!(status.generation, 2);
    let carried = &status.listeners[0].counters;
    assert!(
        carried.total_connections >= counted.total_connections
            && carried.bytes_in >= counted.bytes_in,
        "the new worker's counters carry the old one's: {counted:?} then {carried:?}"
    );
    let m2 = status.pools[0].members.iter().find(|m| m.id == "m2");
    assert_eq!(
        m2.map(|m| m.status),
        Some(MemberHealth::Down),
        "the reloaded haproxy starts from the saved state: {status:?}"
    );
    for _ in 0..6 {
        let body = exchange(vip, GET).await.body;
        assert_ne!(body, "you hit: web2", "a down member gets no traffic");
    }

    // UDP is LVS's in Octavia's amphora: that listener is reported failed, the rest serves.
    let mut udp = config(port, &members3, 3);
    udp.listeners.push(ListenerConfig::new(
        "dns",
        ListenerProtocol::Udp,
        port,
        Some("pool"),
    ));
    let applied = amphora.apply(udp).await.unwrap();
    assert_eq!(applied.generation, 3);
    assert_eq!(applied.failed_listeners.len(), 1, "{applied:?}");
    assert_eq!(applied.failed_listeners[0].id, "dns");
    assert!(
        applied.failed_listeners[0]
            .reason
            .contains("does not serve UDP"),
        "{applied:?}"
    );
    assert_eq!(exchange(vip, GET).await.status, 200);

    // A TLS listener with a cipher list OpenSSL does not know (the API takes any outside
    // its prohibit list): haproxy refuses it in its own words, the running one serves on.
    let mut bad = config(port, &members3, 4);
    let mut https = ListenerConfig::new(
        "https",
        ListenerProtocol::TerminatedHttps,
        free_port(),
        Some("pool"),
    );
    let key = rcgen::generate_simple_self_signed(vec!["lb".to_string()]).unwrap();
    https.tls = Some(model::ListenerTls {
        default_certificate: Some(model::CertificateBundle {
            reference: "cert".into(),
            certificate_pem: key.cert.pem(),
            private_key_pem: key.key_pair.serialize_pem(),
        }),
        ciphers: Some("NOT-A-CIPHER".into()),
        ..Default::default()
    });
    bad.listeners.push(https);
    let refused = amphora.apply(bad).await.unwrap_err().to_string();
    assert!(
        refused.contains("unable to set SSL cipher list to 'NOT-A-CIPHER'"),
        "{refused}"
    );
    assert_eq!(exchange(vip, GET).await.status, 200);
    assert_eq!(amphora.status().await.generation, 3);

    // A configuration haproxy -c takes but the new worker cannot load (an address no
    // interface holds): the master says the reload failed, the old worker serves on.
    let nonlocal =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind").unwrap_or_default();
    if nonlocal.trim() == "0" {
        let mut unbindable = config(port, &members3, 5);
        unbindable.vips.push("192.0.2.1".parse().unwrap());
        let refused = amphora.apply(unbindable).await.unwrap_err().to_string();
        assert!(
            refused.contains("could not load the new configuration"),
            "{refused}"
        );
        assert_eq!(exchange(vip, GET).await.status, 200);
        assert_eq!(amphora.status().await.generation, 3);
    }

    drop(amphora.stop().await);
    assert!(!dir.exists(), "its files (keys among them) are gone");
    assert!(tokio::net::TcpStream::connect(vip).await.is_err());
}

/// The two haproxies of a pair share their stick tables through a peers section (as Octavia's
/// amphorae): the SOURCE_IP entry of a client the first served reaches the second, which
/// started after it and served nobody.
#[tokio::test]
async fn a_pair_of_haproxies_shares_its_stick_tables() {
    if !have_haproxy("the haproxy engine's peers") {
        return;
    }
    let (web1, web2) = (backend("web1").await, backend("web2").await);
    let port = free_port();
    let mut config = config(port, &[("m1", web1.addr), ("m2", web2.addr)], 1);
    config.pools[0].healthmonitor = None;
    config.pools[0].session_persistence = Some(model::SessionPersistence {
        kind: model::PersistenceType::SourceIp,
        cookie_name: None,
        persistence_timeout: None,
        persistence_granularity: None,
    });
    let member = |id: &str, last: u8| model::VrrpMember {
        amphora_id: id.into(),
        address: std::net::IpAddr::from([127, 0, 0, last]),
        priority: 100,
        interface: String::new(),
        mac: String::new(),
    };
    config.vrrp = Some(model::VrrpConfig {
        group: "lb7a1c".into(),
        advert_int_ms: 100,
        members: vec![member("amp-a", 71), member("amp-b", 72)],
    });
    let roots = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plane = |id: &str, root: &std::path::Path| {
        Arc::new(amphora::plane::Plane::new(
            id,
            Arc::new(engine::Engine::default()),
            Some(root.to_path_buf()),
        ))
    };
    let (a, b) = (
        plane("amp-a", roots.0.path()),
        plane("amp-b", roots.1.path()),
    );
    // Only A serves the client; B starts after, and gets the entry from A.
    a.apply(config.clone()).await.unwrap();
    let cfg = std::fs::read_to_string(roots.0.path().join("haproxy/lb-7a1c/haproxy.cfg")).unwrap();
    assert!(cfg.contains("localpeer ampa"), "{cfg}");
    assert!(cfg.contains("peers lb7a1c_peers"), "{cfg}");
    assert!(cfg.contains("peer ampb 127.0.0.72:1025"), "{cfg}");
    let vip = SocketAddr::from(([127, 0, 0, 1], port));
    until_answers(vip, "a pair's haproxy").await;
    assert_eq!(exchange(vip, GET).await.status, 200);
    b.apply(config.clone()).await.unwrap();
    let table = "pool:listener";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let command = format!("show table {table}");
        let ta = a.haproxy_command(&command).await.unwrap().unwrap();
        let tb = b.haproxy_command(&command).await.unwrap().unwrap();
        let has = |t: &str| {
            t.lines()
                .any(|l| l.contains("key=::ffff:127.0.0.1") || l.contains("key=127.0.0.1"))
        };
        if has(&ta) && has(&tb) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the client's entry in both tables: {ta} | {tb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(a.shutdown().await);
    drop(b.shutdown().await);
}
