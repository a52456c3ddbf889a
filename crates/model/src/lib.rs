//! Ostia's domain model: resource kinds and their typed attributes (with the create and
//! patch bodies of the API), the load-balancer tree and its invariants, status values,
//! Octavia's vocabularies and compatibility matrices, amphora records, and the
//! `AmphoraConfig` document the worker sends to amphorae.
//!
//! Owns plain data and pure rules. Must not do I/O (no sockets, no database, no clock except
//! `now()` for timestamps).

pub mod address;
pub mod amphora;
pub mod config;
pub mod health;
pub mod host;
pub mod job;
pub mod kind;
pub mod patch;
pub mod protocol;
pub mod quota;
pub mod resource;
pub mod status;
pub mod tree;
pub mod wire;

pub use address::IpAddress;
pub use amphora::{Amphora, AmphoraDetails};
pub use config::{
    AmphoraConfig, CertificateBundle, L7PolicyConfig, L7RuleConfig, ListenerConfig, ListenerTls,
    MemberConfig, MonitorConfig, PoolConfig, PoolTls, SessionPersistence, VrrpConfig, VrrpMember,
};
pub use health::{ListenerHealth, MemberHealth, PoolHealth};
pub use host::{
    FloatingPlumbing, Host, HostReport, NetworkPlumbing, Plumbing, PortPlumbing, RouterPlumbing,
};
pub use job::{JobAction, JobState};
pub use kind::Kind;
pub use patch::Patch;
pub use protocol::{
    ClientAuthentication, CompareType, EngineKind, L7Action, L7RuleType, LbAlgorithm,
    ListenerProtocol, MonitorType, PersistenceType, PoolProtocol, Provider, Topology, Transport,
    X_SSL_HEADERS,
};
pub use quota::{Quota, QuotaPatch};
pub use resource::{
    now, AdditionalVip, AvailabilityZone, AvailabilityZoneProfile, Body, Flavor, FlavorProfile,
    HealthMonitor, L7Policy, L7Rule, Listener, LoadBalancer, Member, Object, Pool, Resource,
};
pub use status::{AmphoraRole, AmphoraStatus, OperatingStatus, ProvisioningStatus, VrrpState};
pub use tree::Tree;
