//! Ostia's domain model: resource kinds, the load-balancer tree, status values, Octavia's
//! compatibility matrices and the `AmphoraConfig` document the worker sends to amphorae.
//!
//! Owns plain data and pure rules. Must not do I/O (no sockets, no database, no clock except
//! `now()` for timestamps).

pub mod amphora;
pub mod health;
pub mod job;
pub mod kind;
pub mod protocol;
pub mod resource;
pub mod status;
pub mod tree;
pub mod wire;

pub use amphora::{
    AmphoraConfig, CertificateBundle, L7PolicyConfig, L7RuleConfig, ListenerConfig, ListenerTls,
    MemberConfig, MonitorConfig, PoolConfig, PoolTls, SessionPersistence,
};
pub use health::{ListenerHealth, MemberHealth, PoolHealth};
pub use job::{JobAction, JobState};
pub use kind::Kind;
pub use protocol::{
    CompareType, L7Action, L7RuleType, LbAlgorithm, ListenerProtocol, MonitorType, PersistenceType,
    PoolProtocol, X_SSL_HEADERS,
};
pub use resource::{now, Resource};
pub use status::{AmphoraRole, AmphoraStatus, OperatingStatus, ProvisioningStatus};
pub use tree::Tree;
