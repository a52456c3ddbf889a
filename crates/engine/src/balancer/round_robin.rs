//! Weighted round robin, smooth: the order comes from nginx's smooth weighted algorithm run
//! once when the snapshot is built (weights 5:1 give a a a b a a, not a a a a a b), and an
//! atomic cursor walks it, so picking takes no lock.

use super::{Backend, Balancer};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct RoundRobin {
    order: Vec<usize>,
    cursor: AtomicUsize,
}

impl RoundRobin {
    pub fn new(backends: &[Backend]) -> RoundRobin {
        let weights: Vec<i64> = backends
            .iter()
            .map(|b| i64::from(b.config.weight))
            .collect();
        let divisor = weights.iter().copied().filter(|w| *w > 0).fold(0, gcd);
        let total: i64 = weights.iter().sum();
        let len = if divisor == 0 { 0 } else { total / divisor };
        let mut current = vec![0i64; weights.len()];
        let mut order = Vec::with_capacity(len as usize);
        for _ in 0..len {
            for (c, w) in current.iter_mut().zip(&weights) {
                *c += w;
            }
            let best = (0..current.len())
                .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                .unwrap_or(0);
            current[best] -= total;
            order.push(best);
        }
        RoundRobin {
            order,
            cursor: AtomicUsize::new(0),
        }
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Balancer for RoundRobin {
    fn pick(&self, _: &[Backend], usable: &dyn Fn(usize) -> bool, _: u64) -> Option<usize> {
        let len = self.order.len();
        if len == 0 {
            return None;
        }
        let start = self.cursor.fetch_add(1, Relaxed);
        for step in 0..len {
            let i = self.order[(start + step) % len];
            if usable(i) {
                if step > 0 {
                    // Skipped entries are not owed a turn: move the cursor past them.
                    self.cursor.fetch_add(step, Relaxed);
                }
                return Some(i);
            }
        }
        None
    }
}
