//! `AmphoraConfig`: the whole desired state of one load balancer's data plane, as one
//! declarative document. The worker builds it from a tree; the engine (or the HAProxy
//! renderer) applies it idempotently. Field names and units follow Octavia's API (timeouts in
//! milliseconds, monitor delay/timeout in seconds) so the document reads like the API objects.

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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListenerConfig {
    pub id: String,
    /// TCP, HTTP or UDP (TLS protocols arrive with certificates).
    pub protocol: String,
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolConfig {
    pub id: String,
    /// TCP, HTTP, HTTPS, PROXY, PROXYV2 or UDP.
    pub protocol: String,
    /// ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP or SOURCE_IP_PORT.
    pub lb_algorithm: String,
    #[serde(default = "enabled")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub members: Vec<MemberConfig>,
    pub healthmonitor: Option<MonitorConfig>,
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
    /// HTTP, HTTPS, TCP, TLS-HELLO, PING, UDP-CONNECT.
    #[serde(rename = "type")]
    pub kind: String,
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
    pub fn new(id: &str, protocol: &str, port: u16, default_pool_id: Option<&str>) -> Self {
        ListenerConfig {
            id: id.into(),
            protocol: protocol.into(),
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
        }
    }
}

impl PoolConfig {
    pub fn new(id: &str, protocol: &str, lb_algorithm: &str) -> Self {
        PoolConfig {
            id: id.into(),
            protocol: protocol.into(),
            lb_algorithm: lb_algorithm.into(),
            admin_state_up: true,
            members: Vec::new(),
            healthmonitor: None,
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
    pub fn new(id: &str, kind: &str, delay: u64, timeout: u64, max_retries: u32) -> Self {
        MonitorConfig {
            id: id.into(),
            kind: kind.into(),
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
