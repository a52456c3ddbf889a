//! A VIP outside 127.0.0.0/8 when Ostia may not add addresses to this host (no CAP_NET_ADMIN,
//! or `--no-vip-interface`): it binds with IP_FREEBIND, the load balancer goes ACTIVE, and it
//! is reached through a floating IP on loopback. No packet goes to the private address itself:
//! it is not local here. (Serving such VIPs on `ostia0` is tested inside a network namespace,
//! tests/netns/seed_000.)

mod common;

use common::*;
use engine::testing::Backend;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn net(env: &Env, method: &str, path: &str, body: Value) -> Value {
    let (s, b) = env
        .req(method, &format!("{}{path}", env.net), Some(body))
        .await;
    assert!(s == 200 || s == 201, "{method} {path}: {s} {b}");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vip_this_host_cannot_own_goes_active_and_serves_through_its_floating_ip() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ostia::Options {
        vip_interface: false,
        ..data_plane(dir.path(), ostia::AmphoraDriver::InProcess)
    };
    let env = start_with(dir, opts).await;
    let b = net(
        &env,
        "POST",
        "/v2.0/networks",
        json!({"network": {"name": "sakura-network"}}),
    )
    .await;
    let b = net(
        &env,
        "POST",
        "/v2.0/subnets",
        json!({"subnet": {"network_id": b["network"]["id"], "name": "sakura-subnet",
            "cidr": "192.168.100.0/24"}}),
    )
    .await;
    let sakura = b["subnet"]["id"].as_str().unwrap().to_string();
    let b = net(
        &env,
        "POST",
        "/v2.0/networks",
        json!({"network": {"name": "ext", "router:external": true}}),
    )
    .await;
    let ext = b["network"]["id"].as_str().unwrap().to_string();
    net(
        &env,
        "POST",
        "/v2.0/subnets",
        json!({"subnet": {"network_id": ext, "cidr": "127.48.0.0/24"}}),
    )
    .await;
    let b = net(
        &env,
        "POST",
        "/v2.0/routers",
        json!({"router": {"name": "r", "external_gateway_info": {"network_id": ext}}}),
    )
    .await;
    let router = b["router"]["id"].as_str().unwrap().to_string();
    net(
        &env,
        "PUT",
        &format!("/v2.0/routers/{router}/add_router_interface"),
        json!({"subnet_id": sakura}),
    )
    .await;

    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"name": "lb", "vip_subnet_id": sakura}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let lb = b["loadbalancer"].clone();
    let lb_id = lb["id"].as_str().unwrap();
    assert!(lb["vip_address"]
        .as_str()
        .unwrap()
        .starts_with("192.168.100."));
    env.wait_lb(lb_id).await;
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = env
        .create(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 8080}}),
            lb_id,
        )
        .await;
    let pool = env
        .create(
            "/v2/lbaas/pools",
            json!({"pool": {"listener_id": listener["listener"]["id"], "protocol": "HTTP",
                "lb_algorithm": "ROUND_ROBIN"}}),
            lb_id,
        )
        .await;
    env.create(
        &format!(
            "/v2/lbaas/pools/{}/members",
            pool["pool"]["id"].as_str().unwrap()
        ),
        json!({"member": {"address": "127.0.0.1", "protocol_port": web.addr.port()}}),
        lb_id,
    )
    .await;
    let lb = env.wait_lb(lb_id).await;
    assert_eq!(
        lb["provisioning_status"], "ACTIVE",
        "freebind lets the VIP bind: {lb}"
    );

    let b = net(
        &env,
        "POST",
        "/v2.0/floatingips",
        json!({"floatingip": {"floating_network_id": ext, "port_id": lb["vip_port_id"]}}),
    )
    .await;
    let fip = b["floatingip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fip.starts_with("127.48.0."), "{b}");
    let addr = format!("{fip}:8080").parse().unwrap();
    let start = Instant::now();
    while fetch(addr).await.as_deref() != Some("you hit: web") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the floating IP {fip} serves the VIP's listener"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.stop().await;
}
