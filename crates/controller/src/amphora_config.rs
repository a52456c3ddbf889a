//! Tree → `AmphoraConfig`: the whole data plane of one load balancer as the worker hands it
//! to each amphora. Total: every value the API accepted has its place in the document, so
//! the conversion cannot fail (the engine may still refuse what it cannot serve, with its
//! reason).

use model::{
    AmphoraConfig, CertificateBundle, HealthMonitor, L7Policy, L7PolicyConfig, L7Rule,
    L7RuleConfig, Listener, ListenerConfig, ListenerProtocol, ListenerTls, Member, MemberConfig,
    MonitorConfig, Pool, PoolConfig, PoolTls, ProvisioningStatus, Resource, SessionPersistence,
    Tree,
};

/// The configuration the amphorae of `tree`'s load balancer should serve at `generation`.
/// Objects on their way out (PENDING_DELETE) are left out, and so are listeners and L7
/// policies in ERROR: one the data plane refused or could not bind is not served until it is
/// changed again, and does not hold up the rest of the load balancer. Pools are in when a
/// listener uses them (as HAProxy renders only used backends).
pub fn build(tree: &Tree, generation: u64) -> AmphoraConfig {
    let lb = tree.lb();
    let vips = tree.load_balancer().vips().map(|v| v.ip()).collect();
    let live = |r: &Resource| r.provisioning_status != ProvisioningStatus::PendingDelete;
    let mut listeners = Vec::new();
    let mut used_pools: Vec<String> = Vec::new();
    for (r, l) in tree.children_of::<Listener>(&lb.id) {
        if !live(r) || r.provisioning_status == ProvisioningStatus::Error {
            continue;
        }
        for pool in tree.listener_pools(&r.id) {
            if !used_pools.contains(&pool) {
                used_pools.push(pool);
            }
        }
        listeners.push(listener(tree, r, l));
    }
    let pools = tree
        .children_of::<Pool>(&lb.id)
        .filter(|(r, _)| live(r) && used_pools.contains(&r.id))
        .map(|(r, p)| pool(tree, r, p))
        .collect();
    AmphoraConfig {
        lb_id: lb.id.clone(),
        generation,
        vips,
        listeners,
        pools,
        plumbing: None,
        vrrp: None,
        engine: Default::default(),
    }
}

/// A certificate the worker loads from the key manager before handing the document over.
fn to_load(reference: &str) -> CertificateBundle {
    CertificateBundle {
        reference: reference.to_string(),
        ..CertificateBundle::default()
    }
}

/// A TERMINATED_HTTPS listener's TLS settings, with its certificate refs; the worker loads
/// the PEMs (`certificates::load`).
fn tls(l: &Listener) -> ListenerTls {
    ListenerTls {
        default_certificate: l.default_tls_container_ref.as_deref().map(to_load),
        sni_certificates: l.sni_container_refs.iter().map(|r| to_load(r)).collect(),
        versions: l.tls_versions.clone().unwrap_or_default(),
        ciphers: l.tls_ciphers.clone(),
        alpn_protocols: l.alpn_protocols.clone().unwrap_or_default(),
        client_authentication: l.client_authentication,
        client_ca_ref: l.client_ca_tls_container_ref.clone(),
        client_ca_pem: None,
        client_crl_ref: l.client_crl_container_ref.clone(),
        client_crl_pem: None,
        hsts_max_age: l.hsts_max_age,
        hsts_include_subdomains: l.hsts_include_subdomains,
        hsts_preload: l.hsts_preload,
    }
}

fn listener(tree: &Tree, r: &Resource, l: &Listener) -> ListenerConfig {
    let mut config = ListenerConfig::new(&r.id, l.protocol, l.protocol_port, None);
    config.admin_state_up = l.admin_state_up;
    config.connection_limit = l.connection_limit;
    config.timeout_client_data = l.timeout_client_data.into();
    config.timeout_member_connect = l.timeout_member_connect.into();
    config.timeout_member_data = l.timeout_member_data.into();
    config.timeout_tcp_inspect = l.timeout_tcp_inspect.into();
    config.allowed_cidrs = l
        .allowed_cidrs
        .iter()
        .flatten()
        .map(ToString::to_string)
        .collect();
    config.insert_headers = l
        .insert_headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    config.default_pool_id = l.default_pool_id.clone();
    if l.protocol == ListenerProtocol::TerminatedHttps {
        config.tls = Some(tls(l));
    }
    config.l7policies = tree
        .policies_in_order(&r.id)
        .iter()
        .filter_map(|id| tree.get(id))
        .filter(|p| p.provisioning_status != ProvisioningStatus::PendingDelete)
        .filter_map(|p| Some(policy(tree, p, p.get::<L7Policy>()?)))
        .collect();
    config
}

fn policy(tree: &Tree, r: &Resource, p: &L7Policy) -> L7PolicyConfig {
    let rules = tree
        .children_of::<L7Rule>(&r.id)
        .filter(|(rule, _)| rule.provisioning_status != ProvisioningStatus::PendingDelete)
        .map(|(rule, l7)| L7RuleConfig {
            id: rule.id.clone(),
            rule_type: l7.kind,
            compare_type: l7.compare_type,
            key: l7.key.clone(),
            value: l7.value.clone(),
            invert: l7.invert,
            admin_state_up: l7.admin_state_up,
        })
        .collect();
    L7PolicyConfig {
        id: r.id.clone(),
        action: p.action,
        position: p.position,
        admin_state_up: p.admin_state_up && r.provisioning_status != ProvisioningStatus::Error,
        redirect_pool_id: p.redirect_pool_id.clone(),
        redirect_url: p.redirect_url.clone(),
        redirect_prefix: p.redirect_prefix.clone(),
        redirect_http_code: p.redirect_http_code,
        rules,
    }
}

fn pool(tree: &Tree, r: &Resource, p: &Pool) -> PoolConfig {
    let mut config = PoolConfig::new(&r.id, p.protocol, p.lb_algorithm);
    config.admin_state_up = p.admin_state_up;
    config.tls_enabled = p.tls_enabled;
    if p.tls_enabled {
        config.tls = Some(PoolTls {
            client_certificate: p.tls_container_ref.as_deref().map(to_load),
            ca_ref: p.ca_tls_container_ref.clone(),
            ca_pem: None,
            crl_ref: p.crl_container_ref.clone(),
            crl_pem: None,
            versions: p.tls_versions.clone().unwrap_or_default(),
            ciphers: p.tls_ciphers.clone(),
            alpn_protocols: p.alpn_protocols.clone().unwrap_or_default(),
        });
    }
    config.session_persistence = p.session_persistence.as_ref().map(|sp| SessionPersistence {
        kind: sp.kind,
        cookie_name: sp.cookie_name.clone(),
        // A negative timeout is Octavia's default, as an unset one.
        persistence_timeout: sp.persistence_timeout.and_then(|t| u64::try_from(t).ok()),
        persistence_granularity: sp.persistence_granularity.as_ref().map(|g| g.to_string()),
    });
    config.members = tree
        .children_of::<Member>(&r.id)
        .filter(|(m, _)| m.provisioning_status != ProvisioningStatus::PendingDelete)
        .map(|(m, member)| {
            let mut c = MemberConfig::new(&m.id, member.address.ip(), member.protocol_port);
            c.weight = member.weight.into();
            c.backup = member.backup;
            c.admin_state_up = member.admin_state_up;
            c.monitor_address = member.monitor_address.as_ref().map(|a| a.ip());
            c.monitor_port = member.monitor_port;
            c
        })
        .collect();
    config.healthmonitor = tree
        .children_of::<HealthMonitor>(&r.id)
        .find(|(h, _)| h.provisioning_status != ProvisioningStatus::PendingDelete)
        .map(|(h, hm)| monitor(&h.id, hm));
    config
}

fn monitor(id: &str, hm: &HealthMonitor) -> MonitorConfig {
    let mut monitor = MonitorConfig::new(id, hm.kind, hm.delay, hm.timeout, hm.max_retries.into());
    monitor.max_retries_down = hm.max_retries_down.into();
    monitor.admin_state_up = hm.admin_state_up;
    monitor.http_method = hm.http_method.clone();
    monitor.url_path = hm.url_path.clone();
    monitor.expected_codes = hm.expected_codes.clone();
    monitor.http_version = hm.http_version.map(|v| format!("{v:.1}"));
    monitor.domain_name = hm.domain_name.clone();
    monitor
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Body, Kind, MonitorType, OperatingStatus, ProvisioningStatus};
    use serde_json::{json, Value};
    use std::net::IpAddr;

    fn obj(kind: Kind, id: &str, parent: Option<&str>, attrs: Value) -> Resource {
        Resource {
            id: id.into(),
            lb_id: Some("lb".into()),
            parent_id: parent.map(Into::into),
            project_id: None,
            provisioning_status: ProvisioningStatus::Active,
            operating_status: OperatingStatus::Online,
            created_at: model::now(),
            updated_at: None,
            body: Body::from_json(kind, attrs).expect("test attributes"),
        }
    }

    fn tree() -> Tree {
        Tree::from_rows(vec![
            obj(
                Kind::LoadBalancer,
                "lb",
                None,
                json!({"vip_address": "127.10.0.5", "vip_port_id": "port", "vip_subnet_id": "s",
                       "vip_network_id": "n",
                       "additional_vips": [{"subnet_id": "s2", "ip_address": "::1", "port_id": "x"}]}),
            ),
            obj(
                Kind::Listener,
                "l",
                Some("lb"),
                json!({"protocol": "HTTP", "protocol_port": 80, "connection_limit": -1,
                "timeout_client_data": 14400000, "allowed_cidrs": ["10.0.0.0/8"],
                "insert_headers": {"X-Forwarded-For": "true"}, "default_pool_id": "p"}),
            ),
            obj(
                Kind::Pool,
                "p",
                Some("lb"),
                json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": null}),
            ),
            obj(
                Kind::Pool,
                "unused",
                Some("lb"),
                json!({"protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}),
            ),
            obj(
                Kind::Member,
                "m1",
                Some("p"),
                json!({"address": "127.0.0.11", "protocol_port": 80, "weight": 3}),
            ),
            obj(
                Kind::Member,
                "m2",
                Some("p"),
                json!({"address": "127.0.0.12", "protocol_port": 80, "weight": 1,
                "monitor_address": "127.0.0.13", "monitor_port": 8080, "admin_state_up": false}),
            ),
            obj(
                Kind::HealthMonitor,
                "hm",
                Some("p"),
                json!({"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2,
                "http_method": "GET", "url_path": "/", "expected_codes": "200", "http_version": 1.1}),
            ),
        ])
    }

    #[test]
    fn a_tree_becomes_the_typed_document() {
        let c = build(&tree(), 42);
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
        assert_eq!(l.timeout_member_connect, 5_000, "Octavia's default");
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
        t.lb_mut().set_status(ProvisioningStatus::PendingUpdate);
        t.get_mut("m2")
            .unwrap()
            .set_status(ProvisioningStatus::PendingDelete);
        t.get_mut("hm")
            .unwrap()
            .set_status(ProvisioningStatus::PendingDelete);
        let c = build(&t, 1);
        assert_eq!(c.pools[0].members.len(), 1);
        assert!(c.pools[0].healthmonitor.is_none());
        t.get_mut("l")
            .unwrap()
            .set_status(ProvisioningStatus::PendingDelete);
        let c = build(&t, 2);
        assert!(c.listeners.is_empty() && c.pools.is_empty());
    }
}
