//! Named network namespaces (`ip netns`, under `/run/netns`): one per amphora
//! (`amphora-<id>`), probe (`qprobe-<port id>`) and router (`qrouter-<id>`).

use crate::command::{already, ip, ip_in, run, Result};

pub const AMPHORA: &str = "amphora-";
pub const PROBE: &str = "qprobe-";
pub const ROUTER: &str = "qrouter-";

const RUN_NETNS: &str = "/run/netns";

pub fn exists(name: &str) -> bool {
    std::path::Path::new(RUN_NETNS).join(name).exists()
}

/// `ip netns …` where the namespace is seen. A named namespace is a bind mount under
/// `/run/netns`. A process started by `ip netns exec` has a mount namespace of its own whose
/// `/run/netns` is a slave of its caller's: a namespace it made would exist only there, and
/// nothing outside could enter it. Such a process makes its namespaces in the mount
/// namespace of the nearest ancestor outside its own (the one `ip netns exec` was run from),
/// whose `/run/netns` propagates into every copy.
async fn ip_netns(args: &[&str]) -> Result<String> {
    let mut all = vec!["netns"];
    all.extend_from_slice(args);
    match outer_mount_namespace() {
        Some(outer) => {
            let mount = format!("--mount={}", outer.display());
            let mut entered = vec![mount.as_str(), "--", "ip"];
            entered.extend_from_slice(&all);
            run("nsenter", &entered).await
        }
        None => ip(&all).await,
    }
}

/// The mount namespace of the nearest ancestor outside this one, when this process's
/// `/run/netns` is a slave mount.
fn outer_mount_namespace() -> Option<std::path::PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let slave = mountinfo.lines().any(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        fields.get(4) == Some(&RUN_NETNS)
            && fields
                .iter()
                .skip(6)
                .take_while(|f| **f != "-")
                .any(|f| f.starts_with("master:"))
    });
    if !slave {
        return None;
    }
    let own = std::fs::read_link("/proc/self/ns/mnt").ok()?;
    let mut pid = parent(std::process::id())?;
    for _ in 0..64 {
        let ns = std::path::PathBuf::from(format!("/proc/{pid}/ns/mnt"));
        if std::fs::read_link(&ns).ok()? != own {
            return Some(ns);
        }
        pid = parent(pid).filter(|p| *p > 1)?;
    }
    None
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Makes the namespace (with its loopback up) unless it exists.
pub async fn ensure(name: &str) -> Result<()> {
    if !exists(name) {
        if let Err(e) = ip_netns(&["add", name]).await {
            if !already(&e) {
                return Err(e);
            }
        }
    }
    ip_in(name, &["link", "set", "lo", "up"]).await?;
    Ok(())
}

/// Deletes the namespace and what is inside: its processes first (one left running would
/// keep the namespace, its links and its addresses alive, unnamed), then its ends of veth
/// pairs, which take their peers along.
pub async fn delete(name: &str) -> Result<()> {
    if !exists(name) {
        return Ok(());
    }
    stop_processes(name).await;
    match ip_netns(&["del", name]).await {
        Err(e) if !already(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Kills (SIGKILL) the processes inside the namespace.
pub async fn stop_processes(name: &str) {
    if !exists(name) {
        return;
    }
    let Ok(pids) = ip(&["netns", "pids", name]).await else {
        return;
    };
    for pid in pids
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        // Safety: kill(2) on a pid read just now; at worst it is gone already.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Names of the namespaces that start with `prefix`.
pub fn list(prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(RUN_NETNS) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// The path a process enters the namespace through (`setns(2)` on an open descriptor).
pub fn path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(RUN_NETNS).join(name)
}
