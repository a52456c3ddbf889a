//! Load-balancing algorithms, one file each behind one trait. A balancer only chooses among
//! the members the pool says are usable; health, backup tiers and draining are the pool's.

mod least_connections;
mod round_robin;
mod source_ip;

pub use least_connections::LeastConnections;
pub use round_robin::RoundRobin;
pub use source_ip::{fnv1a, mix, SourceIp};

use crate::pool::Backend;

pub trait Balancer: Send + Sync {
    /// Index of the chosen backend among those for which `usable` holds. `key` is the hash
    /// of the client's address (SOURCE_IP) or address and port (SOURCE_IP_PORT).
    fn pick(&self, backends: &[Backend], usable: &dyn Fn(usize) -> bool, key: u64)
        -> Option<usize>;
}

/// The balancer for Octavia's `lb_algorithm` (unknown values fall back to round robin, as
/// Octavia's HAProxy template does).
pub fn for_algorithm(algorithm: &str, backends: &[Backend]) -> Box<dyn Balancer> {
    match algorithm {
        "LEAST_CONNECTIONS" => Box::new(LeastConnections::default()),
        "SOURCE_IP" | "SOURCE_IP_PORT" => Box::new(SourceIp),
        _ => Box::new(RoundRobin::new(backends)),
    }
}
