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
    /// Every limit set (-1: unlimited).
    pub quota_defaults: model::Quota,
    /// A host whose agent has not reported for this long is dead (`--host-down-time`,
    /// Neutron's `agent_down_time`).
    pub host_down_time: std::time::Duration,
    /// Engines a flavor may not ask for, each with the reason (the amphora driver of this
    /// deployment cannot run it).
    pub unavailable_engines: Vec<(model::EngineKind, String)>,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            network_driver: NetworkDriver::Local,
            max_limit: 1000,
            body_limit: 114_688,
            quota_defaults: unlimited(),
            host_down_time: std::time::Duration::from_secs(3),
            unavailable_engines: Vec::new(),
        }
    }
}

/// Octavia's default quotas: no limit.
pub fn unlimited() -> model::Quota {
    model::Quota {
        loadbalancer: Some(-1),
        listener: Some(-1),
        member: Some(-1),
        pool: Some(-1),
        healthmonitor: Some(-1),
        l7policy: Some(-1),
        l7rule: Some(-1),
    }
}
