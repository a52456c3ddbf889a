//! Benchmarks of amphorae on hosts (`--amphora netns`), in a lab of namespaces (`lab`):
//! - `ostia bench reschedule`: the outage each load balancer's clients see when the host
//!   holding `per_host` of them dies, against neutron-lbaas's ≈150 s and Octavia's ≈60 s;
//!   and the memory and CPU of an idle amphora;
//! - `ostia bench provision --amphora netns`: POST → ACTIVE → first 200 through the VIP.

use super::amphora::{answers_over, summary, tag, Api};
use super::lab::{self, Lab, Netns};
use super::process::{cpu_seconds, percentile, rss_bytes};
use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Builds the lab, then runs `body` on a thread of its own inside the control plane's
/// namespace, on a current-thread runtime (so that `Netns::socket` may switch namespaces).
pub(super) async fn on_lab_thread<F, Fut>(
    hosts: usize,
    up_args: Vec<String>,
    body: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Lab, Netns) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let lab = Lab::start(hosts, &up_args)?;
        let home = lab.enter_control_plane()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(body(lab, home))
    });
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow!("the bench's thread panicked"))?
}

/// What every bench here starts from: every host alive, a private network, two backends in
/// probes and a client probe, all on the first host (the benches kill the last).
pub(super) struct Scene {
    pub(super) lab: Lab,
    pub(super) home: Arc<Netns>,
    pub(super) client: Arc<Netns>,
    pub(super) api: Arc<Api>,
    pub(super) backends: Vec<SocketAddr>,
}

async fn post(http: &reqwest::Client, path: &str, body: Value) -> anyhow::Result<Value> {
    let answer = http
        .post(format!("http://{}{path}", lab::NETWORK))
        .json(&body)
        .send()
        .await?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "POST {path}: {status} {body}");
    Ok(body)
}

pub(super) async fn scene(mut lab: Lab, home: Netns) -> anyhow::Result<Scene> {
    let http = reqwest::Client::new();
    lab.start_agents(&http).await?;
    let net = post(
        &http,
        "/v2.0/networks",
        json!({"network": {"name": "private"}}),
    )
    .await?;
    let net_id = net["network"]["id"].as_str().context("network id")?;
    let subnet = json!({"subnet": {"name": "private-subnet", "network_id": net_id,
        "cidr": "10.0.0.0/24", "ip_version": 4}});
    let subnet = post(&http, "/v2.0/subnets", subnet).await?;
    let subnet_id = subnet["subnet"]["id"].as_str().context("subnet id")?;
    let hosts = ostia::hosts(&ostia::Options {
        data_dir: lab.control_plane_dir().into(),
        ..ostia::Options::default()
    })
    .await?;
    let mut backends = Vec::new();
    for name in ["web1", "web2"] {
        let probe = hosts.create_probe(net_id, Some("host-0")).await?;
        let bind = format!("{}:80", probe.ip_address);
        let backend = format!("{}-{name}", tag());
        let args = ["backend", "--name", &backend, "--bind", &bind];
        lab.spawn_in_probe(&probe.namespace, &args, &format!("{name}.log"))?;
        backends.push(bind.parse()?);
    }
    let probe = hosts.create_probe(net_id, Some("host-0")).await?;
    let client = Arc::new(Netns::open(&host_net::namespace::path(&probe.namespace))?);
    let home = Arc::new(home);
    for backend in &backends {
        lab::wait(Duration::from_secs(10), "a backend answering", || {
            answers_over(client.socket(&home), *backend)
        })
        .await?;
    }
    let api = Arc::new(Api::new(http, lab::API, subnet_id.to_string()));
    Ok(Scene {
        lab,
        home,
        client,
        api,
        backends,
    })
}

impl Scene {
    async fn answers(&self, vip: SocketAddr) -> bool {
        answers_over(self.client.socket(&self.home), vip).await
    }

    /// `count` load balancers ACTIVE and answering, `concurrency` at a time.
    pub(super) async fn create(
        &self,
        count: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<(String, SocketAddr)>> {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let (api, next, members) = (self.api.clone(), next.clone(), self.backends.clone());
            workers.spawn(async move {
                let mut made = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        return Ok::<_, anyhow::Error>(made);
                    }
                    let (lb, vip) = api
                        .create_graph(&format!("r{i}"), &members, Value::Null)
                        .await?;
                    api.wait_active(&lb, Duration::from_secs(120), Duration::from_millis(50))
                        .await?;
                    made.push((lb, vip));
                }
            });
        }
        let mut lbs = Vec::new();
        while let Some(made) = workers.join_next().await {
            lbs.extend(made??);
        }
        for (_, vip) in &lbs {
            lab::wait(Duration::from_secs(30), "a VIP answering", || {
                self.answers(*vip)
            })
            .await?;
        }
        Ok(lbs)
    }

    /// The amphorae in service: (amphora id, load balancer id, host address).
    async fn amphorae(&self) -> anyhow::Result<Vec<(String, String, IpAddr)>> {
        let body: Value = self
            .api
            .client()
            .get(format!("http://{}/v2/octavia/amphorae", lab::API))
            .send()
            .await?
            .json()
            .await?;
        let mut all = Vec::new();
        for a in body["amphorae"].as_array().into_iter().flatten() {
            if a["status"] == "DELETED" {
                continue;
            }
            let (Some(id), Some(lb), Some(host)) = (
                a["id"].as_str(),
                a["loadbalancer_id"].as_str(),
                a["lb_network_ip"].as_str().and_then(|h| h.parse().ok()),
            ) else {
                continue;
            };
            all.push((id.to_string(), lb.to_string(), host));
        }
        Ok(all)
    }
}

pub async fn provision(count: usize) -> anyhow::Result<()> {
    on_lab_thread(2, Vec::new(), move |lab, home| async move {
        let scene = scene(lab, home).await?;
        println!(
            "ostia bench provision: {count} load balancers (LB, HTTP listener, pool, 2 members in one POST), netns amphorae on 2 hosts (one ostia up, one ostia agent)"
        );
        let (mut to_active, mut to_traffic) = (Vec::new(), Vec::new());
        for i in 0..count {
            let started = Instant::now();
            let (lb, vip) = scene
                .api
                .create_graph(&format!("p{i}"), &scene.backends, Value::Null)
                .await?;
            scene
                .api
                .wait_active(&lb, Duration::from_secs(30), Duration::from_millis(1))
                .await?;
            to_active.push(started.elapsed().as_secs_f64() * 1000.0);
            lab::wait(Duration::from_secs(30), "the VIP answering", || {
                answers_over(scene.client.socket(&scene.home), vip)
            })
            .await?;
            to_traffic.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!("  {}", summary("POST → ACTIVE", to_active));
        println!(
            "  {}",
            summary("POST → first 200 through the VIP (from a probe)", to_traffic)
        );
        println!("  (Octavia with amphora VMs: minutes per load balancer)");
        Ok(())
    })
    .await
}

/// What a looping client saw of one VIP.
#[derive(Clone, Copy)]
struct Seen {
    last_ok: Instant,
    last_failure: Option<Instant>,
    longest_gap: Duration,
    failures: usize,
}

/// One client per VIP from the client probe: `GET /` on a new connection every 100 ms,
/// 0.5 s timeout, until `stop`.
fn loop_clients(
    scene: &Scene,
    vips: &[SocketAddr],
) -> (Arc<Mutex<Vec<Seen>>>, Arc<tokio::sync::Notify>) {
    let now = Instant::now();
    let seen = Arc::new(Mutex::new(vec![
        Seen {
            last_ok: now,
            last_failure: None,
            longest_gap: Duration::ZERO,
            failures: 0,
        };
        vips.len()
    ]));
    let stop = Arc::new(tokio::sync::Notify::new());
    for (i, vip) in vips.iter().copied().enumerate() {
        let (seen, stop) = (seen.clone(), stop.clone());
        let (client, home) = (scene.client.clone(), scene.home.clone());
        tokio::spawn(async move {
            loop {
                let asked = answers_over(client.socket(&home), vip);
                let ok = tokio::time::timeout(Duration::from_millis(500), asked)
                    .await
                    .unwrap_or(false);
                {
                    let mut all = seen.lock().expect("not poisoned");
                    let s = &mut all[i];
                    let now = Instant::now();
                    if ok {
                        s.longest_gap = s.longest_gap.max(now - s.last_ok);
                        s.last_ok = now;
                    } else {
                        s.failures += 1;
                        s.last_failure = Some(now);
                    }
                }
                tokio::select! {
                    _ = stop.notified() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
    }
    (seen, stop)
}

pub async fn reschedule(hosts: usize, per_host: usize, concurrency: usize) -> anyhow::Result<()> {
    on_lab_thread(hosts, Vec::new(), move |lab, home| async move {
        let mut scene = scene(lab, home).await?;
        let count = hosts * per_host;
        println!(
            "ostia bench reschedule: {count} load balancers on {hosts} hosts (HTTP listener, 2 members), netns amphorae; the last host dies"
        );
        let started = Instant::now();
        let lbs = scene.create(count, concurrency).await?;
        println!(
            "  created {count} load balancers ACTIVE and answering in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let amphorae = scene.amphorae().await?;
        idle_amphorae(&amphorae).await;
        let victim = hosts - 1;
        let on_victim: Vec<&String> = amphorae
            .iter()
            .filter(|(_, _, host)| *host == lab::host_ip(victim))
            .map(|(_, lb, _)| lb)
            .collect();
        let vips: Vec<SocketAddr> = lbs.iter().map(|(_, vip)| *vip).collect();
        let moved: Vec<bool> = lbs.iter().map(|(lb, _)| on_victim.contains(&lb)).collect();
        let (seen, stop) = loop_clients(&scene, &vips);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let killed_at = Instant::now();
        let killed = scene.lab.kill_host(victim)?;
        println!(
            "  killed host-{victim} (agent, {} amphora processes and namespaces, underlay link)",
            killed.len()
        );
        let served_again = || {
            let all = seen.lock().expect("not poisoned");
            all.iter().zip(&moved).filter(|(_, m)| **m).all(|(s, _)| {
                s.last_failure
                    .is_some_and(|f| f > killed_at && s.last_ok > f)
            })
        };
        let recovered = lab::wait(Duration::from_secs(180), "the moved load balancers serving", || {
            std::future::ready(served_again())
        })
        .await;
        let all_back = killed_at.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.notify_waiters();
        let seen = seen.lock().expect("not poisoned").clone();
        report(&seen, &moved, all_back, recovered.is_ok());
        recovered
    })
    .await
}

fn report(seen: &[Seen], moved: &[bool], all_back: Duration, recovered: bool) {
    let mut outages: Vec<f64> = seen
        .iter()
        .zip(moved)
        .filter(|(_, m)| **m)
        .map(|(s, _)| s.longest_gap.as_secs_f64())
        .collect();
    outages.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&outages, 0.5), percentile(&outages, 0.99));
    let max = outages.last().copied().unwrap_or(0.0);
    println!(
        "  {} moved load balancers: client-visible outage p50 {p50:.2} s, p99 {p99:.2} s, max {max:.2} s; all served again {:.1} s after the kill{}",
        outages.len(),
        all_back.as_secs_f64(),
        if recovered { "" } else { " (NOT all recovered)" }
    );
    println!(
        "  p99 against neutron-lbaas's ≈150 s: {:.0}× shorter; against Octavia's ≈60 s: {:.0}× shorter",
        150.0 / p99.max(0.001),
        60.0 / p99.max(0.001)
    );
    let others: Vec<&Seen> = seen
        .iter()
        .zip(moved)
        .filter(|(_, m)| !**m)
        .map(|(s, _)| s)
        .collect();
    let longest = others
        .iter()
        .map(|s| s.longest_gap.as_secs_f64())
        .fold(0.0, f64::max);
    println!(
        "  {} load balancers on the other hosts: {} failed requests, longest gap between answers {longest:.2} s",
        others.len(),
        others.iter().map(|s| s.failures).sum::<usize>()
    );
}

/// Memory and CPU of the amphora processes at rest (no traffic; heartbeats every second).
async fn idle_amphorae(amphorae: &[(String, String, IpAddr)]) {
    let mut pids: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (id, _, _) in amphorae {
        let ns = format!("amphora-{id}");
        let out = std::process::Command::new("ip")
            .args(["netns", "pids", &ns])
            .output();
        let listed = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        pids.insert(
            id.clone(),
            listed
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect(),
        );
    }
    let all: Vec<u32> = pids.values().flatten().copied().collect();
    if all.is_empty() {
        println!("  idle amphorae: no process found");
        return;
    }
    let cpu0: f64 = all.iter().map(|p| cpu_seconds(*p)).sum();
    let window = Duration::from_secs(5);
    tokio::time::sleep(window).await;
    let cpu1: f64 = all.iter().map(|p| cpu_seconds(*p)).sum();
    let mut rss: Vec<f64> = all
        .iter()
        .map(|p| rss_bytes(*p) as f64 / 1048576.0)
        .collect();
    rss.sort_by(f64::total_cmp);
    println!(
        "  idle amphora ({} processes): RSS p50 {:.1} MiB, max {:.1} MiB; CPU {:.3} % of a core each (mean over {:.0} s)",
        all.len(),
        percentile(&rss, 0.5),
        rss.last().copied().unwrap_or(0.0),
        (cpu1 - cpu0) / window.as_secs_f64() / all.len() as f64 * 100.0,
        window.as_secs_f64()
    );
}
