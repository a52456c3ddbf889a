//! ACTIVE_STANDBY through the API: a flavor's `loadbalancer_topology` makes a MASTER and a
//! BACKUP with VRRP ports of their own (noop amphorae, as Octavia's noop drivers), a failover
//! rebuilds one as the BACKUP, the ports go with the load balancer; drivers that cannot run a
//! pair refuse it with the reason.

mod common;
use common::*;
use serde_json::{json, Value};

async fn active_standby_flavor(env: &Env) -> String {
    let (s, fp) = env
        .post(
            "/v2/lbaas/flavorprofiles",
            json!({"flavorprofile": {"name": "ha", "provider_name": "amphora",
                   "flavor_data": "{\"loadbalancer_topology\": \"ACTIVE_STANDBY\"}"}}),
        )
        .await;
    assert_eq!(s, 201, "{fp}");
    let (s, f) = env
        .post(
            "/v2/lbaas/flavors",
            json!({"flavor": {"name": "ha", "flavor_profile_id": fp["flavorprofile"]["id"]}}),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    f["flavor"]["id"].as_str().unwrap().to_string()
}

async fn lb_with(env: &Env, flavor: &str) -> Value {
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"name": "ha", "vip_subnet_id": env.subnet, "flavor_id": flavor}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    env.wait_lb(b["loadbalancer"]["id"].as_str().unwrap()).await
}

/// The amphorae in service of a load balancer, in full.
async fn amphorae(env: &Env, lb: &str) -> Vec<Value> {
    let (s, b) = env
        .get(&format!("/v2/octavia/amphorae?loadbalancer_id={lb}"))
        .await;
    assert_eq!(s, 200, "{b}");
    let mut out = Vec::new();
    for a in b["amphorae"].as_array().unwrap() {
        if a["status"] == "DELETED" {
            continue;
        }
        let (_, full) = env
            .get(&format!(
                "/v2/octavia/amphorae/{}",
                a["id"].as_str().unwrap()
            ))
            .await;
        out.push(full["amphora"].clone());
    }
    out.sort_by_key(|a| a["role"].as_str().unwrap_or_default().to_string());
    out
}

async fn vrrp_ports(env: &Env) -> Vec<Value> {
    let b = get_json(&env.client, &format!("{}/v2.0/ports", env.net)).await;
    b["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("octavia-lb-vrrp-")
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_flavor_asks_for_a_pair_and_failover_rebuilds_the_backup() {
    let env = start().await;
    let flavor = active_standby_flavor(&env).await;
    let lb = lb_with(&env, &flavor).await;
    assert_eq!(lb["provisioning_status"], "ACTIVE", "{lb}");
    let lb_id = lb["id"].as_str().unwrap();
    let vip = lb["vip_address"].as_str().unwrap();

    let amps = amphorae(&env, lb_id).await;
    let roles: Vec<&str> = amps.iter().map(|a| a["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["BACKUP", "MASTER"], "{amps:?}");
    let priorities: Vec<i64> = amps
        .iter()
        .map(|a| a["vrrp_priority"].as_i64().unwrap())
        .collect();
    assert_eq!(priorities, [90, 100]);
    for a in &amps {
        assert_eq!(a["ha_ip"], vip);
        assert_eq!(a["ha_port_id"], lb["vip_port_id"]);
        assert_ne!(a["vrrp_port_id"], lb["vip_port_id"]);
        assert_ne!(a["vrrp_ip"], vip);
        assert_eq!(a["vrrp_id"], 1);
    }
    assert_ne!(amps[0]["vrrp_ip"], amps[1]["vrrp_ip"]);
    let ports = vrrp_ports(&env).await;
    let names: Vec<String> = ports
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    for a in &amps {
        assert!(
            names.contains(&format!("octavia-lb-vrrp-{}", a["id"].as_str().unwrap())),
            "{names:?}"
        );
    }

    // The MASTER fails over: it comes back as the BACKUP on a new port, the survivor is MASTER.
    let master = amps[1].clone();
    let (s, b) = env
        .put(
            &format!(
                "/v2/octavia/amphorae/{}/failover",
                master["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    env.wait_lb(lb_id).await;
    let after = amphorae(&env, lb_id).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(
        after[1]["id"], amps[0]["id"],
        "the survivor is MASTER: {after:?}"
    );
    assert_eq!(after[1]["vrrp_priority"], 100);
    assert_eq!(after[0]["role"], "BACKUP");
    assert_ne!(after[0]["id"], master["id"]);
    let ports = vrrp_ports(&env).await;
    assert_eq!(ports.len(), 2, "the failed one's port is freed: {ports:?}");
    assert!(ports.iter().all(|p| p["id"] != master["vrrp_port_id"]));

    let (s, _) = env
        .delete(&format!("/v2/lbaas/loadbalancers/{lb_id}"))
        .await;
    assert_eq!(s, 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !vrrp_ports(&env).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "VRRP ports left");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn amphorae_of_one_address_space_refuse_a_pair_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ostia::Options {
        loadbalancer_topology: model::Topology::ActiveStandby,
        ..data_plane(dir.path(), ostia::AmphoraDriver::InProcess)
    };
    let refused = ostia::start(opts).await.err().expect("refused at start");
    assert!(
        refused.to_string().contains("ACTIVE_STANDBY needs"),
        "{refused}"
    );

    let dir = tempfile::tempdir().unwrap();
    let opts = data_plane(dir.path(), ostia::AmphoraDriver::InProcess);
    let env = start_with(dir, opts).await;
    let flavor = active_standby_flavor(&env).await;
    let lb = lb_with(&env, &flavor).await;
    assert_eq!(lb["provisioning_status"], "ERROR", "{lb}");
    let (_, b) = env
        .get(&format!(
            "/v2/octavia/amphorae?loadbalancer_id={}",
            lb["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        b["amphorae"].as_array().unwrap().is_empty(),
        "nothing was built: {b}"
    );
}
