//! Every semantic check of a resource against its protocol and its tree, with Octavia's
//! texts, in one module as Octavia keeps them in `validate.py`: TLS settings shared by
//! listeners and pools, inserted headers, allowed CIDRs against the VIPs, default and
//! redirect pools, session persistence, additional VIPs, monitors against their pool, and
//! L7 policies' and rules' arguments. The decoder has checked each field's type and range.

use super::*;
use model::protocol::{ClientAuthentication, TLS_VERSIONS};
use model::resource::{LoadBalancerCreate, Persistence, Redirect};
use model::{
    EngineKind, HealthMonitor, L7Action, L7Rule, L7RuleType, Listener, ListenerProtocol,
    MonitorType, Patch, PersistenceType, Pool, PoolProtocol, X_SSL_HEADERS,
};

const HEADERS: &[&str] = &[
    "X-Forwarded-For",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "X-Forwarded-IP",
    "X-Client-IP",
    "X-Real-IP",
];
/// UDP-CONNECT monitors check at most this often (seconds).
const UDP_CONNECT_MIN_DELAY: u64 = 3;

/// Whether a listener check is of a new listener or of one merged with a PUT (the HSTS
/// texts differ, as Octavia's `check_hsts_options` and `check_hsts_options_put` do).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Create,
    Update,
}

/// A listener (new, or merged with an update) against its protocol and tree.
pub fn listener(tree: &Tree, l: &Listener, stage: Stage) -> ApiResult<()> {
    let protocol = l.protocol;
    insert_headers(l)?;
    engine_serves(tree.load_balancer().engine, protocol)?;
    let client_refs =
        l.client_ca_tls_container_ref.is_some() || l.client_crl_container_ref.is_some();
    let refs = l.has_certificate_refs() || client_refs;
    if protocol.is_lvs() && refs {
        return Err(ApiError::validation(format!(
            "{protocol} protocol listener does not support TLS."
        )));
    }
    if !l.terminates_tls() && refs && protocol != ListenerProtocol::Prometheus {
        return Err(ApiError::validation(format!(
            "Certificate container references are not allowed on {protocol} protocol listeners."
        )));
    }
    if protocol == ListenerProtocol::TerminatedHttps && !l.has_certificate_refs() {
        return Err(ApiError::validation(format!(
            "An SNI or default certificate container reference must be provided for {protocol} protocol listeners."
        )));
    }
    let ca = l.client_ca_tls_container_ref.is_some();
    if l.client_authentication != ClientAuthentication::None && !ca {
        return Err(ApiError::validation(format!(
            "Client authentication setting {} requires a client CA container reference.",
            l.client_authentication
        )));
    }
    if l.client_crl_container_ref.is_some() && !ca {
        return Err(ApiError::validation(
            "A client authentication CA reference is required to specify a client authentication revocation list.",
        ));
    }
    if let Some(versions) = &l.tls_versions {
        if versions.is_empty() && l.terminates_tls() {
            return Err(empty_tls_versions());
        }
        invalid_tls_versions(versions)?;
    }
    if l.terminates_tls() {
        alpn_list(l.alpn_protocols.as_ref())?;
    }
    hsts(l, stage)?;
    if let Some(pool_id) = &l.default_pool_id {
        default_pool(tree, protocol, pool_id)?;
    }
    if let Some(cidrs) = &l.allowed_cidrs {
        allowed_cidrs(tree, cidrs)?;
    }
    Ok(())
}

fn insert_headers(l: &Listener) -> ApiResult<()> {
    if l.insert_headers.is_empty() {
        return Ok(());
    }
    let protocol = l.protocol;
    if protocol.is_lvs() {
        return Err(ApiError::validation(format!(
            "{protocol} protocol listener does not support TLS."
        )));
    }
    if !protocol.is_http() {
        return Err(ApiError::bad_request(format!(
            "insert-headers is not a valid option for a {protocol} protocol listener."
        )));
    }
    for key in l.insert_headers.keys() {
        let ssl = X_SSL_HEADERS.contains(&key.as_str());
        if ssl && protocol != ListenerProtocol::TerminatedHttps {
            return Err(ApiError::invalid_option(
                X_SSL_HEADERS.join(", "),
                &format!("{protocol} protocol listener."),
            ));
        }
        if !ssl && !HEADERS.contains(&key.as_str()) {
            return Err(ApiError::invalid_option(key, "insert_headers"));
        }
    }
    Ok(())
}

/// `validate.check_hsts_options` (create) / `check_hsts_options_put` (update).
fn hsts(l: &Listener, stage: Stage) -> ApiResult<()> {
    if (l.hsts_include_subdomains || l.hsts_preload) && l.hsts_max_age.is_none() {
        return Err(ApiError::validation(match stage {
            Stage::Create => "HSTS configuration options hsts_include_subdomains and hsts_preload only make sense if hsts_max_age is set as well.",
            Stage::Update => "Cannot enable hsts_include_subdomains or hsts_preload if hsts_max_age was not set as well.",
        }));
    }
    if l.hsts_max_age.is_some() && l.protocol != ListenerProtocol::TerminatedHttps {
        return Err(ApiError::validation(
            "The HSTS feature can only be used for listeners using the TERMINATED_HTTPS protocol.",
        ));
    }
    Ok(())
}

fn empty_tls_versions() -> ApiError {
    ApiError::validation("Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default.")
}

fn invalid_tls_versions(versions: &[String]) -> ApiResult<()> {
    let bad: Vec<&str> = versions
        .iter()
        .map(String::as_str)
        .filter(|v| !TLS_VERSIONS.contains(v))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Invalid TLS versions: {}",
            bad.join(", ")
        )))
    }
}

/// `validate.check_tls_version_list` on a list a request gives (null: the default applies).
pub fn tls_versions(versions: Option<&Vec<String>>) -> ApiResult<()> {
    match versions {
        None => Ok(()),
        Some(v) if v.is_empty() => Err(empty_tls_versions()),
        Some(v) => invalid_tls_versions(v),
    }
}

/// `validate.check_alpn_protocols`; each value was checked while decoding.
pub fn alpn_list(protocols: Option<&Vec<String>>) -> ApiResult<()> {
    if protocols.is_some_and(Vec::is_empty) {
        return Err(ApiError::validation("Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default."));
    }
    Ok(())
}

fn child_objects_refused() -> ApiError {
    ApiError::bad_request("Protocol PROMETHEUS listeners cannot have child objects.")
}

fn pool_protocol_mismatch(pool: PoolProtocol, listener: ListenerProtocol) -> ApiError {
    ApiError::validation(format!(
        "The pool protocol '{pool}' is invalid while the listener protocol is '{listener}'."
    ))
}

/// A listener's default pool: a pool of its load balancer that its protocol takes.
pub fn default_pool(tree: &Tree, protocol: ListenerProtocol, pool_id: &str) -> ApiResult<()> {
    if protocol == ListenerProtocol::Prometheus {
        return Err(child_objects_refused());
    }
    let pool = tree
        .typed::<Pool>(pool_id)
        .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))?;
    if !protocol.takes(pool.protocol) {
        return Err(pool_protocol_mismatch(pool.protocol, protocol));
    }
    Ok(())
}

/// A pool made the default pool of `listener` at its creation.
pub fn pool_of_listener(tree: &Tree, listener_id: &str, pool: PoolProtocol) -> ApiResult<()> {
    let l = tree
        .typed::<Listener>(listener_id)
        .ok_or_else(|| ApiError::not_found(Kind::Listener, listener_id))?;
    if l.protocol == ListenerProtocol::Prometheus {
        return Err(child_objects_refused());
    }
    if !l.protocol.takes(pool) {
        return Err(pool_protocol_mismatch(pool, l.protocol));
    }
    if l.default_pool_id.is_some() {
        return Err(ApiError::conflict(
            "This listener already has a default pool",
        ));
    }
    Ok(())
}

/// Allowed CIDRs must share an IP version with some VIP.
fn allowed_cidrs(tree: &Tree, cidrs: &[ipnet::IpNet]) -> ApiResult<()> {
    let vips: Vec<&model::IpAddress> = tree.load_balancer().vips().collect();
    for cidr in cidrs {
        let v6 = matches!(cidr, ipnet::IpNet::V6(_));
        if !vips.is_empty() && !vips.iter().any(|vip| vip.ip().is_ipv6() == v6) {
            let list = vips
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::validation(format!(
                "CIDR {cidr} IP version incompatible with all VIPs [{list}] IP version."
            )));
        }
    }
    Ok(())
}

/// Session persistence against the pool's protocol (reference §4.3), then
/// `validate.check_session_persistence`. Octavia tests the attributes for truth
/// (`persistence_timeout: 0` counts as absent); its PUT text for persistence_timeout and
/// granularity on other pools names UDP only.
pub fn persistence(protocol: PoolProtocol, sp: &Persistence, stage: Stage) -> ApiResult<()> {
    let cookie = sp.cookie_name.as_deref().unwrap_or_default();
    let timeout = sp.persistence_timeout.is_some_and(|t| t != 0);
    let granularity = sp.persistence_granularity.is_some();
    if protocol.is_lvs() {
        if sp.kind == PersistenceType::SourceIp && !cookie.is_empty() {
            return Err(ApiError::validation(
                "session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: type, persistence_timeout, persistence_granularity.",
            ));
        }
        if !cookie.is_empty() {
            return Err(ApiError::validation(
                "Cookie names are not supported for UDP/SCTP pools.",
            ));
        }
        if matches!(
            sp.kind,
            PersistenceType::HttpCookie | PersistenceType::AppCookie
        ) {
            return Err(ApiError::validation(format!(
                "Session persistence of type {} is not supported for UDP/SCTP protocol pools.",
                sp.kind
            )));
        }
    } else if timeout || granularity {
        let protocols = match stage {
            Stage::Create => "UDP and SCTP",
            Stage::Update => "UDP",
        };
        return Err(ApiError::validation(format!(
            "persistence_timeout and persistence_granularity is only for {protocols} protocol pools."
        )));
    }
    if !cookie.is_empty() {
        if sp.kind != PersistenceType::AppCookie {
            return Err(ApiError::validation("Field \"cookie_name\" can only be specified with session persistence of type \"APP_COOKIE\"."));
        }
        let bad = |c: char| matches!(c, '\x00'..='\x20' | '"' | '(' | ')' | ',' | '/' | ':'..='@' | '['..=']' | '{' | '}' | '\x7f');
        if cookie.chars().any(bad) || !cookie.chars().any(|c| (c as u32) <= 0xff) {
            return Err(ApiError::validation("Supplied \"cookie_name\" is invalid."));
        }
    }
    if sp.kind == PersistenceType::AppCookie && cookie.is_empty() {
        return Err(ApiError::validation("Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type."));
    }
    Ok(())
}

/// One address per subnet: the VIP's and each additional VIP's subnets differ.
pub fn additional_vips(body: &LoadBalancerCreate) -> ApiResult<()> {
    let Some(vips) = body.additional_vips.value() else {
        return Ok(());
    };
    let mut subnets: Vec<&str> = body
        .vip_subnet_id
        .value()
        .map(String::as_str)
        .into_iter()
        .collect();
    for v in vips {
        if subnets.contains(&v.subnet_id.as_str()) {
            return Err(ApiError::validation(
                "Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet.",
            ));
        }
        subnets.push(&v.subnet_id);
    }
    Ok(())
}

/// A monitor against its pool's protocol: the type, UDP-CONNECT's minimum delay (when a
/// delay is given), the HTTP attributes only HTTP(S) monitors take (`http_given`: method,
/// URL path, expected codes set by the request; None skips), and a domain name's HTTP
/// version.
pub fn monitor(
    pool: PoolProtocol,
    kind: MonitorType,
    delay: Option<u64>,
    http_given: Option<[(&str, bool); 3]>,
    domain_name: Option<&str>,
    http_version: Option<f64>,
) -> ApiResult<()> {
    if pool.is_lvs() {
        if !pool.takes_monitor(kind) {
            return Err(ApiError::validation(format!(
                "The associated pool protocol is {pool}, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."
            )));
        }
        if let Some(delay) =
            delay.filter(|d| kind == MonitorType::UdpConnect && *d < UDP_CONNECT_MIN_DELAY)
        {
            return Err(ApiError::validation(format!(
                "The request delay value {delay} should be larger than {UDP_CONNECT_MIN_DELAY} for {kind} health monitor type."
            )));
        }
    } else if !pool.takes_monitor(kind) {
        return Err(ApiError::validation(format!(
            "The {kind} type is only supported for pools of type UDP/SCTP."
        )));
    }
    if !kind.is_http() {
        for (key, given) in http_given.into_iter().flatten() {
            if given {
                return Err(ApiError::invalid_option(
                    key,
                    &format!("health monitors of type {kind}"),
                ));
            }
        }
    }
    if domain_name.is_some() {
        match http_version {
            None => {
                return Err(ApiError::validation(
                    "'http_version' must be specified when 'domain_name' is provided.",
                ))
            }
            Some(v) if v < 1.1 => {
                return Err(ApiError::invalid_option(
                    format!("http_version {v:?}"),
                    "health monitors HTTP 1.1 domain name health check",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A monitor merged with its update, as a new one would be checked.
pub fn merged_monitor(pool: PoolProtocol, hm: &HealthMonitor) -> ApiResult<()> {
    monitor(
        pool,
        hm.kind,
        Some(hm.delay),
        None,
        hm.domain_name.as_deref(),
        hm.http_version,
    )
}

fn l7_arguments(msg: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid L7 Policy arguments: {msg}"))
}

/// `validate.sanitize_l7policy_api_args`: the action and the redirect attributes imply and
/// clear each other.
pub fn l7policy_redirect(r: &mut Redirect) -> ApiResult<()> {
    let text = |p: &Patch<String>| p.value().is_some_and(|s| !s.is_empty());
    let to_pool = |r: &Redirect| text(&r.redirect_pool_id) || r.redirect_pool.value().is_some();
    if let Some(action) = r.action.value().copied() {
        match action {
            L7Action::Reject => {
                r.redirect_url = Patch::Null;
                r.redirect_pool_id = Patch::Null;
                r.redirect_pool = Patch::Absent;
            }
            L7Action::RedirectToUrl => {
                if !text(&r.redirect_url) {
                    return Err(l7_arguments("redirect_url must not be None"));
                }
                r.redirect_pool_id = Patch::Null;
                r.redirect_pool = Patch::Absent;
            }
            L7Action::RedirectToPool => {
                if !to_pool(r) {
                    return Err(l7_arguments(
                        "redirect_pool_id or redirect_pool must not be None",
                    ));
                }
                r.redirect_url = Patch::Null;
            }
            L7Action::RedirectPrefix => {
                if !text(&r.redirect_prefix) {
                    return Err(l7_arguments("redirect_prefix must not be None"));
                }
            }
        }
    }
    let pool = to_pool(r);
    if pool && (text(&r.redirect_url) || text(&r.redirect_prefix)) {
        return Err(l7_arguments(
            "Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time",
        ));
    }
    if pool {
        r.action = Patch::Set(L7Action::RedirectToPool);
        r.redirect_url = Patch::Null;
        r.redirect_prefix = Patch::Null;
        r.redirect_http_code = Patch::Null;
    }
    if text(&r.redirect_url) {
        r.action = Patch::Set(L7Action::RedirectToUrl);
        r.redirect_pool_id = Patch::Null;
        r.redirect_prefix = Patch::Null;
        r.redirect_pool = Patch::Absent;
        if r.redirect_http_code.value().is_none() {
            r.redirect_http_code = Patch::Set(302);
        }
    }
    if text(&r.redirect_prefix) {
        r.action = Patch::Set(L7Action::RedirectPrefix);
        r.redirect_pool_id = Patch::Null;
        r.redirect_url = Patch::Null;
        r.redirect_pool = Patch::Absent;
        if r.redirect_http_code.value().is_none() {
            r.redirect_http_code = Patch::Set(302);
        }
    }
    if r.action.value() == Some(&L7Action::Reject) {
        r.redirect_prefix = Patch::Null;
        r.redirect_http_code = Patch::Null;
    }
    Ok(())
}

/// A policy's listener: one that may have child objects; its protocol.
pub fn policy_listener(tree: &Tree, listener_id: &str) -> ApiResult<ListenerProtocol> {
    let l = tree
        .typed::<Listener>(listener_id)
        .ok_or_else(|| ApiError::not_found(Kind::Listener, listener_id))?;
    if l.protocol == ListenerProtocol::Prometheus {
        return Err(child_objects_refused());
    }
    Ok(l.protocol)
}

/// A policy's redirect pool: a pool of the load balancer its listener's protocol takes.
pub fn redirect_pool(tree: &Tree, listener: ListenerProtocol, pool_id: &str) -> ApiResult<()> {
    let pool = tree
        .typed::<Pool>(pool_id)
        .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))?;
    if !listener.takes(pool.protocol) {
        return Err(pool_protocol_mismatch(pool.protocol, listener));
    }
    Ok(())
}

fn rule_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Error parsing L7Rule: {msg}"))
}

fn header_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+,-.^_`|~".contains(&b))
}

fn header_value_ok(s: &str) -> bool {
    let plain = !s.is_empty() && s.bytes().all(|b| (b'!'..=b'~').contains(&b));
    let quoted = s.len() >= 2
        && s.starts_with('"')
        && s.ends_with('"')
        && s.bytes().all(|b| (b' '..=b'~').contains(&b) || b == b'\t');
    plain || quoted
}

fn cookie_value_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && !b"\";\\".contains(&b))
}

/// `validate.l7rule_data` (reference §5.4), with Octavia's checks in Octavia's order.
pub fn l7rule(rule: &L7Rule) -> ApiResult<()> {
    use model::CompareType::{EqualTo, Regex};
    let (kind, compare, value) = (rule.kind, rule.compare_type, rule.value.as_str());
    let key = rule.key.as_deref().unwrap_or_default();
    let invalid = |msg: &str| rule_error(format!("Invalid L7 Rule: {msg}"));
    if value.is_empty() {
        return Err(invalid("L7 rule type requires a value"));
    }
    let regex_ok = || {
        regex::Regex::new(value)
            .map(|_| ())
            .map_err(|e| rule_error(format!("Unable to parse regular expression: {e}")))
    };
    // `validate.header_name` / `header_value_string` / `cookie_value_string` (InvalidString).
    let chars = |ok: fn(&str) -> bool, s: &str, what: &str| {
        if ok(s) {
            Ok(())
        } else {
            Err(rule_error(format!("Invalid characters in {what}")))
        }
    };
    let no_key = || {
        if key.is_empty() {
            Ok(())
        } else {
            Err(invalid(&format!(
                "L7rule type {kind} does not use the \"key\" field."
            )))
        }
    };
    let equal_to_only = || {
        if compare == EqualTo {
            Ok(())
        } else {
            Err(invalid(&format!(
                "L7rule type {kind} only supports the EQUAL_TO compare type."
            )))
        }
    };
    match kind {
        L7RuleType::Header | L7RuleType::Cookie => {
            if key.is_empty() {
                return Err(invalid("L7 rule type requires a key"));
            }
            chars(header_name_ok, key, "key")?;
            if compare == Regex {
                regex_ok()
            } else if kind == L7RuleType::Header {
                chars(header_value_ok, value, "header value")
            } else {
                chars(cookie_value_ok, value, "cookie value")
            }
        }
        L7RuleType::HostName | L7RuleType::Path if compare == Regex => regex_ok(),
        L7RuleType::HostName | L7RuleType::Path => {
            chars(header_value_ok, value, "comparison value")
        }
        L7RuleType::FileType => match compare {
            Regex => regex_ok(),
            EqualTo => chars(header_value_ok, value, "comparison value"),
            _ => Err(invalid("invalid comparison type for rule type")),
        },
        L7RuleType::SslConnHasCert => {
            no_key()?;
            if value.to_lowercase() != "true" {
                return Err(invalid(&format!(
                    "L7rule value {value} is not a boolean True string."
                )));
            }
            equal_to_only()
        }
        L7RuleType::SslVerifyResult => {
            no_key()?;
            // `str.isdigit()`: no sign, no blanks.
            if !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!(
                    "L7rule type {kind} needs a int value, which is >= 0"
                )));
            }
            equal_to_only()
        }
        L7RuleType::SslDnField => {
            if compare == Regex {
                regex_ok()?;
            }
            // `DISTINGUISHED_NAME_FIELD_REGEX`: `^([a-zA-Z][A-Za-z0-9-]*)$`.
            let key_ok = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if key.is_empty() {
                Err(invalid(&format!(
                    "L7rule type {kind} needs to specify a key and a value."
                )))
            } else if !key_ok {
                Err(invalid("Invalid L7rule distinguished name field."))
            } else {
                Ok(())
            }
        }
    }
}

/// A rule PUT that nulls its type: Octavia's text for a type it does not know.
pub fn l7rule_type_given(kind: &Patch<L7RuleType>) -> ApiResult<()> {
    if kind.is_null() {
        return Err(rule_error("Invalid L7 Rule: invalid rule type"));
    }
    Ok(())
}

/// A listener protocol the load balancer's engine (its flavor's choice) cannot serve:
/// haproxy has no UDP or SCTP (Octavia's amphora serves those with LVS, not HAProxy).
pub fn engine_serves(engine: Option<EngineKind>, protocol: ListenerProtocol) -> ApiResult<()> {
    if engine == Some(EngineKind::Haproxy) && protocol.is_lvs() {
        return Err(ApiError::bad_request(format!(
            "The haproxy engine of this load balancer's flavor does not serve {protocol} \
             listeners (Octavia serves them with LVS, not HAProxy): use a flavor whose engine \
             is native."
        )));
    }
    Ok(())
}

/// Why this deployment cannot serve `engine` (the flavor's), if it cannot.
pub fn engine_available(
    flavor_id: &str,
    engine: EngineKind,
    unavailable: &[(EngineKind, String)],
) -> ApiResult<()> {
    match unavailable.iter().find(|(e, _)| *e == engine) {
        Some((_, reason)) => Err(ApiError::bad_request(format!(
            "Flavor '{flavor_id}' asks for the {engine} engine, which this deployment's \
             amphora driver cannot serve: {reason}"
        ))),
        None => Ok(()),
    }
}

/// A profile's data document against the provider's schema, as the amphora driver's
/// JSON-schema check reports the first fault: keys it does not know, then each known key's
/// type, then its allowed values. The message is jsonschema's, values in Python's repr.
pub fn profile_document(
    document: &serde_json::Map<String, Value>,
    capabilities: &[super::providers::Capability],
) -> Result<(), String> {
    use super::providers::Holds;
    let unknown: Vec<String> = document
        .keys()
        .filter(|k| !capabilities.iter().any(|c| c.name == k.as_str()))
        .map(|k| python_repr(&Value::String(k.clone())))
        .collect();
    if !unknown.is_empty() {
        let verb = if unknown.len() == 1 { "was" } else { "were" };
        return Err(format!(
            "Additional properties are not allowed ({} {verb} unexpected)",
            unknown.join(", ")
        ));
    }
    for c in capabilities {
        let Some(value) = document.get(c.name) else {
            continue;
        };
        let (fits, type_name) = match c.holds {
            Holds::Text | Holds::OneOf(_) => (value.is_string(), "string"),
            Holds::Flag => (value.is_boolean(), "boolean"),
            Holds::List => (value.is_array(), "array"),
        };
        let shown = python_repr(value);
        if !fits {
            return Err(format!("{} {shown} is not of type '{type_name}'", c.name));
        }
        if let Holds::OneOf(allowed) = c.holds {
            if !allowed.iter().any(|a| value.as_str() == Some(*a)) {
                let listed: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
                return Err(format!(
                    "{} {shown} is not one of [{}]",
                    c.name,
                    listed.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// A JSON value as Python's `repr` shows it once decoded (jsonschema's messages use it).
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let quote = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(quote);
            for ch in s.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        Value::Array(items) => {
            let shown: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", shown.join(", "))
        }
        Value::Object(map) => {
            let shown: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        python_repr(&Value::String(k.clone())),
                        python_repr(v)
                    )
                })
                .collect();
            format!("{{{}}}", shown.join(", "))
        }
    }
}
