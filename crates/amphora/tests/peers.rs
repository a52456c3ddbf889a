//! The two amphorae of a pair share their stick tables: a client stuck to a member through
//! one is sent to the same member by the other; one that starts late gets the whole table;
//! datagrams not signed by the key change nothing. Two engines on loopback, real backends.

mod oracle;

use amphora::peers::{Link, Peers};
use engine::testing::Backend;
use engine::Engine;
use model::{
    AmphoraConfig, LbAlgorithm, MemberConfig, PersistenceType, PoolConfig, PoolProtocol,
    SessionPersistence,
};
use oracle::{free_port, http_lb};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_udp() -> SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn config(port: u16, members: &[(&str, SocketAddr)]) -> AmphoraConfig {
    let mut pool = PoolConfig::new("pool", PoolProtocol::Http, LbAlgorithm::RoundRobin);
    for (id, addr) in members {
        pool.members
            .push(MemberConfig::new(id, addr.ip(), addr.port()));
    }
    pool.session_persistence = Some(SessionPersistence {
        kind: PersistenceType::SourceIp,
        cookie_name: None,
        persistence_timeout: None,
        persistence_granularity: None,
    });
    http_lb(port, pool)
}

async fn get(port: u16) -> String {
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    c.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).await.unwrap();
    answer.lines().last().unwrap_or_default().trim().to_string()
}

async fn engine(port: u16, members: &[(&str, SocketAddr)]) -> Arc<Engine> {
    let e = Arc::new(Engine::new(Duration::from_secs(1)));
    e.apply(config(port, members)).await.unwrap();
    e
}

/// Waits until `engine`'s table sticks the loopback client to `member`.
async fn learnt(engine: &Engine, member: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let entries = engine.stick_entries().await;
        if entries
            .iter()
            .any(|e| e.pool_id == "pool" && e.key == "127.0.0.1" && e.member_id == member)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_pair_shares_its_stick_tables_and_a_late_peer_gets_the_whole_table() {
    let web1 = Backend::http("web1", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let web2 = Backend::http("web2", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let members = [("m1", web1.addr), ("m2", web2.addr)];
    let (port_a, port_b) = (free_port(), free_port());
    let (udp_a, udp_b) = (free_udp(), free_udp());
    let link = |own, peer| Link {
        own,
        peers: vec![peer],
        key: "heartbeat-key".into(),
    };

    let a = engine(port_a, &members).await;
    let b = engine(port_b, &members).await;
    let (peers_a, peers_b) = (Peers::default(), Peers::default());
    peers_a.share(&a, Some(link(udp_a, udp_b)));
    peers_b.share(&b, Some(link(udp_b, udp_a)));
    // Both sockets up before the first entry (a Hello to a closed port is lost).
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Round robin alone would alternate; through A the client sticks to one member.
    let first = get(port_a).await;
    assert!(first.starts_with("you hit: web"), "{first}");
    for _ in 0..3 {
        assert_eq!(get(port_a).await, first);
    }
    let member = if first.ends_with("web1") { "m1" } else { "m2" };
    assert!(learnt(&b, member).await, "B learns A's entry");
    for _ in 0..4 {
        assert_eq!(get(port_b).await, first, "B sends the client where A did");
    }

    // B is rebuilt: it starts empty and asks A for the whole table.
    drop(peers_b);
    let b2 = engine(free_port(), &members).await;
    assert!(b2.stick_entries().await.is_empty());
    let peers_b2 = Peers::default();
    peers_b2.share(&b2, Some(link(udp_b, udp_a)));
    assert!(learnt(&b2, member).await, "a late peer gets the table");

    // A datagram signed with another key changes nothing.
    let other = if member == "m1" { "m2" } else { "m1" };
    let forged = tokio::net::UdpSocket::bind(free_udp()).await.unwrap();
    let payload = serde_json::to_vec(&serde_json::json!({"Entries": [
        {"pool_id": "pool", "key": "127.0.0.1", "member_id": other}]}))
    .unwrap();
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"not-the-key"),
        &payload,
    );
    let datagram = [payload.as_slice(), tag.as_ref()].concat();
    forged.send_to(&datagram, udp_a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(learnt(&a, member).await, "A's entry is unchanged");
    assert_eq!(get(port_a).await, first);
}
