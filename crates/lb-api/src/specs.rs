//! The request types of every resource (Octavia's `octavia/api/v2/types/*.py`) as field specs.

use front::schema::{f, m, Field, Spec, Ty::*};
use model::protocol::{
    ClientAuthentication, CompareType, L7Action, L7RuleType, LbAlgorithm, ListenerProtocol,
    MonitorType, PersistenceType, PoolProtocol, ALPN_PROTOCOLS, HTTP_METHODS, REDIRECT_CODES,
};

const NAME: Field = f("name", Str(255));
const DESCRIPTION: Field = f("description", Str(255));
const ADMIN: Field = f("admin_state_up", Bool);
const TAGS: Field = f("tags", StrList(255));
const PROJECT: Field = f("project_id", Str(36));
const PORT: front::schema::Ty = Int(1, 65535);
const TIMEOUT: front::schema::Ty = Int(0, 2_073_600_000);

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

// Each request type is a list of field groups in WSME's attribute order; a group that several
// types share is written once and named.

// Members.
const MEMBER_ADDRESS: &[Field] = &[m("address", Ip), m("protocol_port", PORT)];
const MEMBER_COMMON: &[Field] = &[
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
pub const MEMBER_POST: Spec = Spec(&[MEMBER_ADDRESS, MEMBER_COMMON, &[PROJECT]]);
pub const MEMBER_SINGLE: Spec = Spec(&[MEMBER_ADDRESS, MEMBER_COMMON]);
pub const MEMBER_PUT: Spec = Spec(&[&[
    NAME,
    ADMIN,
    f("weight", Int(0, 256)),
    f("backup", Bool),
    f("monitor_port", PORT),
    f("monitor_address", Ip),
    TAGS,
]]);

// Health monitors.
const HM_TIMING: &[Field] = &[
    m("delay", Int(0, i64::MAX)),
    m("timeout", Int(0, i64::MAX)),
    m("max_retries", Int(1, 10)),
];
const HM_TIMING_PUT: &[Field] = &[
    f("delay", Int(0, i64::MAX)),
    f("timeout", Int(0, i64::MAX)),
    f("max_retries", Int(1, 10)),
];
const HM_OPTIONAL: &[Field] = &[
    f("max_retries_down", Int(1, 10)),
    f("http_method", Enum(HTTP_METHODS)),
    f("url_path", StrCheck(2048, check_url_path)),
    f("expected_codes", StrCheck(64, check_expected_codes)),
    f("http_version", HttpVersion),
    f("domain_name", StrCheck(255, check_domain_name)),
    NAME,
    ADMIN,
    TAGS,
];
const HM_TYPE: &[Field] = &[m("type", Enum(MonitorType::NAMES))];
pub const HM_POST: Spec = Spec(&[
    &[m("pool_id", Uuid)],
    HM_TYPE,
    HM_TIMING,
    HM_OPTIONAL,
    &[PROJECT],
]);
pub const HM_SINGLE: Spec = Spec(&[HM_TYPE, HM_TIMING, HM_OPTIONAL]);
pub const HM_PUT: Spec = Spec(&[HM_TIMING_PUT, HM_OPTIONAL]);

// Pools.
const PERSISTENCE_DETAILS: &[Field] = &[
    f("cookie_name", StrCheck(255, check_cookie_name)),
    f("persistence_timeout", Int(i64::MIN, i64::MAX)),
    f("persistence_granularity", Ip),
];
pub const SESSION_PERSISTENCE: Spec = Spec(&[
    &[m("type", Enum(PersistenceType::NAMES))],
    PERSISTENCE_DETAILS,
]);
pub const SESSION_PERSISTENCE_PUT: Spec = Spec(&[
    &[f("type", Enum(PersistenceType::NAMES))],
    PERSISTENCE_DETAILS,
]);
const POOL_TLS: &[Field] = &[
    f("tls_enabled", Bool),
    f("tls_container_ref", Str(255)),
    f("ca_tls_container_ref", Str(255)),
    f("crl_container_ref", Str(255)),
    f("tls_ciphers", Str(2048)),
    f("tls_versions", StrList(32)),
    f("alpn_protocols", StrListCheck(32, check_alpn)),
];
const POOL_DESCRIBED: &[Field] = &[
    NAME,
    DESCRIPTION,
    ADMIN,
    f("session_persistence", Obj(&SESSION_PERSISTENCE)),
];
pub const POOL_POST: Spec = Spec(&[
    &[
        f("loadbalancer_id", Uuid),
        f("listener_id", Uuid),
        m("protocol", Enum(PoolProtocol::NAMES)),
        m("lb_algorithm", Enum(LbAlgorithm::NAMES)),
    ],
    POOL_DESCRIBED,
    &[TAGS],
    POOL_TLS,
    &[PROJECT],
]);
pub const POOL_SINGLE: Spec = Spec(&[
    &[
        f("protocol", Enum(PoolProtocol::NAMES)),
        f("lb_algorithm", Enum(LbAlgorithm::NAMES)),
    ],
    POOL_DESCRIBED,
    &[
        f("healthmonitor", Obj(&HM_SINGLE)),
        f("members", ObjList(&MEMBER_SINGLE)),
        TAGS,
    ],
    POOL_TLS,
]);
pub const POOL_PUT: Spec = Spec(&[
    &[
        NAME,
        DESCRIPTION,
        ADMIN,
        f("lb_algorithm", Enum(LbAlgorithm::NAMES)),
        f("session_persistence", Obj(&SESSION_PERSISTENCE_PUT)),
        TAGS,
    ],
    POOL_TLS,
]);

// L7 rules and policies.
const RULE_FIELDS: &[Field] = &[
    m("type", Enum(L7RuleType::NAMES)),
    m("compare_type", Enum(CompareType::NAMES)),
    f("key", StrCheck(255, check_single_line)),
    m("value", StrCheck(255, check_single_line)),
    f("invert", Bool),
    ADMIN,
    TAGS,
];
pub const RULE_POST: Spec = Spec(&[RULE_FIELDS, &[PROJECT]]);
pub const RULE_SINGLE: Spec = Spec(&[RULE_FIELDS]);
pub const RULE_PUT: Spec = Spec(&[&[
    f("type", Enum(L7RuleType::NAMES)),
    f("compare_type", Enum(CompareType::NAMES)),
    f("key", StrCheck(255, check_single_line)),
    f("value", StrCheck(255, check_single_line)),
    f("invert", Bool),
    ADMIN,
    TAGS,
]]);
const POLICY_REDIRECT: &[Field] = &[
    f("redirect_url", StrCheck(255, check_url)),
    f("redirect_prefix", StrCheck(255, check_url)),
    f("redirect_http_code", IntEnum(REDIRECT_CODES)),
    f("position", Int(1, 2_147_483_647)),
];
const POLICY_DESCRIBED: &[Field] = &[NAME, DESCRIPTION, ADMIN, TAGS];
const POLICY_RULES: &[Field] = &[f("rules", ObjList(&RULE_SINGLE))];
pub const POLICY_POST: Spec = Spec(&[
    &[
        m("listener_id", Uuid),
        m("action", Enum(L7Action::NAMES)),
        f("redirect_pool_id", Uuid),
    ],
    POLICY_REDIRECT,
    POLICY_RULES,
    POLICY_DESCRIBED,
    &[PROJECT],
]);
pub const POLICY_SINGLE: Spec = Spec(&[
    &[
        m("action", Enum(L7Action::NAMES)),
        f("redirect_pool", Obj(&POOL_SINGLE)),
    ],
    POLICY_REDIRECT,
    POLICY_RULES,
    POLICY_DESCRIBED,
]);
pub const POLICY_PUT: Spec = Spec(&[
    &[
        f("action", Enum(L7Action::NAMES)),
        f("redirect_pool_id", Uuid),
    ],
    POLICY_REDIRECT,
    POLICY_DESCRIBED,
]);

// Listeners.
const LISTENER_COMMON: &[Field] = &[
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
    f("client_authentication", Enum(ClientAuthentication::NAMES)),
    f("client_crl_container_ref", Str(255)),
    f("allowed_cidrs", CidrList),
    f("tls_ciphers", Str(2048)),
    f("tls_versions", StrList(32)),
    f("alpn_protocols", StrListCheck(32, check_alpn)),
    f("hsts_max_age", Int(0, i64::MAX)),
    f("hsts_include_subdomains", Bool),
    f("hsts_preload", Bool),
];
const LISTENER_PORT: &[Field] = &[
    m("protocol", Enum(ListenerProtocol::NAMES)),
    m("protocol_port", PORT),
];
pub const LISTENER_POST: Spec = Spec(&[
    &[m("loadbalancer_id", Uuid)],
    LISTENER_PORT,
    LISTENER_COMMON,
    &[PROJECT],
]);
pub const LISTENER_SINGLE: Spec = Spec(&[
    LISTENER_PORT,
    &[f("default_pool", Obj(&POOL_SINGLE))],
    LISTENER_COMMON,
    &[f("l7policies", ObjList(&POLICY_SINGLE))],
]);
pub const LISTENER_PUT: Spec = Spec(&[LISTENER_COMMON]);

// Load balancers.
pub const ADDITIONAL_VIP: Spec = Spec(&[&[
    m("subnet_id", Uuid),
    f("ip_address", Ip),
    f("port_id", Uuid),
]]);
pub const LB_POST: Spec = Spec(&[&[
    NAME,
    DESCRIPTION,
    ADMIN,
    f("vip_address", Ip),
    f("vip_port_id", Uuid),
    f("vip_subnet_id", Uuid),
    f("vip_network_id", Uuid),
    f("vip_qos_policy_id", Uuid),
    f("vip_sg_ids", UuidList),
    f("additional_vips", ObjList(&ADDITIONAL_VIP)),
    PROJECT,
    f("listeners", ObjList(&LISTENER_SINGLE)),
    f("pools", ObjList(&POOL_SINGLE)),
    f("provider", Str(64)),
    f("flavor_id", Uuid),
    f("availability_zone", Str(255)),
    TAGS,
]]);
pub const LB_PUT: Spec = Spec(&[&[
    NAME,
    DESCRIPTION,
    f("vip_qos_policy_id", Uuid),
    ADMIN,
    f("vip_sg_ids", UuidList),
    TAGS,
]]);

// Quotas.
const QUOTA: front::schema::Ty = Int(-1, 2_000_000_000);
pub const QUOTA_PUT: Spec = Spec(&[&[
    f("loadbalancer", QUOTA),
    f("load_balancer", QUOTA),
    f("listener", QUOTA),
    f("member", QUOTA),
    f("pool", QUOTA),
    f("healthmonitor", QUOTA),
    f("health_monitor", QUOTA),
    f("l7policy", QUOTA),
    f("l7rule", QUOTA),
]]);

// Flavors and availability zones.
const ENABLED: Field = f("enabled", Bool);
pub const FLAVOR_POST: Spec = Spec(&[&[
    m("name", Str(255)),
    DESCRIPTION,
    ENABLED,
    m("flavor_profile_id", Uuid),
]]);
pub const FLAVOR_PUT: Spec = Spec(&[&[NAME, DESCRIPTION, ENABLED]]);
pub const FLAVORPROFILE_POST: Spec = Spec(&[&[
    m("name", Str(255)),
    m("provider_name", Str(255)),
    m("flavor_data", Str(4096)),
]]);
pub const FLAVORPROFILE_PUT: Spec = Spec(&[&[
    NAME,
    f("provider_name", Str(255)),
    f("flavor_data", Str(4096)),
]]);
pub const AZ_POST: Spec = Spec(&[&[
    m("name", Str(255)),
    DESCRIPTION,
    ENABLED,
    m("availability_zone_profile_id", Uuid),
]]);
pub const AZ_PUT: Spec = Spec(&[&[DESCRIPTION, ENABLED]]);
pub const AZPROFILE_POST: Spec = Spec(&[&[
    m("name", Str(255)),
    m("provider_name", Str(255)),
    m("availability_zone_data", Str(4096)),
]]);
pub const AZPROFILE_PUT: Spec = Spec(&[&[
    NAME,
    f("provider_name", Str(255)),
    f("availability_zone_data", Str(4096)),
]]);
