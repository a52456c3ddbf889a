//! A pool: protocol and algorithm, session persistence, TLS towards its members; what its
//! POST (also inline in a load balancer's graph, with members and a monitor) and PUT take.

use super::tls::TlsDefaults;
use super::{nullable, yes, HealthMonitorCreate, MemberCreate};
use crate::address::IpAddress;
use crate::patch::Patch;
use crate::protocol::{LbAlgorithm, PersistenceType, PoolProtocol};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub protocol: PoolProtocol,
    pub lb_algorithm: LbAlgorithm,
    #[serde(default)]
    pub session_persistence: Option<Persistence>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// Re-encrypt to members.
    #[serde(default)]
    pub tls_enabled: bool,
    #[serde(default)]
    pub tls_container_ref: Option<String>,
    #[serde(default)]
    pub ca_tls_container_ref: Option<String>,
    #[serde(default)]
    pub crl_container_ref: Option<String>,
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
}

/// A pool's session persistence, as a POST gives it and as it is kept (every attribute
/// present, unset ones null).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Persistence {
    #[serde(rename = "type")]
    pub kind: PersistenceType,
    #[serde(default)]
    pub cookie_name: Option<String>,
    #[serde(default)]
    pub persistence_timeout: Option<i64>,
    #[serde(default)]
    pub persistence_granularity: Option<IpAddress>,
}

/// Session persistence in a PUT: the type may be left out (the pool's stays).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersistencePatch {
    #[serde(rename = "type")]
    pub kind: Patch<PersistenceType>,
    pub cookie_name: Patch<String>,
    pub persistence_timeout: Patch<i64>,
    pub persistence_granularity: Patch<IpAddress>,
}

impl PersistencePatch {
    /// `{}`: no attribute given (a PUT with it removes persistence, as null does).
    pub fn is_empty(&self) -> bool {
        self.kind.is_absent()
            && self.cookie_name.is_absent()
            && self.persistence_timeout.is_absent()
            && self.persistence_granularity.is_absent()
    }

    /// The persistence it sets, its type defaulting to `current`'s.
    pub fn with_type(self, current: Option<PersistenceType>) -> Option<Persistence> {
        Some(Persistence {
            kind: self.kind.into_option().or(current)?,
            cookie_name: self.cookie_name.into_option(),
            persistence_timeout: self.persistence_timeout.into_option(),
            persistence_granularity: self.persistence_granularity.into_option(),
        })
    }
}

/// A pool's POST, and a pool inside a load balancer's graph (where protocol and algorithm
/// may be missing from a mere reference by name).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PoolCreate {
    pub loadbalancer_id: Patch<String>,
    pub listener_id: Patch<String>,
    pub protocol: Patch<PoolProtocol>,
    pub lb_algorithm: Patch<LbAlgorithm>,
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub session_persistence: Patch<Persistence>,
    pub healthmonitor: Patch<HealthMonitorCreate>,
    pub members: Patch<Vec<MemberCreate>>,
    pub tags: Patch<Vec<String>>,
    pub tls_enabled: Patch<bool>,
    pub tls_container_ref: Patch<String>,
    pub ca_tls_container_ref: Patch<String>,
    pub crl_container_ref: Patch<String>,
    pub tls_ciphers: Patch<String>,
    pub tls_versions: Patch<Vec<String>>,
    pub alpn_protocols: Patch<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PoolPatch {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub lb_algorithm: Patch<LbAlgorithm>,
    pub session_persistence: Patch<PersistencePatch>,
    pub tags: Patch<Vec<String>>,
    pub tls_enabled: Patch<bool>,
    pub tls_container_ref: Patch<String>,
    pub ca_tls_container_ref: Patch<String>,
    pub crl_container_ref: Patch<String>,
    pub tls_ciphers: Patch<String>,
    pub tls_versions: Patch<Vec<String>>,
    pub alpn_protocols: Patch<Vec<String>>,
}

impl PoolCreate {
    /// Inside a graph, a pool given by nothing but its name (and admin state or TLS flag)
    /// refers to a definition elsewhere in the graph.
    pub fn is_reference(&self) -> bool {
        self.loadbalancer_id.is_absent()
            && self.listener_id.is_absent()
            && self.protocol.is_absent()
            && self.lb_algorithm.is_absent()
            && self.description.is_absent()
            && self.session_persistence.is_absent()
            && self.healthmonitor.is_absent()
            && self.members.is_absent()
            && self.tags.is_absent()
            && self.tls_container_ref.is_absent()
            && self.ca_tls_container_ref.is_absent()
            && self.crl_container_ref.is_absent()
            && self.tls_ciphers.is_absent()
            && self.tls_versions.is_absent()
            && self.alpn_protocols.is_absent()
    }
}

impl Pool {
    /// A new pool with Octavia's defaults for what the POST left unset or null; the caller
    /// made sure protocol and algorithm are given.
    pub fn create(
        body: PoolCreate,
        protocol: PoolProtocol,
        lb_algorithm: LbAlgorithm,
        session_persistence: Option<Persistence>,
    ) -> Pool {
        let tls_enabled = body.tls_enabled.or(false);
        let defaults = TlsDefaults::when(tls_enabled);
        Pool {
            name: body.name.or_else(String::new),
            description: body.description.or_else(String::new),
            admin_state_up: body.admin_state_up.or_by(true, false),
            protocol,
            lb_algorithm,
            session_persistence,
            tags: body.tags.or_else(Vec::new),
            tls_enabled,
            tls_container_ref: body.tls_container_ref.into_option(),
            ca_tls_container_ref: body.ca_tls_container_ref.into_option(),
            crl_container_ref: body.crl_container_ref.into_option(),
            tls_ciphers: body.tls_ciphers.into_option().or(defaults.ciphers),
            tls_versions: body.tls_versions.into_option().or(defaults.versions),
            alpn_protocols: body
                .alpn_protocols
                .into_option()
                .or(defaults.alpn_protocols),
        }
    }

    /// A PUT's attributes but session persistence (which the caller checks and sets): null
    /// resets to Octavia's defaults, the TLS ones where TLS is on after the update.
    pub fn update(&mut self, patch: PoolPatch) {
        let tls = patch
            .tls_enabled
            .value()
            .copied()
            .unwrap_or(self.tls_enabled);
        let defaults = TlsDefaults::when(tls);
        patch.name.update(&mut self.name, String::new());
        patch
            .description
            .update(&mut self.description, String::new());
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch.lb_algorithm.assign(&mut self.lb_algorithm);
        patch.tags.update(&mut self.tags, Vec::new());
        patch.tls_enabled.update(&mut self.tls_enabled, false);
        patch
            .tls_container_ref
            .update_option(&mut self.tls_container_ref);
        patch
            .ca_tls_container_ref
            .update_option(&mut self.ca_tls_container_ref);
        patch
            .crl_container_ref
            .update_option(&mut self.crl_container_ref);
        patch
            .tls_ciphers
            .update_option_or(&mut self.tls_ciphers, defaults.ciphers);
        patch
            .tls_versions
            .update_option_or(&mut self.tls_versions, defaults.versions);
        patch
            .alpn_protocols
            .update_option_or(&mut self.alpn_protocols, defaults.alpn_protocols);
    }
}
