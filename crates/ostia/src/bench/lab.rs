//! A lab of network namespaces for the benchmarks of amphorae on hosts, built as
//! `tests/netns/hosts.py` builds its own: an underlay bridge in a lab namespace, one namespace
//! per host on it (192.168.50.10 + i), the control plane (`ostia up --amphora netns`) in the
//! first and `ostia agent` in the others. Private addresses exist only inside these
//! namespaces. The bench's own thread enters the first host's namespace (where the APIs listen
//! on loopback) and opens client sockets in a probe's namespace. Dropping the lab stops its
//! processes and removes every namespace it or its agents made.

use super::process::{spawn_logged, Proc};
use anyhow::{bail, Context};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const API: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9876);
pub const NETWORK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9696);
const HEALTH_PORT: u16 = 5555;
/// Namespaces agents make, which the lab removes when it made them.
const MADE_BY_AGENTS: [&str; 3] = ["amphora-", "qprobe-", "qrouter-"];

pub struct Lab {
    tag: String,
    pub dir: PathBuf,
    exe: PathBuf,
    hosts: usize,
    /// The lab's and hosts' namespaces, in the order made.
    made: Vec<String>,
    before: BTreeSet<String>,
    procs: Vec<Proc>,
    agents: BTreeMap<usize, Proc>,
}

/// `ip …` (or any command), failing with what it printed.
fn sh(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn in_ns(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["netns", "exec", ns];
    all.extend_from_slice(args);
    sh("ip", &all)
}

fn namespaces() -> BTreeSet<String> {
    host_net::namespace::list("").into_iter().collect()
}

pub fn host_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 50, 10 + i as u8))
}

impl Lab {
    /// Makes the namespaces and starts the control plane in the first host (its APIs answer
    /// once [`Lab::enter_control_plane`] and [`Lab::start_agents`] return), `ostia up` with
    /// `extra` arguments.
    pub fn start(hosts: usize, extra: &[String]) -> anyhow::Result<Lab> {
        // Safety: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            bail!("this benchmark makes network namespaces: it needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
        }
        anyhow::ensure!((2..=8).contains(&hosts), "--hosts must be 2 to 8");
        let tag = format!("{:x}", std::process::id());
        let dir = std::env::temp_dir().join(format!("ostia-bench-hosts-{tag}"));
        std::fs::create_dir_all(&dir)?;
        let mut lab = Lab {
            tag,
            dir,
            exe: std::env::current_exe()?,
            hosts,
            made: Vec::new(),
            before: namespaces(),
            procs: Vec::new(),
            agents: BTreeMap::new(),
        };
        let underlay = lab.lab_ns();
        sh("ip", &["netns", "add", &underlay])?;
        lab.made.push(underlay.clone());
        in_ns(&underlay, &["ip", "link", "set", "lo", "up"])?;
        in_ns(
            &underlay,
            &["ip", "link", "add", "underlay", "type", "bridge"],
        )?;
        in_ns(&underlay, &["ip", "link", "set", "underlay", "up"])?;
        for i in 0..hosts {
            let ns = lab.host_ns(i);
            sh("ip", &["netns", "add", &ns])?;
            lab.made.push(ns.clone());
            let (link, address) = (format!("u{i}"), format!("{}/24", host_ip(i)));
            in_ns(&ns, &["ip", "link", "set", "lo", "up"])?;
            in_ns(
                &underlay,
                &[
                    "ip", "link", "add", &link, "type", "veth", "peer", "name", "eth0", "netns",
                    &ns,
                ],
            )?;
            in_ns(
                &underlay,
                &["ip", "link", "set", &link, "master", "underlay", "up"],
            )?;
            in_ns(&ns, &["ip", "addr", "add", &address, "dev", "eth0"])?;
            in_ns(&ns, &["ip", "link", "set", "eth0", "up"])?;
        }
        let (cp, health) = (lab.control_plane_dir(), lab.health());
        let (api, network) = (API.to_string(), NETWORK.to_string());
        let local_ip = host_ip(0).to_string();
        let mut args: Vec<&str> = vec![
            "up",
            "--auth",
            "noauth",
            "--data-dir",
            &cp,
            "--amphora",
            "netns",
            "--host",
            "host-0",
            "--local-ip",
            &local_ip,
            "--health-bind",
            &health,
            "--api-bind",
            &api,
            "--network-bind",
            &network,
            "--key-manager-bind",
            "127.0.0.1:0",
            "--identity-bind",
            "127.0.0.1:0",
        ];
        args.extend(extra.iter().map(String::as_str));
        let up = lab.spawn_in(0, &args, "up.log")?;
        lab.procs.push(up);
        Ok(lab)
    }

    fn lab_ns(&self) -> String {
        format!("ostia-blab-{}", self.tag)
    }

    pub fn host_ns(&self, i: usize) -> String {
        format!("ostia-bh{i}-{}", self.tag)
    }

    pub fn control_plane_dir(&self) -> String {
        self.dir.join("cp").to_string_lossy().into_owned()
    }

    fn health(&self) -> String {
        SocketAddr::new(host_ip(0), HEALTH_PORT).to_string()
    }

    /// Runs `ostia ARGS` inside host `i`'s namespace, its stderr to `log` in the lab's dir.
    pub fn spawn_in(&self, i: usize, args: &[&str], log: &str) -> anyhow::Result<Proc> {
        let ns = self.host_ns(i);
        let exe = self.exe.to_string_lossy().into_owned();
        let mut all = vec!["netns", "exec", ns.as_str(), exe.as_str()];
        all.extend_from_slice(args);
        spawn_logged("ip", &all, Some(&self.dir.join(log)))
    }

    /// Runs `ostia ARGS` in a probe's namespace (a backend), kept until the lab is dropped.
    pub fn spawn_in_probe(&mut self, ns: &str, args: &[&str], log: &str) -> anyhow::Result<()> {
        let exe = self.exe.to_string_lossy().into_owned();
        let mut all = vec!["netns", "exec", ns, exe.as_str()];
        all.extend_from_slice(args);
        let proc = spawn_logged("ip", &all, Some(&self.dir.join(log)))?;
        self.procs.push(proc);
        Ok(())
    }

    /// Moves the calling thread into the control plane's namespace, where the APIs listen.
    /// Call it from a thread of its own, before its runtime opens a socket.
    pub fn enter_control_plane(&self) -> anyhow::Result<Netns> {
        let ns = Netns::open(&host_net::namespace::path(&self.host_ns(0)))?;
        ns.enter()?;
        Ok(ns)
    }

    /// Starts `ostia agent` on every other host, with the control plane's keys copied as an
    /// operator copies them, and waits until every host is alive in the agent API.
    pub async fn start_agents(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        wait(
            Duration::from_secs(30),
            "the control plane's network API",
            || async {
                client
                    .get(format!("http://{NETWORK}/v2.0/agents"))
                    .send()
                    .await
                    .is_ok()
            },
        )
        .await?;
        let cp = PathBuf::from(self.control_plane_dir());
        for i in 1..self.hosts {
            self.start_agent(i, &cp, &format!("agent-{i}.log"))?;
        }
        self.wait_alive(client, self.hosts).await
    }

    fn start_agent(&mut self, i: usize, cp: &Path, log: &str) -> anyhow::Result<()> {
        let data = self.dir.join(format!("host-{i}"));
        std::fs::create_dir_all(data.join("pki"))?;
        std::fs::copy(cp.join("heartbeat.key"), data.join("heartbeat.key"))?;
        for entry in std::fs::read_dir(cp.join("pki"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), data.join("pki").join(entry.file_name()))?;
        }
        let (name, local_ip) = (format!("host-{i}"), host_ip(i).to_string());
        let (data, health) = (data.to_string_lossy().into_owned(), self.health());
        let agent = self.spawn_in(
            i,
            &[
                "agent",
                "--host",
                &name,
                "--local-ip",
                &local_ip,
                "--controller-ip-port-list",
                &health,
                "--data-dir",
                &data,
            ],
            log,
        )?;
        self.agents.insert(i, agent);
        Ok(())
    }

    async fn wait_alive(&self, client: &reqwest::Client, count: usize) -> anyhow::Result<()> {
        wait(Duration::from_secs(30), "every host alive", || async {
            let Ok(answer) = client
                .get(format!("http://{NETWORK}/v2.0/agents"))
                .send()
                .await
            else {
                return false;
            };
            let body: Value = answer.json().await.unwrap_or_default();
            let alive = body["agents"]
                .as_array()
                .map(|a| a.iter().filter(|r| r["alive"] == true).count())
                .unwrap_or(0);
            alive == count
        })
        .await
    }

    /// Kills host `i` as a machine dies: its agent, its amphorae's processes and namespaces,
    /// its underlay link. Returns the amphorae it held.
    pub fn kill_host(&mut self, i: usize) -> anyhow::Result<Vec<String>> {
        let held = self.dir.join(format!("host-{i}/host/amphorae"));
        let amphorae: Vec<String> = std::fs::read_dir(&held)
            .with_context(|| format!("reading {}", held.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        drop(self.agents.remove(&i));
        for amphora in &amphorae {
            kill_inside(&format!("amphora-{amphora}"));
        }
        in_ns(
            &self.lab_ns(),
            &["ip", "link", "set", &format!("u{i}"), "down"],
        )?;
        for amphora in &amphorae {
            let _ = sh("ip", &["netns", "del", &format!("amphora-{amphora}")]);
        }
        Ok(amphorae)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.agents.clear();
        self.procs.clear();
        // Amphora processes outlive their agents: stop them, then their namespaces.
        let now = namespaces();
        for ns in now.difference(&self.before) {
            if MADE_BY_AGENTS.iter().any(|p| ns.starts_with(p)) {
                kill_inside(ns);
                let _ = sh("ip", &["netns", "del", ns]);
            }
        }
        for ns in self.made.iter().rev() {
            kill_inside(ns);
            let _ = sh("ip", &["netns", "del", ns]);
        }
        if std::env::var_os("OSTIA_BENCH_KEEP_LOGS").is_some() {
            eprintln!("logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Kills an amphora as its machine dies: every process in its namespace, then the namespace.
/// Returns how many processes it killed.
pub fn kill_amphora(id: &str) -> usize {
    let ns = format!("amphora-{id}");
    let killed = kill_inside(&ns);
    let _ = sh("ip", &["netns", "del", &ns]);
    killed
}

/// SIGKILL to every process inside namespace `ns`; how many there were.
fn kill_inside(ns: &str) -> usize {
    let pids = sh("ip", &["netns", "pids", ns]).unwrap_or_default();
    let pids: Vec<i32> = pids
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .collect();
    for pid in &pids {
        // Safety: kill(2) on a pid read just now; at worst it is gone already.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    pids.len()
}

/// Calls `check` every 100 ms until it holds, at most `limit`.
pub async fn wait<F, Fut>(limit: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        if started.elapsed() > limit {
            bail!("{what}: not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A network namespace held open: the calling thread enters it, for good or for the one
/// socket [`Netns::socket`] opens there.
pub struct Netns(File);

impl Netns {
    pub fn open(path: &Path) -> anyhow::Result<Netns> {
        Ok(Netns(File::open(path).with_context(|| {
            format!("network namespace {}", path.display())
        })?))
    }

    fn enter(&self) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // Safety: a valid descriptor of a namespace file; setns changes only this thread.
        if unsafe { libc::setns(self.0.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// A TCP socket of this namespace; the thread is back in `home` when it returns. On a
    /// current-thread runtime nothing else runs in between.
    pub fn socket(&self, home: &Netns) -> std::io::Result<tokio::net::TcpSocket> {
        self.enter()?;
        let socket = tokio::net::TcpSocket::new_v4();
        home.enter()?;
        socket
    }
}
