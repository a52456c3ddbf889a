//! The load-balancer API: Octavia v2 and its amphora admin API on :9876 (handlers, request
//! specs for the WSME-faithful decoder, rendering, the lock rule), VIP allocation (Octavia's
//! network-driver role), the certificate-ref checks of listeners and pools against the key
//! manager, and Neutron-LBaaS v1/v2 (Octavia's objects in Neutron's dialect, mounted on the
//! network port beside the network API).
//!
//! Must not talk to an amphora or touch data-plane sockets: it writes desired state and jobs
//! to the store and wakes the worker. Must not know the network or key-manager crates: it
//! reads their objects through the store.

mod certificates;
pub mod handlers;
mod lbaas;
mod render;
pub mod server;
mod specs;
mod vip;

pub use lbaas::routes as lbaas_routes;
pub use server::routes;

use std::sync::Arc;

/// The load-balancer API's state: the services' core and its own settings.
#[derive(Clone)]
pub struct AppState {
    pub core: front::Core,
    pub config: Arc<ApiConfig>,
}

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
    pub network_driver: NetworkDriver,
    /// `[api_settings] pagination_max_limit`.
    pub max_limit: usize,
    /// Request bodies above this many bytes get 413.
    pub body_limit: usize,
    /// `[quotas] default_*_quota`: the limit of a project without its own (-1: unlimited).
    pub quota_defaults: QuotaDefaults,
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
            network_driver: NetworkDriver::Local,
            max_limit: 1000,
            body_limit: 114_688,
            quota_defaults: QuotaDefaults::default(),
        }
    }
}
