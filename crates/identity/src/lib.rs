//! Who is calling. Owns the built-in identity service (a Keystone v3 subset on port 5000:
//! tokens, catalog, projects, users, roles), the validation of tokens against it or against a
//! real Keystone, and the password and token cryptography.
//!
//! Must not decide what a caller may do: it says who they are (user, project, roles) and the
//! load-balancer API's policy decides. Must not store or log a password or a token in clear.

pub mod http;
pub mod keystone;
mod lockout;
pub mod password;
pub mod service;
pub mod token;

pub use keystone::RemoteKeystone;
pub use service::{AuthFailure, Catalog, Identity, IdentityConfig};
use std::sync::Arc;

/// A role as tokens carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRef {
    pub id: String,
    pub name: String,
}

/// The caller a valid token names.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub user_id: String,
    pub user_name: String,
    /// None for an unscoped token.
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub roles: Vec<RoleRef>,
    pub methods: Vec<String>,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
    pub audit_id: String,
}

impl Principal {
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name.clone()).collect()
    }
}

/// Why a request's token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    #[error("The Keystone service is temporarily unavailable.")]
    Unavailable,
}

/// How the APIs learn who is calling (`ostia up --auth`).
#[derive(Clone)]
pub enum Authenticator {
    /// No tokens: the caller says who they are in headers and is an administrator (Octavia's
    /// `noauth`).
    NoAuth,
    /// Tokens of this Ostia's own identity service.
    Builtin(Arc<Identity>),
    /// Tokens of a real Keystone.
    Keystone(Arc<RemoteKeystone>),
}

impl Authenticator {
    /// The principal of `token`; `Ok(None)` in `noauth`.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Option<Principal>, Rejected> {
        let token = match self {
            Authenticator::NoAuth => return Ok(None),
            _ => token.map(str::trim).filter(|t| !t.is_empty()),
        };
        let token = token.ok_or(Rejected::Unauthorized)?;
        match self {
            Authenticator::NoAuth => Ok(None),
            Authenticator::Builtin(identity) => match identity.validate(token).await {
                Ok(p) => Ok(Some(p)),
                Err(AuthFailure::Store(e)) => {
                    tracing::error!(error = %e, "token validation could not read the store");
                    Err(Rejected::Unavailable)
                }
                Err(_) => Err(Rejected::Unauthorized),
            },
            Authenticator::Keystone(keystone) => keystone.validate(token).await.map(Some),
        }
    }

    /// The identity endpoint a refused client should authenticate at
    /// (`WWW-Authenticate: Keystone uri="…"`).
    pub fn identity_uri(&self) -> Option<String> {
        match self {
            Authenticator::NoAuth => None,
            Authenticator::Builtin(identity) => Some(
                identity
                    .config
                    .catalog
                    .identity
                    .trim_end_matches("/v3")
                    .to_string(),
            ),
            Authenticator::Keystone(keystone) => Some(keystone.base().to_string()),
        }
    }
}
