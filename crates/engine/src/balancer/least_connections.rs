//! Weighted least connections: the fewest active connections per unit of weight wins; ties
//! rotate, as HAProxy's leastconn does, so idle members share new connections evenly.

use super::{Backend, Balancer};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Default)]
pub struct LeastConnections {
    rotation: AtomicUsize,
}

impl Balancer for LeastConnections {
    fn pick(&self, backends: &[Backend], usable: &dyn Fn(usize) -> bool, _: u64) -> Option<usize> {
        let n = backends.len();
        if n == 0 {
            return None;
        }
        let start = self.rotation.fetch_add(1, Relaxed) % n;
        let mut best: Option<(usize, u64, u64)> = None;
        for step in 0..n {
            let i = (start + step) % n;
            if !usable(i) {
                continue;
            }
            let active = backends[i].state.active.load(Relaxed);
            let weight = u64::from(backends[i].config.weight.max(1));
            // active/weight < best_active/best_weight, without division.
            let better = match best {
                None => true,
                Some((_, a, w)) => active * w < a * weight,
            };
            if better {
                best = Some((i, active, weight));
            }
        }
        best.map(|(i, _, _)| i)
    }
}
