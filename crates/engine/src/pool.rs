//! A pool as one immutable snapshot: its members (configuration plus the shared runtime
//! state), and the balancer built for them. Choosing a member reads only atomics.

use crate::balancer::{self, fnv1a, mix, Backend, Balancer};
use crate::member::MemberState;
use crate::persistence::Sticky;
use model::{LbAlgorithm, MemberConfig, PersistenceType, PoolConfig};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub struct Pool {
    pub config: PoolConfig,
    pub backends: Vec<Backend>,
    balancer: Box<dyn Balancer>,
    /// Session persistence, when the pool has it.
    pub sticky: Option<Arc<Sticky>>,
    /// HTTPS pools: TLS towards the members.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Pool {
    /// `previous`: the pool this one replaces, whose stick table it keeps.
    pub fn new(
        config: PoolConfig,
        states: impl Fn(&MemberConfig) -> Arc<MemberState>,
        previous: Option<&Pool>,
    ) -> Pool {
        let backends: Vec<Backend> = config
            .members
            .iter()
            .map(|m| Backend {
                config: m.clone(),
                state: states(m),
                addr: SocketAddr::new(m.address, m.protocol_port),
                id_hash: fnv1a(&m.id),
            })
            .collect();
        let balancer = balancer::for_algorithm(config.lb_algorithm, &backends);
        let sticky = Sticky::for_pool(&config, previous.and_then(|p| p.sticky.as_ref()));
        Pool {
            config,
            backends,
            balancer,
            sticky,
            tls: None,
        }
    }

    /// The key SOURCE_IP(_PORT) hashes; other algorithms ignore it.
    pub fn key(&self, client: SocketAddr) -> u64 {
        let ip = match client.ip() {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => {
                let n = u128::from(v6);
                (n as u64) ^ ((n >> 64) as u64)
            }
        };
        let key = if self.config.lb_algorithm == LbAlgorithm::SourceIpPort {
            ip ^ (u64::from(client.port()) << 48)
        } else {
            ip
        };
        mix(key)
    }

    fn serving(b: &Backend) -> bool {
        b.config.admin_state_up && b.config.weight > 0 && b.state.is_up()
    }

    /// A member for a new connection, not one of `tried`. Backups serve only while no
    /// primary can (and then all of them do, as `option allbackups`); weight 0 drains.
    pub fn select(&self, key: u64, tried: &[usize]) -> Option<usize> {
        let backups = !self
            .backends
            .iter()
            .any(|b| !b.config.backup && Self::serving(b));
        let usable = |i: usize| {
            let b = &self.backends[i];
            b.config.backup == backups && Self::serving(b) && !tried.contains(&i)
        };
        self.balancer.pick(&self.backends, &usable, key)
    }

    /// The member `stuck` names when it can take the request (not tried, serving, in the tier
    /// that serves), else the balancer's choice.
    pub fn choose(&self, key: u64, stuck: Option<&str>, tried: &[usize]) -> Option<usize> {
        if let Some(id) = stuck {
            if let Some(i) = self.backends.iter().position(|b| b.config.id == id) {
                let b = &self.backends[i];
                let backups = !self
                    .backends
                    .iter()
                    .any(|b| !b.config.backup && Self::serving(b));
                if !tried.contains(&i) && Self::serving(b) && b.config.backup == backups {
                    return Some(i);
                }
            }
        }
        self.select(key, tried)
    }

    /// The SOURCE_IP stick key of a client, when the pool sticks by source.
    pub fn source_key(&self, client: IpAddr) -> Option<String> {
        self.sticky
            .as_ref()
            .filter(|s| s.kind == PersistenceType::SourceIp)
            .map(|s| s.source_key(client))
    }

    /// The heartbeat's pool status: UP while some member can serve, or when it has no
    /// members at all (as an HAProxy backend without servers reports, reference §6).
    pub fn is_up(&self) -> bool {
        self.backends.is_empty() || self.backends.iter().any(Self::serving)
    }
}
