//! The request types of every resource (Octavia's `octavia/api/v2/types/*.py`) as field specs.

use crate::schema::{f, m, Field, Ty::*};
use model::protocol::*;

const NAME: Field = f("name", Str(255));
const DESCRIPTION: Field = f("description", Str(255));
const ADMIN: Field = f("admin_state_up", Bool);
const TAGS: Field = f("tags", StrList(255));
const PROJECT: Field = f("project_id", Str(36));
const PORT: crate::schema::Ty = Int(1, 65535);
const TIMEOUT: crate::schema::Ty = Int(0, 2_073_600_000);

pub fn check_url_path(s: &str) -> Result<(), String> {
    let bad = !s.starts_with('/') || s.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err("Value must be a valid URL Path string".into())
    } else {
        Ok(())
    }
}

pub fn check_url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    let host_ok = rest
        .map(|r| !r.is_empty() && !r.starts_with('/'))
        .unwrap_or(false);
    let clean = !s
        .chars()
        .any(|c| (c as u32) <= 0x20 || (0x7f..=0x9f).contains(&(c as u32)));
    if host_ok && clean {
        Ok(())
    } else {
        Err("Value must be a valid URL string".into())
    }
}

pub fn check_expected_codes(s: &str) -> Result<(), String> {
    let code = |p: &str| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit());
    let list = s.split(',').all(|p| code(p.trim())) && !s.starts_with(' ') && !s.ends_with(' ');
    let range = matches!(s.split_once('-'), Some((a, b)) if code(a) && code(b));
    if list || range {
        Ok(())
    } else {
        Err(r"Value should match the pattern ^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$".into())
    }
}

/// `DOMAIN_NAME_REGEX`: labels of 1..63 of `[A-Za-z0-9-_]`, no leading or trailing `-`, no
/// `_` in a label followed by more labels, total at most 253 (plus an optional final dot).
pub fn check_domain_name(s: &str) -> Result<(), String> {
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    let labels: Vec<&str> = trimmed.split('.').collect();
    let ok = !trimmed.is_empty()
        && trimmed.len() <= 253
        && labels.iter().enumerate().all(|(i, l)| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && (i + 1 == labels.len() || !l.contains('_'))
        });
    if ok {
        Ok(())
    } else {
        Err(r"Value should match the pattern ^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$".into())
    }
}

pub fn check_cookie_name(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '\\'))
    {
        Ok(())
    } else {
        Err(r"Value should match the pattern ^[^\s,;\\]+$".into())
    }
}

pub fn check_single_line(s: &str) -> Result<(), String> {
    if s.contains('\r') || s.contains('\n') {
        Err(r"Value should match the pattern ^[^\r\n]*$".into())
    } else {
        Ok(())
    }
}

pub fn check_alpn(s: &str) -> Result<(), String> {
    if ALPN_PROTOCOLS.contains(&s) {
        Ok(())
    } else {
        Err("Value should be a valid ALPN protocol ID".into())
    }
}

macro_rules! spec {
    ($name:ident = [$($field:expr),* $(,)?]) => {
        pub const $name: &[Field] = &[$($field),*];
    };
}

// Members.
const MEMBER_COMMON: [Field; 9] = [
    NAME,
    ADMIN,
    f("weight", Int(0, 256)),
    f("backup", Bool),
    f("subnet_id", Uuid),
    f("monitor_address", Ip),
    f("monitor_port", PORT),
    TAGS,
    f("request_sriov", Bool),
];
spec!(
    MEMBER_POST = [
        m("address", Ip),
        m("protocol_port", PORT),
        MEMBER_COMMON[0],
        MEMBER_COMMON[1],
        MEMBER_COMMON[2],
        MEMBER_COMMON[3],
        MEMBER_COMMON[4],
        MEMBER_COMMON[5],
        MEMBER_COMMON[6],
        MEMBER_COMMON[7],
        MEMBER_COMMON[8],
        PROJECT,
    ]
);
spec!(
    MEMBER_SINGLE = [
        m("address", Ip),
        m("protocol_port", PORT),
        MEMBER_COMMON[0],
        MEMBER_COMMON[1],
        MEMBER_COMMON[2],
        MEMBER_COMMON[3],
        MEMBER_COMMON[4],
        MEMBER_COMMON[5],
        MEMBER_COMMON[6],
        MEMBER_COMMON[7],
        MEMBER_COMMON[8],
    ]
);
spec!(
    MEMBER_PUT = [
        NAME,
        ADMIN,
        f("weight", Int(0, 256)),
        f("backup", Bool),
        f("monitor_port", PORT),
        f("monitor_address", Ip),
        TAGS,
    ]
);

// Health monitors.
const HM_OPTIONAL: [Field; 8] = [
    f("max_retries_down", Int(1, 10)),
    f("http_method", Enum(HTTP_METHODS)),
    f("url_path", StrCheck(2048, check_url_path)),
    f("expected_codes", StrCheck(64, check_expected_codes)),
    f("http_version", HttpVersion),
    f("domain_name", StrCheck(255, check_domain_name)),
    NAME,
    ADMIN,
];
spec!(
    HM_POST = [
        m("pool_id", Uuid),
        m("type", Enum(HM_TYPES)),
        m("delay", Int(0, i64::MAX)),
        m("timeout", Int(0, i64::MAX)),
        m("max_retries", Int(1, 10)),
        HM_OPTIONAL[0],
        HM_OPTIONAL[1],
        HM_OPTIONAL[2],
        HM_OPTIONAL[3],
        HM_OPTIONAL[4],
        HM_OPTIONAL[5],
        HM_OPTIONAL[6],
        HM_OPTIONAL[7],
        TAGS,
        PROJECT,
    ]
);
spec!(
    HM_SINGLE = [
        m("type", Enum(HM_TYPES)),
        m("delay", Int(0, i64::MAX)),
        m("timeout", Int(0, i64::MAX)),
        m("max_retries", Int(1, 10)),
        HM_OPTIONAL[0],
        HM_OPTIONAL[1],
        HM_OPTIONAL[2],
        HM_OPTIONAL[3],
        HM_OPTIONAL[4],
        HM_OPTIONAL[5],
        HM_OPTIONAL[6],
        HM_OPTIONAL[7],
        TAGS,
    ]
);
spec!(
    HM_PUT = [
        f("delay", Int(0, i64::MAX)),
        f("timeout", Int(0, i64::MAX)),
        f("max_retries", Int(1, 10)),
        HM_OPTIONAL[0],
        HM_OPTIONAL[1],
        HM_OPTIONAL[2],
        HM_OPTIONAL[3],
        HM_OPTIONAL[4],
        HM_OPTIONAL[5],
        HM_OPTIONAL[6],
        HM_OPTIONAL[7],
        TAGS,
    ]
);

// Pools.
spec!(
    SESSION_PERSISTENCE = [
        m("type", Enum(SESSION_PERSISTENCE_TYPES)),
        f("cookie_name", StrCheck(255, check_cookie_name)),
        f("persistence_timeout", Int(i64::MIN, i64::MAX)),
        f("persistence_granularity", Ip),
    ]
);
spec!(
    SESSION_PERSISTENCE_PUT = [
        f("type", Enum(SESSION_PERSISTENCE_TYPES)),
        f("cookie_name", StrCheck(255, check_cookie_name)),
        f("persistence_timeout", Int(i64::MIN, i64::MAX)),
        f("persistence_granularity", Ip),
    ]
);
const POOL_TLS: [Field; 7] = [
    f("tls_enabled", Bool),
    f("tls_container_ref", Str(255)),
    f("ca_tls_container_ref", Str(255)),
    f("crl_container_ref", Str(255)),
    f("tls_ciphers", Str(2048)),
    f("tls_versions", StrList(32)),
    f("alpn_protocols", StrListCheck(32, check_alpn)),
];
spec!(
    POOL_POST = [
        f("loadbalancer_id", Uuid),
        f("listener_id", Uuid),
        m("protocol", Enum(POOL_PROTOCOLS)),
        m("lb_algorithm", Enum(LB_ALGORITHMS)),
        NAME,
        DESCRIPTION,
        ADMIN,
        f("session_persistence", Obj(SESSION_PERSISTENCE)),
        TAGS,
        POOL_TLS[0],
        POOL_TLS[1],
        POOL_TLS[2],
        POOL_TLS[3],
        POOL_TLS[4],
        POOL_TLS[5],
        POOL_TLS[6],
        PROJECT,
    ]
);
spec!(
    POOL_SINGLE = [
        f("protocol", Enum(POOL_PROTOCOLS)),
        f("lb_algorithm", Enum(LB_ALGORITHMS)),
        NAME,
        DESCRIPTION,
        ADMIN,
        f("session_persistence", Obj(SESSION_PERSISTENCE)),
        f("healthmonitor", Obj(HM_SINGLE)),
        f("members", ObjList(MEMBER_SINGLE)),
        TAGS,
        POOL_TLS[0],
        POOL_TLS[1],
        POOL_TLS[2],
        POOL_TLS[3],
        POOL_TLS[4],
        POOL_TLS[5],
        POOL_TLS[6],
    ]
);
spec!(
    POOL_PUT = [
        NAME,
        DESCRIPTION,
        ADMIN,
        f("lb_algorithm", Enum(LB_ALGORITHMS)),
        f("session_persistence", Obj(SESSION_PERSISTENCE_PUT)),
        TAGS,
        POOL_TLS[0],
        POOL_TLS[1],
        POOL_TLS[2],
        POOL_TLS[3],
        POOL_TLS[4],
        POOL_TLS[5],
        POOL_TLS[6],
    ]
);

// L7 rules and policies.
const RULE_FIELDS: [Field; 7] = [
    m("type", Enum(L7_RULE_TYPES)),
    m("compare_type", Enum(L7_COMPARE_TYPES)),
    f("key", StrCheck(255, check_single_line)),
    m("value", StrCheck(255, check_single_line)),
    f("invert", Bool),
    ADMIN,
    TAGS,
];
spec!(
    RULE_POST = [
        RULE_FIELDS[0],
        RULE_FIELDS[1],
        RULE_FIELDS[2],
        RULE_FIELDS[3],
        RULE_FIELDS[4],
        RULE_FIELDS[5],
        RULE_FIELDS[6],
        PROJECT,
    ]
);
spec!(
    RULE_SINGLE = [
        RULE_FIELDS[0],
        RULE_FIELDS[1],
        RULE_FIELDS[2],
        RULE_FIELDS[3],
        RULE_FIELDS[4],
        RULE_FIELDS[5],
        RULE_FIELDS[6],
    ]
);
spec!(
    RULE_PUT = [
        f("type", Enum(L7_RULE_TYPES)),
        f("compare_type", Enum(L7_COMPARE_TYPES)),
        f("key", StrCheck(255, check_single_line)),
        f("value", StrCheck(255, check_single_line)),
        f("invert", Bool),
        ADMIN,
        TAGS,
    ]
);
const POLICY_COMMON: [Field; 8] = [
    f("redirect_url", StrCheck(255, check_url)),
    f("redirect_prefix", StrCheck(255, check_url)),
    f("redirect_http_code", IntEnum(REDIRECT_CODES)),
    f("position", Int(1, 2_147_483_647)),
    NAME,
    DESCRIPTION,
    ADMIN,
    TAGS,
];
spec!(
    POLICY_POST = [
        m("listener_id", Uuid),
        m("action", Enum(L7_ACTIONS)),
        f("redirect_pool_id", Uuid),
        POLICY_COMMON[0],
        POLICY_COMMON[1],
        POLICY_COMMON[2],
        POLICY_COMMON[3],
        f("rules", ObjList(RULE_SINGLE)),
        POLICY_COMMON[4],
        POLICY_COMMON[5],
        POLICY_COMMON[6],
        POLICY_COMMON[7],
        PROJECT,
    ]
);
spec!(
    POLICY_SINGLE = [
        m("action", Enum(L7_ACTIONS)),
        f("redirect_pool", Obj(POOL_SINGLE)),
        POLICY_COMMON[0],
        POLICY_COMMON[1],
        POLICY_COMMON[2],
        POLICY_COMMON[3],
        f("rules", ObjList(RULE_SINGLE)),
        POLICY_COMMON[4],
        POLICY_COMMON[5],
        POLICY_COMMON[6],
        POLICY_COMMON[7],
    ]
);
spec!(
    POLICY_PUT = [
        f("action", Enum(L7_ACTIONS)),
        f("redirect_pool_id", Uuid),
        POLICY_COMMON[0],
        POLICY_COMMON[1],
        POLICY_COMMON[2],
        POLICY_COMMON[3],
        POLICY_COMMON[4],
        POLICY_COMMON[5],
        POLICY_COMMON[6],
        POLICY_COMMON[7],
    ]
);

// Listeners.
const LISTENER_COMMON: [Field; 24] = [
    NAME,
    DESCRIPTION,
    ADMIN,
    f("connection_limit", Int(-1, i64::MAX)),
    f("default_tls_container_ref", Str(255)),
    f("sni_container_refs", StrList(255)),
    f("default_pool_id", Uuid),
    f("insert_headers", StrDict),
    f("timeout_client_data", TIMEOUT),
    f("timeout_member_connect", TIMEOUT),
    f("timeout_member_data", TIMEOUT),
    f("timeout_tcp_inspect", TIMEOUT),
    TAGS,
    f("client_ca_tls_container_ref", Str(255)),
    f("client_authentication", Enum(CLIENT_AUTH)),
    f("client_crl_container_ref", Str(255)),
    f("allowed_cidrs", CidrList),
    f("tls_ciphers", Str(2048)),
    f("tls_versions", StrList(32)),
    f("alpn_protocols", StrListCheck(32, check_alpn)),
    f("hsts_max_age", Int(0, i64::MAX)),
    f("hsts_include_subdomains", Bool),
    f("hsts_preload", Bool),
    PROJECT,
];
const fn listener_spec<const N: usize>(head: [Field; 3]) -> [Field; N] {
    let mut out = [NAME; N];
    let mut i = 0;
    while i < 3 {
        out[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < 24 {
        out[3 + j] = LISTENER_COMMON[j];
        j += 1;
    }
    out
}
pub const LISTENER_POST: &[Field] = &listener_spec::<27>([
    m("loadbalancer_id", Uuid),
    m("protocol", Enum(LISTENER_PROTOCOLS)),
    m("protocol_port", PORT),
]);
const LISTENER_SINGLE_ARR: [Field; 26] = {
    let base: [Field; 27] = listener_spec::<27>([
        m("protocol", Enum(LISTENER_PROTOCOLS)),
        m("protocol_port", PORT),
        f("default_pool", Obj(POOL_SINGLE)),
    ]);
    // Drop project_id (the last field) and add l7policies in its place.
    let mut out = [NAME; 26];
    let mut i = 0;
    while i < 26 {
        out[i] = base[i];
        i += 1;
    }
    out[25] = f("l7policies", ObjList(POLICY_SINGLE));
    out
};
pub const LISTENER_SINGLE: &[Field] = &LISTENER_SINGLE_ARR;
const LISTENER_PUT_ARR: [Field; 23] = {
    let mut out = [NAME; 23];
    let mut i = 0;
    while i < 23 {
        out[i] = LISTENER_COMMON[i];
        i += 1;
    }
    out
};
pub const LISTENER_PUT: &[Field] = &LISTENER_PUT_ARR;

// Load balancers.
spec!(
    ADDITIONAL_VIP = [
        m("subnet_id", Uuid),
        f("ip_address", Ip),
        f("port_id", Uuid)
    ]
);
spec!(
    LB_POST = [
        NAME,
        DESCRIPTION,
        ADMIN,
        f("vip_address", Ip),
        f("vip_port_id", Uuid),
        f("vip_subnet_id", Uuid),
        f("vip_network_id", Uuid),
        f("vip_qos_policy_id", Uuid),
        f("vip_sg_ids", UuidList),
        f("additional_vips", ObjList(ADDITIONAL_VIP)),
        PROJECT,
        f("listeners", ObjList(LISTENER_SINGLE)),
        f("pools", ObjList(POOL_SINGLE)),
        f("provider", Str(64)),
        f("flavor_id", Uuid),
        f("availability_zone", Str(255)),
        TAGS,
    ]
);
spec!(
    LB_PUT = [
        NAME,
        DESCRIPTION,
        f("vip_qos_policy_id", Uuid),
        ADMIN,
        f("vip_sg_ids", UuidList),
        TAGS,
    ]
);

// Quotas.
const QUOTA: crate::schema::Ty = Int(-1, 2_000_000_000);
spec!(
    QUOTA_PUT = [
        f("loadbalancer", QUOTA),
        f("load_balancer", QUOTA),
        f("listener", QUOTA),
        f("member", QUOTA),
        f("pool", QUOTA),
        f("healthmonitor", QUOTA),
        f("health_monitor", QUOTA),
        f("l7policy", QUOTA),
        f("l7rule", QUOTA),
    ]
);

// Flavors and availability zones.
spec!(
    FLAVOR_POST = [
        m("name", Str(255)),
        DESCRIPTION,
        f("enabled", Bool),
        m("flavor_profile_id", Uuid)
    ]
);
spec!(FLAVOR_PUT = [NAME, DESCRIPTION, f("enabled", Bool)]);
spec!(
    FLAVORPROFILE_POST = [
        m("name", Str(255)),
        m("provider_name", Str(255)),
        m("flavor_data", Str(4096))
    ]
);
spec!(
    FLAVORPROFILE_PUT = [
        NAME,
        f("provider_name", Str(255)),
        f("flavor_data", Str(4096))
    ]
);
spec!(
    AZ_POST = [
        m("name", Str(255)),
        DESCRIPTION,
        f("enabled", Bool),
        m("availability_zone_profile_id", Uuid),
    ]
);
spec!(AZ_PUT = [DESCRIPTION, f("enabled", Bool)]);
spec!(
    AZPROFILE_POST = [
        m("name", Str(255)),
        m("provider_name", Str(255)),
        m("availability_zone_data", Str(4096)),
    ]
);
spec!(
    AZPROFILE_PUT = [
        NAME,
        f("provider_name", Str(255)),
        f("availability_zone_data", Str(4096))
    ]
);
