//! Persistence for Ostia: objects, load-balancer trees, the job queue, the built-in network
//! service's ports, quotas, listener statistics and the built-in identity's projects, users
//! and roles, in SQLite through sqlx runtime queries (`$1` placeholders, so the same SQL
//! serves PostgreSQL).
//!
//! Also opens the key manager's payloads into certificate bundles (`certificates`): sealed at
//! rest here, they are only ever in clear for the API's check and the worker's load.
//!
//! Owns the schema and every query. Must not know HTTP or talk to data planes.

pub mod certificates;
mod db;
pub mod floating_ips;
mod generation;
pub mod health;
pub mod hosts;
pub mod identity;
pub mod jobs;
pub mod lbaas_v1;
pub mod network;
mod pkcs;
pub mod quotas;
pub mod resources;
pub mod routers;
mod row;
pub mod sealer;
pub mod secrets;
mod seed;
mod snapshot;
pub mod stats;

pub use db::{Dialect, Store, WriteTx};
pub use floating_ips::FloatingIp;
pub use generation::Snapshot;
pub use jobs::Job;
pub use lbaas_v1::{V1Association, V1Monitor, V1Pool};
pub use network::{AllocError, InUse, Network, Port, Subnet};
pub use routers::Router;
pub use sealer::Sealer;
pub use secrets::{ref_id, Container, Secret};
pub use stats::{ListenerStats, StatsDelta};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored document is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?} (sqlite://PATH or postgres://…)")]
    Unsupported(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;
