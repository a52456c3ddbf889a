//! Session persistence, each type with real backends: 100 requests from one client land on
//! one member; that member killed, they move to another; it restored, they stay where they
//! moved (SOURCE_IP until the entry goes; the cookie types because the client now names the
//! new member).

mod support;

use engine::testing::Backend;
use model::{PersistenceType, SessionPersistence};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One GET with `cookie`; (status, `set-cookie` values, body).
async fn get_with(to: SocketAddr, path: &str, cookie: &str) -> (u16, Vec<String>, String) {
    let mut stream = connect(to).await;
    let cookie = if cookie.is_empty() {
        String::new()
    } else {
        format!("Cookie: {cookie}\r\n")
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n{cookie}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .map(str::to_string)
        .collect();
    (status, cookies, body.trim().to_string())
}

async fn members() -> Vec<Backend> {
    let mut out = Vec::new();
    for name in ["web1", "web2", "web3"] {
        out.push(
            Backend::http(name, "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap(),
        );
    }
    out
}

async fn serve(
    vip: &str,
    protocol: &str,
    kind: PersistenceType,
    web: &[Backend],
) -> (engine::Engine, SocketAddr) {
    let members = web.iter().map(|b| member(&b.name, b.addr)).collect();
    let mut p = pool(protocol, "ROUND_ROBIN", members);
    p.session_persistence = Some(SessionPersistence {
        kind,
        cookie_name: (kind == PersistenceType::AppCookie).then(|| "JSESSIONID".to_string()),
        persistence_timeout: None,
        persistence_granularity: None,
    });
    let engine = start(config(vip, listener(protocol, 8080), p)).await;
    (engine, format!("{vip}:8080").parse().unwrap())
}

/// The client's requests, each carrying the cookies it was given; the members that answered.
async fn hundred(vip: SocketAddr, jar: &mut String) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        let (status, cookies, body) = get_with(vip, "/", jar).await;
        assert_eq!(status, 200, "{body}");
        if let Some(c) = cookies.first() {
            *jar = c.split(';').next().unwrap().to_string();
        }
        seen.insert(body.trim_start_matches("you hit: ").to_string());
    }
    seen
}

fn only(seen: &BTreeSet<String>) -> String {
    assert_eq!(seen.len(), 1, "one member served them all: {seen:?}");
    seen.iter().next().unwrap().clone()
}

async fn sticks_moves_and_stays(vip: &str, protocol: &str, kind: PersistenceType) {
    let web = members().await;
    let (_engine, vip) = serve(vip, protocol, kind, &web).await;
    let mut jar = String::new();
    if kind == PersistenceType::AppCookie {
        let (_, cookies, body) = get_with(vip, "/login", "").await;
        jar = cookies[0].split(';').next().unwrap().to_string();
        assert!(jar.starts_with("JSESSIONID="), "{cookies:?} {body}");
    }
    let first = only(&hundred(vip, &mut jar).await);
    if kind == PersistenceType::HttpCookie {
        assert_eq!(
            jar,
            format!("SRV={first}"),
            "the engine named the member in SRV"
        );
    }
    let dead = web.iter().find(|b| b.name == first).unwrap();
    dead.kill();
    if kind == PersistenceType::AppCookie {
        // The application's session lived on the dead member: the client logs in again.
        let (_, cookies, _) = get_with(vip, "/login", &jar).await;
        jar = cookies[0].split(';').next().unwrap().to_string();
    }
    let second = only(&hundred(vip, &mut jar).await);
    assert_ne!(second, first, "{kind}: moved off the dead member");
    dead.revive().await.unwrap();
    let third = only(&hundred(vip, &mut jar).await);
    assert_eq!(third, second, "{kind}: stays on the member it moved to");
}

#[tokio::test]
async fn source_ip_on_tcp() {
    let web = members().await;
    let (_engine, vip) = serve("127.21.7.1", "TCP", PersistenceType::SourceIp, &web).await;
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        seen.insert(get(vip, "/").await.1.trim().to_string());
    }
    let first = only(&seen);
    web.iter()
        .find(|b| format!("you hit: {}", b.name) == first)
        .unwrap()
        .kill();
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        seen.insert(get(vip, "/").await.1.trim().to_string());
    }
    assert_ne!(only(&seen), first);
}

#[tokio::test]
async fn source_ip_on_http() {
    sticks_moves_and_stays("127.21.7.2", "HTTP", PersistenceType::SourceIp).await;
}

#[tokio::test]
async fn http_cookie() {
    sticks_moves_and_stays("127.21.7.3", "HTTP", PersistenceType::HttpCookie).await;
}

#[tokio::test]
async fn app_cookie() {
    sticks_moves_and_stays("127.21.7.4", "HTTP", PersistenceType::AppCookie).await;
}

/// Without persistence the same client is spread (the tests above cannot pass by accident).
#[tokio::test]
async fn without_persistence_one_client_is_spread() {
    let web = members().await;
    let members = web.iter().map(|b| member(&b.name, b.addr)).collect();
    let _engine = start(config(
        "127.21.7.5",
        listener("HTTP", 8080),
        pool("HTTP", "ROUND_ROBIN", members),
    ))
    .await;
    let mut jar = String::new();
    let seen = hundred("127.21.7.5:8080".parse().unwrap(), &mut jar).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
}

/// UDP with SOURCE_IP as LVS applies it: flows from clients of one /24
/// (`persistence_granularity`) stick to one member while the entry is fresh
/// (`persistence_timeout`); once it expires, the next flow is balanced again.
#[tokio::test]
async fn udp_source_ip_with_granularity_and_timeout() {
    let a = Backend::udp("a", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let b = Backend::udp("b", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut p = pool(
        "UDP",
        "ROUND_ROBIN",
        vec![member("a", a.addr), member("b", b.addr)],
    );
    p.session_persistence = Some(SessionPersistence {
        kind: PersistenceType::SourceIp,
        cookie_name: None,
        persistence_timeout: Some(1),
        persistence_granularity: Some("255.255.255.0".into()),
    });
    let _engine = start(config("127.21.7.6", listener("UDP", 5353), p)).await;
    let ask = |from: &'static str| async move {
        let socket = tokio::net::UdpSocket::bind(format!("{from}:0"))
            .await
            .unwrap();
        socket.connect("127.21.7.6:5353").await.unwrap();
        socket.send(b"ping").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    };
    // Round robin alone would alternate; one /24 sticks, from any of its addresses.
    let first = ask("127.0.0.1").await;
    for from in ["127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.4"] {
        assert_eq!(ask(from).await, first, "from {from}");
    }
    // Past the timeout the entry is gone: round robin moves on to the other member. The
    // entry must go unused that long (asking meanwhile refreshes it), hence a wait, not a poll.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_ne!(ask("127.0.0.5").await, first, "the entry expired");
}
