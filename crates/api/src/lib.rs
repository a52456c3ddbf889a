//! Ostia's HTTP APIs: the Octavia v2 load-balancer API (wire types, validation with Octavia's
//! texts, listing, the lock rule) and the small Neutron-compatible network API that LBaaS
//! clients look subnets and ports up in.
//!
//! Owns request handling. Must not touch data-plane sockets: it writes desired state and jobs
//! to the store and wakes the worker.

mod context;
pub mod error;
mod floating_ips;
pub mod handlers;
pub mod key_manager;
mod lbaas_v1;
mod lbaas_v2;
pub mod listing;
pub mod network_api;
mod networks;
pub mod policy;
mod render;
mod routers;
pub mod schema;
pub mod server;
mod specs;
mod vip;

pub use context::RequestContext;
pub use server::{serve, AppState};

/// Where VIP addresses come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkDriver {
    /// The built-in network service: real addresses on the loopback subnet.
    Local,
    /// Octavia's noop driver: echo requested ids, invent the rest.
    Noop,
}

#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Project used when a request carries no `X-Project-Id`.
    pub default_project: String,
    pub network_driver: NetworkDriver,
    /// `[api_settings] pagination_max_limit`.
    pub max_limit: usize,
    /// Request bodies above this many bytes get 413.
    pub body_limit: usize,
    /// `[quotas] default_*_quota`: the limit of a project without its own (-1: unlimited).
    pub quota_defaults: QuotaDefaults,
    pub policy: PolicyModel,
}

/// Which roles Octavia's policy knows (`--policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PolicyModel {
    /// Octavia's defaults: Keystone's admin, member and reader roles.
    #[default]
    KeystoneDefaultRoles,
    /// Also the `load-balancer_admin|member|observer|global_observer|quota_admin` roles.
    Advanced,
}

/// Default quota per object kind, keyed as Octavia's quota records are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaDefaults {
    pub loadbalancer: i64,
    pub listener: i64,
    pub pool: i64,
    pub member: i64,
    pub healthmonitor: i64,
    pub l7policy: i64,
    pub l7rule: i64,
}

impl Default for QuotaDefaults {
    fn default() -> QuotaDefaults {
        QuotaDefaults {
            loadbalancer: -1,
            listener: -1,
            pool: -1,
            member: -1,
            healthmonitor: -1,
            l7policy: -1,
            l7rule: -1,
        }
    }
}

impl QuotaDefaults {
    /// The default for a canonical quota key (`loadbalancer`, `healthmonitor`, …).
    pub fn get(&self, key: &str) -> i64 {
        match key {
            "loadbalancer" => self.loadbalancer,
            "listener" => self.listener,
            "pool" => self.pool,
            "member" => self.member,
            "healthmonitor" => self.healthmonitor,
            "l7policy" => self.l7policy,
            _ => self.l7rule,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            default_project: "admin".to_string(),
            network_driver: NetworkDriver::Local,
            max_limit: 1000,
            body_limit: 114_688,
            quota_defaults: QuotaDefaults::default(),
            policy: PolicyModel::default(),
        }
    }
}
