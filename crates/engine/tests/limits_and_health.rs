//! Health monitors, connection limits, allowed CIDRs, timeouts and reconfiguration under load.

mod support;
use engine::testing::{Backend, HEALTH_PATH};
use engine::Engine;
use model::MonitorConfig;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_failing_member_goes_down_after_max_retries_down_and_returns_after_max_retries() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::http("b", any("127.0.0.1")).await.unwrap();
    let mut p = pool(
        "HTTP",
        "ROUND_ROBIN",
        vec![member("a", a.addr), member("b", b.addr)],
    );
    let mut hm = MonitorConfig::new("hm", "HTTP".parse().unwrap(), 1, 1, 2);
    hm.max_retries_down = 3;
    hm.url_path = Some(HEALTH_PATH.into());
    hm.expected_codes = Some("200-204".into());
    p.healthmonitor = Some(hm);
    let engine = start(config("127.21.1.1", listener("HTTP", 8080), p)).await;
    let vip = "127.21.1.1:8080".parse().unwrap();
    // A checked member starts UP, as in HAProxy.
    wait_member(&engine, "a", |m| m.status == "UP").await;
    let before = wait_member(&engine, "a", |m| m.checks >= 1).await;
    a.fail_checks(true);
    let down = wait_member(&engine, "a", |m| m.status == "DOWN").await;
    assert_eq!(down.check_failures - before.check_failures, 3, "{down:?}");
    let hits = a.hits();
    for _ in 0..6 {
        assert_eq!(get(vip, "/").await.1, "you hit: b\n");
    }
    assert_eq!(a.hits(), hits, "a DOWN member got traffic");
    a.fail_checks(false);
    let rising = wait_member(&engine, "a", |m| m.status == "DOWN 1/2").await;
    let up = wait_member(&engine, "a", |m| m.status == "UP").await;
    assert_eq!(up.checks - down.checks, 2, "{rising:?} {up:?}");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        seen.insert(get(vip, "/").await.1);
    }
    assert_eq!(seen.len(), 2, "a is back in the rotation: {seen:?}");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_dead_member_is_taken_out_by_a_tcp_monitor_and_connect_failures_retry_elsewhere() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::http("b", any("127.0.0.1")).await.unwrap();
    let mut p = pool(
        "HTTP",
        "ROUND_ROBIN",
        vec![member("a", a.addr), member("b", b.addr)],
    );
    let mut hm = MonitorConfig::new("hm", "TCP".parse().unwrap(), 1, 1, 1);
    hm.max_retries_down = 1;
    p.healthmonitor = Some(hm);
    let engine = start(config("127.21.1.2", listener("HTTP", 8080), p)).await;
    let vip = "127.21.1.2:8080".parse().unwrap();
    a.kill();
    // Before the monitor notices, refused connects are redispatched: no request fails.
    for _ in 0..6 {
        assert_eq!(get(vip, "/").await, (200, "you hit: b\n".to_string()));
    }
    wait_member(&engine, "a", |m| m.status == "DOWN").await;
    a.revive().await.unwrap();
    wait_member(&engine, "a", |m| m.status == "UP").await;
    engine.shutdown().await;
}

#[tokio::test]
async fn connection_limit_refuses_tcp_and_answers_503_on_http() {
    let t = Backend::tcp("t", any("127.0.0.1")).await.unwrap();
    let mut l = listener("TCP", 9000);
    l.connection_limit = 1;
    let engine = start(config(
        "127.21.1.3",
        l,
        pool("TCP", "ROUND_ROBIN", vec![member("t", t.addr)]),
    ))
    .await;
    let vip = "127.21.1.3:9000".parse().unwrap();
    let held = tcp_hello("127.0.0.1", vip);
    let mut first = connect(vip).await;
    let mut buf = [0u8; 64];
    assert!(first.read(&mut buf).await.unwrap() > 0);
    let refused = tcp_hello("127.0.0.1", vip).await;
    assert!(
        refused.as_ref().map(|s| s.is_empty()).unwrap_or(true),
        "second connection served: {refused:?}"
    );
    drop(first);
    drop(held);
    engine.shutdown().await;

    let h = Backend::http("h", any("127.0.0.1")).await.unwrap();
    let mut l = listener("HTTP", 8080);
    l.connection_limit = 1;
    let engine = start(config(
        "127.21.1.4",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("h", h.addr)]),
    ))
    .await;
    let vip = "127.21.1.4:8080".parse().unwrap();
    let _idle = connect(vip).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(vip, "/").await.0, 503);
    let status = engine.status().await;
    assert_eq!(status.listeners[0].status, model::ListenerHealth::Full);
    engine.shutdown().await;
}

#[tokio::test]
async fn allowed_cidrs_reject_other_sources_at_accept() {
    let h = Backend::http("h", any("127.0.0.1")).await.unwrap();
    let mut l = listener("HTTP", 8080);
    l.allowed_cidrs = vec!["127.0.0.2/32".into()];
    let engine = start(config(
        "127.21.1.5",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("h", h.addr)]),
    ))
    .await;
    let vip = "127.21.1.5:8080".parse().unwrap();
    assert_eq!(get_from("127.0.0.2", vip, "/").await.unwrap().0, 200);
    let refused = get_from("127.0.0.1", vip, "/").await;
    assert!(
        refused.as_ref().map(|(s, _)| *s == 0).unwrap_or(true),
        "{refused:?}"
    );
    assert_eq!(h.hits(), 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn timeouts_are_enforced() {
    // A member that accepts and never answers: timeout_member_data gives HAProxy's 504.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut l = listener("HTTP", 8080);
    l.timeout_member_data = 300;
    let engine = start(config(
        "127.21.1.6",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("s", silent_addr)]),
    ))
    .await;
    let (status, body) = get("127.21.1.6:8080".parse().unwrap(), "/").await;
    assert_eq!(status, 504, "{body}");
    engine.shutdown().await;

    // An idle TCP client is cut after timeout_client_data.
    let t = Backend::tcp("t", any("127.0.0.1")).await.unwrap();
    let mut l = listener("TCP", 9000);
    l.timeout_client_data = 300;
    l.timeout_member_data = 300;
    let engine = start(config(
        "127.21.1.7",
        l,
        pool("TCP", "ROUND_ROBIN", vec![member("t", t.addr)]),
    ))
    .await;
    let mut client = connect("127.21.1.7:9000".parse().unwrap()).await;
    let mut buf = vec![0u8; 64];
    let n = client.read(&mut buf).await.unwrap();
    assert!(n > 0);
    let closed = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "not closed: {closed:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_thousand_applies_under_load_fail_no_request_on_the_listener_that_stays() {
    let backends = [
        Backend::http("a", any("127.0.0.1")).await.unwrap(),
        Backend::http("b", any("127.0.0.1")).await.unwrap(),
        Backend::http("c", any("127.0.0.1")).await.unwrap(),
    ];
    let engine = std::sync::Arc::new(Engine::default());
    let base = config(
        "127.21.1.8",
        listener("HTTP", 8080),
        pool("HTTP", "ROUND_ROBIN", vec![member("a", backends[0].addr)]),
    );
    engine.apply(base.clone()).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut stream = tokio::net::TcpStream::connect("127.21.1.8:8080")
                .await
                .unwrap();
            let mut buf = vec![0u8; 4096];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = stream.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").await;
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let answer = String::from_utf8_lossy(&buf[..n]);
                if sent.is_ok() && answer.starts_with("HTTP/1.1 200") {
                    ok += 1;
                } else {
                    failed += 1;
                    stream = tokio::net::TcpStream::connect("127.21.1.8:8080")
                        .await
                        .unwrap();
                }
            }
            (ok, failed)
        }));
    }
    for i in 0..1000u64 {
        let mut cfg = base.clone();
        cfg.generation = i + 2;
        // Members come and go (one always stays), and a second listener appears and goes.
        cfg.pools[0].members = backends
            .iter()
            .enumerate()
            .filter(|(j, _)| *j == 0 || !(i as usize + j).is_multiple_of(3))
            .map(|(_, b)| member(&b.name, b.addr))
            .collect();
        if i.is_multiple_of(2) {
            let mut extra = listener("HTTP", 8081);
            extra.id = "extra".into();
            cfg.listeners.push(extra);
        }
        engine.apply(cfg).await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, 0);
    for c in clients {
        let (o, f) = c.await.unwrap();
        ok += o;
        failed += f;
    }
    assert!(ok > 0);
    assert_eq!(failed, 0, "{failed} failed requests of {}", ok + failed);
    engine.shutdown().await;
}

/// A TLS member with a self-signed certificate answering every request with `status()`;
/// counts the requests it decrypted.
async fn tls_member(
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> std::net::SocketAddr {
    use std::sync::atomic::Ordering::Relaxed;
    let cert = rcgen::generate_simple_self_signed(vec!["member.test".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, status, requests) = (acceptor.clone(), status.clone(), requests.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                if matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {
                    requests.fetch_add(1, Relaxed);
                    let line = format!("HTTP/1.0 {} X\r\n\r\n", status.load(Relaxed));
                    let _ = tls.write_all(line.as_bytes()).await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_https_monitor_checks_over_tls_without_verifying() {
    use std::sync::atomic::{AtomicU16, AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    let status = Arc::new(AtomicU16::new(200));
    let requests = Arc::new(AtomicU64::new(0));
    let tls = tls_member(status.clone(), requests.clone()).await;
    // A plain HTTP member cannot pass an HTTPS check.
    let plain = Backend::http("plain", any("127.0.0.1")).await.unwrap();
    let mut p = pool(
        "HTTPS",
        "ROUND_ROBIN",
        vec![member("tls", tls), member("plain", plain.addr)],
    );
    let mut hm = MonitorConfig::new("hm", "HTTPS".parse().unwrap(), 1, 1, 1);
    hm.max_retries_down = 2;
    hm.url_path = Some(HEALTH_PATH.into());
    p.healthmonitor = Some(hm);
    let engine = start(config("127.21.1.12", listener("TCP", 8443), p)).await;
    let checked = wait_member(&engine, "tls", |m| m.checks >= 2).await;
    assert_eq!(
        (checked.status.to_string().as_str(), checked.check_failures),
        ("UP", 0)
    );
    assert!(
        requests.load(Relaxed) >= 2,
        "the checks were not HTTP over TLS"
    );
    wait_member(&engine, "plain", |m| m.status == "DOWN").await;
    status.store(503, Relaxed);
    let down = wait_member(&engine, "tls", |m| m.status == "DOWN").await;
    assert_eq!(down.check_failures, 2, "{down:?}");
    engine.shutdown().await;
}
