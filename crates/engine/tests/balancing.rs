//! Traffic through the engine to real backends: algorithms, weights, backups, headers.

mod support;
use engine::testing::Backend;
use engine::Engine;
use support::*;

#[tokio::test]
async fn round_robin_alternates_like_the_seed() {
    let a = Backend::http("webserver1", any("127.0.0.1")).await.unwrap();
    let b = Backend::http("webserver2", any("127.0.0.1")).await.unwrap();
    let engine = Engine::default();
    let members = vec![member("m1", a.addr), member("m2", b.addr)];
    engine
        .apply(config(
            "127.21.0.1",
            listener("HTTP", 8080),
            pool("HTTP", "ROUND_ROBIN", members),
        ))
        .await
        .unwrap();
    let vip = "127.21.0.1:8080".parse().unwrap();
    let mut answers = Vec::new();
    for _ in 0..6 {
        let (status, body) = get(vip, "/").await;
        assert_eq!(status, 200);
        answers.push(body);
    }
    let first = answers[0].clone();
    let second = if first.contains("webserver1") {
        "you hit: webserver2\n"
    } else {
        "you hit: webserver1\n"
    };
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(
            answer,
            if i % 2 == 0 { first.as_str() } else { second },
            "{answers:?}"
        );
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn weights_give_the_configured_ratio_and_weight_zero_drains() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::http("b", any("127.0.0.1")).await.unwrap();
    let c = Backend::http("c", any("127.0.0.1")).await.unwrap();
    let mut ma = member("a", a.addr);
    ma.weight = 3;
    let mut mc = member("c", c.addr);
    mc.weight = 0;
    let engine = Engine::default();
    let members = vec![ma, member("b", b.addr), mc];
    engine
        .apply(config(
            "127.21.0.2",
            listener("HTTP", 8080),
            pool("HTTP", "ROUND_ROBIN", members),
        ))
        .await
        .unwrap();
    let vip = "127.21.0.2:8080".parse().unwrap();
    for _ in 0..40 {
        assert_eq!(get(vip, "/").await.0, 200);
    }
    assert_eq!((a.hits(), b.hits(), c.hits()), (30, 10, 0));
    let status = engine.status().await;
    let drained = status.pools[0]
        .members
        .iter()
        .find(|m| m.id == "c")
        .unwrap();
    assert_eq!(drained.status, "DRAIN");
    engine.shutdown().await;
}

#[tokio::test]
async fn least_connections_favours_the_idle_member() {
    let a = Backend::tcp("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::tcp("b", any("127.0.0.1")).await.unwrap();
    let engine = Engine::default();
    let members = vec![member("a", a.addr), member("b", b.addr)];
    engine
        .apply(config(
            "127.21.0.3",
            listener("TCP", 9000),
            pool("TCP", "LEAST_CONNECTIONS", members),
        ))
        .await
        .unwrap();
    let vip = "127.21.0.3:9000".parse().unwrap();
    // One held connection makes its member busy; every new connection goes to the other.
    let held_greeting = {
        let mut held = connect(vip).await;
        let mut buf = [0u8; 64];
        let n = tokio::io::AsyncReadExt::read(&mut held, &mut buf)
            .await
            .unwrap();
        let greeting = String::from_utf8_lossy(&buf[..n]).to_string();
        for _ in 0..5 {
            let hello = tcp_hello("127.0.0.1", vip).await.unwrap();
            assert_ne!(hello, greeting, "a new connection went to the busy member");
            // Wait for the closed connection to end at the member too: only the held
            // one stays active.
            for _ in 0..100 {
                let st = engine.status().await;
                if st.pools[0]
                    .members
                    .iter()
                    .map(|m| m.active_connections)
                    .sum::<u64>()
                    == 1
                {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        greeting
    };
    assert!(held_greeting.starts_with("you hit: "));
    engine.shutdown().await;
}

#[tokio::test]
async fn source_ip_keeps_clients_and_remaps_only_the_removed_members_share() {
    let backends = [
        Backend::tcp("a", any("127.0.0.1")).await.unwrap(),
        Backend::tcp("b", any("127.0.0.1")).await.unwrap(),
        Backend::tcp("c", any("127.0.0.1")).await.unwrap(),
    ];
    let members: Vec<_> = backends.iter().map(|b| member(&b.name, b.addr)).collect();
    let engine = Engine::default();
    let vip = "127.21.0.4:9000".parse().unwrap();
    let cfg = config(
        "127.21.0.4",
        listener("TCP", 9000),
        pool("TCP", "SOURCE_IP", members.clone()),
    );
    engine.apply(cfg.clone()).await.unwrap();
    let clients: Vec<String> = (1..=40).map(|i| format!("127.0.1.{i}")).collect();
    let mut placed = Vec::new();
    for c in &clients {
        let first = tcp_hello(c, vip).await.unwrap();
        for _ in 0..2 {
            assert_eq!(tcp_hello(c, vip).await.unwrap(), first, "client {c} moved");
        }
        placed.push(first);
    }
    let used: std::collections::BTreeSet<_> = placed.iter().collect();
    assert_eq!(
        used.len(),
        3,
        "40 clients spread over the 3 members: {placed:?}"
    );
    let mut smaller = cfg.clone();
    smaller.pools[0].members.retain(|m| m.id != "b");
    smaller.generation = 2;
    engine.apply(smaller).await.unwrap();
    for (c, before) in clients.iter().zip(&placed) {
        let after = tcp_hello(c, vip).await.unwrap();
        if before.contains(": b") {
            assert_ne!(&after, before);
        } else {
            assert_eq!(&after, before, "client {c} of a kept member moved");
        }
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn backup_member_serves_only_when_no_primary_can() {
    let primary = Backend::http("primary", any("127.0.0.1")).await.unwrap();
    let backup = Backend::http("backup", any("127.0.0.1")).await.unwrap();
    let mut mb = member("backup", backup.addr);
    mb.backup = true;
    let engine = Engine::default();
    let mut cfg = config(
        "127.21.0.5",
        listener("HTTP", 8080),
        pool(
            "HTTP",
            "ROUND_ROBIN",
            vec![member("primary", primary.addr), mb],
        ),
    );
    engine.apply(cfg.clone()).await.unwrap();
    let vip = "127.21.0.5:8080".parse().unwrap();
    for _ in 0..4 {
        assert_eq!(get(vip, "/").await.1, "you hit: primary\n");
    }
    cfg.pools[0].members[0].admin_state_up = false;
    cfg.generation = 2;
    engine.apply(cfg.clone()).await.unwrap();
    for _ in 0..4 {
        assert_eq!(get(vip, "/").await.1, "you hit: backup\n");
    }
    let status = engine.status().await;
    assert_eq!(status.pools[0].members[0].status, "MAINT");
    // No member at all: HAProxy's 503 page.
    cfg.pools[0].members.clear();
    cfg.generation = 3;
    engine.apply(cfg).await.unwrap();
    let (status, body) = get(vip, "/").await;
    assert_eq!(status, 503);
    assert!(body.contains("No server is available"), "{body}");
    engine.shutdown().await;
}

#[tokio::test]
async fn forwarded_headers_reach_the_member() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let mut l = listener("HTTP", 8080);
    for h in ["X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"] {
        l.insert_headers.insert(h.into(), "true".into());
    }
    let engine = start(config(
        "127.21.0.6",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("a", a.addr)]),
    ))
    .await;
    let (status, _) = get_from("127.0.0.9", "127.21.0.6:8080".parse().unwrap(), "/")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let headers = a.seen.last_headers.lock().unwrap().clone();
    let value = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("x-forwarded-for").as_deref(), Some("127.0.0.9"));
    assert_eq!(value("x-forwarded-port").as_deref(), Some("8080"));
    assert_eq!(value("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(value("host").as_deref(), Some("test"));
    engine.shutdown().await;
}

#[tokio::test]
async fn proxy_protocol_headers_are_byte_exact() {
    for (protocol, port) in [("PROXY", 9001u16), ("PROXYV2", 9002)] {
        let a = Backend::tcp("a", any("127.0.0.1")).await.unwrap();
        let engine = start(config(
            "127.21.0.7",
            listener("TCP", port),
            pool(protocol, "ROUND_ROBIN", vec![member("a", a.addr)]),
        ))
        .await;
        let vip: std::net::SocketAddr = format!("127.21.0.7:{port}").parse().unwrap();
        let mut client = connect(vip).await;
        let local = client.local_addr().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut client, b"hello")
            .await
            .unwrap();
        let mut expected = if protocol == "PROXY" {
            format!(
                "PROXY TCP4 127.0.0.1 127.21.0.7 {} {port}\r\n",
                local.port()
            )
            .into_bytes()
        } else {
            let mut v = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
            v.extend_from_slice(&[127, 0, 0, 1, 127, 21, 0, 7]);
            v.extend_from_slice(&local.port().to_be_bytes());
            v.extend_from_slice(&port.to_be_bytes());
            v
        };
        expected.extend_from_slice(b"hello");
        let mut got = Vec::new();
        for _ in 0..100 {
            got = a.seen.first_bytes.lock().unwrap().clone();
            if got.len() >= expected.len() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(got, expected, "{protocol}");
        engine.shutdown().await;
    }
}

#[tokio::test]
async fn udp_round_robin_over_flows() {
    let a = Backend::udp("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::udp("b", any("127.0.0.1")).await.unwrap();
    let engine = start(config(
        "127.21.0.8",
        listener("UDP", 5353),
        pool(
            "UDP",
            "ROUND_ROBIN",
            vec![member("a", a.addr), member("b", b.addr)],
        ),
    ))
    .await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect("127.21.0.8:5353").await.unwrap();
        socket.send(b"ping").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), socket.recv(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        answers.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    assert_ne!(answers[0], answers[1], "{answers:?}");
    assert_eq!(answers[0], answers[2], "{answers:?}");
    assert_eq!(answers[1], answers[3], "{answers:?}");
    engine.shutdown().await;
}
