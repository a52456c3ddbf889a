//! What happens when things die: an amphora process killed or frozen is replaced on the
//! same VIP; `ostia up` killed with the process driver leaves traffic untouched and finds
//! its amphorae again; heartbeats that are not what they claim change nothing.

mod common;

use common::*;
use engine::testing::Backend;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One load balancer graph in one POST: HTTP listener :8080 → ROUND_ROBIN pool with one
/// member per backend.
fn graph_body(name: &str, subnet: &str, backends: &[&Backend]) -> Value {
    let members: Vec<Value> = backends
        .iter()
        .map(|b| json!({"address": b.addr.ip().to_string(), "protocol_port": b.addr.port()}))
        .collect();
    json!({"loadbalancer": {"name": name, "vip_subnet_id": subnet, "listeners": [
        {"protocol": "HTTP", "protocol_port": 8080, "default_pool":
            {"name": "pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": members}}]}})
}

/// (lb id, VIP) of a new graph, ACTIVE.
async fn graph(env: &Env, backends: &[&Backend]) -> (String, SocketAddr) {
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            graph_body("lb", &env.subnet, backends),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let lb = b["loadbalancer"]["id"].as_str().unwrap().to_string();
    let vip: std::net::IpAddr = b["loadbalancer"]["vip_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let settled = env.wait_lb(&lb).await;
    assert_eq!(settled["provisioning_status"], "ACTIVE", "{settled}");
    (lb, SocketAddr::new(vip, 8080))
}

/// The amphora in service of a load balancer: (id, pid).
async fn amphora(store: &store::Store, lb: &str) -> (String, Option<u32>) {
    let records = controller::amphorae::in_service(store.amphorae(Some(lb)).await.unwrap());
    let amp = records.first().expect("an amphora in service");
    (amp.id.clone(), amp.details.pid)
}

/// A client requesting through the VIP in a loop, noting every failure and the longest
/// stretch without an answer.
struct Client {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    outage: Arc<Mutex<(Option<Instant>, Duration)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Client {
    fn start(vip: SocketAddr) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let outage = Arc::new(Mutex::new((None::<Instant>, Duration::ZERO)));
        let (s, o, f, out) = (stop.clone(), ok.clone(), failed.clone(), outage.clone());
        let task = tokio::spawn(async move {
            while !s.load(Relaxed) {
                let answered = fetch(vip).await.is_some();
                {
                    let mut w = out.lock().unwrap();
                    if answered {
                        o.fetch_add(1, Relaxed);
                        if let Some(since) = w.0.take() {
                            w.1 = w.1.max(since.elapsed());
                        }
                    } else {
                        f.fetch_add(1, Relaxed);
                        w.0.get_or_insert_with(Instant::now);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        Client {
            stop,
            ok,
            failed,
            outage,
            task,
        }
    }

    /// (answered, failed, longest outage)
    async fn finish(self) -> (u64, u64, Duration) {
        self.stop.store(true, Relaxed);
        let _ = self.task.await;
        let outage = self.outage.lock().unwrap().1;
        (self.ok.load(Relaxed), self.failed.load(Relaxed), outage)
    }

    fn answered(&self) -> u64 {
        self.ok.load(Relaxed)
    }
}

/// Waits until the load balancer's amphora is another one than `old`, ALLOCATED, and the
/// VIP answers; returns the new amphora id.
async fn replaced(env: &Env, lb: &str, old: &str, vip: SocketAddr, secs: u64) -> String {
    let started = Instant::now();
    loop {
        let (_, body) = env
            .get(&format!("/v2/octavia/amphorae?loadbalancer_id={lb}"))
            .await;
        if let Some(amp) = body["amphorae"].as_array().and_then(|a| a.first()) {
            if amp["id"] != old && amp["status"] == "ALLOCATED" && fetch(vip).await.is_some() {
                return amp["id"].as_str().unwrap().to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "not replaced in {secs} s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An Ostia with one load balancer graph serving a backend: what the failure tests start
/// from, with its amphora (id, pid).
struct One {
    env: Env,
    _web: Backend,
    lb: String,
    vip: SocketAddr,
    old: String,
    pid: Option<u32>,
}

async fn one_lb(driver: ostia::AmphoraDriver) -> One {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), driver);
    let env = start_with(dir, opts).await;
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (lb, vip) = graph(&env, &[&web]).await;
    let store = env.running.as_ref().unwrap().store.clone();
    let (old, pid) = amphora(&store, &lb).await;
    One {
        env,
        _web: web,
        lb,
        vip,
        old,
        pid,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_amphora_process_is_replaced_at_once_on_the_same_vip() {
    let One {
        env,
        _web,
        lb,
        vip,
        old,
        pid,
    } = one_lb(ostia::AmphoraDriver::Process).await;
    let client = Client::start(vip);
    while client.answered() < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    unsafe {
        libc::kill(pid.expect("a pid") as i32, libc::SIGKILL);
    }
    let killed = Instant::now();
    let new = replaced(&env, &lb, &old, vip, 10).await;
    let back = killed.elapsed();
    let (ok, failed, outage) = client.finish().await;
    println!("kill -9 of amphora {old}: traffic back after {back:?} (longest outage seen by the client {outage:?}, {failed} failed of {} requests), new amphora {new}", ok + failed);
    assert!(
        back < Duration::from_secs(2),
        "the exit is noticed at once, not after the heartbeat timeout"
    );
    let (_, old_row) = env.get(&format!("/v2/octavia/amphorae/{old}")).await;
    assert!(
        old_row["faultstring"].is_string(),
        "the old amphora is DELETED: {old_row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_amphora_is_failed_over_after_the_heartbeat_timeout() {
    let One {
        env,
        _web,
        lb,
        vip,
        old,
        pid,
    } = one_lb(ostia::AmphoraDriver::Process).await;
    let timeout =
        data_plane(std::path::Path::new("."), ostia::AmphoraDriver::Process).heartbeat_timeout;
    let pid = pid.expect("a pid") as i32;
    unsafe {
        libc::kill(pid, libc::SIGSTOP);
    }
    let stopped = Instant::now();
    let new = replaced(&env, &lb, &old, vip, 15).await;
    let took = stopped.elapsed();
    println!("kill -STOP of amphora {old}: failed over to {new} after {took:?} (heartbeat_timeout {timeout:?})");
    assert!(took <= timeout + Duration::from_secs(1), "took {took:?}");
    // The frozen process was killed, not left holding the VIP.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(state.is_empty() || state.contains(") Z"), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_truncated_and_garbage_heartbeats_change_nothing_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let key = ostia::heartbeat_key(dir.path()).unwrap();
    let env = start_with(dir, opts).await;
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (lb, _vip) = graph(&env, &[&web]).await;
    let lb_path = format!("/v2/lbaas/loadbalancers/{lb}");
    env.wait_for(&lb_path, 10, |b| {
        b["loadbalancer"]["operating_status"] == "ONLINE"
    })
    .await;
    let running = env.running.as_ref().unwrap();
    let counters = running.heartbeats.clone().unwrap();
    let hm = running.health_addr.unwrap();
    let (amp, _) = amphora(&running.store, &lb).await;
    let before = counters.snapshot();

    // What a forger would send: this amphora, its listener gone and everything down.
    let lie = amphora::heartbeat::Message {
        id: amp.clone(),
        seq: 1,
        ver: 3,
        listeners: Default::default(),
        pools: Default::default(),
        host: None,
        vrrp: None,
    };
    let forged = amphora::heartbeat::Codec::new(b"not the key").encode(&lie);
    let genuine_shape = amphora::heartbeat::Codec::new(key.as_bytes()).encode(&lie);
    let unknown =
        amphora::heartbeat::Codec::new(key.as_bytes()).encode(&amphora::heartbeat::Message {
            id: "00000000-0000-0000-0000-00000000dead".into(),
            ..lie.clone()
        });
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for _ in 0..20 {
        socket.send_to(&forged, hm).await.unwrap();
        socket
            .send_to(&genuine_shape[..genuine_shape.len() - 3], hm)
            .await
            .unwrap();
        socket.send_to(&genuine_shape[..20], hm).await.unwrap();
        socket.send_to(&[0x5a; 700], hm).await.unwrap();
        socket.send_to(&unknown, hm).await.unwrap();
    }
    let counted = Instant::now();
    loop {
        let now = counters.snapshot();
        if now.bad_signature - before.bad_signature >= 60
            && now.truncated - before.truncated >= 20
            && now.unknown_amphora - before.unknown_amphora >= 20
        {
            break;
        }
        assert!(counted.elapsed() < Duration::from_secs(5), "{now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Two more heartbeat intervals of the real amphora: nothing moved.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, body) = env.get(&format!("{lb_path}/status")).await;
    let l = &body["statuses"]["loadbalancer"];
    assert_eq!(l["operating_status"], "ONLINE", "{body}");
    assert_eq!(l["listeners"][0]["operating_status"], "ONLINE", "{body}");
    let after = counters.snapshot();
    println!("heartbeats dropped: {after:?}");
    env.stop().await;
}

/// `kill -9` of `ostia up` (the process driver) while a client loops through the VIP: no
/// request fails, and the next start finds every load balancer ACTIVE on its amphorae.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_control_plane_leaves_traffic_alone_and_a_restart_reattaches() {
    let dir = tempfile::tempdir().unwrap();
    let _reaper = Reaper(dir.path().to_path_buf());
    let cidr = unique_cidr();
    let health = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let up = |api: u16, net: u16| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ostia"))
            .args([
                "up",
                "--auth",
                "noauth",
                "--amphora",
                "process",
                "--heartbeat-interval",
                "0.25",
                "--heartbeat-timeout",
                "2",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--vip-cidr", &cidr.to_string()])
            .args(["--api-bind", &format!("127.0.0.1:{api}")])
            .args(["--network-bind", &format!("127.0.0.1:{net}")])
            .args(["--key-manager-bind", "127.0.0.1:0"])
            .args(["--health-bind", &health.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (api, net) = (free(), free());
    let control = Killed(up(api, net));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{api}");
    let ready = Instant::now();
    while client.get(format!("{base}/")).send().await.is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "ostia up did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let env = Remote {
        client: client.clone(),
        base: base.clone(),
    };
    let subnet = local_subnet(&client, &format!("http://127.0.0.1:{net}")).await;
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut lbs = Vec::new();
    for i in 0..2 {
        let (s, b) = env
            .post(
                "/v2/lbaas/loadbalancers",
                graph_body(&format!("lb{i}"), &subnet, &[&web]),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let id = b["loadbalancer"]["id"].as_str().unwrap().to_string();
        let vip: std::net::IpAddr = b["loadbalancer"]["vip_address"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        env.wait_active(&id).await;
        lbs.push((id, SocketAddr::new(vip, 8080)));
    }
    let amphorae_before = env.amphora_ids().await;
    let client_loop = Client::start(lbs[0].1);
    while client_loop.answered() < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(control);
    let killed_at = client_loop.answered();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        client_loop.answered() > killed_at,
        "traffic flows with the control plane down"
    );
    let _control = Killed(up(api, net));
    let ready = Instant::now();
    while client.get(format!("{base}/")).send().await.is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "ostia up did not restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Longer than the heartbeat timeout: nothing was failed over, they were re-attached.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (id, _) in &lbs {
        let (_, b) = env.get(&format!("/v2/lbaas/loadbalancers/{id}")).await;
        assert_eq!(b["loadbalancer"]["provisioning_status"], "ACTIVE", "{b}");
    }
    assert_eq!(
        env.amphora_ids().await,
        amphorae_before,
        "the same amphorae serve"
    );
    let (ok, failed, _) = client_loop.finish().await;
    println!("kill -9 of ostia up: {ok} requests answered, {failed} failed");
    assert_eq!(failed, 0);
    // The re-attached amphorae are still managed: a change reaches them.
    let (s, _) = env
        .delete(&format!(
            "/v2/lbaas/loadbalancers/{}?cascade=true",
            lbs[1].0
        ))
        .await;
    assert_eq!(s, 204);
    let gone = Instant::now();
    while tokio::net::TcpStream::connect(lbs[1].1).await.is_ok() {
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "VIP of the deleted LB still answers"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child process killed (-9) when dropped, whatever happened before.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client of an `ostia up` running as its own process.
struct Remote {
    client: reqwest::Client,
    base: String,
}

impl Remote {
    async fn req(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        self.req(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.req(reqwest::Method::POST, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> (u16, Value) {
        self.req(reqwest::Method::DELETE, path, None).await
    }
    async fn wait_active(&self, id: &str) {
        let started = Instant::now();
        loop {
            let (_, b) = self.get(&format!("/v2/lbaas/loadbalancers/{id}")).await;
            if b["loadbalancer"]["provisioning_status"] == "ACTIVE" {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{b}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    async fn amphora_ids(&self) -> Vec<String> {
        let (_, b) = self.get("/v2/octavia/amphorae").await;
        let mut ids: Vec<String> = b["amphorae"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
}

/// Octavia's mass-failure guard: when `failover_threshold` amphorae are silent at once,
/// none is failed over; they are FAILOVER_STOPPED, and ALLOCATED again once they talk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_silent_amphorae_at_once_stop_failover() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ostia::Options {
        failover_threshold: Some(2),
        ..data_plane(dir.path(), ostia::AmphoraDriver::Process)
    };
    let env = start_with(dir, opts).await;
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let store = env.running.as_ref().unwrap().store.clone();
    let mut amps = Vec::new();
    for i in 0..2 {
        let (s, b) = env
            .post(
                "/v2/lbaas/loadbalancers",
                graph_body(&format!("lb{i}"), &env.subnet, &[&web]),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let lb = b["loadbalancer"]["id"].as_str().unwrap().to_string();
        env.wait_lb(&lb).await;
        amps.push(amphora(&store, &lb).await);
    }
    let each = |signal: i32| {
        for (_, pid) in &amps {
            unsafe {
                libc::kill(pid.unwrap() as i32, signal);
            }
        }
    };
    let all_become = |status: &'static str| {
        let (env, amps) = (&env, &amps);
        async move {
            for (id, _) in amps {
                env.wait_for(&format!("/v2/octavia/amphorae/{id}"), 10, |b| {
                    b["amphora"]["status"] == status
                })
                .await;
            }
        }
    };
    each(libc::SIGSTOP);
    all_become("FAILOVER_STOPPED").await;
    each(libc::SIGCONT);
    all_become("ALLOCATED").await;
    let (_, list) = env.get("/v2/octavia/amphorae").await;
    assert_eq!(
        list["amphorae"].as_array().unwrap().len(),
        2,
        "nothing was replaced: {list}"
    );
    env.stop().await;
}

/// An amphora that does not answer within the bounded retry: the change is ERROR, its
/// parents ACTIVE again, and the silent amphora is then failed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_an_amphora_cannot_take_is_an_error_and_the_amphora_is_replaced() {
    let One {
        env,
        _web,
        lb,
        vip,
        old,
        pid,
    } = one_lb(ostia::AmphoraDriver::Process).await;
    unsafe {
        libc::kill(pid.unwrap() as i32, libc::SIGSTOP);
    }
    let (_, pools) = env.get("/v2/lbaas/pools").await;
    let pool = pools["pools"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = env
        .post(
            &format!("/v2/lbaas/pools/{pool}/members"),
            json!({"member": {"address": "127.0.0.1", "protocol_port": 9}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let member = b["member"]["id"].as_str().unwrap().to_string();
    let settled = env
        .wait_for(
            &format!("/v2/lbaas/pools/{pool}/members/{member}"),
            30,
            |b| b["member"]["provisioning_status"] == "ERROR",
        )
        .await;
    println!(
        "member create against a hung amphora: {}",
        settled["member"]["provisioning_status"]
    );
    let (_, p) = env.get(&format!("/v2/lbaas/pools/{pool}")).await;
    assert_eq!(p["pool"]["provisioning_status"], "ACTIVE");
    // Then the silent amphora is replaced and the VIP serves again.
    let new = replaced(&env, &lb, &old, vip, 20).await;
    assert_ne!(new, old);
    env.stop().await;
}
