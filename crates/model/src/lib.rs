//! Ostia's domain model: resource kinds, the load-balancer tree, status values, Octavia's
//! compatibility matrices and the `AmphoraConfig` document the worker sends to amphorae.
//!
//! Owns plain data and pure rules. Must not do I/O (no sockets, no database, no clock except
//! `now()` for timestamps).

pub mod amphora;
pub mod kind;
pub mod protocol;
pub mod resource;
pub mod status;
pub mod tree;

pub use amphora::{AmphoraConfig, ListenerConfig, MemberConfig, MonitorConfig, PoolConfig};
pub use kind::Kind;
pub use resource::{now, Resource};
pub use tree::Tree;
