//! Addresses outside 127.0.0.0/8 that amphorae serve (VIPs and floating IPs on the seeds'
//! 192.168.x, 10.x, 172.16.x subnets), made local to this network namespace so that its
//! clients reach them: each goes on the `ostia0` dummy interface while an amphora serves it
//! and leaves with its load balancer or floating IP; `close` deletes the interface.
//!
//! Loopback addresses need nothing: every 127.0.0.0/8 address is already local. Where the
//! kernel has no dummy interfaces, the addresses go on `lo` (labelled `lo:ostia`) instead.
//! Without CAP_NET_ADMIN nothing is added: listeners bind such VIPs with IP_FREEBIND, the load
//! balancer still goes ACTIVE, and it is reached through a floating IP that is reachable.
//!
//! Uses iproute2's `ip`, the tool Neutron's agents drive for the same job.

use std::collections::HashMap;
use std::net::IpAddr;
use tokio::process::Command;
use tokio::sync::Mutex;

pub const INTERFACE: &str = "ostia0";
const LOOPBACK_LABEL: &str = "lo:ostia";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// Not tried yet: the interface is made at the first address that needs it.
    Unopened,
    Dummy,
    /// No dummy interfaces in this kernel: addresses go on `lo`.
    Loopback,
    /// No CAP_NET_ADMIN (or no `ip`), or turned off: IP_FREEBIND alone.
    Unmanaged,
}

/// Who may change the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Management {
    /// Never: IP_FREEBIND alone.
    Off,
    /// The process that runs every amphora (`ostia up` with in-process amphorae): it makes
    /// the interface, clears what a crash left on it, and deletes it at `close`.
    #[default]
    Owner,
    /// One of several amphora processes: adds and removes its own addresses only.
    Shared,
}

pub struct HostAddresses {
    management: Management,
    state: Mutex<State>,
}

struct State {
    device: Device,
    /// How many amphorae serve each address (two amphorae of one load balancer share its VIP).
    held: HashMap<IpAddr, usize>,
}

/// Addresses that are local without help.
pub fn needs_help(ip: &IpAddr) -> bool {
    !ip.is_loopback() && !ip.is_unspecified()
}

async fn ip(args: &[&str]) -> Result<(), String> {
    match Command::new("ip").args(args).output().await {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(format!("cannot run ip: {e}")),
    }
}

fn prefix(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

impl HostAddresses {
    pub fn new(management: Management) -> HostAddresses {
        let device = match management {
            Management::Off => Device::Unmanaged,
            Management::Owner | Management::Shared => Device::Unopened,
        };
        HostAddresses {
            management,
            state: Mutex::new(State {
                device,
                held: HashMap::new(),
            }),
        }
    }

    pub async fn device(&self) -> Device {
        self.state.lock().await.device
    }

    /// Makes the interface (or finds it: amphora processes share one), or takes `lo` when
    /// dummies are missing; Unmanaged without the capability. The owner first clears what a
    /// crash may have left.
    async fn open(&self) -> Device {
        let owner = self.management == Management::Owner;
        let made = match ip(&["link", "add", INTERFACE, "type", "dummy"]).await {
            Err(e) if e.contains("File exists") => {
                if owner {
                    let _ = ip(&["addr", "flush", "dev", INTERFACE]).await;
                }
                Ok(())
            }
            other => other,
        };
        match made {
            Ok(()) => match ip(&["link", "set", INTERFACE, "up"]).await {
                Ok(()) => Device::Dummy,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot bring {INTERFACE} up; VIPs outside 127.0.0.0/8 bind with IP_FREEBIND only");
                    Device::Unmanaged
                }
            },
            Err(e) if e.contains("Unknown device type") || e.contains("not supported") => {
                if owner {
                    // Left over from a crash: ours carry the label.
                    let _ = ip(&["addr", "flush", "dev", "lo", "label", LOOPBACK_LABEL]).await;
                }
                tracing::info!("no dummy interfaces in this kernel: VIPs outside 127.0.0.0/8 go on lo ({LOOPBACK_LABEL})");
                Device::Loopback
            }
            Err(e) => {
                tracing::info!(error = %e, "cannot make {INTERFACE} (no CAP_NET_ADMIN?): VIPs outside 127.0.0.0/8 bind with IP_FREEBIND and are reached through floating IPs");
                Device::Unmanaged
            }
        }
    }

    /// Makes each address local (counted: an address shared by amphorae is added once).
    pub async fn acquire(&self, addrs: &[IpAddr]) {
        let mut state = self.state.lock().await;
        for addr in addrs.iter().filter(|a| needs_help(a)) {
            let count = state.held.entry(*addr).or_insert(0);
            *count += 1;
            if *count > 1 {
                continue;
            }
            if state.device == Device::Unopened {
                state.device = self.open().await;
            }
            let p = prefix(addr);
            let result = match state.device {
                Device::Dummy => ip(&["addr", "add", &p, "dev", INTERFACE]).await,
                Device::Loopback if addr.is_ipv4() => {
                    ip(&["addr", "add", &p, "dev", "lo", "label", LOOPBACK_LABEL]).await
                }
                Device::Loopback => ip(&["addr", "add", &p, "dev", "lo"]).await,
                Device::Unopened | Device::Unmanaged => Ok(()),
            };
            match result {
                Err(e) if !e.contains("File exists") => {
                    tracing::warn!(%addr, error = %e, "cannot make the address local; it binds with IP_FREEBIND")
                }
                _ => {}
            }
        }
    }

    /// Gives addresses back; the last amphora to leave one takes it off the interface.
    pub async fn release(&self, addrs: &[IpAddr]) {
        let mut state = self.state.lock().await;
        for addr in addrs.iter().filter(|a| needs_help(a)) {
            let Some(count) = state.held.get_mut(addr) else {
                continue;
            };
            *count -= 1;
            if *count > 0 {
                continue;
            }
            state.held.remove(addr);
            let p = prefix(addr);
            let result = match state.device {
                Device::Dummy => ip(&["addr", "del", &p, "dev", INTERFACE]).await,
                Device::Loopback => ip(&["addr", "del", &p, "dev", "lo"]).await,
                Device::Unopened | Device::Unmanaged => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!(%addr, error = %e, "cannot remove the address");
            }
        }
    }

    /// Leaves nothing behind: the owner deletes the interface with every address on it; a
    /// shared user takes its own addresses off.
    pub async fn close(&self) {
        let mut state = self.state.lock().await;
        let held: Vec<IpAddr> = state.held.drain().map(|(a, _)| a).collect();
        match state.device {
            Device::Dummy if self.management == Management::Owner => {
                if let Err(e) = ip(&["link", "del", INTERFACE]).await {
                    tracing::warn!(error = %e, "cannot delete {INTERFACE}");
                }
            }
            Device::Dummy => {
                for addr in held {
                    let _ = ip(&["addr", "del", &prefix(&addr), "dev", INTERFACE]).await;
                }
            }
            Device::Loopback => {
                for addr in held {
                    let _ = ip(&["addr", "del", &prefix(&addr), "dev", "lo"]).await;
                }
            }
            Device::Unopened | Device::Unmanaged => return,
        }
        state.device = Device::Unopened;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_need_no_help() {
        for a in ["127.10.0.5", "::1", "127.255.0.1"] {
            assert!(!needs_help(&a.parse().unwrap()), "{a}");
        }
        for a in ["192.168.100.168", "10.0.0.5", "172.17.0.9", "fd00::1"] {
            assert!(needs_help(&a.parse().unwrap()), "{a}");
        }
    }

    #[tokio::test]
    async fn unmanaged_never_touches_interfaces() {
        let h = HostAddresses::new(Management::Off);
        h.acquire(&["192.168.100.168".parse().unwrap()]).await;
        assert_eq!(h.device().await, Device::Unmanaged);
        h.release(&["192.168.100.168".parse().unwrap()]).await;
        h.close().await;
    }
}
