//! The processes and measurements benchmarks share: child processes killed when dropped,
//! their CPU time and memory, percentiles, and the local subnet a bench creates on.

use anyhow::Context;
use std::process::{Child, Command, Stdio};

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
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
        rss_bytes(self.0.id())
    }
}

/// Resident memory of process `pid`, bytes (0 once it is gone).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
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
