//! A member's runtime state: health and counters, shared by every snapshot that names the
//! member and surviving applies. Health checks write only `health`; the hot path reads it.

use model::{MemberConfig, MemberHealth};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

#[derive(Default)]
pub struct MemberState {
    /// HAProxy's health counter: 0..rise+fall-1, up when >= rise. Without a monitor unused.
    health: AtomicU32,
    up: AtomicBool,
    monitored: AtomicBool,
    rise: AtomicU32,
    fall: AtomicU32,
    pub active: AtomicU64,
    pub total: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Failed connection attempts (HAProxy `econ`).
    pub connect_errors: AtomicU64,
    pub checks: AtomicU64,
    pub check_failures: AtomicU64,
    /// Kept-alive HTTP connections no client holds (see `upstream`).
    pub idle: Mutex<Vec<TcpStream>>,
}

impl MemberState {
    pub fn new() -> Arc<Self> {
        let s = MemberState::default();
        s.up.store(true, Relaxed);
        Arc::new(s)
    }

    /// Starts or stops monitoring. HAProxy starts a checked server UP with a full health
    /// counter, so it takes `fall` failures to go down.
    pub fn set_monitor(&self, rise_fall: Option<(u32, u32)>) {
        match rise_fall {
            Some((rise, fall)) => {
                let (rise, fall) = (rise.max(1), fall.max(1));
                let was = self.monitored.swap(true, Relaxed);
                let old_rise = self.rise.swap(rise, Relaxed);
                let old_fall = self.fall.swap(fall, Relaxed);
                let changed = old_rise != rise || old_fall != fall;
                if !was || changed {
                    let up = !was || self.up.load(Relaxed);
                    self.health
                        .store(if up { rise + fall - 1 } else { 0 }, Relaxed);
                    self.up.store(up, Relaxed);
                }
            }
            None => {
                self.monitored.store(false, Relaxed);
                self.up.store(true, Relaxed);
            }
        }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Relaxed)
    }

    /// Records one check result. Only the health checker calls this, so plain loads and
    /// stores of the counter are enough.
    pub fn record_check(&self, ok: bool) {
        self.checks.fetch_add(1, Relaxed);
        let (rise, fall) = (self.rise.load(Relaxed), self.fall.load(Relaxed));
        let max = rise + fall - 1;
        let mut h = self.health.load(Relaxed);
        if ok {
            if h < max {
                h += 1;
            }
            if h >= rise {
                // Reaching rise from below makes the server UP and fills the counter.
                if !self.up.load(Relaxed) {
                    h = max;
                }
                self.up.store(true, Relaxed);
            }
        } else {
            self.check_failures.fetch_add(1, Relaxed);
            h = h.saturating_sub(1);
            if self.up.load(Relaxed) && h < rise {
                h = 0;
                self.up.store(false, Relaxed);
            }
        }
        self.health.store(h, Relaxed);
    }

    /// The status HAProxy's stats show and Octavia's heartbeat carries (§8.5).
    pub fn status(&self, config: &MemberConfig) -> MemberHealth {
        if !config.admin_state_up {
            return MemberHealth::Maint;
        }
        if !self.monitored.load(Relaxed) {
            return if config.weight == 0 {
                MemberHealth::Drain
            } else {
                MemberHealth::NoCheck
            };
        }
        let (rise, fall) = (self.rise.load(Relaxed), self.fall.load(Relaxed));
        let h = self.health.load(Relaxed);
        if self.up.load(Relaxed) {
            if config.weight == 0 {
                MemberHealth::Drain
            } else if h < rise + fall - 1 {
                MemberHealth::GoingDown {
                    health: h - rise + 1,
                    fall,
                }
            } else {
                MemberHealth::Up
            }
        } else if h > 0 {
            MemberHealth::GoingUp { health: h, rise }
        } else {
            MemberHealth::Down
        }
    }
}

/// Counts an open connection or request to a member for as long as it lives.
pub struct Lease(Arc<MemberState>);

impl Lease {
    pub fn new(state: &Arc<MemberState>) -> Lease {
        state.active.fetch_add(1, Relaxed);
        state.total.fetch_add(1, Relaxed);
        Lease(state.clone())
    }

    pub fn state(&self) -> &MemberState {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_failures_take_a_checked_member_down_and_rise_successes_bring_it_back() {
        let m = MemberState::new();
        let cfg = MemberConfig::new("m", "127.0.0.1".parse().unwrap(), 80);
        m.set_monitor(Some((2, 3)));
        assert_eq!(m.status(&cfg), "UP");
        m.record_check(false);
        m.record_check(false);
        assert!(m.is_up());
        assert_eq!(m.status(&cfg), "UP 1/3");
        m.record_check(false);
        assert!(!m.is_up());
        assert_eq!(m.status(&cfg), "DOWN");
        m.record_check(true);
        assert_eq!(m.status(&cfg), "DOWN 1/2");
        assert!(!m.is_up());
        m.record_check(true);
        assert!(m.is_up());
        assert_eq!(m.status(&cfg), "UP");
    }
}
