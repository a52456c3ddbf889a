//! `ostia bench failover --topology ACTIVE_STANDBY`: one load balancer with a MASTER and a
//! BACKUP on two hosts of a lab of namespaces; its MASTER's namespace is killed `kills`
//! times under a client opening a new connection every ~2 ms. Per kill: the outage the client
//! saw (first failure → first success), and how long until the API's amphora list names the
//! survivor MASTER. Octavia's defaults: ≈3.65 s to take over, and a role never updated.

use super::amphora::{answers_over, summary};
use super::hosts::{on_lab_thread, scene, Scene};
use super::lab;
use anyhow::{bail, Context};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Each attempt gives up after this: a SYN to a MAC that is gone is never answered.
const ATTEMPT: Duration = Duration::from_millis(100);
const PAUSE: Duration = Duration::from_millis(2);

pub async fn failover(kills: usize) -> anyhow::Result<()> {
    let up_args = vec![
        "--loadbalancer-topology".to_string(),
        "ACTIVE_STANDBY".to_string(),
    ];
    on_lab_thread(3, up_args, move |lab, home| async move {
        let scene = scene(lab, home).await?;
        let lbs = scene.create(1, 1).await?;
        let (lb, vip) = lbs.into_iter().next().context("a load balancer")?;
        println!(
            "ostia bench failover --topology ACTIVE_STANDBY: {kills} kills of the MASTER's namespace (netns amphorae on 3 hosts, keepalived, 100 ms adverts) under a client opening a new connection every ~2 ms"
        );
        let (mut outages, mut to_role, mut failed_total) = (Vec::new(), Vec::new(), 0);
        let mut dead = Vec::new();
        for round in 1..=kills {
            let (master, backup) = settled_pair(&scene, &lb, &dead).await?;
            dead.push(master.clone());
            while !attempt(&scene, vip).await {
                tokio::time::sleep(PAUSE).await;
            }
            let killed = Instant::now();
            let processes = lab::kill_amphora(&master);
            let (outage, failed, role) = watch(&scene, &lb, vip, &backup, killed).await?;
            println!(
                "  kill {round} ({processes} processes): outage {:.0} ms ({failed} failed connections), amphora list shows the survivor MASTER after {:.0} ms",
                outage.as_secs_f64() * 1000.0,
                role.as_secs_f64() * 1000.0
            );
            outages.push(outage.as_secs_f64() * 1000.0);
            to_role.push(role.as_secs_f64() * 1000.0);
            failed_total += failed;
        }
        println!(
            "  {} ({failed_total} failed connections in all)",
            summary("outage", outages.clone())
        );
        println!("  {}", summary("kill → recorded role true", to_role));
        let p99 = {
            outages.sort_by(f64::total_cmp);
            super::process::percentile(&outages, 0.99)
        };
        println!(
            "  Octavia's keepalived defaults (advert_int 1 s, priority 90): ≈3650 ms to take over, ratio {:.1}×; its recorded role stays wrong",
            3650.0 / p99.max(1.0)
        );
        // With the logs kept, the amphorae's (keepalived's among them) are kept too.
        if std::env::var_os("OSTIA_BENCH_KEEP_LOGS").is_none() {
            scene.api.delete(&lb).await?;
        }
        Ok(())
    })
    .await
}

async fn attempt(scene: &Scene, vip: SocketAddr) -> bool {
    let asked = answers_over(scene.client.socket(&scene.home), vip);
    tokio::time::timeout(ATTEMPT, asked).await.unwrap_or(false)
}

/// Until the client is served again and the API names the survivor MASTER: (outage, failed
/// attempts, time to the true role).
async fn watch(
    scene: &Scene,
    lb: &str,
    vip: SocketAddr,
    survivor: &str,
    killed: Instant,
) -> anyhow::Result<(Duration, usize, Duration)> {
    let (mut first_failure, mut failed, mut served_again) = (None, 0, None);
    let mut role = None;
    let mut asked_role = Instant::now() - Duration::from_secs(1);
    while !(served_again.is_some() && role.is_some()) {
        if killed.elapsed() > Duration::from_secs(30) {
            bail!("no takeover within 30 s (served again: {served_again:?}, role: {role:?})");
        }
        if served_again.is_none() {
            if attempt(scene, vip).await {
                if let Some(f) = first_failure {
                    served_again = Some(Instant::now() - f);
                } else if killed.elapsed() > Duration::from_secs(2) {
                    served_again = Some(Duration::ZERO);
                }
            } else {
                failed += 1;
                first_failure.get_or_insert_with(Instant::now);
            }
        }
        // The API every 20 ms: often enough to see the role within a heartbeat.
        if role.is_none() && asked_role.elapsed() >= Duration::from_millis(20) {
            asked_role = Instant::now();
            let (master, _) = roles(scene, lb, &[]).await?;
            if master.as_deref() == Some(survivor) {
                role = Some(killed.elapsed());
            }
        }
        tokio::time::sleep(PAUSE).await;
    }
    Ok((
        served_again.unwrap_or_default(),
        failed,
        role.unwrap_or_default(),
    ))
}

/// Waits until the load balancer has a MASTER and a BACKUP in service, none of them `dead`
/// (the last kill's rebuild done): (MASTER id, BACKUP id).
async fn settled_pair(
    scene: &Scene,
    lb: &str,
    dead: &[String],
) -> anyhow::Result<(String, String)> {
    let started = Instant::now();
    loop {
        if let (Some(master), Some(backup)) = roles(scene, lb, dead).await? {
            return Ok((master, backup));
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("load balancer {lb}: no MASTER and BACKUP within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ids of the ALLOCATED MASTER and BACKUP of the load balancer, as the API lists them,
/// when there is one of each besides the `dead`.
async fn roles(
    scene: &Scene,
    lb: &str,
    dead: &[String],
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let url = format!(
        "http://{}/v2/octavia/amphorae?loadbalancer_id={lb}",
        lab::API
    );
    let body: Value = scene.api.client().get(url).send().await?.json().await?;
    let with = |role: &str| {
        let found: Vec<&Value> = body["amphorae"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["status"] == "ALLOCATED" && a["role"] == role)
            .filter(|a| !dead.iter().any(|d| a["id"] == d.as_str()))
            .collect();
        match found.as_slice() {
            [one] => one["id"].as_str().map(str::to_string),
            _ => None,
        }
    };
    Ok((with("MASTER"), with("BACKUP")))
}
