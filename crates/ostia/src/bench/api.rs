//! `ostia bench api`: create→ACTIVE latency of load balancers (noop provider) and the
//! latency of listing them, against a real server on ephemeral loopback ports.

use super::process::{local_subnet, percentile};
use std::time::{Duration, Instant};

/// How often the single client looks whether its load balancer is ACTIVE.
const POLL: Duration = Duration::from_micros(500);

/// The in-process measurement, then, on PostgreSQL, the same creates through separate API
/// and worker processes (`scale`).
pub async fn run(
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
    let opts = ostia::Options {
        data_dir: dir.clone(),
        database,
        api_bind: "127.0.0.1:0".parse()?,
        network_bind: "127.0.0.1:0".parse()?,
        health_bind: "127.0.0.1:0".parse()?,
        identity_bind: "127.0.0.1:0".parse()?,
        key_manager_bind: "127.0.0.1:0".parse()?,
        auth: ostia::AuthMode::NoAuth,
        amphora: ostia::AmphoraDriver::Noop,
        ..ostia::Options::default()
    };
    let running = ostia::start(opts).await?;
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
        Some(url) if scale_count > 0 => super::scale::scale(&url, scale_count, concurrency).await,
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
        let status = lb["loadbalancer"]["provisioning_status"].as_str();
        if status.and_then(|s| s.parse().ok()) == Some(model::ProvisioningStatus::Active) {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("load balancer {id} not ACTIVE after 30 s");
        }
        tokio::time::sleep(poll).await;
    }
}
