//! What the oracles share: the engine and the real HAProxy binary serving one AmphoraConfig
//! (rendered for HAProxy as Octavia renders it), each on a port of its own, and backends
//! that say who they are. Each oracle uses part of it.
#![allow(dead_code)]

use amphora::haproxy::process::Haproxy;
use engine::testing::Backend;
use engine::Engine;
use model::{AmphoraConfig, LbAlgorithm, MemberConfig, PoolConfig, PoolProtocol};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Is HAProxy installed; says so when it is not.
pub fn have_haproxy(what: &str) -> bool {
    let there = Command::new("haproxy").arg("-v").output().is_ok();
    if !there {
        println!("skip - {what} needs the haproxy binary (apt-get install haproxy)");
    }
    there
}

pub async fn backend(name: &str) -> Backend {
    Backend::http(name, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A load balancer on 127.0.0.1 with one HTTP listener on `port` in front of `pool`.
pub fn http_lb(port: u16, pool: PoolConfig) -> AmphoraConfig {
    let pool_id = pool.id.clone();
    AmphoraConfig {
        lb_id: "lb".into(),
        generation: 1,
        vips: vec!["127.0.0.1".parse().unwrap()],
        listeners: vec![model::ListenerConfig::new(
            "listener",
            model::ListenerProtocol::Http,
            port,
            Some(&pool_id),
        )],
        pools: vec![pool],
        plumbing: None,
        vrrp: None,
        engine: Default::default(),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One answer: its status, its head's fields (names in lower case) and its body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection; status 0 when nothing usable came back in 5 s.
pub async fn exchange(addr: SocketAddr, head: &str) -> Answer {
    let io = async {
        let mut c = tokio::net::TcpStream::connect(addr).await.ok()?;
        c.write_all(head.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (top, body) = text.split_once("\r\n\r\n")?;
        let status = top.get(9..12)?.parse().ok()?;
        let headers = top
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(Answer {
            status,
            headers,
            body: body.trim().to_string(),
        })
    };
    tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// status, Location, body (of a 200) of one request on a fresh connection.
pub async fn ask(addr: SocketAddr, head: &str) -> (u16, String, String) {
    let a = exchange(addr, head).await;
    let location = a.header("location").unwrap_or_default().to_string();
    let body = if a.status == 200 {
        a.body
    } else {
        String::new()
    };
    (a.status, location, body)
}

/// The engine and HAProxy serving the same configuration (each on its own port).
pub struct Oracle {
    pub engine_addr: SocketAddr,
    pub haproxy_addr: SocketAddr,
    _engine: Engine,
    _haproxy: Haproxy,
    _dir: tempfile::TempDir,
}

impl Oracle {
    /// Each proxy's name and address, HAProxy first.
    pub fn both(&self) -> [(&'static str, SocketAddr); 2] {
        [("haproxy", self.haproxy_addr), ("engine", self.engine_addr)]
    }

    pub async fn start(config: impl Fn(u16) -> AmphoraConfig) -> Oracle {
        let engine_port = free_port();
        let engine = Engine::new(Duration::from_secs(1));
        let applied = engine.apply(config(engine_port)).await.unwrap();
        assert!(
            applied.failed_listeners.is_empty(),
            "{:?}",
            applied.failed_listeners
        );
        let dir = tempfile::tempdir().unwrap();
        let haproxy_port = free_port();
        let cfg = dir.path().join("haproxy.cfg");
        let rendered = amphora::haproxy::render(&config(haproxy_port), dir.path()).unwrap();
        std::fs::write(&cfg, rendered).unwrap();
        if let Ok(keep) = std::env::var("OSTIA_KEEP_HAPROXY_CFG") {
            std::fs::copy(&cfg, keep).unwrap();
        }
        let mut haproxy = Haproxy::new(dir.path());
        if let Err(e) = haproxy.apply(&std::fs::read_to_string(&cfg).unwrap()).await {
            panic!("{e}\n{}", std::fs::read_to_string(&cfg).unwrap());
        }
        let engine_addr = SocketAddr::from(([127, 0, 0, 1], engine_port));
        let haproxy_addr = SocketAddr::from(([127, 0, 0, 1], haproxy_port));
        until_answers(haproxy_addr, "haproxy").await;
        until_answers(engine_addr, "the engine").await;
        Oracle {
            engine_addr,
            haproxy_addr,
            _engine: engine,
            _haproxy: haproxy,
            _dir: dir,
        }
    }
}

/// One HTTP pool per name, each with one backend answering `you hit: <name>`.
pub async fn pools_of(names: &[&str]) -> (Vec<Backend>, Vec<PoolConfig>) {
    let mut backends = Vec::new();
    let mut pools = Vec::new();
    for name in names {
        let b = backend(name).await;
        let mut pool = PoolConfig::new(name, PoolProtocol::Http, LbAlgorithm::RoundRobin);
        pool.members = vec![MemberConfig::new(
            &format!("m-{name}"),
            b.addr.ip(),
            b.addr.port(),
        )];
        pools.push(pool);
        backends.push(b);
    }
    (backends, pools)
}

pub async fn until_answers(addr: SocketAddr, what: &str) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what} does not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
