//! Ostia's HTTP APIs: the Octavia v2 load-balancer API (wire types, validation with Octavia's
//! texts, listing, the lock rule) and the small Neutron-compatible network API that LBaaS
//! clients look subnets and ports up in.
//!
//! Owns request handling. Must not touch data-plane sockets: it writes desired state and jobs
//! to the store and wakes the worker.

mod context;
pub mod error;
pub mod handlers;
pub mod listing;
pub mod network_api;
mod render;
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
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            default_project: "admin".to_string(),
            network_driver: NetworkDriver::Local,
            max_limit: 1000,
            body_limit: 114_688,
        }
    }
}
