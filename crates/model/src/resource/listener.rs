//! A listener: protocol and port, timeouts, inserted headers, TLS termination and client
//! authentication; what its POST and PUT take, with Octavia's defaults.

use super::tls::TlsDefaults;
use super::{nullable, yes, L7PolicyCreate, PoolCreate};
use crate::patch::Patch;
use crate::protocol::{ClientAuthentication, ListenerProtocol};
use indexmap::IndexMap;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Octavia's default timeouts, in milliseconds.
pub const TIMEOUT_CLIENT_DATA: u32 = 50_000;
pub const TIMEOUT_MEMBER_CONNECT: u32 = 5_000;
pub const TIMEOUT_MEMBER_DATA: u32 = 50_000;
pub const TIMEOUT_TCP_INSPECT: u32 = 0;

fn client_data() -> u32 {
    TIMEOUT_CLIENT_DATA
}
fn member_connect() -> u32 {
    TIMEOUT_MEMBER_CONNECT
}
fn member_data() -> u32 {
    TIMEOUT_MEMBER_DATA
}
fn unlimited() -> i64 {
    -1
}
fn no_client_auth() -> ClientAuthentication {
    ClientAuthentication::None
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub protocol: ListenerProtocol,
    pub protocol_port: u16,
    /// −1: unlimited.
    #[serde(default = "unlimited")]
    pub connection_limit: i64,
    #[serde(default)]
    pub default_tls_container_ref: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub sni_container_refs: Vec<String>,
    #[serde(default)]
    pub default_pool_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub insert_headers: IndexMap<String, String>,
    #[serde(default = "client_data")]
    pub timeout_client_data: u32,
    #[serde(default = "member_connect")]
    pub timeout_member_connect: u32,
    #[serde(default = "member_data")]
    pub timeout_member_data: u32,
    #[serde(default)]
    pub timeout_tcp_inspect: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub client_ca_tls_container_ref: Option<String>,
    #[serde(default = "no_client_auth")]
    pub client_authentication: ClientAuthentication,
    #[serde(default)]
    pub client_crl_container_ref: Option<String>,
    /// Sources allowed to connect; None: everyone (an empty list is stored as None).
    #[serde(default)]
    pub allowed_cidrs: Option<Vec<IpNet>>,
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    #[serde(default)]
    pub hsts_max_age: Option<u64>,
    #[serde(default)]
    pub hsts_include_subdomains: bool,
    #[serde(default)]
    pub hsts_preload: bool,
    /// Octavia's peer port (active/standby peers sync on it); not rendered.
    #[serde(default)]
    pub peer_port: u16,
}

/// A listener's POST, and a listener inside a load balancer's graph (with its default pool
/// and policies).
#[derive(Clone, Debug, Deserialize)]
pub struct ListenerCreate {
    #[serde(default)]
    pub loadbalancer_id: Patch<String>,
    pub protocol: ListenerProtocol,
    pub protocol_port: u16,
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    pub connection_limit: Patch<i64>,
    #[serde(default)]
    pub default_tls_container_ref: Patch<String>,
    #[serde(default)]
    pub sni_container_refs: Patch<Vec<String>>,
    #[serde(default)]
    pub default_pool_id: Patch<String>,
    #[serde(default)]
    pub default_pool: Patch<PoolCreate>,
    #[serde(default)]
    pub l7policies: Patch<Vec<L7PolicyCreate>>,
    #[serde(default)]
    pub insert_headers: Patch<IndexMap<String, String>>,
    #[serde(default)]
    pub timeout_client_data: Patch<u32>,
    #[serde(default)]
    pub timeout_member_connect: Patch<u32>,
    #[serde(default)]
    pub timeout_member_data: Patch<u32>,
    #[serde(default)]
    pub timeout_tcp_inspect: Patch<u32>,
    #[serde(default)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    pub client_ca_tls_container_ref: Patch<String>,
    #[serde(default)]
    pub client_authentication: Patch<ClientAuthentication>,
    #[serde(default)]
    pub client_crl_container_ref: Patch<String>,
    #[serde(default)]
    pub allowed_cidrs: Patch<Vec<IpNet>>,
    #[serde(default)]
    pub tls_ciphers: Patch<String>,
    #[serde(default)]
    pub tls_versions: Patch<Vec<String>>,
    #[serde(default)]
    pub alpn_protocols: Patch<Vec<String>>,
    #[serde(default)]
    pub hsts_max_age: Patch<u64>,
    #[serde(default)]
    pub hsts_include_subdomains: Patch<bool>,
    #[serde(default)]
    pub hsts_preload: Patch<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListenerPatch {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub connection_limit: Patch<i64>,
    pub default_tls_container_ref: Patch<String>,
    pub sni_container_refs: Patch<Vec<String>>,
    pub default_pool_id: Patch<String>,
    pub insert_headers: Patch<IndexMap<String, String>>,
    pub timeout_client_data: Patch<u32>,
    pub timeout_member_connect: Patch<u32>,
    pub timeout_member_data: Patch<u32>,
    pub timeout_tcp_inspect: Patch<u32>,
    pub tags: Patch<Vec<String>>,
    pub client_ca_tls_container_ref: Patch<String>,
    pub client_authentication: Patch<ClientAuthentication>,
    pub client_crl_container_ref: Patch<String>,
    pub allowed_cidrs: Patch<Vec<IpNet>>,
    pub tls_ciphers: Patch<String>,
    pub tls_versions: Patch<Vec<String>>,
    pub alpn_protocols: Patch<Vec<String>>,
    pub hsts_max_age: Patch<u64>,
    pub hsts_include_subdomains: Patch<bool>,
    pub hsts_preload: Patch<bool>,
}

/// An empty list of sources is everyone, kept as no list.
fn sources(cidrs: Option<Vec<IpNet>>) -> Option<Vec<IpNet>> {
    cidrs.filter(|c| !c.is_empty())
}

impl Listener {
    /// A new listener with Octavia's defaults for what the POST left unset or null.
    pub fn create(body: ListenerCreate, peer_port: u16) -> Listener {
        let refs = body.default_tls_container_ref.value().is_some()
            || body
                .sni_container_refs
                .value()
                .is_some_and(|s| !s.is_empty());
        let tls = body.protocol == ListenerProtocol::TerminatedHttps
            || (body.protocol == ListenerProtocol::Prometheus && refs);
        let defaults = TlsDefaults::when(tls);
        Listener {
            name: body.name.or_else(String::new),
            description: body.description.or_else(String::new),
            admin_state_up: body.admin_state_up.or_by(true, false),
            protocol: body.protocol,
            protocol_port: body.protocol_port,
            connection_limit: body.connection_limit.or(-1),
            default_tls_container_ref: body.default_tls_container_ref.into_option(),
            sni_container_refs: body.sni_container_refs.or_else(Vec::new),
            default_pool_id: body.default_pool_id.into_option(),
            insert_headers: body.insert_headers.or_else(IndexMap::new),
            timeout_client_data: body.timeout_client_data.or(TIMEOUT_CLIENT_DATA),
            timeout_member_connect: body.timeout_member_connect.or(TIMEOUT_MEMBER_CONNECT),
            timeout_member_data: body.timeout_member_data.or(TIMEOUT_MEMBER_DATA),
            timeout_tcp_inspect: body.timeout_tcp_inspect.or(TIMEOUT_TCP_INSPECT),
            tags: body.tags.or_else(Vec::new),
            client_ca_tls_container_ref: body.client_ca_tls_container_ref.into_option(),
            client_authentication: body.client_authentication.or(ClientAuthentication::None),
            client_crl_container_ref: body.client_crl_container_ref.into_option(),
            allowed_cidrs: sources(body.allowed_cidrs.into_option()),
            tls_ciphers: body.tls_ciphers.into_option().or(defaults.ciphers),
            tls_versions: body.tls_versions.into_option().or(defaults.versions),
            alpn_protocols: body
                .alpn_protocols
                .into_option()
                .or(defaults.alpn_protocols),
            hsts_max_age: body.hsts_max_age.into_option(),
            hsts_include_subdomains: body.hsts_include_subdomains.or(false),
            hsts_preload: body.hsts_preload.or(false),
            peer_port,
        }
    }

    /// A PUT: null resets to Octavia's defaults (the TLS ones where the listener terminates
    /// TLS).
    pub fn update(&mut self, patch: ListenerPatch) {
        let tls = TlsDefaults::when(self.protocol == ListenerProtocol::TerminatedHttps);
        patch.name.update(&mut self.name, String::new());
        patch
            .description
            .update(&mut self.description, String::new());
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch
            .connection_limit
            .update(&mut self.connection_limit, -1);
        patch
            .default_tls_container_ref
            .update_option(&mut self.default_tls_container_ref);
        patch
            .sni_container_refs
            .update(&mut self.sni_container_refs, Vec::new());
        patch
            .default_pool_id
            .update_option(&mut self.default_pool_id);
        patch
            .insert_headers
            .update(&mut self.insert_headers, IndexMap::new());
        patch
            .timeout_client_data
            .update(&mut self.timeout_client_data, TIMEOUT_CLIENT_DATA);
        patch
            .timeout_member_connect
            .update(&mut self.timeout_member_connect, TIMEOUT_MEMBER_CONNECT);
        patch
            .timeout_member_data
            .update(&mut self.timeout_member_data, TIMEOUT_MEMBER_DATA);
        patch
            .timeout_tcp_inspect
            .update(&mut self.timeout_tcp_inspect, TIMEOUT_TCP_INSPECT);
        patch.tags.update(&mut self.tags, Vec::new());
        patch
            .client_ca_tls_container_ref
            .update_option(&mut self.client_ca_tls_container_ref);
        patch
            .client_authentication
            .update(&mut self.client_authentication, ClientAuthentication::None);
        patch
            .client_crl_container_ref
            .update_option(&mut self.client_crl_container_ref);
        let mut cidrs = self.allowed_cidrs.take();
        patch.allowed_cidrs.update_option(&mut cidrs);
        self.allowed_cidrs = sources(cidrs);
        patch
            .tls_ciphers
            .update_option_or(&mut self.tls_ciphers, tls.ciphers);
        patch
            .tls_versions
            .update_option_or(&mut self.tls_versions, tls.versions);
        patch
            .alpn_protocols
            .update_option_or(&mut self.alpn_protocols, tls.alpn_protocols);
        patch.hsts_max_age.update_option(&mut self.hsts_max_age);
        patch
            .hsts_include_subdomains
            .update(&mut self.hsts_include_subdomains, false);
        patch.hsts_preload.update(&mut self.hsts_preload, false);
    }

    /// A certificate to serve is named (default or SNI).
    pub fn has_certificate_refs(&self) -> bool {
        self.default_tls_container_ref.is_some() || !self.sni_container_refs.is_empty()
    }

    /// Terminates TLS: TERMINATED_HTTPS, or PROMETHEUS with a certificate.
    pub fn terminates_tls(&self) -> bool {
        self.protocol == ListenerProtocol::TerminatedHttps
            || (self.protocol == ListenerProtocol::Prometheus && self.has_certificate_refs())
    }
}
