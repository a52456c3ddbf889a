//! The VRRP side of an amphora of an ACTIVE_STANDBY pair: its keepalived process, started,
//! reloaded (SIGHUP, the state it holds is kept) and stopped as the configuration's `vrrp`
//! section says, and the state it is in, which the heartbeat carries. The state is read
//! from the truth: MASTER while the VIP is an address of this namespace (keepalived's notify
//! scripts run concurrently, so a file they write can end on the older of two quick
//! transitions), FAULT when keepalived said so last, BACKUP otherwise. Only amphorae
//! with a directory of their own (`ostia amphora` processes, each in its namespace) run one;
//! in-process amphorae share one address space and refuse a pair.

use crate::keepalived::{self, VrrpState};
use model::VrrpConfig;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

pub struct Vrrp {
    /// Where keepalived's files go; None: this amphora cannot be in a pair.
    dir: Option<PathBuf>,
    running: Mutex<Option<Running>>,
}

struct Running {
    child: Child,
    /// What it runs: the group as given (peers' MACs included) and keepalived.conf.
    group: VrrpConfig,
    config: String,
    vips: Vec<IpAddr>,
}

impl Vrrp {
    pub fn new(dir: Option<PathBuf>) -> Vrrp {
        Vrrp {
            dir,
            running: Mutex::new(None),
        }
    }

    /// Whether this amphora can be one of a pair (it has a directory for keepalived).
    pub fn can_pair(&self) -> bool {
        self.dir.is_some()
    }

    fn state_file(dir: &Path) -> PathBuf {
        dir.join("vrrp-state")
    }

    /// What this amphora of a pair is now; None outside a pair or before keepalived said.
    pub fn state(&self) -> Option<VrrpState> {
        let dir = self.dir.as_ref()?;
        let running = self.running.try_lock().ok()?;
        let vips = &running.as_ref()?.vips;
        let said = keepalived::read_state(&Self::state_file(dir))?;
        if vips.iter().any(|vip| is_local(*vip)) {
            Some(VrrpState::Master)
        } else if said == VrrpState::Fault {
            Some(VrrpState::Fault)
        } else {
            Some(VrrpState::Backup)
        }
    }

    /// Makes keepalived run the instance `config` gives `amphora_id` (or stop, when there is
    /// none), serving `vips`.
    pub async fn apply(
        &self,
        amphora_id: &str,
        config: Option<&VrrpConfig>,
        vips: &[IpAddr],
    ) -> Result<(), String> {
        let Some(config) = config else {
            self.stop().await;
            return Ok(());
        };
        let Some(dir) = &self.dir else {
            return Err(
                "an in-process amphora cannot be one of an ACTIVE_STANDBY pair: \
                        VRRP needs an amphora in a namespace of its own (--amphora netns)"
                    .into(),
            );
        };
        let instance = instance(dir, amphora_id, config, vips)?;
        let rendered = instance.render();
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_mut() {
            if r.child.try_wait().ok().flatten().is_none() {
                // A peer rebuilt on the same address has another MAC: same conf, new entry.
                if r.group != *config {
                    know_peers(amphora_id, config).await;
                    r.group = config.clone();
                }
                if r.config != rendered {
                    write(&dir.join("keepalived.conf"), &rendered, 0o644)?;
                    signal(&r.child, libc::SIGHUP);
                    r.config = rendered;
                    r.vips = vips.to_vec();
                }
                return Ok(());
            }
        }
        know_peers(amphora_id, config).await;
        write(
            &instance.notify_script,
            &keepalived::notify_script(&instance.state_file),
            0o755,
        )?;
        let check = format!("#!/bin/sh\nkill -0 {}\n", std::process::id());
        write(&dir.join("check.sh"), &check, 0o755)?;
        write(&dir.join("keepalived.conf"), &rendered, 0o644)?;
        let _ = std::fs::remove_file(&instance.state_file);
        let child = spawn(dir)?;
        *running = Some(Running {
            child,
            group: config.clone(),
            config: rendered,
            vips: vips.to_vec(),
        });
        Ok(())
    }

    /// Stops keepalived: on SIGTERM it gives up the VIPs and tells its peers (priority 0), so
    /// the BACKUP takes over at once rather than after the master-down interval.
    pub async fn stop(&self) {
        let Some(mut r) = self.running.lock().await.take() else {
            return;
        };
        signal(&r.child, libc::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(2), r.child.wait())
            .await
            .is_err()
        {
            let _ = r.child.kill().await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(Self::state_file(dir));
        }
    }
}

/// keepalived's instance for `amphora_id`.
fn instance(
    dir: &Path,
    amphora_id: &str,
    config: &VrrpConfig,
    vips: &[IpAddr],
) -> Result<keepalived::Vrrp, String> {
    let me = config.member(amphora_id).ok_or_else(|| {
        format!(
            "amphora {amphora_id} is not a member of VRRP group {}",
            config.group
        )
    })?;
    if me.interface.is_empty() {
        return Err(format!("no VRRP interface for amphora {amphora_id}"));
    }
    Ok(keepalived::Vrrp {
        group: config.group.clone(),
        interface: me.interface.clone(),
        priority: me.priority,
        virtual_router_id: 1,
        advert_int: Duration::from_millis(config.advert_int_ms.max(10)),
        auth_pass: config.group.chars().take(8).collect(),
        own_ip: me.address,
        peers: config
            .members
            .iter()
            .filter(|m| m.amphora_id != amphora_id)
            .map(|m| m.address)
            .collect(),
        // Host routes: the amphora's own address carries the subnet's.
        vips: vips
            .iter()
            .map(|ip| (*ip, if ip.is_ipv4() { 32 } else { 128 }))
            .collect(),
        check_script: Some(dir.join("check.sh")),
        state_file: Vrrp::state_file(dir),
        notify_script: dir.join("notify.sh"),
    })
}

/// Whether `ip` is an address of an interface of this namespace, from the kernel's list (a
/// bind test would pass for any address under `ip_nonlocal_bind`, which the namespace of a
/// pair's haproxy has).
fn is_local(ip: IpAddr) -> bool {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // Safety: getifaddrs fills `list`, which is freed below and not used after.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return false;
    }
    let mut found = false;
    let mut entry = list;
    while !entry.is_null() && !found {
        // Safety: a node of the list getifaddrs made; its address, when present, is a
        // sockaddr of the family it names.
        let ifa = unsafe { &*entry };
        if !ifa.ifa_addr.is_null() {
            let address = match i32::from(unsafe { (*ifa.ifa_addr).sa_family }) {
                libc::AF_INET => {
                    let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                    Some(IpAddr::from(sin.sin_addr.s_addr.to_ne_bytes()))
                }
                libc::AF_INET6 => {
                    let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                    Some(IpAddr::from(sin6.sin6_addr.s6_addr))
                }
                _ => None,
            };
            found = address == Some(ip);
        }
        entry = ifa.ifa_next;
    }
    // Safety: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// Permanent neighbour entries for the peers' VRRP addresses, with their ports' MACs.
async fn know_peers(amphora_id: &str, config: &VrrpConfig) {
    let Some(me) = config.member(amphora_id) else {
        return;
    };
    for peer in config.members.iter().filter(|m| m.amphora_id != amphora_id) {
        if peer.mac.is_empty() {
            continue;
        }
        let address = peer.address.to_string();
        let args = [
            "neigh",
            "replace",
            &address,
            "lladdr",
            &peer.mac,
            "dev",
            &me.interface,
            "nud",
            "permanent",
        ];
        match Command::new("ip").args(args).output().await {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                tracing::warn!(peer = %address, error = %String::from_utf8_lossy(&out.stderr).trim(),
                "peer's neighbour entry not set")
            }
            Err(e) => tracing::warn!(peer = %address, error = %e, "peer's neighbour entry not set"),
        }
    }
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn signal(child: &Child, signal: libc::c_int) {
    if let Some(pid) = child.id() {
        // Safety: kill(2) on our own child, which has not been reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }
}

/// keepalived in the foreground, VRRP only. A killed one leaves its pid files behind, and
/// keepalived refuses to start over a live one: they go first.
fn spawn(dir: &Path) -> Result<Child, String> {
    let (pid, vrrp_pid) = (dir.join("keepalived.pid"), dir.join("vrrp.pid"));
    let _ = std::fs::remove_file(&pid);
    let _ = std::fs::remove_file(&vrrp_pid);
    let log = std::fs::File::create(dir.join("keepalived.log"))
        .map_err(|e| format!("keepalived.log: {e}"))?;
    Command::new("keepalived")
        .args(["--dont-fork", "--log-console", "--vrrp", "--use-file"])
        .arg(dir.join("keepalived.conf"))
        .arg("--pid")
        .arg(&pid)
        .arg("--vrrp_pid")
        .arg(&vrrp_pid)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "keepalived is not installed (Debian package keepalived)".to_string()
            }
            _ => format!("keepalived: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn local_means_an_interface_holds_the_address() {
        assert!(is_local("127.0.0.1".parse().unwrap()));
        // Bindable under ip_nonlocal_bind, yet no interface's.
        assert!(!is_local("192.0.2.77".parse().unwrap()));
    }
}
