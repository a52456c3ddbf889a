//! The health manager: receives the amphorae's heartbeats (UDP, signed), keeps when each
//! last reported, derives operating statuses (the only writer of them) and statistics, and
//! fails over amphorae that went silent for `heartbeat_timeout`. Hosts' agents report on
//! the same port with the same signature: a host's first report registers it.
//!
//! One task receives and verifies datagrams; another works through them in batches against
//! the cached snapshot of the trees and writes only what changed, in one transaction per
//! batch; a third looks for silent amphorae every `check_interval`.

mod rollup;

pub use rollup::{expects_listeners, rollup};

use crate::failover;
use amphora::heartbeat::{Codec, DecodeError, Inflater, Message, MAX_DATAGRAM};
use model::{AmphoraRole, AmphoraStatus, HostReport, OperatingStatus, VrrpState};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{ListenerStats, StatsDelta, Store};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch, Notify};

#[derive(Clone, Debug)]
pub struct HealthConfig {
    /// Where heartbeats arrive (Octavia: `[health_manager] bind_ip:bind_port`).
    pub bind: SocketAddr,
    /// `heartbeat_key`.
    pub key: String,
    /// An amphora silent this long is failed over.
    pub heartbeat_timeout: Duration,
    /// How often silent amphorae are looked for.
    pub check_interval: Duration,
    /// At this many silent amphorae at once nothing is failed over: they are marked
    /// FAILOVER_STOPPED (a network partition, not dead amphorae). None: no limit.
    pub failover_threshold: Option<usize>,
}

/// What the receiver has seen, datagram by datagram.
#[derive(Default)]
pub struct Counters {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub bad_signature: AtomicU64,
    pub truncated: AtomicU64,
    pub oversized: AtomicU64,
    pub malformed: AtomicU64,
    pub unknown_amphora: AtomicU64,
    /// Accepted reports of `ostia agent`s on their hosts.
    pub host_reports: AtomicU64,
    /// Dropped because processing fell behind.
    pub overloaded: AtomicU64,
    pub failovers: AtomicU64,
    /// Microseconds spent processing batches (the manager's own CPU, roughly).
    pub busy_us: AtomicU64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    pub received: u64,
    pub accepted: u64,
    pub bad_signature: u64,
    pub truncated: u64,
    pub oversized: u64,
    pub malformed: u64,
    pub unknown_amphora: u64,
    pub host_reports: u64,
    pub overloaded: u64,
    pub failovers: u64,
    pub busy_us: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            received: self.received.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            bad_signature: self.bad_signature.load(Relaxed),
            truncated: self.truncated.load(Relaxed),
            oversized: self.oversized.load(Relaxed),
            malformed: self.malformed.load(Relaxed),
            unknown_amphora: self.unknown_amphora.load(Relaxed),
            host_reports: self.host_reports.load(Relaxed),
            overloaded: self.overloaded.load(Relaxed),
            failovers: self.failovers.load(Relaxed),
            busy_us: self.busy_us.load(Relaxed),
        }
    }

    /// Datagrams dropped for any reason.
    pub fn dropped(&self) -> u64 {
        let s = self.snapshot();
        s.bad_signature + s.truncated + s.oversized + s.malformed + s.unknown_amphora + s.overloaded
    }
}

pub struct HealthManager {
    socket: UdpSocket,
    store: Store,
    config: HealthConfig,
    counters: Arc<Counters>,
    jobs: Arc<Notify>,
}

/// When each amphora last reported in full, as this manager heard it: the silent check
/// trusts it over the database, whose copy may lag while writes queue behind other
/// processes' (a slow flush must not fail over amphorae that are talking).
type Recent = Arc<std::sync::Mutex<HashMap<String, i64>>>;

/// Heartbeats waiting for the processor; beyond this the receiver drops (and counts).
const QUEUE: usize = 65_536;
const BATCH: usize = 4096;

impl HealthManager {
    pub async fn bind(
        store: Store,
        config: HealthConfig,
        jobs: Arc<Notify>,
    ) -> std::io::Result<HealthManager> {
        let socket = UdpSocket::bind(config.bind).await?;
        // Bursts of many amphorae at once must not overflow the kernel's buffer.
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(8 << 20);
        Ok(HealthManager {
            socket,
            store,
            config,
            counters: Arc::default(),
            jobs,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("a bound socket")
    }

    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let receiver = tokio::spawn(receive(
            self.socket,
            Codec::new(self.config.key.as_bytes()),
            self.counters.clone(),
            tx,
        ));
        let flush = self.config.check_interval;
        let recent = Recent::default();
        let (writes, to_write) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write(self.store.clone(), to_write, self.counters.clone()));
        let processor = tokio::spawn(
            Processor::new(self.store.clone(), self.counters.clone(), recent.clone())
                .run(rx, writes, flush),
        );
        let checker = tokio::spawn(check_silent(
            self.store,
            self.config,
            self.counters,
            self.jobs,
            recent,
        ));
        let _ = stop.wait_for(|s| *s).await;
        receiver.abort();
        processor.abort();
        writer.abort();
        checker.abort();
    }
}

async fn receive(
    socket: UdpSocket,
    codec: Codec,
    counters: Arc<Counters>,
    queue: mpsc::Sender<Message>,
) {
    // One byte more than the largest datagram we accept, to see what is larger.
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let mut inflater = Inflater::default();
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        counters.received.fetch_add(1, Relaxed);
        match codec.decode_with(&buf[..n], &mut inflater) {
            Ok(message) => {
                if queue.try_send(message).is_err() {
                    counters.overloaded.fetch_add(1, Relaxed);
                }
            }
            Err(e) => {
                let counter = match e {
                    DecodeError::Truncated => &counters.truncated,
                    DecodeError::Oversized => &counters.oversized,
                    DecodeError::BadSignature => &counters.bad_signature,
                    DecodeError::BadCompression | DecodeError::BadMessage(_) => &counters.malformed,
                };
                counter.fetch_add(1, Relaxed);
                tracing::debug!(%from, error = %e, "heartbeat dropped");
            }
        }
    }
}

struct Processor {
    store: Store,
    counters: Arc<Counters>,
    /// Amphora → its load balancer, for amphorae in service.
    amphorae: HashMap<String, String>,
    refreshed: Option<Instant>,
    /// Gathered since the last flush: amphorae that reported in full, and stat deltas.
    seen: HashMap<String, i64>,
    recent: Recent,
    stats: HashMap<(String, String), ListenerStats>,
    /// The trees heartbeats are read against, re-read at most every `SNAPSHOT_AGE` (or
    /// after this manager changed a status).
    snapshot: Option<(Arc<store::Snapshot>, Instant)>,
    /// Changes handed to the writer that the snapshot does not show yet.
    sent: HashMap<String, OperatingStatus>,
    /// Hosts' latest reports since the last flush, by name.
    hosts: HashMap<String, HostReport>,
    /// The role each amphora of a pair was last said to have (what keepalived reports), and
    /// the changes not handed to the writer yet. Forgotten when the snapshot moves: a job
    /// that settled may have written a role that is no longer true.
    roles: HashMap<String, AmphoraRole>,
    new_roles: Vec<(String, AmphoraRole)>,
}

/// Reading the snapshot costs a database round trip: heartbeats arriving together share
/// one for this long.
const SNAPSHOT_AGE: Duration = Duration::from_millis(100);

impl Processor {
    fn new(store: Store, counters: Arc<Counters>, recent: Recent) -> Processor {
        Processor {
            store,
            counters,
            amphorae: HashMap::new(),
            refreshed: None,
            seen: HashMap::new(),
            recent,
            stats: HashMap::new(),
            snapshot: None,
            sent: HashMap::new(),
            hosts: HashMap::new(),
            roles: HashMap::new(),
            new_roles: Vec::new(),
        }
    }

    async fn snapshot(&mut self) -> store::Result<Arc<store::Snapshot>> {
        match &self.snapshot {
            Some((s, at)) if at.elapsed() < SNAPSHOT_AGE => Ok(s.clone()),
            _ => {
                let s = self.store.snapshot().await?;
                let moved = self
                    .snapshot
                    .as_ref()
                    .is_none_or(|(old, _)| old.generation() != s.generation());
                if moved {
                    self.sent.clear();
                    self.roles.clear();
                }
                self.snapshot = Some((s.clone(), Instant::now()));
                Ok(s)
            }
        }
    }

    /// Reads heartbeats as they come; what they change goes to the writer, so that a
    /// database busy with other processes never holds up hearing amphorae. When amphorae
    /// reported and what they counted goes every `flush`, so that the database sees a few
    /// writes a second however many amphorae there are.
    async fn run(
        mut self,
        mut queue: mpsc::Receiver<Message>,
        writes: mpsc::UnboundedSender<Write>,
        flush: Duration,
    ) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut ticker = tokio::time::interval(flush);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                n = queue.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        return;
                    }
                    let started = Instant::now();
                    match self.process(&batch).await {
                        Ok(changes) if !changes.is_empty() => {
                            let _ = writes.send(Write::Statuses(changes));
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "heartbeats not processed"),
                    }
                    if !self.new_roles.is_empty() {
                        let _ = writes.send(Write::Roles(std::mem::take(&mut self.new_roles)));
                    }
                    batch.clear();
                    self.busy(started);
                }
                _ = ticker.tick() => {
                    let _ = writes.send(self.reports());
                }
            }
        }
    }

    fn busy(&self, started: Instant) {
        self.counters
            .busy_us
            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
    }

    /// Amphorae appear with every new load balancer: an unknown id reloads the map, at
    /// most once a second.
    async fn lb_of(&mut self, amphora_id: &str) -> Option<String> {
        if let Some(lb) = self.amphorae.get(amphora_id) {
            return Some(lb.clone());
        }
        if self
            .refreshed
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            self.refreshed = Some(Instant::now());
            if let Ok(all) = self.store.amphorae(None).await {
                self.amphorae = crate::amphorae::in_service(all)
                    .into_iter()
                    .map(|a| (a.id, a.lb_id))
                    .collect();
            }
        }
        self.amphorae.get(amphora_id).cloned()
    }

    /// Statuses that change, by object id (with its load balancer).
    async fn process(&mut self, batch: &[Message]) -> store::Result<Changes> {
        let snapshot = self.snapshot().await?;
        let now = store::jobs::now_millis();
        let mut changes = Changes::new();
        for message in batch {
            if let Some(host) = &message.host {
                self.counters.host_reports.fetch_add(1, Relaxed);
                self.hosts.insert(host.name.clone(), host.clone());
                continue;
            }
            let tree = match self.lb_of(&message.id).await {
                Some(lb) => snapshot.tree(&lb).cloned(),
                None => None,
            };
            let Some(tree) = tree else {
                self.counters.unknown_amphora.fetch_add(1, Relaxed);
                tracing::debug!(amphora = %message.id, "heartbeat from an amphora not in service");
                continue;
            };
            self.counters.accepted.fetch_add(1, Relaxed);
            if expects_listeners(&tree).is_none_or(|n| n == message.listeners.len()) {
                self.seen.insert(message.id.clone(), now);
                if let Ok(mut recent) = self.recent.lock() {
                    recent.insert(message.id.clone(), now);
                }
            }
            for (listener_id, report) in &message.listeners {
                let s = report.stats;
                let row = self
                    .stats
                    .entry((listener_id.clone(), message.id.clone()))
                    .or_default();
                row.bytes_in += s.rx as i64;
                row.bytes_out += s.tx as i64;
                row.active_connections = s.conns as i64;
                row.total_connections += s.totconns as i64;
                row.request_errors += s.ereq as i64;
            }
            self.note_role(message);
            let lb_id = tree.lb().id.clone();
            for (id, status) in rollup(&tree, message) {
                if self.sent.get(&id) != Some(&status) {
                    self.sent.insert(id.clone(), status);
                    changes.insert(id, (lb_id.clone(), status));
                }
            }
        }
        Ok(changes)
    }

    /// An amphora of a pair says what it is: the record follows (FAULT changes nothing: it
    /// holds no VIP, and its peer says MASTER if it took over).
    fn note_role(&mut self, message: &Message) {
        let role = match message.vrrp {
            Some(VrrpState::Master) => AmphoraRole::Master,
            Some(VrrpState::Backup) => AmphoraRole::Backup,
            Some(VrrpState::Fault) | None => return,
        };
        if self.roles.get(&message.id) != Some(&role) {
            self.roles.insert(message.id.clone(), role);
            self.new_roles.push((message.id.clone(), role));
        }
    }

    /// What was gathered since the last flush, handed over.
    fn reports(&mut self) -> Write {
        let seen: Vec<(String, i64)> = self.seen.drain().collect();
        let stats: Vec<StatsDelta> = self
            .stats
            .drain()
            .map(|((listener_id, amphora_id), stats)| StatsDelta {
                listener_id,
                amphora_id,
                stats,
            })
            .collect();
        let hosts = self.hosts.drain().map(|(_, report)| report).collect();
        Write::Reports(seen, stats, hosts)
    }
}

type Changes = HashMap<String, (String, OperatingStatus)>;

/// What the writer writes.
enum Write {
    Statuses(Changes),
    /// Roles of amphorae of pairs, as they report them.
    Roles(Vec<(String, AmphoraRole)>),
    Reports(Vec<(String, i64)>, Vec<StatsDelta>, Vec<HostReport>),
}

/// Writes what the processor hands over. Whatever arrives while a write waits for the
/// database is merged and written next, in one transaction of each kind.
async fn write(store: Store, mut writes: mpsc::UnboundedReceiver<Write>, counters: Arc<Counters>) {
    let mut pending = Vec::new();
    while writes.recv_many(&mut pending, usize::MAX).await > 0 {
        let started = Instant::now();
        let mut statuses = Changes::new();
        let (mut seen, mut stats, mut hosts) = (Vec::new(), Vec::new(), Vec::new());
        let mut roles = Vec::new();
        for w in pending.drain(..) {
            match w {
                Write::Statuses(changes) => statuses.extend(changes),
                Write::Roles(r) => roles.extend(r),
                Write::Reports(s, d, h) => {
                    seen.extend(s);
                    stats.extend(d);
                    hosts.extend(h);
                }
            }
        }
        if !statuses.is_empty() {
            let written = async {
                let mut tx = store.begin().await?;
                for (id, (lb_id, status)) in &statuses {
                    tx.set_operating_status(lb_id, id, *status).await?;
                }
                tx.commit().await
            };
            if let Err(e) = written.await {
                tracing::warn!(error = %e, "operating statuses not written");
            }
        }
        if !roles.is_empty() {
            if let Err(e) = write_roles(&store, &roles).await {
                tracing::warn!(error = %e, "amphora roles not written");
            }
        }
        if let Err(e) = store.record_reports(&seen, &stats).await {
            tracing::warn!(error = %e, "amphora health and stats not written");
        }
        if let Err(e) = store.report_hosts(&hosts, store::jobs::now_millis()).await {
            tracing::warn!(error = %e, "host reports not written");
        }
        counters
            .busy_us
            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
    }
}

impl Processor {}

/// The recorded role (and Octavia's priority for it) of each amphora becomes what it said. A
/// pair has one MASTER: the other one recorded so (dead, or not yet failed over) is not.
async fn write_roles(store: &Store, roles: &[(String, AmphoraRole)]) -> store::Result<()> {
    let mut tx = store.begin().await?;
    for (id, role) in roles {
        let Some(amp) = tx.amphora(id).await? else {
            continue;
        };
        if amp.details.role == Some(*role) || amp.status.is_gone() {
            continue;
        }
        let mut changed = vec![(amp, *role)];
        if *role == AmphoraRole::Master {
            let lb_id = changed[0].0.lb_id.clone();
            for other in crate::amphorae::in_service(tx.amphorae(&lb_id).await?) {
                if other.id != *id && other.details.role == Some(AmphoraRole::Master) {
                    changed.push((other, AmphoraRole::Backup));
                }
            }
        }
        for (mut amp, role) in changed {
            tracing::info!(amphora = %amp.id, lb = %amp.lb_id, from = ?amp.details.role, to = %role,
                "amphora role follows its VRRP state");
            crate::pair::set_role(&mut amp, role);
            tx.put_amphora(&amp).await?;
        }
    }
    tx.commit().await
}

/// Every `check_interval`: amphorae silent for `heartbeat_timeout` are failed over, unless
/// so many are silent at once that the failure is more likely ours (the threshold).
async fn check_silent(
    store: Store,
    config: HealthConfig,
    counters: Arc<Counters>,
    jobs: Arc<Notify>,
    recent: Recent,
) {
    // Amphorae restored at start get a full timeout before anything is failed over.
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + config.check_interval,
        config.check_interval,
    );
    loop {
        ticker.tick().await;
        let now = store::jobs::now_millis();
        let timeout = config.heartbeat_timeout.as_millis() as i64;
        if let Ok(mut recent) = recent.lock() {
            recent.retain(|_, at| *at >= now - 10 * timeout);
        }
        if let Err(e) = check_once(&store, &config, &counters, &jobs, &recent, now, timeout).await {
            tracing::warn!(error = %e, "looking for silent amphorae failed");
        }
    }
}

async fn check_once(
    store: &Store,
    config: &HealthConfig,
    counters: &Counters,
    jobs: &Notify,
    recent: &Recent,
    now: i64,
    timeout: i64,
) -> store::Result<()> {
    let mut stale = store.stale_amphorae(now - timeout).await?;
    if let Ok(recent) = recent.lock() {
        stale.retain(|id| recent.get(id).is_none_or(|at| *at < now - timeout));
    }
    if let Some(threshold) = config.failover_threshold {
        failover::resume_stopped(store, now - timeout).await?;
        if stale.len() >= threshold {
            tracing::error!(
                silent = stale.len(),
                threshold,
                "too many amphorae silent at once: failover stopped for them"
            );
            for id in &stale {
                failover::set_status(store, id, AmphoraStatus::FailoverStopped).await?;
            }
            return Ok(());
        }
    }
    for id in stale {
        let reason = format!(
            "no heartbeat for {} ms",
            config.heartbeat_timeout.as_millis()
        );
        if failover::request(store, jobs, &id, Some(now - timeout), &reason).await? {
            counters.failovers.fetch_add(1, Relaxed);
        }
    }
    Ok(())
}
