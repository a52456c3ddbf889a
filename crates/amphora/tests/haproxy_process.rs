//! One load balancer's haproxy run by `amphora::haproxy::process`: it serves the rendered
//! configuration, reloads seamlessly (a client looping through the reload loses no request,
//! the new member serves after it), refuses a configuration haproxy refuses with haproxy's
//! words while the running one keeps serving, reports `show stat`, and `ps` shows which load
//! balancer a master serves. Skips, saying so, where HAProxy is not installed.

mod oracle;

use amphora::haproxy::process::{Haproxy, HaproxyError};
use model::{AmphoraConfig, LbAlgorithm, MemberConfig, PoolConfig, PoolProtocol};
use oracle::{backend, exchange, free_port, have_haproxy, http_lb, until_answers};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

const GET: &str = "GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n";

fn config(port: u16, member: SocketAddr) -> AmphoraConfig {
    let mut pool = PoolConfig::new("pool", PoolProtocol::Http, LbAlgorithm::RoundRobin);
    pool.members = vec![MemberConfig::new("m", member.ip(), member.port())];
    http_lb(port, pool)
}

#[tokio::test]
async fn haproxy_serves_reloads_seamlessly_and_refuses_what_haproxy_refuses() {
    if !have_haproxy("running haproxy for a load balancer") {
        return;
    }
    let (web1, web2) = (backend("web1").await, backend("web2").await);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("lb-0e8f");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut haproxy = Haproxy::new(&dir);
    let render = |c: &AmphoraConfig| amphora::haproxy::render(c, &dir).unwrap();

    haproxy
        .apply(&render(&config(port, web1.addr)))
        .await
        .unwrap();
    until_answers(addr, "haproxy").await;
    assert_eq!(exchange(addr, GET).await.body, "you hit: web1");
    let pid = haproxy.pid().unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.contains(&*dir.join("haproxy.cfg").to_string_lossy()),
        "ps shows the load balancer's directory: {cmdline:?}"
    );
    let stat = haproxy.show_stat().await.unwrap();
    assert!(stat.starts_with("# pxname,svname,"), "{stat}");
    assert!(
        stat.lines().any(|l| l.contains(",m,")),
        "the member's row: {stat}"
    );
    // Read as Octavia's agent reads it for the heartbeat.
    let status = amphora::haproxy::stats::status(&stat, 1);
    assert_eq!(status.listeners.len(), 1, "{status:?}");
    assert_eq!(status.listeners[0].id, "listener");
    assert_eq!(status.listeners[0].status, model::ListenerHealth::Open);
    assert_eq!(status.listeners[0].pools, ["pool"]);
    assert!(status.listeners[0].counters.total_connections >= 1);
    assert_eq!(status.pools[0].status, model::PoolHealth::Up);
    assert_eq!(status.pools[0].members[0].id, "m");
    assert_eq!(
        status.pools[0].members[0].status,
        model::MemberHealth::NoCheck
    );

    // A client loops through a reload to another member: no request is lost.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let looper = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        tokio::spawn(async move {
            while !stop.load(Relaxed) {
                match exchange(addr, GET).await.status {
                    200 => ok.fetch_add(1, Relaxed),
                    _ => failed.fetch_add(1, Relaxed),
                };
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let workers = haproxy.workers().await.unwrap();
    haproxy
        .apply(&render(&config(port, web2.addr)))
        .await
        .unwrap();
    assert_eq!(haproxy.pid(), Some(pid), "the same master");
    assert_ne!(haproxy.workers().await.unwrap(), workers, "a new worker");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Relaxed);
    looper.await.unwrap();
    assert!(ok.load(Relaxed) > 10, "the client was served");
    assert_eq!(failed.load(Relaxed), 0, "no request lost in the reload");
    assert_eq!(exchange(addr, GET).await.body, "you hit: web2");

    // A configuration haproxy refuses: its words, and the running one stays.
    let refused = haproxy
        .apply(
            "global\n    maxconn 10\nfrontend f\n    bind 127.0.0.1:1\n    use_backend nowhere\n",
        )
        .await;
    match refused {
        Err(HaproxyError::Refused(why)) => {
            assert!(why.contains("[ALERT]") && why.contains("nowhere"), "{why}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(exchange(addr, GET).await.body, "you hit: web2");
    assert!(std::fs::read_to_string(haproxy.config_path())
        .unwrap()
        .contains(&web2.addr.to_string()));

    haproxy.stop().await;
    assert!(haproxy.pid().is_none());
    assert_eq!(
        exchange(addr, GET).await.status,
        0,
        "nothing listens any more"
    );
}
