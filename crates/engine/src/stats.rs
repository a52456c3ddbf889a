//! Listener counters as atomics, updated on the hot path without locks and read by
//! `Engine::status` (the heartbeat's `rx`, `tx`, `conns`, `totconns`, `ereq`).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct ListenerStats {
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub active: AtomicU64,
    pub total: AtomicU64,
    pub request_errors: AtomicU64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub active_connections: u64,
    pub total_connections: u64,
    pub request_errors: u64,
}

impl Counters {
    /// Adds `other`'s running totals (not its gauge, active connections) to these.
    pub fn add(&mut self, other: &Counters) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.total_connections += other.total_connections;
        self.request_errors += other.request_errors;
    }
}

impl ListenerStats {
    pub fn read(&self) -> Counters {
        Counters {
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            active_connections: self.active.load(Relaxed),
            total_connections: self.total.load(Relaxed),
            request_errors: self.request_errors.load(Relaxed),
        }
    }
}

/// Counts a client connection as active for as long as it lives.
pub struct Open<'a>(&'a ListenerStats);

impl<'a> Open<'a> {
    pub fn new(stats: &'a ListenerStats) -> Self {
        stats.active.fetch_add(1, Relaxed);
        stats.total.fetch_add(1, Relaxed);
        Open(stats)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Relaxed);
    }
}
