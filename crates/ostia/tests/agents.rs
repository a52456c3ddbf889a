//! Amphora hosts as an operator meets them: an `ostia agent` with the control plane's key
//! registers by reporting and shows in Neutron's agent API; one with another key never
//! appears; an administrator switches a host off; a silent host goes dead and can then be
//! deleted.

mod cloud;
mod common;

use common::*;
use host_agent::Reports;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// A host agent's reports, signed with the key of `data_dir`.
async fn agent(data_dir: &Path, host: &str, health: SocketAddr) -> Reports {
    let key = std::fs::read_to_string(data_dir.join("heartbeat.key")).unwrap();
    host_agent::start_reports(
        host,
        "127.0.0.1".parse().unwrap(),
        Some("127.0.0.1:9443".parse().unwrap()),
        vec![health],
        Duration::from_millis(200),
        key.trim().to_string(),
    )
    .await
    .expect("reports start")
}

/// Waits (bounded) until the agent of `host` is listed and `done` holds for it.
async fn wait_agent(env: &Env, host: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (s, b) = env.get(&format!("{}/v2.0/agents", env.net)).await;
        assert_eq!(s, 200, "{b}");
        let found = b["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["host"] == host)
            .cloned();
        if let Some(a) = found.filter(|a| done(a)) {
            return a;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "agent of {host} never got there: {b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fault(b: &Value) -> (&str, &str) {
    (
        b["NeutronError"]["type"].as_str().unwrap_or_default(),
        b["NeutronError"]["message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_registers_is_switched_off_goes_dead_and_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ostia::Options {
        host_down_time: Duration::from_millis(1500),
        ..options(dir.path())
    };
    let env = start_with(dir, opts).await;
    let running = env.running.as_ref().unwrap();
    let health = running.health_addr.expect("a health manager runs");
    let counters = running.heartbeats.clone().unwrap();

    // Nothing reports yet: no agents.
    let (s, b) = env.get(&format!("{}/v2.0/agents", env.net)).await;
    assert_eq!((s, &b), (200, &json!({"agents": []})));

    let host_a = agent(env.dir.path(), "host-a", health).await;
    let a = wait_agent(&env, "host-a", |a| a["alive"] == true).await;
    assert_eq!(a["agent_type"], "Loadbalancerv2 agent");
    assert_eq!(a["binary"], "neutron-lbaasv2-agent");
    assert_eq!(a["topic"], "n-lbaasv2_agent");
    assert_eq!(a["admin_state_up"], true);
    assert_eq!(a["configurations"]["instances"], 0);
    assert_eq!(a["configurations"]["local_ip"], "127.0.0.1");
    assert_eq!(a["configurations"]["device_drivers"], json!(["ostia"]));
    // Neutron's `str(datetime)`: date, a space, time.
    let beat = a["heartbeat_timestamp"].as_str().unwrap();
    assert!(beat.len() == 19 && &beat[10..11] == " ", "{beat}");
    let id = a["id"].as_str().unwrap().to_string();
    let agent_url = format!("{}/v2.0/agents/{id}", env.net);
    let (s, b) = env.get(&agent_url).await;
    assert_eq!((s, &b["agent"]["host"]), (200, &json!("host-a")), "{b}");
    // Filters as `openstack network agent list --host` sends them.
    let (_, b) = env
        .get(&format!("{}/v2.0/agents?host=host-b", env.net))
        .await;
    assert_eq!(b, json!({"agents": []}));

    // An agent with a key of its own is dropped and counted, and never appears.
    let stranger_dir = tempfile::tempdir().unwrap();
    std::fs::write(stranger_dir.path().join("heartbeat.key"), "not-the-key").unwrap();
    let bad_before = counters.snapshot().bad_signature;
    let stranger = agent(stranger_dir.path(), "host-x", health).await;
    let started = Instant::now();
    while counters.snapshot().bad_signature < bad_before + 3 {
        assert!(started.elapsed() < Duration::from_secs(10), "never dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stranger);
    let (_, b) = env
        .get(&format!("{}/v2.0/agents?host=host-x", env.net))
        .await;
    assert_eq!(b, json!({"agents": []}));
    // A data dir without the key is refused at start, saying what to copy.
    let empty = tempfile::tempdir().unwrap();
    let refused = host_agent::start(host_agent::HostOptions {
        data_dir: empty.path().to_path_buf(),
        host: "host-y".into(),
        local_ip: "127.0.0.1".parse().unwrap(),
        bind: "127.0.0.1:0".parse().unwrap(),
        controllers: vec![health],
        report_interval: Duration::from_millis(200),
        exe: env!("CARGO_BIN_EXE_ostia").into(),
        drain: Duration::from_secs(1),
    })
    .await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("copy heartbeat.key and pki/"), "{message}");

    // An administrator switches the host off, and writes why.
    let (s, b) = env
        .put(
            &agent_url,
            json!({"agent": {"admin_state_up": false, "description": "disk swap"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["admin_state_up"], false);
    assert_eq!(b["agent"]["description"], "disk swap");
    // Its next reports do not switch it back on.
    let after = counters.snapshot().host_reports;
    let started = Instant::now();
    while counters.snapshot().host_reports < after + 2 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, b) = env.get(&agent_url).await;
    assert_eq!(b["agent"]["admin_state_up"], false, "{b}");

    // Bad updates are refused with Neutron's texts and change nothing.
    let (s, b) = env
        .put(&agent_url, json!({"agent": {"host": "elsewhere"}}))
        .await;
    assert_eq!(
        (s, fault(&b)),
        (
            400,
            ("HTTPBadRequest", "Cannot update read-only attribute host")
        )
    );
    let (s, b) = env
        .put(&agent_url, json!({"agent": {"admin_state_up": "maybe"}}))
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(fault(&b).1.contains("not a valid boolean"), "{b}");
    let (s, b) = env.put(&agent_url, json!({"agent": {}})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["description"], "disk swap");

    // An agent that reports cannot be deleted.
    let (s, b) = env.delete(&agent_url).await;
    assert_eq!((s, fault(&b).0), (409, "AgentAlive"), "{b}");

    // Load balancers it hosts: none yet; and a load balancer on no host has no agent.
    let (s, b) = env.get(&format!("{agent_url}/agent-loadbalancers")).await;
    assert_eq!((s, b), (200, json!({"loadbalancers": []})));
    let lb = env.lb("unplaced").await;
    let (s, b) = env
        .get(&format!(
            "{}/v2.0/lbaas/loadbalancers/{lb}/loadbalancer-hosting-agent",
            env.net
        ))
        .await;
    assert_eq!(
        (s, fault(&b)),
        (
            404,
            (
                "NoActiveLbaasAgent",
                format!("No active agent found for loadbalancer {lb}.").as_str()
            )
        )
    );
    let (s, b) = env
        .get(&format!(
            "{}/v2.0/lbaas/loadbalancers/nope/loadbalancer-hosting-agent",
            env.net
        ))
        .await;
    let (show, shown) = env
        .get(&format!("{}/v2.0/lbaas/loadbalancers/nope", env.net))
        .await;
    assert_eq!((s, fault(&b)), (show, fault(&shown)));
    assert_eq!(s, 404, "{b}");

    // The agent stops: after the down time it is dead, and then it can be deleted.
    drop(host_a);
    let dead = wait_agent(&env, "host-a", |a| a["alive"] == false).await;
    assert_eq!(dead["id"], json!(id));
    let (s, _) = env.delete(&agent_url).await;
    assert_eq!(s, 204);
    let (s, b) = env.get(&agent_url).await;
    assert_eq!(
        (s, fault(&b)),
        (
            404,
            (
                "AgentNotFound",
                format!("Agent {id} could not be found.").as_str()
            )
        )
    );
    let (s, b) = env.get(&format!("{agent_url}/agent-loadbalancers")).await;
    assert_eq!((s, fault(&b).0), (404, "AgentNotFound"));
}

/// Agents are an operator's business: a project member sees none and cannot touch one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_see_or_change_agents() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud::Cloud::start(cloud::builtin(dir.path()), dir).await;
    let password = cloud::admin_password(cloud.env.dir.path());
    let admin = cloud.token("admin", &password, "admin").await;
    cloud.user(&admin, "alice", "team-a", &["member"]).await;
    let alice = cloud.token("alice", "alice-pw", "team-a").await;
    let running = cloud.env.running.as_ref().unwrap();
    let _agent = agent(cloud.env.dir.path(), "host-a", running.health_addr.unwrap()).await;
    let agents = format!("{}/v2.0/agents", cloud.env.net);
    let started = Instant::now();
    let id = loop {
        let (s, b) = cloud.call(&admin, "GET", &agents, None).await;
        assert_eq!(s, 200, "{b}");
        if let Some(id) = b["agents"][0]["id"].as_str() {
            break id.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (s, b) = cloud.call(&alice, "GET", &agents, None).await;
    assert_eq!((s, b), (200, json!({"agents": []})));
    let one = format!("{agents}/{id}");
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(json!({"agent": {"admin_state_up": false}}))),
        ("DELETE", None),
    ] {
        let (s, b) = cloud.call(&alice, method, &one, body).await;
        assert_eq!((s, fault(&b).0), (404, "HTTPNotFound"), "{method}: {b}");
    }
    let (s, b) = cloud.call(&admin, "GET", &one, None).await;
    assert_eq!((s, &b["agent"]["admin_state_up"]), (200, &json!(true)));
}
