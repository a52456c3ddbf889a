//! The amphora: what runs one load balancer's data plane and reports on it. An `Amphora`
//! (its `plane`, the native engine or haproxy, plus heartbeat sender), the heartbeat codec shared with the health manager, the
//! agent that serves an amphora process over mutual TLS, its client, the certificate
//! authority both ends trust, the reports of a host's `ostia agent`, and the VRRP (keepalived)
//! configuration of an ACTIVE_STANDBY pair.
//!
//! Knows the engine and `model`; must not know the database.

pub mod agent;
pub mod client;
pub mod haproxy;
pub mod heartbeat;
pub mod host;
pub mod host_addresses;
mod instance;
pub mod keepalived;
pub mod mtls;
pub mod peers;
pub mod pki;
pub mod plane;
pub mod sender;
pub mod vrrp;

pub use host_addresses::{HostAddresses, Management};
pub use instance::Amphora;
pub use sender::HeartbeatSettings;

/// A uniformly random number in [0, 1).
pub fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source");
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// `n` random bytes as lowercase hex (keys, passwords).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source");
    hex(&bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
