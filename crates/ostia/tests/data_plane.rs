//! Load balancers that carry traffic: the German seed's flow through the API with real
//! backends, for both compute drivers that run a data plane. Members, pools, listeners and
//! the load balancer get their operating status from heartbeats; stats count what was sent.

mod common;

use common::*;
use engine::testing::Backend;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

async fn backend(name: &str) -> Backend {
    Backend::http(name, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// LB → HTTP listener on `port` → ROUND_ROBIN pool → the backends as members; returns
/// (lb, listener, pool, member ids, VIP address).
async fn seed_graph(
    env: &Env,
    port: u16,
    backends: &[&Backend],
) -> (String, String, String, Vec<String>, SocketAddr) {
    let lb = env.lb("Beispiel-LB").await;
    let (_, body) = env.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    let vip: std::net::IpAddr = body["loadbalancer"]["vip_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let listener = env
        .create(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": port}}),
            &lb,
        )
        .await["listener"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pool = env
        .create(
            "/v2/lbaas/pools",
            json!({"pool": {"listener_id": listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
            &lb,
        )
        .await["pool"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut members = Vec::new();
    for b in backends {
        let m = env
            .create(
                &format!("/v2/lbaas/pools/{pool}/members"),
                json!({"member": {"address": b.addr.ip().to_string(), "protocol_port": b.addr.port(),
                                   "subnet_id": env.subnet}}),
                &lb,
            )
            .await;
        members.push(m["member"]["id"].as_str().unwrap().to_string());
    }
    (
        lb,
        listener,
        pool,
        members,
        std::net::SocketAddr::new(vip, port),
    )
}

async fn answers(vip: SocketAddr, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(fetch(vip).await.unwrap_or_else(|| "<no answer>".into()));
    }
    out
}

async fn seed_flow(driver: ostia::AmphoraDriver) {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), driver);
    let env = start_with(dir, opts).await;
    let (web1, web2) = (backend("webserver1").await, backend("webserver2").await);
    let (lb, listener, pool, members, vip) = seed_graph(&env, 8080, &[&web1, &web2]).await;

    // Traffic alternates between the two members; without a monitor they are NO_MONITOR
    // and the rest goes ONLINE from the heartbeats.
    let got = answers(vip, 4).await;
    assert_eq!(
        got,
        [
            "you hit: webserver1",
            "you hit: webserver2",
            "you hit: webserver1",
            "you hit: webserver2"
        ],
        "round robin through {vip}"
    );
    let lb_path = format!("/v2/lbaas/loadbalancers/{lb}");
    env.wait_for(&lb_path, 10, |b| {
        b["loadbalancer"]["operating_status"] == "ONLINE"
    })
    .await;
    // A heartbeat sent before the last change reached the amphora may briefly show the
    // listener OFFLINE (as in Octavia): the next one puts it right.
    env.wait_for(&format!("/v2/lbaas/listeners/{listener}"), 5, |b| {
        b["listener"]["operating_status"] == "ONLINE"
    })
    .await;
    env.wait_for(&format!("/v2/lbaas/pools/{pool}"), 5, |b| {
        b["pool"]["operating_status"] == "ONLINE"
    })
    .await;
    for m in &members {
        assert_eq!(
            env.operating(&format!("/v2/lbaas/pools/{pool}/members/{m}"))
                .await,
            "NO_MONITOR"
        );
    }

    // An HTTP monitor: members ONLINE.
    env.create(
        "/v2/lbaas/healthmonitors",
        json!({"healthmonitor": {"pool_id": pool, "type": "HTTP", "delay": 1, "timeout": 1,
                                  "max_retries": 2, "url_path": "/"}}),
        &lb,
    )
    .await;
    let m2 = format!("/v2/lbaas/pools/{pool}/members/{}", members[1]);
    env.wait_for(&m2, 10, |b| b["member"]["operating_status"] == "ONLINE")
        .await;

    // webserver2 dies: within delay × max_retries_down plus a heartbeat its member is ERROR,
    // pool and load balancer DEGRADED, and webserver1 answers everything.
    web2.kill();
    let died = std::time::Instant::now();
    env.wait_for(&m2, 10, |b| b["member"]["operating_status"] == "ERROR")
        .await;
    let noticed = died.elapsed();
    assert!(
        noticed < Duration::from_secs(6),
        "noticed after {noticed:?}"
    );
    assert_eq!(
        env.operating(&format!("/v2/lbaas/pools/{pool}")).await,
        "DEGRADED"
    );
    env.wait_for(&lb_path, 5, |b| {
        b["loadbalancer"]["operating_status"] == "DEGRADED"
    })
    .await;
    for answer in answers(vip, 6).await {
        assert_eq!(answer, "you hit: webserver1");
    }

    // It comes back: ONLINE again, and the alternation with it.
    web2.revive().await.unwrap();
    env.wait_for(&m2, 10, |b| b["member"]["operating_status"] == "ONLINE")
        .await;
    env.wait_for(&lb_path, 5, |b| {
        b["loadbalancer"]["operating_status"] == "ONLINE"
    })
    .await;
    let got = answers(vip, 4).await;
    assert!(got.contains(&"you hit: webserver2".to_string()), "{got:?}");
    assert!(got.contains(&"you hit: webserver1".to_string()), "{got:?}");

    // Stats count what went through (16 requests were answered by now, at least).
    let stats = env
        .wait_for(&format!("{lb_path}/stats"), 10, |b| {
            b["stats"]["total_connections"].as_i64() >= Some(14)
        })
        .await;
    assert!(
        stats["stats"]["bytes_in"].as_i64().unwrap() > 14 * 20,
        "{stats}"
    );
    assert!(
        stats["stats"]["bytes_out"].as_i64().unwrap() > 14 * 20,
        "{stats}"
    );

    // The amphora is listed, ALLOCATED, with its stats.
    let (_, amps) = env
        .get(&format!("/v2/octavia/amphorae?loadbalancer_id={lb}"))
        .await;
    let amps = amps["amphorae"].as_array().unwrap().clone();
    assert_eq!(amps.len(), 1, "{amps:?}");
    assert_eq!(amps[0]["status"], "ALLOCATED");
    assert_eq!(amps[0]["role"], "STANDALONE");
    let (s, amp_stats) = env
        .get(&format!(
            "/v2/octavia/amphorae/{}/stats",
            amps[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200, "{amp_stats}");
    assert_eq!(
        amp_stats["amphora_stats"][0]["listener_id"],
        listener.as_str()
    );

    // Cascade delete: the VIP refuses connections afterwards.
    let (s, _) = env.delete(&format!("{lb_path}?cascade=true")).await;
    assert_eq!(s, 204);
    env.wait_for(&lb_path, 10, |b| b["faultstring"].is_string())
        .await;
    assert!(
        tokio::net::TcpStream::connect(vip).await.is_err(),
        "VIP still answers"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_with_in_process_amphorae() {
    seed_flow(ostia::AmphoraDriver::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_with_amphora_processes() {
    seed_flow(ostia::AmphoraDriver::Process).await;
}

/// What users see of a config the engine cannot serve yet, and of a port another program
/// holds: ERROR with the reason, never ACTIVE while not served, and the rest keeps serving
/// (an L7 policy next to them is served).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_taken_ports_are_errors_and_the_rest_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let env = start_with(dir, opts).await;
    let web1 = backend("webserver1").await;
    let (lb, listener, _pool, _members, vip) = seed_graph(&env, 8080, &[&web1]).await;
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: webserver1"));

    // A TERMINATED_HTTPS listener: the amphora refuses it, the listener is ERROR.
    let (s, b) = env
        .post(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "TERMINATED_HTTPS", "protocol_port": 8443,
                                 "default_tls_container_ref": "http://127.0.0.1:9311/v1/containers/x"}}),
        )
        .await;
    if s == 201 {
        let id = b["listener"]["id"].as_str().unwrap().to_string();
        let settled = env.wait_lb(&lb).await;
        assert_eq!(settled["provisioning_status"], "ACTIVE");
        let (_, l) = env.get(&format!("/v2/lbaas/listeners/{id}")).await;
        assert_eq!(l["listener"]["provisioning_status"], "ERROR", "{l}");
    }

    // An L7 policy with a rule is served: /admin is rejected, the rest still reaches the pool.
    let (s, b) = env
        .post(
            "/v2/lbaas/l7policies",
            json!({"l7policy": {"listener_id": listener, "action": "REJECT",
                "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/admin"}]}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let policy = b["l7policy"]["id"].as_str().unwrap().to_string();
    env.wait_lb(&lb).await;
    let (_, p) = env.get(&format!("/v2/lbaas/l7policies/{policy}")).await;
    assert_eq!(p["l7policy"]["provisioning_status"], "ACTIVE", "{p}");
    let admin = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(vip).await.unwrap();
        c.write_all(b"GET /admin/x HTTP/1.1\r\nHost: vip\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    assert!(admin.starts_with("HTTP/1.1 403"), "{admin}");
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: webserver1"));

    // Another program holds VIP:9090: that listener is ERROR, the first still serves.
    let squatter = std::net::TcpListener::bind(SocketAddr::new(vip.ip(), 9090)).unwrap();
    let (s, b) = env
        .post(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 9090}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let taken = b["listener"]["id"].as_str().unwrap().to_string();
    let settled = env.wait_lb(&lb).await;
    assert_eq!(settled["provisioning_status"], "ACTIVE");
    let (_, l) = env.get(&format!("/v2/lbaas/listeners/{taken}")).await;
    assert_eq!(l["listener"]["provisioning_status"], "ERROR", "{l}");
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: webserver1"));
    drop(squatter);
    env.stop().await;
}

/// On-demand failover through the API replaces the amphora on the same VIP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_through_the_api_replaces_the_amphora_on_the_same_vip() {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let env = start_with(dir, opts).await;
    let web1 = backend("webserver1").await;
    let (lb, _l, _p, _m, vip) = seed_graph(&env, 8080, &[&web1]).await;
    let path = format!("/v2/octavia/amphorae?loadbalancer_id={lb}");
    let amphorae = || async {
        env.get(&path).await.1["amphorae"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let before: Vec<Value> = amphorae().await;
    let old = before[0]["id"].as_str().unwrap().to_string();
    let (s, b) = env
        .put(&format!("/v2/octavia/amphorae/{old}/failover"), json!({}))
        .await;
    assert_eq!(s, 202, "{b}");
    env.wait_lb(&lb).await;
    let after = amphorae().await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0]["id"], old.as_str());
    assert_eq!(after[0]["status"], "ALLOCATED");
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: webserver1"));
    // And the load balancer's own failover.
    let (s, _) = env
        .put(&format!("/v2/lbaas/loadbalancers/{lb}/failover"), json!({}))
        .await;
    assert_eq!(s, 202);
    let settled = env.wait_lb(&lb).await;
    assert_eq!(settled["provisioning_status"], "ACTIVE");
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: webserver1"));
    env.stop().await;
}

/// A restart of `ostia up` brings every in-process amphora back from the store, serving
/// before anything expects a heartbeat from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_brings_in_process_amphorae_back_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let env = start_with(dir, opts.clone()).await;
    let web1 = backend("webserver1").await;
    let (lb, _l, _p, _m, vip) = seed_graph(&env, 8080, &[&web1]).await;
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: webserver1"));
    let (_, before) = env
        .get(&format!("/v2/octavia/amphorae?loadbalancer_id={lb}"))
        .await;
    let dir = env.stop().await;
    assert!(
        fetch(vip).await.is_none(),
        "in-process amphorae stop with ostia up"
    );

    let env = start_with(dir, opts).await;
    assert_eq!(
        fetch(vip).await.as_deref(),
        Some("you hit: webserver1"),
        "serving as soon as ostia up is back"
    );
    let (_, after) = env
        .get(&format!("/v2/octavia/amphorae?loadbalancer_id={lb}"))
        .await;
    assert_eq!(after["amphorae"][0]["id"], before["amphorae"][0]["id"]);
    let lb_path = format!("/v2/lbaas/loadbalancers/{lb}");
    env.wait_for(&lb_path, 10, |b| {
        b["loadbalancer"]["operating_status"] == "ONLINE"
    })
    .await;
    // Longer than the heartbeat timeout: it was not failed over.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, again) = env
        .get(&format!("/v2/octavia/amphorae?loadbalancer_id={lb}"))
        .await;
    assert_eq!(again["amphorae"][0]["id"], before["amphorae"][0]["id"]);
    env.stop().await;
}

/// Waits until `addr` answers (`want` true) or stops answering (`want` false).
async fn until_answers(addr: SocketAddr, want: bool) -> Option<String> {
    let start = std::time::Instant::now();
    loop {
        let got = fetch(addr).await;
        if got.is_some() == want {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{addr} answering is not {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A floating IP associated with the VIP's port makes the listeners answer on it too; taking
/// it away stops that, and the VIP serves throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floating_ip_on_the_vip_port_serves_the_listeners_until_it_is_taken_away() {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let env = start_with(dir, opts).await;
    let web = backend("web").await;
    let (lb, _, _, _, vip) = seed_graph(&env, 8090, &[&web]).await;
    assert_eq!(until_answers(vip, true).await.unwrap(), "you hit: web");

    // An external network of this test's own (the built-in `provider` is shared by every
    // instance of this process), reached from the VIP subnet through ostia-router.
    let cidr = unique_cidr();
    let net = |path: &str| format!("{}{path}", env.net);
    let (s, b) = env
        .post(
            &net("/v2.0/networks"),
            json!({"network": {"name": "ext", "router:external": true}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let ext = b["network"]["id"].as_str().unwrap().to_string();
    let (s, b) = env
        .post(
            &net("/v2.0/subnets"),
            json!({"subnet": {"network_id": ext, "cidr": cidr.to_string()}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = env.get(&net("/v2.0/routers?name=ostia-router")).await;
    let router = b["routers"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = env
        .put(
            &net(&format!("/v2.0/routers/{router}")),
            json!({"router": {"external_gateway_info": {"network_id": ext}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let (_, b) = env.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    let vip_port = b["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, b) = env
        .post(
            &net("/v2.0/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": vip_port}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let fip_id = b["floatingip"]["id"].as_str().unwrap().to_string();
    let address: std::net::IpAddr = b["floatingip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let floating = SocketAddr::new(address, 8090);
    assert_eq!(until_answers(floating, true).await.unwrap(), "you hit: web");
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: web"));
    env.wait_lb(&lb).await;

    let (s, b) = env
        .put(
            &net(&format!("/v2.0/floatingips/{fip_id}")),
            json!({"floatingip": {"port_id": null}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    until_answers(floating, false).await;
    assert_eq!(fetch(vip).await.as_deref(), Some("you hit: web"));
    env.stop().await;
}
