//! Load-balancing algorithms, one file each behind one trait. A balancer only chooses among
//! the members the pool says are usable; health, backup tiers and draining are the pool's.

mod least_connections;
mod round_robin;
mod source_ip;

pub use least_connections::LeastConnections;
pub use round_robin::RoundRobin;
pub use source_ip::{fnv1a, mix, SourceIp};

use crate::member::MemberState;
use model::{LbAlgorithm, MemberConfig};
use std::net::SocketAddr;
use std::sync::Arc;

/// A member as balancers see it: its configuration and the runtime state it shares with
/// health checks and connections.
pub struct Backend {
    pub config: MemberConfig,
    pub state: Arc<MemberState>,
    pub addr: SocketAddr,
    pub id_hash: u64,
}

pub trait Balancer: Send + Sync {
    /// Index of the chosen backend among those for which `usable` holds. `key` is the hash
    /// of the client's address (SOURCE_IP) or address and port (SOURCE_IP_PORT).
    fn pick(&self, backends: &[Backend], usable: &dyn Fn(usize) -> bool, key: u64)
        -> Option<usize>;
}

/// The balancer for Octavia's `lb_algorithm`.
pub fn for_algorithm(algorithm: LbAlgorithm, backends: &[Backend]) -> Box<dyn Balancer> {
    match algorithm {
        LbAlgorithm::LeastConnections => Box::new(LeastConnections::default()),
        LbAlgorithm::SourceIp | LbAlgorithm::SourceIpPort => Box::new(SourceIp),
        LbAlgorithm::RoundRobin => Box::new(RoundRobin::new(backends)),
    }
}
