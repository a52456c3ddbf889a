//! `ostia bench engine`: the native engine against HAProxy (Debian package, an equivalent
//! configuration, `nbthread` equal to the engine's threads), HAProxy as Ostia's haproxy engine
//! runs it (the same load balancer rendered as Octavia renders it, master-worker, all cores:
//! compare per core) and direct access, on loopback, in one run: HTTP keep-alive and HTTP with a new connection per request (wrk), TCP bulk
//! throughput, HTTP keep-alive through 10 L7 policies, and TERMINATED_HTTPS with the same
//! certificate for both proxies: a new TLS connection per request (ECDSA P-256 and RSA 2048;
//! wrk resumes sessions where the server lets it, for both proxies alike), TLS keep-alive, and
//! full handshakes (`handshake`: a client that never resumes). Rounds interleave the
//! targets; each line gives the proxy's CPU seconds, and the summary the engine/HAProxy
//! ratios per proxy core. Last, 1,000 applies under a wrk
//! load.

use super::process::spawn;
use anyhow::{bail, Context};
use model::{
    AmphoraConfig, LbAlgorithm, ListenerConfig, ListenerProtocol, MemberConfig, PoolConfig,
    PoolProtocol,
};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const HTTP_MEMBERS: [&str; 2] = ["127.0.0.1:18081", "127.0.0.1:18082"];
const TCP_MEMBER: &str = "127.0.0.1:18090";
const ENGINE_VIP: &str = "127.22.0.1";
const HAPROXY_VIP: &str = "127.22.0.2";
const APPLY_VIP: &str = "127.22.0.3";
const INSIDE_VIP: &str = "127.22.0.4";

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Direct,
    Haproxy,
    /// The haproxy engine as Ostia runs it: Octavia's configuration of the engine's load
    /// balancer (`render_served`), haproxy in master-worker mode.
    Inside,
    Engine,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Haproxy => "haproxy",
            Target::Inside => "hap-in-o",
            Target::Engine => "engine",
        }
    }
}

#[derive(Default, Clone)]
struct Sample {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    cpu: f64,
}

pub async fn run(rounds: usize, seconds: u64, threads: usize) -> anyhow::Result<()> {
    for tool in ["wrk", "haproxy"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            bail!("{tool} is not installed (apt-get install wrk haproxy)");
        }
    }
    let exe = std::env::current_exe()?;
    let dir = tempfile_dir()?;
    let mut backends = Vec::new();
    for (i, addr) in HTTP_MEMBERS.iter().enumerate() {
        backends.push(spawn(
            &exe,
            &[
                "backend",
                "--name",
                &format!("webserver{}", i + 1),
                "--bind",
                addr,
                "--kind",
                "http",
                "--threads",
                "1",
            ],
        )?);
    }
    backends.push(spawn(
        &exe,
        &[
            "backend",
            "--name",
            "sink",
            "--bind",
            TCP_MEMBER,
            "--kind",
            "tcp",
            "--threads",
            "1",
        ],
    )?);

    let certs = Certs::make(&dir)?;
    let engine_cfg = dir.join("engine.json");
    std::fs::write(
        &engine_cfg,
        serde_json::to_vec_pretty(&with_tls_and_l7(engine_config(), &certs)?)?,
    )?;
    let engine = spawn(
        &exe,
        &[
            "engine",
            "--config",
            &engine_cfg.to_string_lossy(),
            "--threads",
            &threads.to_string(),
        ],
    )?;
    let haproxy_cfg = dir.join("haproxy.cfg");
    std::fs::write(
        &haproxy_cfg,
        haproxy_config(threads) + &haproxy_tls_and_l7(&certs),
    )?;
    let haproxy = spawn(
        Command::new("haproxy").get_program(),
        &["-db", "-f", &haproxy_cfg.to_string_lossy()],
    )?;
    let mut inside_config = with_tls_and_l7(engine_config(), &certs)?;
    inside_config.vips = vec![INSIDE_VIP.parse()?];
    inside_config.engine = model::EngineKind::Haproxy;
    let mut inside = amphora::haproxy::process::Haproxy::new(&dir.join("inside"));
    inside
        .apply(&amphora::haproxy::render_served(
            &inside_config,
            &dir.join("inside"),
            "bench",
        )?)
        .await?;
    let inside_worker = *inside
        .workers()
        .await?
        .first()
        .context("haproxy inside Ostia has a worker")?;
    for addr in [
        format!("{INSIDE_VIP}:8080"),
        format!("{ENGINE_VIP}:8080"),
        format!("{HAPROXY_VIP}:8080"),
        format!("{ENGINE_VIP}:8443"),
        format!("{HAPROXY_VIP}:8443"),
        format!("{ENGINE_VIP}:8444"),
        format!("{HAPROXY_VIP}:8444"),
        HTTP_MEMBERS[0].to_string(),
        TCP_MEMBER.to_string(),
    ] {
        wait_port(&addr).await?;
    }

    let scenarios = [
        "http keep-alive",
        "http new connection",
        "tcp bulk",
        "http 10 l7 policies",
        "tls new conn ecdsa",
        "tls new conn rsa",
        "tls keep-alive",
        "tls full hs ecdsa",
        "tls full hs rsa",
    ];
    let targets = [
        Target::Direct,
        Target::Haproxy,
        Target::Inside,
        Target::Engine,
    ];
    let mut results: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); targets.len()]; scenarios.len()];
    println!(
        "ostia bench engine: {rounds} rounds x {seconds} s, proxy threads {threads}, loopback"
    );
    println!(
        "{:<22}{:<9}{:>14}{:>10}{:>10}{:>8}{:>9}",
        "scenario", "target", "rate", "p50 ms", "p99 ms", "errors", "cpu s"
    );
    for round in 1..=rounds {
        for (si, scenario) in scenarios.iter().enumerate() {
            for (ti, target) in targets.iter().enumerate() {
                // TLS and L7 have no direct equivalent: the members speak plain HTTP.
                if si >= 3 && *target == Target::Direct {
                    continue;
                }
                let cpu = || match target {
                    Target::Direct => 0.0,
                    Target::Haproxy => haproxy.cpu_seconds(),
                    Target::Inside => super::process::cpu_seconds(inside_worker),
                    Target::Engine => engine.cpu_seconds(),
                };
                let cpu_before = cpu();
                let vip = vip_of(*target);
                let mut sample = match si {
                    0 => wrk(&http_url(*target), seconds, false)?,
                    1 => wrk(&http_url(*target), seconds, true)?,
                    2 => bulk(tcp_addr(*target), seconds).await?,
                    3 => wrk(&format!("http://{vip}:8081/"), seconds, false)?,
                    4 => wrk(&format!("https://{vip}:8443/"), seconds, true)?,
                    5 => wrk(&format!("https://{vip}:8444/"), seconds, true)?,
                    6 => wrk(&format!("https://{vip}:8443/"), seconds, false)?,
                    7 => full_handshakes(&format!("{vip}:8443"), seconds).await?,
                    _ => full_handshakes(&format!("{vip}:8444"), seconds).await?,
                };
                sample.cpu = cpu() - cpu_before;
                let unit = if si == 2 { "Gb/s" } else { "req/s" };
                println!(
                    "{:<22}{:<9}{:>9.2} {unit:<5}{:>9.2}{:>10.2}{:>8}{:>9.2}   (round {round})",
                    scenario,
                    target.name(),
                    sample.rate,
                    sample.p50_ms,
                    sample.p99_ms,
                    sample.errors,
                    sample.cpu
                );
                results[si][ti].push(sample);
            }
        }
    }
    let errors: Vec<u64> = results
        .iter()
        .map(|r| r.iter().flatten().map(|s| s.errors).sum())
        .collect();
    ratios("engine / haproxy", &scenarios, &results, (3, 1), &errors);
    ratios(
        "haproxy inside Ostia (Octavia's configuration, all cores) / standalone haproxy",
        &scenarios,
        &results,
        (2, 1),
        &errors,
    );
    ratios(
        "engine / haproxy inside Ostia",
        &scenarios,
        &results,
        (3, 2),
        &errors,
    );
    inside.stop().await;
    drop((engine, haproxy));
    applies_under_load(seconds.max(4)).await?;
    drop(backends);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// The ratios of target `a` to target `b` per scenario (each figure the median over rounds).
fn ratios(
    title: &str,
    scenarios: &[&str],
    results: &[Vec<Vec<Sample>>],
    (a, b): (usize, usize),
    errors: &[u64],
) {
    println!("\n{title} (each figure the median over rounds):");
    let per_core = |s: &Sample| if s.cpu > 0.0 { s.rate / s.cpu } else { 0.0 };
    for (si, scenario) in scenarios.iter().enumerate() {
        let (x, y) = (&results[si][a], &results[si][b]);
        println!(
            "  {:<22} throughput {:.2}x   per proxy core {:.2}x   p99 {:.2} vs {:.2} ms   errors {}",
            scenario,
            median(x, |s| s.rate) / median(y, |s| s.rate).max(f64::MIN_POSITIVE),
            median(x, per_core) / median(y, per_core).max(f64::MIN_POSITIVE),
            median(x, |s| s.p99_ms),
            median(y, |s| s.p99_ms),
            errors[si]
        );
    }
}

/// New connections that never resume: a full handshake each (`handshake`).
async fn full_handshakes(addr: &str, seconds: u64) -> anyhow::Result<Sample> {
    let run = super::handshake::run(addr.parse()?, "bench.example.com", seconds, 16).await?;
    let at = |q: f64| {
        let i = ((run.latencies.len() as f64 * q) as usize).min(run.latencies.len().max(1) - 1);
        run.latencies
            .get(i)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Sample {
        rate: run.completed as f64 / run.elapsed.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        errors: run.errors,
        cpu: 0.0,
    })
}

/// Applies, under a wrk load, 1,000 configurations to an engine in this process, each
/// adding or removing a member and a second listener; the listener wrk uses stays.
async fn applies_under_load(seconds: u64) -> anyhow::Result<()> {
    const APPLIES: u64 = 1000;
    let engine = engine::Engine::default();
    let config = |generation: u64| {
        let mut c = engine_config();
        c.generation = generation;
        c.vips = vec![APPLY_VIP.parse().expect("an address")];
        c.listeners.retain(|l| l.protocol == ListenerProtocol::Http);
        c.pools.retain(|p| p.protocol == PoolProtocol::Http);
        if generation % 2 == 1 {
            c.pools[0].members.truncate(1);
            let mut extra = c.listeners[0].clone();
            extra.id = "extra".into();
            extra.protocol_port = 8081;
            c.listeners.push(extra);
        }
        c
    };
    engine.apply(config(0)).await?;
    let url = format!("http://{APPLY_VIP}:8080/");
    let load = tokio::task::spawn_blocking(move || wrk(&url, seconds, false));
    // Spread the applies over the load, leaving its first and last half second alone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pause = Duration::from_millis((seconds * 1000 - 1000) / APPLIES);
    let started = Instant::now();
    let mut failed_applies = 0;
    for generation in 1..=APPLIES {
        if engine.apply(config(generation)).await.is_err() {
            failed_applies += 1;
        }
        tokio::time::sleep(pause).await;
    }
    let applying = started.elapsed().as_secs_f64();
    let sample = load.await??;
    engine.shutdown().await;
    println!(
        "\napplies under load: {APPLIES} applies (member and listener added/removed) in {applying:.1} s, \
         {failed_applies} failed; wrk on the listener that stays: {:.0} req/s, p99 {:.2} ms, errors {}",
        sample.rate, sample.p99_ms, sample.errors
    );
    Ok(())
}

fn median(samples: &[Sample], value: impl Fn(&Sample) -> f64) -> f64 {
    let mut values: Vec<f64> = samples.iter().map(value).collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ostia-bench-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn wait_port(addr: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("nothing listens on {addr}")
}

/// The address a proxy target serves on (every listener on its own port of it).
fn vip_of(target: Target) -> &'static str {
    match target {
        Target::Direct | Target::Haproxy => HAPROXY_VIP,
        Target::Inside => INSIDE_VIP,
        Target::Engine => ENGINE_VIP,
    }
}

fn http_url(target: Target) -> String {
    match target {
        Target::Direct => format!("http://{}/", HTTP_MEMBERS[0]),
        proxy => format!("http://{}:8080/", vip_of(proxy)),
    }
}

fn tcp_addr(target: Target) -> SocketAddr {
    let s = match target {
        Target::Direct => TCP_MEMBER.to_string(),
        proxy => format!("{}:9000", vip_of(proxy)),
    };
    s.parse().expect("a socket address")
}

fn wrk(url: &str, seconds: u64, close: bool) -> anyhow::Result<Sample> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c32", "--latency", &format!("-d{seconds}s")]);
    if close {
        cmd.args(["-H", "Connection: close"]);
    }
    let out = cmd.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sample = Sample::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => sample.rate = v.parse().unwrap_or(0.0),
            ["50%", v] => sample.p50_ms = millis(v),
            ["99%", v] => sample.p99_ms = millis(v),
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                sample.errors += n.parse::<u64>().unwrap_or(0)
            }
            ["Socket", "errors:", rest @ ..] => {
                // With Connection: close, wrk counts the server's close as a read error.
                let counts: Vec<u64> = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse().ok())
                    .collect();
                let connect_write_timeout = counts.first().unwrap_or(&0)
                    + counts.get(2).unwrap_or(&0)
                    + counts.get(3).unwrap_or(&0);
                sample.errors += connect_write_timeout
                    + if close {
                        0
                    } else {
                        *counts.get(1).unwrap_or(&0)
                    };
            }
            _ => {}
        }
    }
    Ok(sample)
}

fn millis(v: &str) -> f64 {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap_or(0.0);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => n,
    }
}

/// Two streams sending as fast as they can for `seconds`; Gb/s received by the sink.
async fn bulk(addr: SocketAddr, seconds: u64) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            let buf = vec![0x5au8; 256 * 1024];
            let mut sent = 0u64;
            while Instant::now() < deadline {
                stream.write_all(&buf).await?;
                sent += buf.len() as u64;
            }
            stream.shutdown().await?;
            Ok::<u64, std::io::Error>(sent)
        }));
    }
    let mut bytes = 0;
    let mut errors = 0;
    for t in tasks {
        match t.await? {
            Ok(n) => bytes += n,
            Err(_) => errors += 1,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(Sample {
        rate: bytes as f64 * 8.0 / secs / 1e9,
        errors,
        ..Sample::default()
    })
}

fn engine_config() -> AmphoraConfig {
    let mut http = PoolConfig::new("http-pool", PoolProtocol::Http, LbAlgorithm::RoundRobin);
    for (i, m) in HTTP_MEMBERS.iter().enumerate() {
        let addr: SocketAddr = m.parse().expect("a socket address");
        http.members
            .push(MemberConfig::new(&format!("m{i}"), addr.ip(), addr.port()));
    }
    let mut tcp = PoolConfig::new("tcp-pool", PoolProtocol::Tcp, LbAlgorithm::RoundRobin);
    let addr: SocketAddr = TCP_MEMBER.parse().expect("a socket address");
    tcp.members
        .push(MemberConfig::new("t0", addr.ip(), addr.port()));
    AmphoraConfig {
        lb_id: "bench".into(),
        generation: 1,
        vips: vec![ENGINE_VIP.parse().expect("an address")],
        listeners: vec![
            ListenerConfig::new("http", ListenerProtocol::Http, 8080, Some("http-pool")),
            ListenerConfig::new("tcp", ListenerProtocol::Tcp, 9000, Some("tcp-pool")),
        ],
        pools: vec![http, tcp],
        plumbing: None,
        vrrp: None,
        engine: Default::default(),
    }
}

/// What Octavia's template renders for the same two listeners (§9), with `nbthread`.
fn haproxy_config(threads: usize) -> String {
    let servers: String = HTTP_MEMBERS
        .iter()
        .enumerate()
        .map(|(i, m)| format!("    server m{i} {m} weight 1\n"))
        .collect();
    format!(
        "global\n    maxconn 4000\n    nbthread {threads}\n\
         defaults\n    retries 3\n    option redispatch\n    option splice-request\n    option splice-response\n    option http-keep-alive\n\
         \n\
         frontend http\n    maxconn 2000\n    bind {HAPROXY_VIP}:8080\n    mode http\n    default_backend http-pool\n    timeout client 50000\n\
         backend http-pool\n    mode http\n    http-reuse safe\n    balance roundrobin\n    fullconn 50000\n    option allbackups\n    timeout connect 5000\n    timeout server 50000\n{servers}\
         \n\
         frontend tcp\n    maxconn 2000\n    bind {HAPROXY_VIP}:9000\n    mode tcp\n    default_backend tcp-pool\n    timeout client 50000\n\
         backend tcp-pool\n    mode tcp\n    balance roundrobin\n    fullconn 50000\n    option allbackups\n    timeout connect 5000\n    timeout server 50000\n    server t0 {TCP_MEMBER} weight 1\n"
    )
}

/// The certificates both proxies serve: ECDSA P-256 and RSA 2048, made by `openssl`.
struct Certs {
    ecdsa: (String, String),
    rsa: (String, String),
    /// cert+key files for HAProxy's `crt`.
    ecdsa_file: std::path::PathBuf,
    rsa_file: std::path::PathBuf,
}

impl Certs {
    fn make(dir: &std::path::Path) -> anyhow::Result<Certs> {
        let one = |name: &str,
                   key_args: &[&str]|
         -> anyhow::Result<((String, String), std::path::PathBuf)> {
            let (key, crt) = (
                dir.join(format!("{name}.key")),
                dir.join(format!("{name}.crt")),
            );
            let status = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=bench.example.com",
                ])
                .args(key_args)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&crt)
                .stderr(Stdio::null())
                .status()
                .context("running openssl (apt-get install openssl)")?;
            if !status.success() {
                bail!("openssl could not make the {name} certificate");
            }
            let (crt, key) = (std::fs::read_to_string(crt)?, std::fs::read_to_string(key)?);
            let both = dir.join(format!("{name}.pem"));
            std::fs::write(&both, format!("{crt}{key}"))?;
            Ok(((crt, key), both))
        };
        let (ecdsa, ecdsa_file) = one(
            "ecdsa",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        )?;
        let (rsa, rsa_file) = one("rsa", &["-newkey", "rsa:2048"])?;
        Ok(Certs {
            ecdsa,
            rsa,
            ecdsa_file,
            rsa_file,
        })
    }
}

/// Ten L7 policies no request matches, in front of the default pool.
fn ten_policies() -> Vec<model::L7PolicyConfig> {
    (0..10)
        .map(|i| model::L7PolicyConfig {
            id: format!("p{i}"),
            action: model::L7Action::RedirectToPool,
            position: i + 1,
            admin_state_up: true,
            redirect_pool_id: Some("http-pool".into()),
            redirect_url: None,
            redirect_prefix: None,
            redirect_http_code: None,
            rules: vec![model::L7RuleConfig {
                id: format!("r{i}"),
                rule_type: model::L7RuleType::Path,
                compare_type: model::CompareType::StartsWith,
                key: None,
                value: format!("/never/{i}"),
                invert: false,
                admin_state_up: true,
            }],
        })
        .collect()
}

/// The bench's engine configuration with the L7 listener (8081) and TLS listeners (8443
/// ECDSA, 8444 RSA).
fn with_tls_and_l7(mut c: AmphoraConfig, certs: &Certs) -> anyhow::Result<AmphoraConfig> {
    let mut l7 = ListenerConfig::new("l7", ListenerProtocol::Http, 8081, Some("http-pool"));
    l7.l7policies = ten_policies();
    c.listeners.push(l7);
    for (id, port, (crt, key)) in [
        ("tls-ecdsa", 8443, &certs.ecdsa),
        ("tls-rsa", 8444, &certs.rsa),
    ] {
        let mut l = ListenerConfig::new(
            id,
            ListenerProtocol::TerminatedHttps,
            port,
            Some("http-pool"),
        );
        l.tls = Some(model::ListenerTls {
            default_certificate: Some(model::CertificateBundle {
                reference: id.into(),
                certificate_pem: crt.clone(),
                private_key_pem: key.clone(),
            }),
            alpn_protocols: vec!["http/1.1".into()],
            ..model::ListenerTls::default()
        });
        c.listeners.push(l);
    }
    Ok(c)
}

/// The same listeners for HAProxy, as Octavia renders them.
fn haproxy_tls_and_l7(certs: &Certs) -> String {
    let acls: String = (0..10)
        .map(|i| {
            format!("    acl r{i} path -m beg /never/{i}\n    use_backend http-pool if r{i}\n")
        })
        .collect();
    let tls = |name: &str, port: u16, file: &std::path::Path| {
        format!(
            "\nfrontend {name}\n    maxconn 2000\n    bind {HAPROXY_VIP}:{port} ssl crt {} alpn http/1.1\n    mode http\n    default_backend http-pool\n    timeout client 50000\n",
            file.display()
        )
    };
    format!(
        "\nfrontend l7\n    maxconn 2000\n    bind {HAPROXY_VIP}:8081\n    mode http\n{acls}    default_backend http-pool\n    timeout client 50000\n{}{}",
        tls("tls-ecdsa", 8443, &certs.ecdsa_file),
        tls("tls-rsa", 8444, &certs.rsa_file)
    )
}
