//! `ostia bench api`: create→ACTIVE latency of load balancers (noop provider) and the
//! latency of listing them, against a real server on ephemeral loopback ports.

use anyhow::Context;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often the single client looks whether its load balancer is ACTIVE.
const POLL: Duration = Duration::from_micros(500);

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The in-process measurement, then, on PostgreSQL, the same creates through separate API
/// and worker processes (`bench_scale`).
pub async fn api(
    count: usize,
    database: Option<String>,
    scale_count: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("ostia-bench-{}", std::process::id()));
    let scale_url = database.clone().filter(|url| url.starts_with("postgres"));
    let store_name = match &database {
        Some(url) if url.starts_with("postgres") => "PostgreSQL",
        _ => "SQLite",
    };
    let opts = crate::Options {
        data_dir: dir.clone(),
        database,
        api_bind: "127.0.0.1:0".parse()?,
        network_bind: "127.0.0.1:0".parse()?,
        health_bind: "127.0.0.1:0".parse()?,
        identity_bind: "127.0.0.1:0".parse()?,
        key_manager_bind: "127.0.0.1:0".parse()?,
        auth: crate::AuthMode::NoAuth,
        amphora: crate::AmphoraDriver::Noop,
        ..crate::Options::default()
    };
    let running = crate::start(opts).await?;
    let base = format!("http://{}/v2/lbaas", running.api_addr);
    let client = reqwest::Client::new();
    let subnet_id = local_subnet(&client, &format!("http://{}", running.network_addr)).await?;
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let body = serde_json::json!({"loadbalancer": {"name": format!("bench-{i}"),
            "vip_subnet_id": subnet_id, "provider": "noop_driver"}});
        let created: serde_json::Value = client
            .post(format!("{base}/loadbalancers"))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = created["loadbalancer"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        wait_active(&client, &base, &id, POLL).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    // Lists alternate between an unchanged store (the snapshot is reused) and one just
    // written (a load balancer renamed: the snapshot is rebuilt), as polling clients see.
    let mut unchanged = Vec::new();
    let mut after_write = Vec::new();
    let mut listed = 0;
    let any_id = created_id(&client, &base).await?;
    for round in 0..20 {
        client
            .put(format!("{base}/loadbalancers/{any_id}"))
            .json(&serde_json::json!({"loadbalancer": {"description": format!("round {round}")}}))
            .send()
            .await?
            .error_for_status()?;
        wait_active(&client, &base, &any_id, POLL).await?;
        for times in [&mut after_write, &mut unchanged] {
            let started = Instant::now();
            let body: serde_json::Value = client
                .get(format!("{base}/loadbalancers"))
                .send()
                .await?
                .json()
                .await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            listed = body["loadbalancers"].as_array().map(Vec::len).unwrap_or(0);
        }
    }
    unchanged.sort_by(|a, b| a.total_cmp(b));
    after_write.sort_by(|a, b| a.total_cmp(b));
    println!("ostia bench api: {count} load balancers, noop provider, {store_name}, loopback");
    println!(
        "  create -> ACTIVE  p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   (target p50 < 20 ms)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    for (what, times) in [("unchanged", &unchanged), ("after a write", &after_write)] {
        println!(
            "  list of {listed} ({what})  p50 {:.2} ms   p99 {:.2} ms   (target < 50 ms)",
            percentile(times, 0.5),
            percentile(times, 0.99)
        );
    }
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    match scale_url {
        Some(url) if scale_count > 0 => {
            crate::bench_scale::scale(&url, scale_count, concurrency).await
        }
        _ => Ok(()),
    }
}

async fn created_id(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let body: serde_json::Value = client
        .get(format!("{base}/loadbalancers?limit=1"))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["loadbalancers"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Polls the load balancer every `poll` until it is ACTIVE.
async fn wait_active(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    poll: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lb: serde_json::Value = client
            .get(format!("{base}/loadbalancers/{id}"))
            .send()
            .await?
            .json()
            .await?;
        if lb["loadbalancer"]["provisioning_status"] == "ACTIVE" {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("load balancer {id} not ACTIVE after 30 s");
        }
        tokio::time::sleep(poll).await;
    }
}

/// The id of the subnet `ostia up` makes for loopback VIPs, from the network API at
/// `network` (`http://host:port`).
pub async fn local_subnet(client: &reqwest::Client, network: &str) -> anyhow::Result<String> {
    let subnets: serde_json::Value = client
        .get(format!("{network}/v2.0/subnets?name=ostia-local-subnet"))
        .send()
        .await?
        .json()
        .await?;
    Ok(subnets["subnets"][0]["id"]
        .as_str()
        .context("the local subnet")?
        .to_string())
}

/// CPU time (user + system) process `pid` has used (0 once it is gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// CPU time (user + system) the process has used.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.0.id())
    }

    /// Resident memory, bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }
}

pub fn spawn(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> anyhow::Result<Proc> {
    spawn_logged(program, args, None)
}

/// Spawns a bench process whose stderr goes to `log` (or nowhere).
pub fn spawn_logged(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    log: Option<&std::path::Path>,
) -> anyhow::Result<Proc> {
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .context("spawning a bench process")?;
    Ok(Proc(child))
}
