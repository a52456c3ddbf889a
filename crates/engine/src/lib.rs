//! The native data plane: listeners (TCP, HTTP, UDP), pools and their balancing algorithms,
//! health monitors and per-listener/per-member counters, configured at runtime from one
//! `AmphoraConfig` document and never restarted.
//!
//! Owns sockets and traffic. Must not know the database or the API: it is told the whole
//! desired state and reports what is true (`Engine::status`).

mod balancer;
pub mod capability;
mod h1;
mod health;
mod l7;
mod listener;
mod member;
mod persistence;
mod ping;
mod pool;
mod proxy_protocol;
mod relay;
mod stats;
mod termination;
pub mod testing;
mod tls;
mod upstream;

pub use balancer::fnv1a;
pub use persistence::StickEntry;
pub use stats::Counters;

use health::Checker;
use member::MemberState;
use model::{AmphoraConfig, ListenerConfig, ListenerHealth, MemberHealth, PoolConfig, PoolHealth};
use pool::Pool;
use serde::Serialize;
use stats::ListenerStats;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Stick-table entries the journal holds for a slow reader.
const JOURNAL: usize = 4096;

pub struct Engine {
    state: tokio::sync::Mutex<State>,
    drain_timeout: Duration,
    /// New and moved stick-table entries, for the other amphora of a pair.
    journal: tokio::sync::broadcast::Sender<StickEntry>,
}

#[derive(Default)]
struct State {
    config: Option<AmphoraConfig>,
    members: HashMap<String, Arc<MemberState>>,
    pools: HashMap<String, Arc<Pool>>,
    listeners: HashMap<String, listener::Running>,
    listener_stats: HashMap<String, Arc<ListenerStats>>,
    checkers: HashMap<String, Checker>,
    /// Listeners of the current config that could not bind; every apply tries them again.
    failed: Vec<ListenerFailure>,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// The configuration asks for something this engine does not serve; nothing changed.
    #[error("{0}")]
    Refused(String),
}

/// What an apply achieved: the generation now served, and the listeners that could not
/// start (their port taken by another program, say) while every other listener serves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Applied {
    pub generation: u64,
    #[serde(default)]
    pub failed_listeners: Vec<ListenerFailure>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ListenerFailure {
    pub id: String,
    pub reason: String,
}

/// What is true of the data plane: the heartbeat is a rendering of this.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Status {
    pub generation: u64,
    /// Listeners that serve (a listener that could not bind is absent).
    pub listeners: Vec<ListenerStatus>,
    pub pools: Vec<PoolStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ListenerStatus {
    pub id: String,
    pub status: ListenerHealth,
    pub counters: Counters,
    /// Pools this listener sends traffic to (its default pool).
    pub pools: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct PoolStatus {
    pub id: String,
    /// UP while some member can serve, else DOWN.
    pub status: PoolHealth,
    pub members: Vec<MemberStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct MemberStatus {
    pub id: String,
    pub status: MemberHealth,
    pub active_connections: u64,
    pub total_connections: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub connect_errors: u64,
    pub checks: u64,
    pub check_failures: u64,
}

/// Connections still finishing after a shutdown.
pub struct Drain(Vec<tokio::task::JoinHandle<()>>);

impl Drain {
    pub async fn wait(self) {
        for task in self.0 {
            let _ = task.await;
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Duration::from_secs(30))
    }
}

impl Engine {
    /// `drain_timeout` bounds how long connections of a removed listener may finish.
    pub fn new(drain_timeout: Duration) -> Engine {
        Engine {
            state: Default::default(),
            drain_timeout,
            journal: tokio::sync::broadcast::channel(JOURNAL).0,
        }
    }

    /// New and moved stick-table entries from now on (a receiver that lags loses the oldest).
    pub fn stick_journal(&self) -> tokio::sync::broadcast::Receiver<StickEntry> {
        self.journal.subscribe()
    }

    /// Every stick-table entry of every pool.
    pub async fn stick_entries(&self) -> Vec<StickEntry> {
        let st = self.state.lock().await;
        st.pools
            .values()
            .filter_map(|p| p.sticky.as_ref())
            .flat_map(|s| s.entries())
            .collect()
    }

    /// Entries the other amphora of the pair stored: kept in the pools that still have them
    /// (and the same persistence), without being journaled again.
    pub async fn learn(&self, entries: &[StickEntry]) {
        let st = self.state.lock().await;
        for e in entries {
            let sticky = st.pools.get(&e.pool_id).and_then(|p| p.sticky.as_ref());
            if let Some(sticky) = sticky {
                if sticky.kind != model::PersistenceType::HttpCookie {
                    sticky.learn(&e.key, &e.member_id);
                }
            }
        }
    }

    /// Makes the data plane what `config` describes, or refuses it untouched when it asks
    /// for something this engine does not serve. Idempotent; listeners whose bind is
    /// unchanged keep their sockets and connections; member health and counters survive. A
    /// listener that cannot bind is reported in `Applied` while the others serve.
    pub async fn apply(&self, config: AmphoraConfig) -> Result<Applied, ApplyError> {
        capability::check(&config).map_err(ApplyError::Refused)?;
        let mut st = self.state.lock().await;
        if st.config.as_ref() == Some(&config) && st.failed.is_empty() {
            return Ok(Applied {
                generation: config.generation,
                failed_listeners: Vec::new(),
            });
        }
        let enabled_pools: Vec<&PoolConfig> =
            config.pools.iter().filter(|p| p.admin_state_up).collect();
        // Built before anything changes, so a pool whose TLS cannot be set up refuses it all.
        let mut member_tls = HashMap::new();
        for p in &enabled_pools {
            if let Some(t) = &p.tls {
                let client = tls::member_config(t)
                    .map_err(|e| ApplyError::Refused(format!("pool {}: {e}", p.id)))?;
                member_tls.insert(p.id.clone(), client);
            }
        }
        st.sync_members(&enabled_pools, &member_tls);
        st.pools = enabled_pools
            .iter()
            .map(|p| {
                let previous = st.pools.get(&p.id).map(|p| &**p);
                let mut pool = Pool::new((*p).clone(), |m| st.members[&m.id].clone(), previous);
                pool.tls = member_tls.get(&p.id).cloned();
                if let Some(sticky) = &pool.sticky {
                    sticky.journal_to(&self.journal);
                }
                (p.id.clone(), Arc::new(pool))
            })
            .collect();
        let wanted: Vec<&ListenerConfig> = config
            .listeners
            .iter()
            .filter(|l| l.admin_state_up)
            .collect();
        // Listeners that go away or change their protocol or port release their ports first;
        // a listener whose addresses change keeps its other binds (below).
        let gone: Vec<String> = st
            .listeners
            .iter()
            .filter(|(id, running)| {
                !wanted.iter().any(|l| {
                    &l.id == *id
                        && (l.protocol, l.protocol_port) == (running.bind_key.0, running.bind_key.1)
                })
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some(running) = st.listeners.remove(&id) {
                running.stop(self.drain_timeout).await;
            }
        }
        let mut failed = Vec::new();
        for l in wanted {
            let stats = st.listener_stats.entry(l.id.clone()).or_default().clone();
            let pool = l
                .default_pool_id
                .as_ref()
                .and_then(|p| st.pools.get(p))
                .cloned();
            let policies = match l7::Policies::compile(&l.l7policies, &st.pools) {
                Ok(p) => p.map(Arc::new),
                Err(reason) => {
                    failed.push(ListenerFailure {
                        id: l.id.clone(),
                        reason,
                    });
                    continue;
                }
            };
            let tls = match l.tls.as_ref().map(termination::server_config).transpose() {
                Ok(tls) => tls,
                Err(reason) => {
                    failed.push(ListenerFailure {
                        id: l.id.clone(),
                        reason: format!("TLS: {reason}"),
                    });
                    continue;
                }
            };
            let mut snapshot = listener::Snapshot::new(l.clone(), pool, policies, stats);
            snapshot.tls = tls;
            match st.listeners.get_mut(&l.id) {
                Some(running) => {
                    if running.bind_key.2 != config.vips {
                        if let Err(error) = running.set_addresses(&config.vips).await {
                            failed.push(ListenerFailure {
                                id: l.id.clone(),
                                reason: format!(
                                    "cannot listen on port {}: {error}",
                                    l.protocol_port
                                ),
                            });
                        }
                    }
                    running.snapshot.store(Arc::new(snapshot));
                }
                None => match listener::Running::start(&config.vips, snapshot).await {
                    Ok(running) => {
                        st.listeners.insert(l.id.clone(), running);
                    }
                    Err(error) => failed.push(ListenerFailure {
                        id: l.id.clone(),
                        reason: format!("cannot listen on port {}: {error}", l.protocol_port),
                    }),
                },
            }
        }
        let listener_ids: Vec<&String> = config.listeners.iter().map(|l| &l.id).collect();
        st.listener_stats.retain(|id, _| listener_ids.contains(&id));
        st.failed = failed.clone();
        let generation = config.generation;
        st.config = Some(config);
        Ok(Applied {
            generation,
            failed_listeners: failed,
        })
    }

    /// Health and counters of everything configured.
    pub async fn status(&self) -> Status {
        let st = self.state.lock().await;
        let Some(config) = &st.config else {
            return Status::default();
        };
        let listeners = config
            .listeners
            .iter()
            .filter_map(|l| {
                let running = st.listeners.get(&l.id)?;
                let snapshot = running.snapshot.load();
                Some(ListenerStatus {
                    id: l.id.clone(),
                    status: if snapshot.full() {
                        ListenerHealth::Full
                    } else {
                        ListenerHealth::Open
                    },
                    counters: snapshot.stats.read(),
                    pools: snapshot.pool_ids(),
                })
            })
            .collect();
        let pools = config
            .pools
            .iter()
            .filter_map(|p| st.pools.get(&p.id))
            .map(|pool| PoolStatus {
                id: pool.config.id.clone(),
                status: if pool.is_up() {
                    PoolHealth::Up
                } else {
                    PoolHealth::Down
                },
                members: pool
                    .backends
                    .iter()
                    .map(|b| {
                        use std::sync::atomic::Ordering::Relaxed;
                        let s = &b.state;
                        MemberStatus {
                            id: b.config.id.clone(),
                            status: s.status(&b.config),
                            active_connections: s.active.load(Relaxed),
                            total_connections: s.total.load(Relaxed),
                            bytes_in: s.bytes_in.load(Relaxed),
                            bytes_out: s.bytes_out.load(Relaxed),
                            connect_errors: s.connect_errors.load(Relaxed),
                            checks: s.checks.load(Relaxed),
                            check_failures: s.check_failures.load(Relaxed),
                        }
                    })
                    .collect(),
            })
            .collect();
        Status {
            generation: config.generation,
            listeners,
            pools,
        }
    }

    /// Stops every listener (connections get the drain timeout) and every health check.
    /// Listening sockets are closed when this returns; await the returned `Drain` to wait
    /// for open connections too (at most the drain timeout).
    pub async fn shutdown(&self) -> Drain {
        let mut st = self.state.lock().await;
        let mut draining = Vec::new();
        for (_, running) in st.listeners.drain() {
            draining.push(running.stop(self.drain_timeout).await);
        }
        st.checkers.clear();
        st.failed.clear();
        st.config = None;
        Drain(draining)
    }
}

impl State {
    /// Keeps each member's runtime state across applies (a new address starts afresh) and
    /// runs one checker per monitored member.
    fn sync_members(
        &mut self,
        pools: &[&PoolConfig],
        member_tls: &HashMap<String, Arc<rustls::ClientConfig>>,
    ) {
        let mut seen = HashMap::new();
        for pool in pools {
            let monitor = pool.healthmonitor.as_ref().filter(|m| m.admin_state_up);
            // An HTTPS pool's checks go over its TLS, as HAProxy's checks inherit `ssl`.
            let tls = member_tls
                .get(&pool.id)
                .map(|c| (pool.tls.clone(), c.clone()));
            for m in &pool.members {
                let target = SocketAddr::new(
                    m.monitor_address.unwrap_or(m.address),
                    m.monitor_port.unwrap_or(m.protocol_port),
                );
                let address = SocketAddr::new(m.address, m.protocol_port);
                let previous = self.config.as_ref().and_then(|c| {
                    c.pools
                        .iter()
                        .flat_map(|p| &p.members)
                        .find(|old| old.id == m.id)
                        .map(|old| SocketAddr::new(old.address, old.protocol_port))
                });
                let state = match self.members.get(&m.id) {
                    Some(s) if previous == Some(address) => s.clone(),
                    _ => MemberState::new(),
                };
                state.set_monitor(monitor.map(|h| (h.max_retries, h.max_retries_down)));
                match monitor {
                    Some(h) => {
                        let keep = self.checkers.get(&m.id).is_some_and(|c| {
                            c.monitor == *h
                                && c.target == target
                                && c.tls == tls.as_ref().and_then(|(t, _)| t.clone())
                                && self
                                    .members
                                    .get(&m.id)
                                    .is_some_and(|s| Arc::ptr_eq(s, &state))
                        });
                        if !keep {
                            self.checkers.insert(
                                m.id.clone(),
                                Checker::spawn(h.clone(), target, state.clone(), tls.clone()),
                            );
                        }
                    }
                    None => {
                        self.checkers.remove(&m.id);
                    }
                }
                seen.insert(m.id.clone(), state);
            }
        }
        self.checkers.retain(|id, _| seen.contains_key(id));
        self.members = seen;
    }
}
