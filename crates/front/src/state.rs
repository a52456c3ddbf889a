//! The state every service's own state wraps.

use std::sync::Arc;
use store::Store;
use tokio::sync::Notify;

/// Which roles Octavia's policy knows (`--policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PolicyModel {
    /// Octavia's defaults: Keystone's admin, member and reader roles.
    #[default]
    KeystoneDefaultRoles,
    /// Also the `load-balancer_admin|member|observer|global_observer|quota_admin` roles.
    Advanced,
}

#[derive(Clone)]
pub struct Core {
    pub store: Store,
    /// Who is calling: `noauth` headers, or a token of the built-in identity or of Keystone.
    pub auth: identity::Authenticator,
    /// Seals the key manager's payloads.
    pub secrets: Arc<store::Sealer>,
    /// Project used when a request carries no `X-Project-Id` (`noauth`).
    pub default_project: String,
    pub policy: PolicyModel,
    /// Woken after every committed job, so the worker starts at once.
    pub jobs: Arc<Notify>,
}
