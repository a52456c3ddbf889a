//! Listeners: one running accept loop per (listener, VIP), reading its configuration from a
//! snapshot that applies swap. A listener whose bind is unchanged is never closed; a removed
//! one stops accepting at once and its connections get a drain timeout to finish.

mod buf;
mod h2;
mod http;
mod route;
mod tcp;
mod udp;

use crate::h1::Forwarded;
use crate::pool::Pool;
use crate::stats::ListenerStats;
use arc_swap::ArcSwap;
use ipnet::IpNet;
use model::{ListenerConfig, ListenerProtocol};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a connection needs, immutable; a new apply publishes a new one.
pub struct Snapshot {
    pub config: ListenerConfig,
    /// The default pool, when it exists and is enabled.
    pub pool: Option<Arc<Pool>>,
    /// L7 policies (HTTP listeners), compiled for this generation.
    pub l7: Option<Arc<crate::l7::Policies>>,
    /// TERMINATED_HTTPS: the TLS server configuration, built for this generation.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub cidrs: Vec<IpNet>,
    pub stats: Arc<ListenerStats>,
    /// `insert_headers`: X-Forwarded-For, -Port, -Proto.
    insert: [bool; 3],
}

impl Snapshot {
    pub fn new(
        mut config: ListenerConfig,
        pool: Option<Arc<Pool>>,
        l7: Option<Arc<crate::l7::Policies>>,
        stats: Arc<ListenerStats>,
    ) -> Snapshot {
        // Octavia renders `timeout or default`: 0 means the default, not "no time at all".
        let defaults = ListenerConfig::new("", ListenerProtocol::Tcp, 0, None);
        for (value, default) in [
            (
                &mut config.timeout_client_data,
                defaults.timeout_client_data,
            ),
            (
                &mut config.timeout_member_connect,
                defaults.timeout_member_connect,
            ),
            (
                &mut config.timeout_member_data,
                defaults.timeout_member_data,
            ),
        ] {
            if *value == 0 {
                *value = default;
            }
        }
        let cidrs = config
            .allowed_cidrs
            .iter()
            .filter_map(|c| c.parse::<IpNet>().ok())
            .collect();
        let wanted = |name: &str| {
            config
                .insert_headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(name) && v.eq_ignore_ascii_case("true"))
        };
        let insert = [
            wanted("X-Forwarded-For"),
            wanted("X-Forwarded-Port"),
            wanted("X-Forwarded-Proto"),
        ];
        Snapshot {
            config,
            pool,
            l7,
            tls: None,
            cidrs,
            stats,
            insert,
        }
    }

    /// The X-Forwarded-* (and, through TLS, X-SSL-*) values for one client connection.
    pub fn forwarded(
        &self,
        client: SocketAddr,
        local: SocketAddr,
        tls: Option<&crate::termination::TlsFacts>,
    ) -> Forwarded {
        let [for_, port, proto] = self.insert;
        let set = tls
            .map(|facts| facts.headers(|name| self.wants(name)))
            .unwrap_or_default();
        Forwarded {
            local,
            for_client: for_.then(|| client.ip()),
            port: port.then(|| local.port()),
            proto: proto.then_some(if self.tls.is_some() { "https" } else { "http" }),
            set,
        }
    }

    /// `insert_headers` names the header with "true".
    fn wants(&self, name: &str) -> bool {
        self.config
            .insert_headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(name) && v.eq_ignore_ascii_case("true"))
    }

    /// HSTS (`http-response set-header Strict-Transport-Security`), for TLS listeners.
    pub fn hsts(&self) -> Option<String> {
        let tls = self.config.tls.as_ref()?;
        let age = tls.hsts_max_age?;
        let mut value = format!("max-age={age};");
        if tls.hsts_include_subdomains {
            value.push_str(" includeSubDomains;");
        }
        if tls.hsts_preload {
            value.push_str(" preload;");
        }
        Some(value)
    }

    /// Every pool this listener sends to: its default pool, then those of its L7 policies.
    pub fn pool_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.pool.iter().map(|p| p.config.id.clone()).collect();
        for id in self.l7.iter().flat_map(|l7| l7.pool_ids()) {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
        ids
    }

    pub fn allows(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        self.cidrs.is_empty() || self.cidrs.iter().any(|c| c.contains(&client))
    }

    /// `connection_limit` reached (−1: unlimited).
    pub fn full(&self) -> bool {
        let limit = self.config.connection_limit;
        limit >= 0 && self.stats.active.load(std::sync::atomic::Ordering::Relaxed) >= limit as u64
    }
}

/// Octavia's timeouts are milliseconds (0 was replaced by the default in `Snapshot::new`).
pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// One listener's running binds.
pub struct Running {
    pub bind_key: (ListenerProtocol, u16, Vec<IpAddr>),
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    stop_accepting: CancellationToken,
    stop_all: CancellationToken,
    tracker: TaskTracker,
    accept_loops: Vec<AcceptLoop>,
}

/// The accept loop of one address: its own stop, so an address can leave (a floating IP
/// disassociated) while the others keep serving.
struct AcceptLoop {
    addr: IpAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub fn bind_key(config: &ListenerConfig, vips: &[IpAddr]) -> (ListenerProtocol, u16, Vec<IpAddr>) {
    (config.protocol, config.protocol_port, vips.to_vec())
}

impl Running {
    pub async fn start(vips: &[IpAddr], snapshot: Snapshot) -> std::io::Result<Running> {
        let bind_key = bind_key(&snapshot.config, vips);
        let mut running = Running {
            bind_key,
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            stop_accepting: CancellationToken::new(),
            stop_all: CancellationToken::new(),
            tracker: TaskTracker::new(),
            accept_loops: Vec::new(),
        };
        for vip in vips {
            running.accept_loops.push(running.accept_on(*vip)?);
        }
        Ok(running)
    }

    fn accept_on(&self, vip: IpAddr) -> std::io::Result<AcceptLoop> {
        let addr = SocketAddr::new(vip, self.bind_key.1);
        let stop = self.stop_accepting.child_token();
        let ctx = Context {
            snapshot: self.snapshot.clone(),
            stop_accepting: stop.clone(),
            stop_all: self.stop_all.clone(),
            tracker: self.tracker.clone(),
        };
        // `Engine::apply` refused every protocol not matched here before binding.
        let task = match self.bind_key.0 {
            ListenerProtocol::Udp => tokio::spawn(udp::serve(udp::bind(addr)?, ctx)),
            ListenerProtocol::Http => tokio::spawn(http::serve(tcp::bind(addr)?, ctx)),
            ListenerProtocol::TerminatedHttps => {
                tokio::spawn(http::serve_tls(tcp::bind(addr)?, ctx))
            }
            _ => tokio::spawn(tcp::serve(tcp::bind(addr)?, ctx)),
        };
        Ok(AcceptLoop {
            addr: vip,
            stop,
            task,
        })
    }

    /// Serves exactly `vips` on the same protocol and port: new addresses start accepting,
    /// removed ones stop accepting and their connections drain, the others are untouched.
    /// If a new address cannot be bound, nothing changes.
    pub async fn set_addresses(&mut self, vips: &[IpAddr]) -> std::io::Result<()> {
        let mut added = Vec::new();
        for vip in vips {
            if !self.accept_loops.iter().any(|l| l.addr == *vip) {
                match self.accept_on(*vip) {
                    Ok(l) => added.push(l),
                    Err(e) => {
                        for l in added {
                            l.stop.cancel();
                            let _ = l.task.await;
                        }
                        return Err(e);
                    }
                }
            }
        }
        let (kept, removed): (Vec<AcceptLoop>, Vec<AcceptLoop>) =
            std::mem::take(&mut self.accept_loops)
                .into_iter()
                .partition(|l| vips.contains(&l.addr));
        for l in removed {
            l.stop.cancel();
            let _ = l.task.await;
        }
        self.accept_loops = kept;
        self.accept_loops.extend(added);
        self.bind_key.2 = vips.to_vec();
        Ok(())
    }

    /// Closes the listening sockets (awaited, so the port can be bound again at once) and
    /// leaves open connections `drain` to finish before they are cut. The returned task
    /// ends when the last connection has.
    pub async fn stop(self, drain: Duration) -> JoinHandle<()> {
        self.stop_accepting.cancel();
        for l in self.accept_loops {
            let _ = l.task.await;
        }
        self.tracker.close();
        let (tracker, stop_all) = (self.tracker, self.stop_all);
        tokio::spawn(async move {
            if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
                stop_all.cancel();
                tracker.wait().await;
            }
        })
    }
}

#[derive(Clone)]
pub struct Context {
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    pub stop_accepting: CancellationToken,
    pub stop_all: CancellationToken,
    pub tracker: TaskTracker,
}

/// Lets a VIP bind before its address is local (IP_FREEBIND): a VIP outside 127.0.0.0/8 that
/// this host cannot own still goes ACTIVE and is reached through a floating IP, and one whose
/// address is being added to the host's interface serves as soon as it arrives.
pub(crate) fn free_bind(
    socket: &socket2::Socket,
    addr: std::net::SocketAddr,
) -> std::io::Result<()> {
    match addr {
        std::net::SocketAddr::V4(_) => socket.set_freebind_v4(true),
        std::net::SocketAddr::V6(_) => socket.set_freebind_v6(true),
    }
}
