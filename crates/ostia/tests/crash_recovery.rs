//! SIGKILL of `ostia up` while jobs are pending, then a restart: nothing stays PENDING_*.

mod common;

use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(dir: &std::path::Path, api: u16, net: u16, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ostia"))
        .args([
            "up",
            "--auth",
            "noauth",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .args([
            "--api-bind",
            &format!("127.0.0.1:{api}"),
            "--network-bind",
            &format!("127.0.0.1:{net}"),
            "--key-manager-bind",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ostia starts")
}

async fn wait_up(client: &reqwest::Client, api: u16) {
    let start = Instant::now();
    while client
        .get(format!("http://127.0.0.1:{api}/"))
        .send()
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "ostia did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn statuses(client: &reqwest::Client, api: u16) -> Vec<String> {
    let mut out = Vec::new();
    for coll in ["loadbalancers", "listeners", "pools"] {
        let b = common::get_json(client, &format!("http://127.0.0.1:{api}/v2/lbaas/{coll}")).await;
        for o in b[coll].as_array().unwrap() {
            out.push(o["provisioning_status"].as_str().unwrap().to_string());
        }
    }
    out
}

#[tokio::test]
async fn sigkill_with_pending_jobs_then_restart_settles_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (api, net) = (free_port(), free_port());
    let client = reqwest::Client::new();
    // Without a worker every job stays pending until the kill.
    let mut child = spawn(dir.path(), api, net, &["--no-worker"]);
    wait_up(&client, api).await;
    let subnet = common::local_subnet(&client, &format!("http://127.0.0.1:{net}")).await;
    for i in 0..5 {
        let body = json!({"loadbalancer": {"name": format!("lb{i}"), "vip_subnet_id": subnet,
            "listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p"}}],
            "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                       "members": [{"address": "127.0.0.1", "protocol_port": 8080}]}]}});
        let s = client
            .post(format!("http://127.0.0.1:{api}/v2/lbaas/loadbalancers"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s.as_u16(), 201);
    }
    assert!(statuses(&client, api)
        .await
        .iter()
        .all(|s| s == "PENDING_CREATE"));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = spawn(dir.path(), api, net, &[]);
    wait_up(&client, api).await;
    let start = Instant::now();
    let mut last = Vec::new();
    while start.elapsed() < Duration::from_secs(10) {
        last = statuses(&client, api).await;
        if last.iter().all(|s| s == "ACTIVE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(last.len(), 15);
    assert!(
        last.iter().all(|s| s == "ACTIVE"),
        "still pending 10 s after restart: {last:?}"
    );
}
