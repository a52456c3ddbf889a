//! Tree → `AmphoraConfig`: the whole data plane of one load balancer as the worker hands it
//! to each amphora. Pure: what a stored object says is typed here, and a value that does not
//! fit its type is an error with the reason, never a guess.

use model::status::{ERROR, PENDING_DELETE};
use model::{
    AmphoraConfig, CertificateBundle, Kind, L7PolicyConfig, L7RuleConfig, ListenerConfig,
    ListenerProtocol, ListenerTls, MemberConfig, MonitorConfig, PoolConfig, PoolTls, Resource,
    SessionPersistence, Tree,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The configuration the amphorae of `tree`'s load balancer should serve at `generation`.
/// Objects on their way out (PENDING_DELETE) are left out, and so are listeners and L7
/// policies in ERROR: one the data plane refused or could not bind is not served until it is
/// changed again, and does not hold up the rest of the load balancer. Pools are in when a
/// listener uses them (as HAProxy renders only used backends).
pub fn build(tree: &Tree, generation: u64) -> Result<AmphoraConfig, String> {
    let lb = tree.lb();
    let mut vips = vec![ip(lb, "vip_address")?];
    if let Value::Array(extra) = lb.get("additional_vips") {
        for v in extra {
            let addr = v["ip_address"].as_str().unwrap_or_default();
            vips.push(
                addr.parse()
                    .map_err(|_| format!("additional VIP '{addr}' is not an IP address"))?,
            );
        }
    }
    let live = |r: &&Resource| r.provisioning_status != PENDING_DELETE;
    let mut listeners = Vec::new();
    let mut used_pools: Vec<String> = Vec::new();
    for l in tree
        .children(Kind::Listener, &lb.id)
        .filter(live)
        .filter(|l| l.provisioning_status != ERROR)
    {
        let listener = listener(tree, l)?;
        for pool in tree.listener_pools(&l.id) {
            if !used_pools.contains(&pool) {
                used_pools.push(pool);
            }
        }
        listeners.push(listener);
    }
    let mut pools = Vec::new();
    for p in tree.children(Kind::Pool, &lb.id).filter(live) {
        if used_pools.contains(&p.id) {
            pools.push(pool(tree, p)?);
        }
    }
    Ok(AmphoraConfig {
        lb_id: lb.id.clone(),
        generation,
        vips,
        listeners,
        pools,
    })
}

/// A TERMINATED_HTTPS listener's TLS settings, with its certificate refs; the worker loads
/// the PEMs (`certificates::load`).
fn tls(l: &Resource) -> ListenerTls {
    let bundle = |reference: &str| CertificateBundle {
        reference: reference.to_string(),
        ..CertificateBundle::default()
    };
    let text = |k: &str| l.str(k).map(str::to_string);
    ListenerTls {
        default_certificate: l.str("default_tls_container_ref").map(bundle),
        sni_certificates: strings(l.get("sni_container_refs"))
            .iter()
            .map(|r| bundle(r))
            .collect(),
        versions: strings(l.get("tls_versions")),
        ciphers: text("tls_ciphers"),
        alpn_protocols: strings(l.get("alpn_protocols")),
        client_authentication: text("client_authentication").unwrap_or_else(|| "NONE".into()),
        client_ca_ref: text("client_ca_tls_container_ref"),
        client_ca_pem: None,
        client_crl_ref: text("client_crl_container_ref"),
        client_crl_pem: None,
        hsts_max_age: l.get("hsts_max_age").as_u64(),
        hsts_include_subdomains: l.flag("hsts_include_subdomains"),
        hsts_preload: l.flag("hsts_preload"),
    }
}

fn listener(tree: &Tree, l: &Resource) -> Result<ListenerConfig, String> {
    let protocol = parse(l, "protocol")?;
    let mut config = ListenerConfig::new(&l.id, protocol, uint(l, "protocol_port")?, None);
    config.admin_state_up = l.enabled();
    config.connection_limit = l.int("connection_limit").unwrap_or(-1);
    for (key, slot) in [
        ("timeout_client_data", &mut config.timeout_client_data),
        ("timeout_member_connect", &mut config.timeout_member_connect),
        ("timeout_member_data", &mut config.timeout_member_data),
        ("timeout_tcp_inspect", &mut config.timeout_tcp_inspect),
    ] {
        if !l.get(key).is_null() {
            *slot = uint(l, key)?;
        }
    }
    config.allowed_cidrs = strings(l.get("allowed_cidrs"));
    if let Value::Object(headers) = l.get("insert_headers") {
        config.insert_headers = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect::<BTreeMap<_, _>>();
    }
    config.default_pool_id = l.str("default_pool_id").map(str::to_string);
    if protocol == ListenerProtocol::TerminatedHttps {
        config.tls = Some(tls(l));
    }
    let mut policies: Vec<&Resource> = tree
        .children(Kind::L7Policy, &l.id)
        .filter(|p| p.provisioning_status != PENDING_DELETE)
        .collect();
    policies.sort_by_key(|p| p.int("position").unwrap_or(i64::MAX));
    for p in policies {
        config.l7policies.push(policy(tree, p)?);
    }
    Ok(config)
}

fn policy(tree: &Tree, p: &Resource) -> Result<L7PolicyConfig, String> {
    let mut rules = Vec::new();
    for r in tree
        .children(Kind::L7Rule, &p.id)
        .filter(|r| r.provisioning_status != PENDING_DELETE)
    {
        rules.push(L7RuleConfig {
            id: r.id.clone(),
            rule_type: parse(r, "type")?,
            compare_type: parse(r, "compare_type")?,
            key: r.str("key").map(str::to_string),
            value: r.str("value").unwrap_or_default().to_string(),
            invert: r.get("invert").as_bool().unwrap_or(false),
            admin_state_up: r.enabled(),
        });
    }
    Ok(L7PolicyConfig {
        id: p.id.clone(),
        action: parse(p, "action")?,
        position: uint(p, "position")?,
        admin_state_up: p.enabled() && p.provisioning_status != ERROR,
        redirect_pool_id: p.str("redirect_pool_id").map(str::to_string),
        redirect_url: p.str("redirect_url").map(str::to_string),
        redirect_prefix: p.str("redirect_prefix").map(str::to_string),
        redirect_http_code: opt_uint(p, "redirect_http_code")?,
        rules,
    })
}

fn pool(tree: &Tree, p: &Resource) -> Result<PoolConfig, String> {
    let mut config = PoolConfig::new(&p.id, parse(p, "protocol")?, parse(p, "lb_algorithm")?);
    config.admin_state_up = p.enabled();
    config.tls_enabled = p.get("tls_enabled").as_bool().unwrap_or(false);
    if config.tls_enabled {
        let text = |k: &str| p.str(k).map(str::to_string);
        config.tls = Some(PoolTls {
            client_certificate: p.str("tls_container_ref").map(|r| CertificateBundle {
                reference: r.to_string(),
                ..CertificateBundle::default()
            }),
            ca_ref: text("ca_tls_container_ref"),
            ca_pem: None,
            crl_ref: text("crl_container_ref"),
            crl_pem: None,
            versions: strings(p.get("tls_versions")),
            ciphers: text("tls_ciphers"),
            alpn_protocols: strings(p.get("alpn_protocols")),
        });
    }
    if let Value::Object(sp) = p.get("session_persistence") {
        let kind = sp.get("type").and_then(Value::as_str).unwrap_or_default();
        config.session_persistence = Some(SessionPersistence {
            kind: kind
                .parse()
                .map_err(|_| format!("pool {}: unknown session persistence '{kind}'", p.id))?,
            cookie_name: sp
                .get("cookie_name")
                .and_then(Value::as_str)
                .map(str::to_string),
            persistence_timeout: sp.get("persistence_timeout").and_then(Value::as_u64),
            persistence_granularity: sp
                .get("persistence_granularity")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    for m in tree
        .children(Kind::Member, &p.id)
        .filter(|m| m.provisioning_status != PENDING_DELETE)
    {
        let mut member = MemberConfig::new(&m.id, ip(m, "address")?, uint(m, "protocol_port")?);
        member.weight = m.int("weight").map_or(Ok(1), |_| uint(m, "weight"))?;
        member.backup = m.get("backup").as_bool().unwrap_or(false);
        member.admin_state_up = m.enabled();
        if m.str("monitor_address").is_some() {
            member.monitor_address = Some(ip(m, "monitor_address")?);
        }
        member.monitor_port = opt_uint(m, "monitor_port")?;
        config.members.push(member);
    }
    if let Some(hm) = tree
        .pool_monitor(&p.id)
        .filter(|h| h.provisioning_status != PENDING_DELETE)
    {
        let mut monitor = MonitorConfig::new(
            &hm.id,
            parse(hm, "type")?,
            uint(hm, "delay")?,
            uint(hm, "timeout")?,
            uint(hm, "max_retries")?,
        );
        if !hm.get("max_retries_down").is_null() {
            monitor.max_retries_down = uint(hm, "max_retries_down")?;
        }
        monitor.admin_state_up = hm.enabled();
        monitor.http_method = hm.str("http_method").map(str::to_string);
        monitor.url_path = hm.str("url_path").map(str::to_string);
        monitor.expected_codes = hm.str("expected_codes").map(str::to_string);
        monitor.http_version = match hm.get("http_version") {
            Value::Number(n) => Some(format!("{:.1}", n.as_f64().unwrap_or(1.0))),
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        monitor.domain_name = hm.str("domain_name").map(str::to_string);
        config.healthmonitor = Some(monitor);
    }
    Ok(config)
}

fn parse<T: std::str::FromStr>(r: &Resource, key: &str) -> Result<T, String> {
    let value = r.str(key).unwrap_or_default();
    value
        .parse()
        .map_err(|_| format!("{} {}: unknown {key} '{value}'", r.kind, r.id))
}

fn ip(r: &Resource, key: &str) -> Result<IpAddr, String> {
    parse(r, key)
}

fn uint<T: TryFrom<i64>>(r: &Resource, key: &str) -> Result<T, String> {
    let bad = || format!("{} {}: {key} {} is out of range", r.kind, r.id, r.get(key));
    let n = r.int(key).ok_or_else(bad)?;
    T::try_from(n).map_err(|_| bad())
}

fn opt_uint<T: TryFrom<i64>>(r: &Resource, key: &str) -> Result<Option<T>, String> {
    if r.get(key).is_null() {
        return Ok(None);
    }
    uint(r, key).map(Some)
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::status::*;
    use model::{ListenerProtocol, MonitorType};
    use serde_json::json;

    fn obj(kind: Kind, id: &str, parent: &str, attrs: Value) -> Resource {
        let mut r = Resource::new(kind, id.into());
        r.lb_id = Some("lb".into());
        r.parent_id = Some(parent.into());
        r.provisioning_status = ACTIVE.into();
        r.attrs = attrs.as_object().unwrap().clone();
        r
    }

    fn tree() -> Tree {
        let mut lb = obj(
            Kind::LoadBalancer,
            "lb",
            "",
            json!({"vip_address": "127.10.0.5", "additional_vips": [{"ip_address": "::1"}]}),
        );
        lb.parent_id = None;
        Tree::from_rows(vec![
            lb,
            obj(
                Kind::Listener,
                "l",
                "lb",
                json!({"protocol": "HTTP", "protocol_port": 80,
                "connection_limit": -1, "timeout_client_data": 14400000, "timeout_member_connect": null,
                "allowed_cidrs": ["10.0.0.0/8"], "insert_headers": {"X-Forwarded-For": "true"},
                "default_pool_id": "p", "admin_state_up": true}),
            ),
            obj(
                Kind::Pool,
                "p",
                "lb",
                json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "session_persistence": null, "admin_state_up": true}),
            ),
            obj(
                Kind::Pool,
                "unused",
                "lb",
                json!({"protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}),
            ),
            obj(
                Kind::Member,
                "m1",
                "p",
                json!({"address": "127.0.0.11", "protocol_port": 80, "weight": 3,
                "backup": false, "monitor_address": null, "monitor_port": null}),
            ),
            obj(
                Kind::Member,
                "m2",
                "p",
                json!({"address": "127.0.0.12", "protocol_port": 80, "weight": 1,
                "monitor_address": "127.0.0.13", "monitor_port": 8080, "admin_state_up": false}),
            ),
            obj(
                Kind::HealthMonitor,
                "hm",
                "p",
                json!({"type": "HTTP", "delay": 1, "timeout": 1,
                "max_retries": 2, "max_retries_down": 3, "http_method": "GET", "url_path": "/",
                "expected_codes": "200", "http_version": 1.1}),
            ),
        ])
    }

    #[test]
    fn a_tree_becomes_the_typed_document() {
        let c = build(&tree(), 42).unwrap();
        assert_eq!(c.generation, 42);
        assert_eq!(
            c.vips,
            vec![
                "127.10.0.5".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        let l = &c.listeners[0];
        assert_eq!(l.protocol, ListenerProtocol::Http);
        assert_eq!((l.protocol_port, l.timeout_client_data), (80, 14_400_000));
        assert_eq!(
            l.timeout_member_connect, 5_000,
            "null keeps Octavia's default"
        );
        assert_eq!(l.allowed_cidrs, vec!["10.0.0.0/8"]);
        assert_eq!(l.insert_headers["X-Forwarded-For"], "true");
        assert_eq!(c.pools.len(), 1, "a pool no listener uses is not rendered");
        let p = &c.pools[0];
        assert_eq!(p.members.len(), 2);
        assert_eq!(p.members[0].weight, 3);
        assert!(!p.members[1].admin_state_up);
        assert_eq!(p.members[1].monitor_port, Some(8080));
        let hm = p.healthmonitor.as_ref().unwrap();
        assert_eq!(hm.kind, MonitorType::Http);
        assert_eq!(hm.http_version.as_deref(), Some("1.1"));
    }

    #[test]
    fn objects_being_deleted_are_left_out() {
        let mut t = tree();
        t.get_mut("m2").unwrap().set_status(PENDING_DELETE);
        t.get_mut("hm").unwrap().set_status(PENDING_DELETE);
        let c = build(&t, 1).unwrap();
        assert_eq!(c.pools[0].members.len(), 1);
        assert!(c.pools[0].healthmonitor.is_none());
        t.get_mut("l").unwrap().set_status(PENDING_DELETE);
        let c = build(&t, 2).unwrap();
        assert!(c.listeners.is_empty() && c.pools.is_empty());
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_not_a_guess() {
        let mut t = tree();
        t.get_mut("hm").unwrap().set("delay", json!(-5));
        assert!(build(&t, 1)
            .unwrap_err()
            .contains("delay -5 is out of range"));
        let mut t = tree();
        t.get_mut("p").unwrap().set("lb_algorithm", json!("RANDOM"));
        assert!(build(&t, 1)
            .unwrap_err()
            .contains("unknown lb_algorithm 'RANDOM'"));
        let mut t = tree();
        t.get_mut("m1").unwrap().set("protocol_port", json!(70000));
        assert!(build(&t, 1).is_err());
    }
}
