//! The agent of an amphora host (`ostia agent`): reports its host to the health managers,
//! and serves workers, over the mutual-TLS agent protocol, the amphorae they place on it:
//! each an `ostia amphora` process in a network namespace of its own (`amphora-<id>`), its
//! ports plumbed onto the host's bridges and VXLAN devices as each configuration says. It
//! keeps its networks' VXLAN peers as the control plane tells it, holds routers
//! (`qrouter-<id>` namespaces with NAT) and makes probes (`qprobe-<port>` namespaces) for
//! tests and users to put a machine on a network.
//!
//! Knows no database: what it serves is what workers told it, kept in its data dir, so that
//! an agent that restarts takes its amphorae back and keeps them serving.

mod amphorae;
mod networks;
pub mod probes;
mod report;
mod routers;
mod server;

pub use report::{start_reports, Reports};
pub use server::{start, HostAgent, HostOptions};
