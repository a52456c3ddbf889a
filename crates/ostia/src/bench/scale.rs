//! `ostia bench api --database postgres://…`, its second part: a control plane of separate
//! processes on one PostgreSQL database (1, 2 and 3 `ostia api` with 1 and 2 `ostia worker`)
//! under concurrent clients. Each configuration gets a database of its own (made on the
//! server of the URL and dropped after), so none inherits another's rows. It reports
//! create→ACTIVE latency, creates per second, and CPU per create of Ostia's processes, of
//! PostgreSQL and of this client.
//!
//! Clients keep `concurrency` creates under way: each POSTs, and takes its next turn when
//! one of them is ACTIVE. Which are ACTIVE is read from the database every `WATCH` (what a
//! client's GET would answer), not by polling the APIs: polls would load the very processes
//! being compared, and more API processes answering them faster would poll more.

use super::process::{cpu_seconds, local_subnet, percentile, spawn_logged, Proc};
use anyhow::Context;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the watcher looks which creates are ACTIVE.
const WATCH: Duration = Duration::from_millis(2);

const CONFIGURATIONS: [(usize, usize); 6] = [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)];

struct Figures {
    creates_per_s: f64,
    p50: f64,
    p99: f64,
    ostia_cpu_ms: f64,
    postgres_cpu_ms: f64,
    client_cpu_ms: f64,
}

pub async fn scale(url: &str, count: usize, concurrency: usize) -> anyhow::Result<()> {
    println!(
        "  processes on one PostgreSQL database: {count} creates (noop provider) by \
         {concurrency} concurrent clients per configuration, a fresh database each"
    );
    println!(
        "  {:>4} {:>7} {:>10} {:>8} {:>8} {:>16} {:>16} {:>16}",
        "api",
        "workers",
        "creates/s",
        "p50 ms",
        "p99 ms",
        "Ostia CPU/create",
        "PG CPU/create",
        "client CPU/cr."
    );
    for (n, (apis, workers)) in CONFIGURATIONS.into_iter().enumerate() {
        let database = Scratch::create(url, n).await?;
        let result = configuration(&database.url, apis, workers, count, concurrency).await;
        database.drop().await;
        let f = result?;
        println!(
            "  {apis:>4} {workers:>7} {:>10.0} {:>8.2} {:>8.2} {:>13.2} ms {:>13.2} ms {:>13.2} ms",
            f.creates_per_s, f.p50, f.p99, f.ostia_cpu_ms, f.postgres_cpu_ms, f.client_cpu_ms
        );
    }
    Ok(())
}

async fn configuration(
    url: &str,
    apis: usize,
    workers: usize,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("ostia-bench-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    let data = dir.to_string_lossy().into_owned();
    let health = std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .to_string();
    let mut procs: Vec<Proc> = Vec::new();
    let mut bases = Vec::new();
    let mut network = String::new();
    for i in 0..apis {
        let (api, net, km) = (free_tcp()?, free_tcp()?, free_tcp()?);
        let args = [
            "api",
            "--auth",
            "noauth",
            "--no-vip-interface",
            "--data-dir",
            &data,
            "--database",
            url,
            "--api-bind",
            &api.to_string(),
            "--network-bind",
            &net.to_string(),
            "--key-manager-bind",
            &km.to_string(),
            "--health-bind",
            &health,
        ];
        let log = dir.join(format!("api{i}.log"));
        procs.push(spawn_logged(&exe, &args, Some(&log))?);
        // The first makes the schema and the keys; the others start once it answers.
        answering(&format!("http://{api}/")).await?;
        bases.push(format!("http://{api}/v2/lbaas"));
        if i == 0 {
            network = format!("http://{net}");
        }
    }
    for i in 0..workers {
        let args = [
            "worker",
            "--data-dir",
            &data,
            "--database",
            url,
            "--amphora",
            "noop",
            "--health-bind",
            &health,
        ];
        let log = dir.join(format!("worker{i}.log"));
        procs.push(spawn_logged(&exe, &args, Some(&log))?);
    }
    let client = reqwest::Client::new();
    let subnet = local_subnet(&client, &network).await?;
    let load = Load {
        client,
        bases,
        subnet,
        db: sqlx::AnyPool::connect(url).await?,
    };
    // Warm-up: connections, prepared statements, the workers' first claims.
    load.run(concurrency, concurrency).await?;

    let ostia_cpu = |procs: &[Proc]| procs.iter().map(Proc::cpu_seconds).sum::<f64>();
    let (ostia0, pg0, me0) = (
        ostia_cpu(&procs),
        postgres_cpu(),
        cpu_seconds(std::process::id()),
    );
    let started = Instant::now();
    let mut latencies = load.run(count, concurrency).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let per_create = |seconds: f64| seconds * 1000.0 / count as f64;
    latencies.sort_by(|a, b| a.total_cmp(b));
    let figures = Figures {
        creates_per_s: count as f64 / elapsed,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        ostia_cpu_ms: per_create(ostia_cpu(&procs) - ostia0),
        postgres_cpu_ms: per_create(postgres_cpu() - pg0),
        client_cpu_ms: per_create(cpu_seconds(std::process::id()) - me0),
    };
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

/// Clients creating load balancers through the APIs in turn.
struct Load {
    client: reqwest::Client,
    bases: Vec<String>,
    subnet: String,
    /// Where the watcher reads which creates are ACTIVE.
    db: sqlx::AnyPool,
}

impl Load {
    /// `count` creates with `concurrency` under way at a time; their create→ACTIVE
    /// latencies, ms.
    async fn run(&self, count: usize, concurrency: usize) -> anyhow::Result<Vec<f64>> {
        let turns = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let under_way = Arc::new(Mutex::new(HashMap::<String, Instant>::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (turns, under_way, next) = (turns.clone(), under_way.clone(), next.clone());
            let (client, bases, subnet) =
                (self.client.clone(), self.bases.clone(), self.subnet.clone());
            clients.spawn(async move {
                loop {
                    let turn = turns.acquire().await?;
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(());
                    }
                    let started = Instant::now();
                    let id = create(&client, &bases[i % bases.len()], &subnet).await?;
                    under_way.lock().expect("not poisoned").insert(id, started);
                    // The watcher gives the turn back when this one is ACTIVE.
                    turn.forget();
                }
            });
        }
        let mut latencies = Vec::with_capacity(count);
        let deadline = Instant::now() + Duration::from_secs(60 + count as u64 / 10);
        while latencies.len() < count {
            if let Some(done) = clients.try_join_next() {
                done??;
            }
            anyhow::ensure!(Instant::now() < deadline, "creates not ACTIVE in time");
            tokio::time::sleep(WATCH).await;
            let ids: Vec<String> = under_way
                .lock()
                .expect("not poisoned")
                .keys()
                .cloned()
                .collect();
            for id in self.active(&ids).await? {
                if let Some(started) = under_way.lock().expect("not poisoned").remove(&id) {
                    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    turns.add_permits(1);
                }
            }
        }
        while let Some(done) = clients.join_next().await {
            done??;
        }
        Ok(latencies)
    }

    /// Which of `ids` are ACTIVE now.
    async fn active(&self, ids: &[String]) -> anyhow::Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id FROM resources WHERE provisioning_status = $1 AND id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query_scalar(&sql).bind(model::ProvisioningStatus::Active.as_str());
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(&self.db).await?)
    }
}

/// One create; the new load balancer's id.
async fn create(client: &reqwest::Client, base: &str, subnet: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({"loadbalancer": {"vip_subnet_id": subnet,
        "provider": "noop_driver"}});
    let created: serde_json::Value = client
        .post(format!("{base}/loadbalancers"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(created["loadbalancer"]["id"]
        .as_str()
        .context("a created load balancer's id")?
        .to_string())
}

fn free_tcp() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

async fn answering(url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(url).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{url} did not answer within 30 s")
}

/// CPU time of every PostgreSQL process on this host (its backends do the queries).
fn postgres_cpu() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// A database of its own on the server of `url`, dropped after.
struct Scratch {
    admin: sqlx::AnyPool,
    name: String,
    url: String,
}

impl Scratch {
    async fn create(url: &str, n: usize) -> anyhow::Result<Scratch> {
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let name = format!("ostia_bench_{}_{n}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .context("creating a database per configuration (the bench needs CREATEDB)")?;
        // The URL with the new database in place of its own.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
        let url = format!("{base}/{name}?{query}");
        Ok(Scratch { admin, name, url })
    }

    async fn drop(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = sqlx::query(&sql).execute(&self.admin).await {
            eprintln!("could not drop {}: {e}", self.name);
        }
        self.admin.close().await;
    }
}
