//! What the front door of every OpenStack HTTP service Ostia speaks shares: the state core
//! (store, authenticator, sealer, wake-up of the worker), the caller's request context with
//! Octavia's policy rules evaluated on it, the three error envelopes (Octavia's, Neutron's,
//! Barbican's), listing (filters, sorting, pagination, `fields=`), the WSME-faithful body
//! decoder, and the one `serve`.
//!
//! Knows no service's resources: the load-balancer, network and key-manager crates build on
//! it and never on each other.

pub mod barbican;
pub mod context;
pub mod error;
pub mod listing;
pub mod neutron;
pub mod policy;
pub mod schema;
mod serve;
mod state;

pub use context::{authenticate, CallerToken, RequestContext};
pub use error::{ApiError, ApiResult};
pub use policy::Rule;
pub use serve::{request_id, serve, with_request_id};
pub use state::{Core, PolicyModel};
