//! A host's network plumbing, as Neutron's linuxbridge agent with l2population builds it: a
//! Linux bridge per network (`brq<network id>`), a VXLAN device on it (`vxlan-<vni>`) with
//! head-end replication to the other hosts that carry the network, and a network namespace
//! per amphora, probe or router joined to those bridges by veth pairs (`tap…` on the bridge,
//! `ns-<port>` inside) with the port's MAC, addresses and routes.
//!
//! Drives iproute2's `ip` and `bridge` commands, the tools Neutron's agents use. Every
//! operation is idempotent: asking for what exists changes nothing, so an agent that
//! restarts converges on what it is told. Knows no database, no HTTP, no engine.

pub mod command;
pub mod namespace;
pub mod network;
pub mod port;
pub mod router;

pub use command::PlumbingError;
pub use model::{NetworkPlumbing, PortPlumbing};

/// Linux's limit on interface names, terminating NUL excluded.
pub const IFNAMSIZ: usize = 15;

/// The first `n` characters of an id (interface names are short; Neutron uses 11).
pub fn short(id: &str, n: usize) -> &str {
    match id.char_indices().nth(n) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}
