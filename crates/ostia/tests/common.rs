//! A real Ostia on ephemeral loopback ports with a temp SQLite file, and a small client.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct Env {
    pub running: Option<ostia::Running>,
    pub api: String,
    pub net: String,
    /// The key manager, `http://host:port`.
    pub km: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub subnet: String,
    pub _reaper: Reaper,
}

/// Options for a test instance on ephemeral ports: API suites use the noop amphora driver
/// (Octavia's conformance setup), data-plane suites set their own driver and subnet.
pub fn options(dir: &std::path::Path) -> ostia::Options {
    ostia::Options {
        data_dir: dir.to_path_buf(),
        api_bind: "127.0.0.1:0".parse().unwrap(),
        network_bind: "127.0.0.1:0".parse().unwrap(),
        health_bind: "127.0.0.1:0".parse().unwrap(),
        identity_bind: "127.0.0.1:0".parse().unwrap(),
        key_manager_bind: "127.0.0.1:0".parse().unwrap(),
        auth: ostia::AuthMode::NoAuth,
        amphora: ostia::AmphoraDriver::Noop,
        ..ostia::Options::default()
    }
}

pub async fn start_in(dir: tempfile::TempDir, worker: bool) -> Env {
    let opts = ostia::Options {
        worker,
        ..options(dir.path())
    };
    start_with(dir, opts).await
}

#[path = "../../store/tests/database/mod.rs"]
mod database;

/// The database of the instance whose data dir is `dir`: with `OSTIA_TEST_POSTGRES`, a
/// PostgreSQL database named after the dir (so a restart finds it again), else the dir's
/// SQLite file.
pub async fn database_for(dir: &std::path::Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hash);
    database::postgres(&format!("ostia_api_{:016x}", hash.finish())).await
}

pub async fn start_with(dir: tempfile::TempDir, mut opts: ostia::Options) -> Env {
    if opts.database.is_none() {
        opts.database = database_for(&opts.data_dir).await;
    }
    let running = ostia::start(opts).await.expect("ostia starts");
    let api = format!("http://{}", running.api_addr);
    let net = format!("http://{}", running.network_addr);
    let km = format!("http://{}", running.key_manager_addr);
    let client = reqwest::Client::new();
    let subnet = local_subnet(&client, &net).await;
    Env {
        running: Some(running),
        api,
        net,
        km,
        client,
        _reaper: Reaper(dir.path().to_path_buf()),
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

/// A loopback /16 no other test of this process uses, for VIPs that really bind.
pub fn unique_cidr() -> ipnet::Ipv4Net {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(40);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("127.{n}.0.0/16").parse().unwrap()
}

/// Options for an instance whose amphorae carry traffic, with quick heartbeats.
pub fn data_plane(dir: &std::path::Path, driver: ostia::AmphoraDriver) -> ostia::Options {
    ostia::Options {
        amphora: driver,
        local_cidr: unique_cidr(),
        heartbeat_interval: Duration::from_millis(250),
        heartbeat_timeout: Duration::from_secs(2),
        amphora_exe: Some(env!("CARGO_BIN_EXE_ostia").into()),
        drain_timeout: Duration::from_secs(2),
        ..options(dir)
    }
}

/// `GET /` over a fresh connection: the body, or None when nothing answers.
pub async fn fetch(addr: std::net::SocketAddr) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = async {
        let mut c = tokio::net::TcpStream::connect(addr).await.ok()?;
        c.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200")
            .then(|| body.trim_end().to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .ok()
        .flatten()
}

impl Env {
    /// Polls `path` until `done` holds of its JSON (bounded: panics after `secs`).
    pub async fn wait_for(&self, path: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let (_, body) = self.get(path).await;
            if done(&body) {
                return body;
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "{path} did not get there in {secs} s: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The operating status of an object.
    pub async fn operating(&self, path: &str) -> String {
        let (_, body) = self.get(path).await;
        body.as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v["operating_status"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// Amphora processes outlive their control plane by design; a test's must not outlive the
/// test, whatever happened in it.
pub fn kill_amphora_processes(data_dir: &std::path::Path) {
    let needle = data_dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(" amphora --dir ") && cmdline.contains(&needle) {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Kills the amphora processes of a data dir when dropped.
pub struct Reaper(pub std::path::PathBuf);

impl Drop for Reaper {
    fn drop(&mut self) {
        kill_amphora_processes(&self.0);
    }
}
