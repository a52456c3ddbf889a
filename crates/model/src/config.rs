//! `AmphoraConfig`: the whole desired state of one load balancer's data plane, as one
//! declarative document. The worker builds it from a tree; the engine (or the HAProxy
//! renderer) applies it idempotently. Field names and units follow Octavia's API (timeouts in
//! milliseconds, monitor delay/timeout in seconds) so the document reads like the API objects.

use crate::protocol::{
    ClientAuthentication, CompareType, EngineKind, L7Action, L7RuleType, LbAlgorithm,
    ListenerProtocol, MonitorType, PersistenceType, PoolProtocol,
};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AmphoraConfig {
    pub lb_id: String,
    /// Monotonic: an amphora acknowledges the generation it applied.
    pub generation: u64,
    /// The VIP and any additional VIPs; every listener binds on each.
    pub vips: Vec<IpAddr>,
    #[serde(default)]
    pub listeners: Vec<ListenerConfig>,
    #[serde(default)]
    pub pools: Vec<PoolConfig>,
    /// For an amphora on a host's agent (`--amphora netns`): what it is plugged into. The
    /// agent plumbs it; the engine ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plumbing: Option<crate::Plumbing>,
    /// For the amphorae of an ACTIVE_STANDBY load balancer: the VRRP group they form. Each
    /// amphora finds itself among the members by its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp: Option<VrrpConfig>,
    /// What serves it: the native engine or haproxy.
    #[serde(default, skip_serializing_if = "EngineKind::is_native")]
    pub engine: EngineKind,
}

/// The VRRP group of an ACTIVE_STANDBY pair (Octavia's `vrrp_group`): who is in it, and how
/// often the MASTER advertises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VrrpConfig {
    /// The load balancer's id without dashes (Octavia's `vrrp_group_name`).
    pub group: String,
    pub advert_int_ms: u64,
    pub members: Vec<VrrpMember>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VrrpMember {
    pub amphora_id: String,
    /// Its own address (`vrrp_ip`), the source of its adverts.
    pub address: IpAddr,
    /// 100 for the MASTER, 90 for the BACKUP when the configuration was made.
    pub priority: u8,
    /// The interface that holds `address`.
    #[serde(default)]
    pub interface: String,
    /// Its port's MAC: peers know each other without ARP, so a rebuilt BACKUP hears its
    /// MASTER at once (a neighbour entry that failed while it was dead would retry only
    /// after a second, and the BACKUP would claim the VIP meanwhile).
    #[serde(default)]
    pub mac: String,
}

impl VrrpConfig {
    pub fn member(&self, amphora_id: &str) -> Option<&VrrpMember> {
        self.members.iter().find(|m| m.amphora_id == amphora_id)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListenerConfig {
    pub id: String,
    pub protocol: ListenerProtocol,
    pub protocol_port: u16,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
    /// −1: unlimited (Octavia's default).
    #[serde(default = "unlimited")]
    pub connection_limit: i64,
    #[serde(default = "default_client_data")]
    pub timeout_client_data: u64,
    #[serde(default = "default_member_connect")]
    pub timeout_member_connect: u64,
    #[serde(default = "default_member_data")]
    pub timeout_member_data: u64,
    #[serde(default)]
    pub timeout_tcp_inspect: u64,
    /// Sources allowed to connect; empty means everyone.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// Octavia's `insert_headers` map (`X-Forwarded-For: "true"`, …).
    #[serde(default)]
    pub insert_headers: std::collections::BTreeMap<String, String>,
    pub default_pool_id: Option<String>,
    /// In `position` order.
    #[serde(default)]
    pub l7policies: Vec<L7PolicyConfig>,
    /// TERMINATED_HTTPS: certificates and TLS settings.
    #[serde(default)]
    pub tls: Option<ListenerTls>,
}

/// What a TERMINATED_HTTPS listener terminates TLS with. The worker fills the PEMs from the
/// key manager (the amphora gets them as Octavia uploads them to its amphorae).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListenerTls {
    pub default_certificate: Option<CertificateBundle>,
    /// In the order of `sni_container_refs`.
    #[serde(default)]
    pub sni_certificates: Vec<CertificateBundle>,
    /// Octavia's names: SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3.
    #[serde(default)]
    pub versions: Vec<String>,
    /// OpenSSL cipher names, colon-separated (TLS 1.2 and below).
    pub ciphers: Option<String>,
    #[serde(default)]
    pub alpn_protocols: Vec<String>,
    #[serde(default = "no_client_auth")]
    pub client_authentication: ClientAuthentication,
    pub client_ca_ref: Option<String>,
    pub client_ca_pem: Option<String>,
    pub client_crl_ref: Option<String>,
    pub client_crl_pem: Option<String>,
    pub hsts_max_age: Option<u64>,
    #[serde(default)]
    pub hsts_include_subdomains: bool,
    #[serde(default)]
    pub hsts_preload: bool,
}

fn no_client_auth() -> ClientAuthentication {
    ClientAuthentication::None
}

/// A certificate (with its intermediates) and its key, as PEM.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateBundle {
    /// The container or secret ref it was loaded from.
    pub reference: String,
    pub certificate_pem: String,
    pub private_key_pem: String,
}

impl std::fmt::Debug for CertificateBundle {
    /// Keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateBundle")
            .field("reference", &self.reference)
            .field("certificate_pem", &self.certificate_pem.len())
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L7PolicyConfig {
    pub id: String,
    pub action: L7Action,
    pub position: u32,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
    pub redirect_pool_id: Option<String>,
    pub redirect_url: Option<String>,
    pub redirect_prefix: Option<String>,
    pub redirect_http_code: Option<u16>,
    #[serde(default)]
    pub rules: Vec<L7RuleConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L7RuleConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub rule_type: L7RuleType,
    pub compare_type: CompareType,
    pub key: Option<String>,
    pub value: String,
    #[serde(default)]
    pub invert: bool,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionPersistence {
    #[serde(rename = "type")]
    pub kind: PersistenceType,
    pub cookie_name: Option<String>,
    pub persistence_timeout: Option<u64>,
    pub persistence_granularity: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolConfig {
    pub id: String,
    pub protocol: PoolProtocol,
    pub lb_algorithm: LbAlgorithm,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub members: Vec<MemberConfig>,
    pub healthmonitor: Option<MonitorConfig>,
    #[serde(default)]
    pub session_persistence: Option<SessionPersistence>,
    /// Re-encrypt to members (`tls_enabled`).
    #[serde(default)]
    pub tls_enabled: bool,
    /// With `tls_enabled`: how (the worker fills the PEMs from the key manager).
    #[serde(default)]
    pub tls: Option<PoolTls>,
}

/// TLS towards a pool's members, as Octavia renders a server's `ssl …` options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolTls {
    /// `tls_container_ref`: the certificate the amphora presents to members.
    pub client_certificate: Option<CertificateBundle>,
    /// `ca_tls_container_ref`: members' certificates must chain to it (`verify required`);
    /// without it nothing is verified (`verify none`).
    pub ca_ref: Option<String>,
    pub ca_pem: Option<String>,
    pub crl_ref: Option<String>,
    pub crl_pem: Option<String>,
    #[serde(default)]
    pub versions: Vec<String>,
    pub ciphers: Option<String>,
    #[serde(default)]
    pub alpn_protocols: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberConfig {
    pub id: String,
    pub address: IpAddr,
    pub protocol_port: u16,
    /// 0..=256; 0 drains (no new connections).
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub backup: bool,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
    pub monitor_address: Option<IpAddr>,
    pub monitor_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Seconds between checks.
    pub delay: u64,
    /// Seconds a check may take.
    pub timeout: u64,
    /// Consecutive successes to go up (HAProxy `rise`).
    pub max_retries: u32,
    /// Consecutive failures to go down (HAProxy `fall`).
    #[serde(default = "three")]
    pub max_retries_down: u32,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
    pub http_method: Option<String>,
    pub url_path: Option<String>,
    pub expected_codes: Option<String>,
    pub http_version: Option<String>,
    pub domain_name: Option<String>,
}

fn enabled() -> bool {
    true
}
fn unlimited() -> i64 {
    -1
}
fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn default_client_data() -> u64 {
    50_000
}
fn default_member_connect() -> u64 {
    5_000
}
fn default_member_data() -> u64 {
    50_000
}

impl ListenerConfig {
    /// A listener with Octavia's defaults.
    pub fn new(
        id: &str,
        protocol: ListenerProtocol,
        port: u16,
        default_pool_id: Option<&str>,
    ) -> Self {
        ListenerConfig {
            id: id.into(),
            protocol,
            protocol_port: port,
            admin_state_up: true,
            connection_limit: -1,
            timeout_client_data: default_client_data(),
            timeout_member_connect: default_member_connect(),
            timeout_member_data: default_member_data(),
            timeout_tcp_inspect: 0,
            allowed_cidrs: Vec::new(),
            insert_headers: Default::default(),
            default_pool_id: default_pool_id.map(Into::into),
            l7policies: Vec::new(),
            tls: None,
        }
    }
}

impl PoolConfig {
    pub fn new(id: &str, protocol: PoolProtocol, lb_algorithm: LbAlgorithm) -> Self {
        PoolConfig {
            id: id.into(),
            protocol,
            lb_algorithm,
            admin_state_up: true,
            members: Vec::new(),
            healthmonitor: None,
            session_persistence: None,
            tls_enabled: false,
            tls: None,
        }
    }
}

impl MemberConfig {
    pub fn new(id: &str, address: IpAddr, port: u16) -> Self {
        MemberConfig {
            id: id.into(),
            address,
            protocol_port: port,
            weight: 1,
            backup: false,
            admin_state_up: true,
            monitor_address: None,
            monitor_port: None,
        }
    }
}

impl MonitorConfig {
    pub fn new(id: &str, kind: MonitorType, delay: u64, timeout: u64, max_retries: u32) -> Self {
        MonitorConfig {
            id: id.into(),
            kind,
            delay,
            timeout,
            max_retries,
            max_retries_down: 3,
            admin_state_up: true,
            http_method: None,
            url_path: None,
            expected_codes: None,
            http_version: None,
            domain_name: None,
        }
    }
}
