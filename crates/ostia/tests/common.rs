//! A real Ostia on ephemeral loopback ports with a temp SQLite file, and a small client.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct Env {
    pub running: Option<ostia::Running>,
    pub api: String,
    pub net: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub subnet: String,
}

pub async fn start_in(dir: tempfile::TempDir, worker: bool) -> Env {
    let opts = ostia::Options {
        data_dir: dir.path().to_path_buf(),
        api_bind: "127.0.0.1:0".parse().unwrap(),
        network_bind: "127.0.0.1:0".parse().unwrap(),
        worker,
        ..ostia::Options::default()
    };
    let running = ostia::start(opts).await.expect("ostia starts");
    let api = format!("http://{}", running.api_addr);
    let net = format!("http://{}", running.network_addr);
    let client = reqwest::Client::new();
    let subnet = local_subnet(&client, &net).await;
    Env {
        running: Some(running),
        api,
        net,
        client,
        dir,
        subnet,
    }
}

/// The id of the subnet `ostia up` creates for loopback VIPs, from the network API at `net`.
pub async fn local_subnet(client: &reqwest::Client, net: &str) -> String {
    let subnets = get_json(
        client,
        &format!("{net}/v2.0/subnets?name=ostia-local-subnet"),
    )
    .await;
    subnets["subnets"][0]["id"].as_str().unwrap().to_string()
}

/// GET `url` and its JSON body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

pub async fn start() -> Env {
    start_in(tempfile::tempdir().unwrap(), true).await
}

impl Env {
    pub async fn req(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.api, path)
        };
        let mut r = self.client.request(method.parse().unwrap(), url);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.req("GET", path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.req("POST", path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.req("PUT", path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.req("DELETE", path, None).await
    }

    /// Creates a load balancer on the built-in subnet and waits until it is ACTIVE.
    pub async fn lb(&self, name: &str) -> String {
        let (s, b) = self
            .post(
                "/v2/lbaas/loadbalancers",
                json!({"loadbalancer": {"name": name, "vip_subnet_id": self.subnet}}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let id = b["loadbalancer"]["id"].as_str().unwrap().to_string();
        self.wait_lb(&id).await;
        id
    }

    /// Waits until the load balancer has no job running (ACTIVE or ERROR).
    pub async fn wait_lb(&self, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let (s, b) = self.get(&format!("/v2/lbaas/loadbalancers/{id}")).await;
            assert_eq!(s, 200, "{b}");
            let st = b["loadbalancer"]["provisioning_status"]
                .as_str()
                .unwrap()
                .to_string();
            if st == "ACTIVE" || st == "ERROR" {
                return b["loadbalancer"].clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "LB {id} stuck in {st}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Creates a child object and waits for its load balancer to settle.
    pub async fn create(&self, path: &str, body: Value, lb: &str) -> Value {
        let (s, b) = self.post(path, body).await;
        assert_eq!(s, 201, "POST {path}: {b}");
        self.wait_lb(lb).await;
        b
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.dir
    }
}

pub fn fault(b: &Value) -> &str {
    b["faultstring"].as_str().unwrap_or("<no faultstring>")
}
