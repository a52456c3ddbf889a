//! LBaaS v1 on the network endpoint (`/v2.0/lb/*`) beyond what seed 000's CLI run shows: the
//! Octavia API's objects stay out of v1 views, a pool the quota refuses leaves no load
//! balancer behind, malformed bodies are 400 NeutronErrors, and a VIP on another subnet moves
//! the pool's load balancer there.

mod common;

use common::*;
use engine::testing::Backend;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn net(env: &Env, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    env.req(method, &format!("{}{path}", env.net), body).await
}

async fn live_lbs(env: &Env) -> Vec<Value> {
    let (_, b) = env.get("/v2/lbaas/loadbalancers").await;
    b["loadbalancers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|lb| lb["provisioning_status"] != "DELETED")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_refused_by_the_quota_leaves_no_load_balancer() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.quota_defaults.pool = Some(0);
    let env = start_with(dir, opts).await;
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/pools",
        Some(
            json!({"pool": {"name": "p", "subnet_id": env.subnet, "protocol": "HTTP",
            "lb_method": "ROUND_ROBIN"}}),
        ),
    )
    .await;
    assert_eq!(s, 403, "{b}");
    assert!(
        b["NeutronError"]["message"]
            .as_str()
            .unwrap()
            .contains("Quota has been met"),
        "{b}"
    );
    let start = Instant::now();
    while !live_lbs(&env).await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the load balancer made for the refused pool is removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, b) = net(&env, "GET", "/v2.0/lb/pools", None).await;
    assert_eq!(b["pools"], json!([]));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_views_hold_v1_objects_and_refuse_bad_input() {
    let env = start().await;
    // An Octavia-made load balancer with a pool is not a v1 pool.
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": env.subnet, "pools": [
                {"name": "octavia-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}]}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = net(&env, "GET", "/v2.0/lb/pools", None).await;
    assert_eq!(b["pools"], json!([]), "{b}");

    for path in [
        "/v2.0/lb/pools",
        "/v2.0/lb/members",
        "/v2.0/lb/health_monitors",
        "/v2.0/lb/vips",
    ] {
        for body in [json!({}), json!([1]), json!({"other": {}})] {
            let (s, b) = net(&env, "POST", path, Some(body.clone())).await;
            assert_eq!(s, 400, "POST {path} {body}: {b}");
            assert!(b["NeutronError"]["message"].is_string(), "{b}");
        }
    }
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/pools",
        Some(json!({"pool": {"subnet_id": env.subnet, "protocol": "UDP", "lb_method": "ROUND_ROBIN"}})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(b["NeutronError"]["message"]
        .as_str()
        .unwrap()
        .contains("protocol"));
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/pools",
        Some(json!({"pool": {"protocol": "HTTP", "lb_method": "ROUND_ROBIN"}})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["message"].as_str()),
        (
            400,
            Some("Failed to parse request. Required attribute 'subnet_id' not specified")
        )
    );
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/members",
        Some(
            json!({"member": {"pool_id": "6a4a1ad2-0000-4c47-9c5f-2b7c6c3f1e11",
            "address": "127.0.0.1", "protocol_port": "80"}}),
        ),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (404, Some("PoolNotFound"))
    );
    let (s, _) = net(
        &env,
        "GET",
        "/v2.0/lb/vips/6a4a1ad2-0000-4c47-9c5f-2b7c6c3f1e11",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = net(&env, "PATCH", "/v2.0/lb/pools", None).await;
    assert_eq!(s, 405);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vip_on_another_subnet_moves_the_pools_load_balancer_there() {
    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let env = start_with(dir, opts).await;
    let (_, b) = net(
        &env,
        "POST",
        "/v2.0/networks",
        Some(json!({"network": {"name": "front"}})),
    )
    .await;
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/subnets",
        Some(json!({"subnet": {"network_id": b["network"]["id"], "cidr": "127.47.0.0/24"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let front = b["subnet"]["id"].as_str().unwrap().to_string();
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/pools",
        Some(
            json!({"pool": {"name": "p", "subnet_id": env.subnet, "protocol": "HTTP",
            "lb_method": "ROUND_ROBIN"}}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let pool = b["pool"]["id"].as_str().unwrap().to_string();
    let backend = Backend::http("front-member", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/members",
        Some(
            json!({"member": {"pool_id": pool, "address": backend.addr.ip().to_string(),
            "protocol_port": backend.addr.port().to_string()}}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = net(
        &env,
        "POST",
        "/v2.0/lb/vips",
        Some(
            json!({"vip": {"pool_id": pool, "subnet_id": front, "protocol": "HTTP",
            "protocol_port": "8081", "name": "v"}}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let vip = b["vip"].clone();
    assert!(
        vip["address"].as_str().unwrap().starts_with("127.47.0."),
        "{vip}"
    );
    assert_eq!(vip["subnet_id"], json!(front));
    // The port the VIP names is the one that holds its address.
    let (_, p) = net(
        &env,
        "GET",
        &format!("/v2.0/ports/{}", vip["port_id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        p["port"]["fixed_ips"][0]["ip_address"], vip["address"],
        "{p}"
    );
    let addr = format!("{}:8081", vip["address"].as_str().unwrap())
        .parse()
        .unwrap();
    let start = Instant::now();
    while !fetch(addr)
        .await
        .is_some_and(|b| b.contains("front-member"))
    {
        if start.elapsed() > Duration::from_secs(30) {
            let (_, lbs) = env.get("/v2/lbaas/loadbalancers").await;
            let (_, amps) = env.get("/v2/octavia/amphorae").await;
            panic!("the VIP on the front subnet reaches the member: {lbs} {amps}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Only the VIP's port is left on the load balancer: the one on the pool's subnet went.
    let (_, ports) = net(&env, "GET", "/v2.0/ports?device_owner=Octavia", None).await;
    let lb = &live_lbs(&env).await[0];
    let held: Vec<&Value> = ports["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["device_id"] == json!(format!("lb-{}", lb["id"].as_str().unwrap())))
        .collect();
    assert_eq!(held.len(), 1, "{ports}");
    let (_, amps) = env.get("/v2/octavia/amphorae").await;
    assert_eq!(amps["amphorae"][0]["vrrp_ip"], vip["address"], "{amps}");
    env.stop().await;
}
