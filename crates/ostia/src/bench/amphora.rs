//! Benchmarks of load balancers that carry traffic:
//! - `ostia bench provision`: POST of a full graph → ACTIVE → first 200 through the VIP;
//! - `ostia bench failover`: the outage a looping client sees when an amphora process is
//!   killed;
//! - `ostia bench density`: many load balancers in one `ostia up`: time to create them,
//!   its memory, the health manager's CPU, and whether sampled VIPs answer.

use super::process::{local_subnet, percentile, spawn_logged};
use anyhow::{bail, Context};
use engine::testing::Backend;
use model::{OperatingStatus, ProvisioningStatus};
use ostia::{AmphoraDriver, Options};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a latency measurement polls: fine enough to resolve milliseconds.
const FINE: Duration = Duration::from_millis(1);

/// VIPs of each benchmark, away from `ostia up`'s default subnet and from each other (two
/// benchmarks run at once must not answer for each other).
const PROVISION_CIDR: &str = "127.50.0.0/16";
const FAILOVER_CIDR: &str = "127.52.0.0/16";
const DENSITY_CIDR: &str = "127.53.0.0/16";

/// Names this run's backends, so that an answer is known to come through this run's VIP.
pub(super) fn tag() -> String {
    format!("bench{}", std::process::id())
}

fn bench_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ostia-bench-{name}-{}", std::process::id()))
}

fn options(dir: &Path, driver: AmphoraDriver, cidr: &str) -> anyhow::Result<Options> {
    Ok(Options {
        data_dir: dir.to_path_buf(),
        api_bind: "127.0.0.1:0".parse()?,
        network_bind: "127.0.0.1:0".parse()?,
        health_bind: "127.0.0.1:0".parse()?,
        identity_bind: "127.0.0.1:0".parse()?,
        key_manager_bind: "127.0.0.1:0".parse()?,
        auth: ostia::AuthMode::NoAuth,
        amphora: driver,
        local_cidr: cidr.parse()?,
        ..Options::default()
    })
}

/// A client of the load-balancer API.
pub(super) struct Api {
    client: reqwest::Client,
    base: String,
    subnet: String,
}

impl Api {
    /// A client of the API at `api`, making load balancers on `subnet`.
    pub(super) fn new(client: reqwest::Client, api: SocketAddr, subnet: String) -> Api {
        Api {
            client,
            base: format!("http://{api}"),
            subnet,
        }
    }

    pub(super) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    async fn connect(api: SocketAddr, network: SocketAddr) -> anyhow::Result<Api> {
        let client = reqwest::Client::new();
        let subnet = local_subnet(&client, &format!("http://{network}")).await?;
        Ok(Api::new(client, api, subnet))
    }

    /// A full graph in one POST: LB, HTTP listener on 8080, ROUND_ROBIN pool, the members,
    /// and a monitor. (lb id, VIP:8080)
    pub(super) async fn create_graph(
        &self,
        name: &str,
        members: &[SocketAddr],
        monitor: Value,
    ) -> anyhow::Result<(String, SocketAddr)> {
        let members: Vec<Value> = members
            .iter()
            .map(|m| json!({"address": m.ip().to_string(), "protocol_port": m.port()}))
            .collect();
        let body = json!({"loadbalancer": {"name": name, "vip_subnet_id": self.subnet,
            "listeners": [{"name": format!("{name}-l"), "protocol": "HTTP", "protocol_port": 8080,
                "default_pool": {"name": format!("{name}-p"), "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN", "members": members, "healthmonitor": monitor}}]}});
        let created: Value = self
            .client
            .post(format!("{}/v2/lbaas/loadbalancers", self.base))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let lb = &created["loadbalancer"];
        let (Some(id), Some(vip)) = (lb["id"].as_str(), lb["vip_address"].as_str()) else {
            bail!("create refused: {created}");
        };
        Ok((id.to_string(), SocketAddr::new(vip.parse()?, 8080)))
    }

    /// The load balancer's two statuses (None for a load balancer that is gone).
    pub(super) async fn status(
        &self,
        lb: &str,
    ) -> anyhow::Result<(Option<ProvisioningStatus>, Option<OperatingStatus>)> {
        let body: Value = self
            .client
            .get(format!("{}/v2/lbaas/loadbalancers/{lb}", self.base))
            .send()
            .await?
            .json()
            .await?;
        let lb = &body["loadbalancer"];
        Ok((
            parsed(&lb["provisioning_status"]),
            parsed(&lb["operating_status"]),
        ))
    }

    /// Polls every `poll` until ACTIVE (at most `limit`).
    pub(super) async fn wait_active(
        &self,
        lb: &str,
        limit: Duration,
        poll: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match self.status(lb).await?.0 {
                Some(ProvisioningStatus::Active) => return Ok(()),
                Some(ProvisioningStatus::Error) => bail!("load balancer {lb} went ERROR"),
                _ if started.elapsed() > limit => {
                    bail!("load balancer {lb} not ACTIVE in {limit:?}")
                }
                _ => tokio::time::sleep(poll).await,
            }
        }
    }

    pub(super) async fn delete(&self, lb: &str) -> anyhow::Result<()> {
        self.client
            .delete(format!(
                "{}/v2/lbaas/loadbalancers/{lb}?cascade=true",
                self.base
            ))
            .send()
            .await?;
        Ok(())
    }

    async fn amphora_pid(&self, store: &store::Store, lb: &str) -> anyhow::Result<(String, i32)> {
        let records = controller::amphorae::in_service(store.amphorae(Some(lb)).await?);
        let amp = records.first().context("no amphora in service")?;
        let pid = amp.details.pid.context("the amphora has no process")?;
        Ok((amp.id.clone(), pid as i32))
    }
}

/// A wire value of an answer as its enum.
fn parsed<T: std::str::FromStr>(v: &Value) -> Option<T> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// `GET /` on a fresh connection: answered 200 by one of this run's backends?
pub(super) async fn answers(vip: SocketAddr) -> bool {
    answers_over(tokio::net::TcpSocket::new_v4(), vip).await
}

/// As [`answers`], over a socket made beforehand (in another network namespace, say).
pub(super) async fn answers_over(
    socket: std::io::Result<tokio::net::TcpSocket>,
    vip: SocketAddr,
) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut c = socket.ok()?.connect(vip).await.ok()?;
        c.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.ok()?;
        let answer = String::from_utf8_lossy(&answer);
        Some(answer.starts_with("HTTP/1.1 200") && answer.contains(&tag()))
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn driver_name(driver: AmphoraDriver) -> &'static str {
    match driver {
        AmphoraDriver::InProcess => "inprocess",
        AmphoraDriver::Process => "process",
        AmphoraDriver::Noop => "noop",
        AmphoraDriver::Netns => "netns",
    }
}

pub(super) fn summary(name: &str, mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(0.0)
    )
}

pub async fn provision(
    count: usize,
    driver: AmphoraDriver,
    engine: model::EngineKind,
) -> anyhow::Result<()> {
    let dir = bench_dir("provision");
    let running = ostia::start(ostia::Options {
        default_engine: engine,
        ..options(&dir, driver, PROVISION_CIDR)?
    })
    .await?;
    let api = Api::connect(running.api_addr, running.network_addr).await?;
    let web1 = Backend::http(&format!("{}-web1", tag()), "127.0.0.1:0".parse()?).await?;
    let web2 = Backend::http(&format!("{}-web2", tag()), "127.0.0.1:0".parse()?).await?;
    let monitor =
        json!({"type": "HTTP", "delay": 5, "timeout": 5, "max_retries": 2, "url_path": "/"});
    println!(
        "ostia bench provision: {count} load balancers (LB, HTTP listener, pool, 2 members, HTTP monitor in one POST), {} amphorae, {engine} engine",
        driver_name(driver)
    );
    let (mut to_active, mut to_traffic) = (Vec::new(), Vec::new());
    let mut lbs = Vec::new();
    for i in 0..count {
        let started = Instant::now();
        let (lb, vip) = api
            .create_graph(
                &format!("bench-{i}"),
                &[web1.addr, web2.addr],
                monitor.clone(),
            )
            .await?;
        api.wait_active(&lb, Duration::from_secs(30), FINE).await?;
        to_active.push(started.elapsed().as_secs_f64() * 1000.0);
        while !answers(vip).await {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("{vip} never answered");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        to_traffic.push(started.elapsed().as_secs_f64() * 1000.0);
        lbs.push(lb);
    }
    println!("  {}", summary("POST → ACTIVE", to_active));
    println!(
        "  {}",
        summary("POST → first 200 through the VIP", to_traffic)
    );
    println!("  (Octavia with amphora VMs: minutes per load balancer)");
    for lb in &lbs {
        api.delete(lb).await?;
    }
    for lb in &lbs {
        let started = Instant::now();
        while api.status(lb).await.map(|s| s.0.is_some()).unwrap_or(false) {
            if started.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

pub async fn failover(kills: usize) -> anyhow::Result<()> {
    let dir = bench_dir("failover");
    let running = ostia::start(options(&dir, AmphoraDriver::Process, FAILOVER_CIDR)?).await?;
    let api = Api::connect(running.api_addr, running.network_addr).await?;
    let web = Backend::http(&format!("{}-web", tag()), "127.0.0.1:0".parse()?).await?;
    let (lb, vip) = api
        .create_graph("bench-failover", &[web.addr], Value::Null)
        .await?;
    api.wait_active(&lb, Duration::from_secs(30), FINE).await?;
    println!("ostia bench failover: {kills} kill -9 of the amphora process under a client looping GET / (new connection each)");
    let mut outages = Vec::new();
    let mut failed_total = 0;
    for round in 0..kills {
        while !answers(vip).await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (amphora, pid) = api.amphora_pid(&running.store, &lb).await?;
        let killed = Instant::now();
        // SAFETY: kill(2) on a pid of ours.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        let mut first_failure = None;
        let mut failed = 0;
        loop {
            if answers(vip).await {
                if first_failure.is_some() || killed.elapsed() > Duration::from_secs(1) {
                    break;
                }
            } else {
                failed += 1;
                first_failure.get_or_insert_with(Instant::now);
            }
            if killed.elapsed() > Duration::from_secs(30) {
                bail!("traffic did not come back");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let outage = first_failure.map_or(Duration::ZERO, |f| f.elapsed());
        println!(
            "  kill {}: amphora {amphora}: outage {:.1} ms ({failed} failed requests)",
            round + 1,
            outage.as_secs_f64() * 1000.0
        );
        outages.push(outage.as_secs_f64() * 1000.0);
        failed_total += failed;
        api.wait_active(&lb, Duration::from_secs(30), FINE).await?;
    }
    println!(
        "  {} ({failed_total} failed requests in all)",
        summary("outage", outages)
    );
    println!("  (Octavia: heartbeat_timeout 60 s before a failover starts, then a new amphora VM)");
    api.delete(&lb).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Members of the density bench are spread over many backend addresses, so that the
/// monitors' connections do not run out of ephemeral ports towards one address.
const DENSITY_BACKENDS: usize = 64;

pub async fn density(count: usize, concurrency: usize, sample: usize) -> anyhow::Result<()> {
    let dir = bench_dir("density");
    std::fs::create_dir_all(&dir)?;
    ostia::raise_fd_limit();
    let exe = std::env::current_exe()?;
    let free_tcp = || -> anyhow::Result<SocketAddr> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
    };
    let health: SocketAddr = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    let (api_addr, net_addr) = (free_tcp()?, free_tcp()?);
    let data = dir.to_string_lossy().into_owned();
    // The health manager runs as its own process, so that its CPU is its own.
    let hm = spawn_logged(
        &exe,
        &[
            "health-manager",
            "--data-dir",
            &data,
            "--health-bind",
            &health.to_string(),
        ],
        Some(&dir.join("health-manager.log")),
    )?;
    let up = spawn_logged(
        &exe,
        &[
            "up",
            "--auth",
            "noauth",
            "--data-dir",
            &data,
            "--no-health-manager",
            "--health-bind",
            &health.to_string(),
            "--api-bind",
            &api_addr.to_string(),
            "--network-bind",
            &net_addr.to_string(),
            "--key-manager-bind",
            "127.0.0.1:0",
            "--vip-cidr",
            DENSITY_CIDR,
        ],
        Some(&dir.join("up.log")),
    )?;
    wait_listening(api_addr).await?;
    let api = std::sync::Arc::new(Api::connect(api_addr, net_addr).await?);
    let mut backends = Vec::new();
    for i in 0..DENSITY_BACKENDS {
        let addr: SocketAddr = format!("127.51.0.{}:8000", i + 1).parse()?;
        backends.push(Backend::http(&format!("{}-web{i}", tag()), addr).await?);
    }
    let addrs: Vec<SocketAddr> = backends.iter().map(|b| b.addr).collect();
    let monitor = json!({"type": "TCP", "delay": 10, "timeout": 5, "max_retries": 2});
    println!(
        "ostia bench density: {count} load balancers (HTTP listener, 2 members, TCP monitor delay 10 s), in-process amphorae, heartbeats every 1 s"
    );
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, next, addrs, monitor) =
            (api.clone(), next.clone(), addrs.clone(), monitor.clone());
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, anyhow::Error>(made);
                }
                let pair = [addrs[i % addrs.len()], addrs[(i + 1) % addrs.len()]];
                let (lb, vip) = api
                    .create_graph(&format!("d{i}"), &pair, monitor.clone())
                    .await?;
                api.wait_active(&lb, Duration::from_secs(120), Duration::from_millis(50))
                    .await?;
                made.push((lb, vip));
            }
        }));
    }
    let mut lbs = Vec::new();
    for w in workers {
        lbs.extend(w.await??);
    }
    let created = started.elapsed();
    println!(
        "  created {} load balancers ACTIVE in {:.1} s ({:.0} per second)",
        lbs.len(),
        created.as_secs_f64(),
        lbs.len() as f64 / created.as_secs_f64()
    );
    // Steady state: every amphora heartbeats once a second.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (cpu0, t0) = (hm.cpu_seconds(), Instant::now());
    let up_cpu0 = up.cpu_seconds();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let window = t0.elapsed().as_secs_f64();
    let hm_cores = (hm.cpu_seconds() - cpu0) / window;
    let up_cores = (up.cpu_seconds() - up_cpu0) / window;
    println!(
        "  RSS of ostia up: {:.0} MiB ({:.1} KiB per load balancer)",
        up.rss_bytes() as f64 / 1048576.0,
        up.rss_bytes() as f64 / 1024.0 / lbs.len().max(1) as f64
    );
    println!(
        "  health manager: {:.3} cores for {} heartbeats per second (RSS {:.0} MiB); ostia up: {:.3} cores",
        hm_cores,
        lbs.len(),
        hm.rss_bytes() as f64 / 1048576.0,
        up_cores
    );
    let step = (lbs.len() / sample.max(1)).max(1);
    let picked: Vec<&(String, SocketAddr)> = lbs.iter().step_by(step).take(sample).collect();
    let (mut answered, mut online) = (0, 0);
    for (lb, vip) in &picked {
        if answers(*vip).await {
            answered += 1;
        }
        if api.status(lb).await?.1 == Some(OperatingStatus::Online) {
            online += 1;
        }
    }
    println!(
        "  sampled {} VIPs: {answered} answered, {online} load balancers ONLINE (statuses from heartbeats)",
        picked.len()
    );
    drop(up);
    drop(hm);
    println!("  logs: {}", dir.display());
    Ok(())
}

async fn wait_listening(addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("nothing listens on {addr}")
}
