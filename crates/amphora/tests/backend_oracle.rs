//! The oracle for backends (reference §9.3): session persistence, health monitors and the
//! inserted headers. The engine and the real HAProxy serve one AmphoraConfig (rendered as
//! Octavia renders it); the same request sequences go to both, and the answers (status,
//! serving member, Set-Cookie) and what the members were told must agree.
//! Skips, saying so, where HAProxy is not installed (`scripts/test` installs it).

mod oracle;

use engine::testing::Backend;
use model::{
    AmphoraConfig, LbAlgorithm, ListenerConfig, ListenerProtocol, MemberConfig, MonitorConfig,
    MonitorType, PersistenceType, PoolConfig, PoolProtocol, SessionPersistence,
};
use oracle::{backend, exchange, have_haproxy, Answer, Oracle};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const GET: &str = "GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n";

fn get_with(extra: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: www.example.com\r\n{extra}Connection: close\r\n\r\n")
}

/// One pool `p` of the named backends (members `m-<name>`) behind an HTTP listener.
async fn served(
    names: &[&str],
    shape: impl Fn(&mut ListenerConfig, &mut PoolConfig) + Clone,
) -> (Vec<Backend>, Oracle) {
    let mut backends = Vec::new();
    for n in names {
        backends.push(backend(n).await);
    }
    let members: Vec<MemberConfig> = backends
        .iter()
        .map(|b| MemberConfig::new(&format!("m-{}", b.name), b.addr.ip(), b.addr.port()))
        .collect();
    let config = move |port: u16| {
        let mut l = ListenerConfig::new("listener", ListenerProtocol::Http, port, Some("p"));
        // HAProxy sizes its file descriptors from maxconn; 50000 needs more than a test may have.
        l.connection_limit = 1000;
        let mut p = PoolConfig::new("p", PoolProtocol::Http, LbAlgorithm::RoundRobin);
        p.members = members.clone();
        shape(&mut l, &mut p);
        AmphoraConfig {
            lb_id: "lb".into(),
            generation: 1,
            vips: vec!["127.0.0.1".parse().unwrap()],
            listeners: vec![l],
            pools: vec![p],
            plumbing: None,
            vrrp: None,
            engine: Default::default(),
        }
    };
    (backends, Oracle::start(config).await)
}

fn sticky(kind: PersistenceType, cookie: Option<&str>) -> SessionPersistence {
    SessionPersistence {
        kind,
        cookie_name: cookie.map(str::to_string),
        persistence_timeout: None,
        persistence_granularity: None,
    }
}

/// The member that answered (`you hit: <name>`).
fn member(a: &Answer) -> &str {
    a.body.strip_prefix("you hit: ").unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_cookie_persistence_is_haproxys_insert_indirect_nocache() {
    if !have_haproxy("the backend oracle") {
        return;
    }
    let (backends, oracle) = served(&["a", "b", "c"], |_, p| {
        p.session_persistence = Some(sticky(PersistenceType::HttpCookie, None));
    })
    .await;
    // A new client gets the member's cookie; an answer that could be cached is marked private
    // (only that one: HAProxy leaves the others alone), and a POST's never.
    for (path, method, private) in [
        ("/", "GET", None),
        ("/cached", "GET", Some("private")),
        ("/cached", "POST", None),
    ] {
        for (proxy, addr) in oracle.both() {
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let first = exchange(addr, &head).await;
            assert_eq!(first.status, 200, "{proxy}: {first:?}");
            let cookie = format!("SRV=m-{}; path=/", member(&first));
            assert_eq!(first.header("set-cookie"), Some(cookie.as_str()), "{proxy}");
            let marks: Vec<&str> = first
                .headers
                .iter()
                .filter(|(n, v)| n == "cache-control" && v == "private")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(
                marks.first().copied(),
                private,
                "{proxy} {method} {path}: {first:?}"
            );
        }
    }
    for b in &backends {
        let mut seen = Vec::new();
        for (proxy, addr) in oracle.both() {
            let head = get_with(&format!("Cookie: SRV=m-{}; theme=dark\r\n", b.name), "/");
            let a = exchange(addr, &head).await;
            let cookie_seen = b.seen.last_headers.lock().unwrap().clone();
            let cookie_seen = cookie_seen
                .iter()
                .find(|(k, _)| k == "cookie")
                .map(|(_, v)| v.clone());
            seen.push((
                a.status,
                member(&a).to_string(),
                a.header("set-cookie").map(str::to_string),
                cookie_seen,
            ));
            assert_eq!(member(&a), b.name, "{proxy}: the cookie names the member");
        }
        assert_eq!(
            seen[0], seen[1],
            "haproxy vs engine for SRV=m-{}: status, member, Set-Cookie, the Cookie the member saw",
            b.name
        );
    }
    for (proxy, addr) in oracle.both() {
        let a = exchange(addr, &get_with("Cookie: theme=dark; SRV=m-gone\r\n", "/")).await;
        let cookie = format!("SRV=m-{}; path=/", member(&a));
        assert_eq!(
            a.header("set-cookie"),
            Some(cookie.as_str()),
            "{proxy}: an unknown member's cookie is replaced"
        );
        let b = backends.iter().find(|b| b.name == member(&a)).unwrap();
        let saw = b.seen.last_headers.lock().unwrap().clone();
        assert!(
            saw.contains(&("cookie".to_string(), "theme=dark".to_string())),
            "{proxy}: the member never sees SRV: {saw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_cookie_and_source_ip_persistence_keep_clients_where_haproxy_does() {
    if !have_haproxy("the backend oracle") {
        return;
    }
    let (_b, oracle) = served(&["a", "b", "c"], |_, p| {
        p.session_persistence = Some(sticky(PersistenceType::AppCookie, Some("JSESSIONID")));
    })
    .await;
    for (proxy, addr) in oracle.both() {
        let login = exchange(addr, &get_with("", "/login")).await;
        let who = member(&login).to_string();
        let session = format!("JSESSIONID={who}-session");
        assert!(
            login
                .header("set-cookie")
                .is_some_and(|c| c.starts_with(&session)),
            "{proxy}: {login:?}"
        );
        for _ in 0..6 {
            let a = exchange(addr, &get_with(&format!("Cookie: {session}\r\n"), "/")).await;
            assert_eq!(
                member(&a),
                who,
                "{proxy}: the application's cookie keeps it on {who}"
            );
        }
    }
    drop(oracle);
    let (_b, oracle) = served(&["a", "b", "c"], |_, p| {
        p.session_persistence = Some(sticky(PersistenceType::SourceIp, None));
    })
    .await;
    for (proxy, addr) in oracle.both() {
        let mut members = std::collections::BTreeSet::new();
        for _ in 0..9 {
            members.insert(member(&exchange(addr, GET).await).to_string());
        }
        assert_eq!(
            members.len(),
            1,
            "{proxy}: one client, one member: {members:?}"
        );
    }
}

/// Until every one of 6 answers in a row comes from a member in `want`, at most 20 s.
async fn settles_on(addr: SocketAddr, want: &[&str]) -> Result<(), Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut last = Vec::new();
        for _ in 0..6 {
            last.push(member(&exchange(addr, GET).await).to_string());
        }
        if last.iter().all(|m| want.contains(&m.as_str())) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(last);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_monitors_take_members_out_and_back_as_haproxy_does() {
    if !have_haproxy("the backend oracle") {
        return;
    }
    let (backends, oracle) = served(&["a", "b"], |_, p| {
        let mut hm = MonitorConfig::new("hm", MonitorType::Http, 1, 1, 1);
        hm.max_retries_down = 1;
        hm.url_path = Some(engine::testing::HEALTH_PATH.into());
        hm.expected_codes = Some("200-204".into());
        p.healthmonitor = Some(hm);
    })
    .await;
    backends[1].fail_checks(true);
    for (proxy, addr) in oracle.both() {
        let settled = settles_on(addr, &["a"]).await;
        assert!(settled.is_ok(), "{proxy}: b fails its checks: {settled:?}");
    }
    backends[1].fail_checks(false);
    for (proxy, addr) in oracle.both() {
        assert!(
            serves(addr, "b").await,
            "{proxy}: b passes its checks again and serves"
        );
    }
}

/// Until `name` answers a request, at most 20 s.
async fn serves(addr: SocketAddr, name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if member(&exchange(addr, GET).await) == name {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserted_headers_reach_the_member_as_haproxy_sends_them() {
    if !have_haproxy("the backend oracle") {
        return;
    }
    let (backends, oracle) = served(&["a"], |l, _| {
        for h in ["X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"] {
            l.insert_headers.insert(h.into(), "True".into());
        }
    })
    .await;
    let mut told = Vec::new();
    for (proxy, addr) in oracle.both() {
        let a = exchange(addr, GET).await;
        assert_eq!(a.status, 200, "{proxy}");
        let headers = backends[0].seen.last_headers.lock().unwrap().clone();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let port = header("x-forwarded-port");
        assert_eq!(port, Some(addr.port().to_string()), "{proxy}: {headers:?}");
        told.push((header("x-forwarded-for"), header("x-forwarded-proto")));
    }
    assert_eq!(told[0], told[1], "haproxy vs engine");
    assert_eq!(
        told[0],
        (Some("127.0.0.1".to_string()), Some("http".to_string()))
    );
}
