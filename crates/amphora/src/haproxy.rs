//! `AmphoraConfig` rendered as Octavia renders a load balancer for HAProxy (reference §9,
//! `combined_listeners` templates): one frontend per enabled listener, one backend per
//! listener × pool it uses, L7 policies as ACLs with `http-request deny`, `redirect` and
//! `use_backend`.
//!
//! So far it renders what the L7 oracle needs: HTTP and TCP listeners, balance, members
//! (weight, backup, disabled) and L7 policies; health monitors, session persistence, TLS and
//! inserted headers are not rendered yet. It must stay the same text Octavia would write, so
//! that HAProxy's answers are Octavia's.

use model::{
    AmphoraConfig, CompareType, L7Action, L7PolicyConfig, L7RuleConfig, L7RuleType, LbAlgorithm,
    ListenerConfig, ListenerProtocol, PoolConfig,
};
use std::fmt::Write;

/// Octavia's `[haproxy_amphora] default_connection_limit`.
const DEFAULT_CONNECTION_LIMIT: i64 = 50000;

fn mode(protocol: ListenerProtocol) -> &'static str {
    match protocol {
        ListenerProtocol::Http
        | ListenerProtocol::TerminatedHttps
        | ListenerProtocol::Prometheus => "http",
        _ => "tcp",
    }
}

fn limit(l: &ListenerConfig) -> i64 {
    if l.connection_limit > -1 {
        l.connection_limit
    } else {
        DEFAULT_CONNECTION_LIMIT
    }
}

/// `jinja_cfg._escape_haproxy_config_string`: backslashes and spaces are escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace(' ', "\\ ")
}

fn compare(rule: &L7RuleConfig) -> &'static str {
    match rule.compare_type {
        CompareType::Regex => "-m reg",
        CompareType::StartsWith => "-m beg",
        CompareType::EndsWith => "-m end",
        CompareType::Contains => "-m sub",
        CompareType::EqualTo if rule.rule_type == L7RuleType::FileType => "",
        CompareType::EqualTo => "-m str",
    }
}

fn acl(rule: &L7RuleConfig) -> String {
    let key = rule.key.as_deref().unwrap_or_default();
    let (cmp, value) = (compare(rule), escape(&rule.value));
    let fetch = match rule.rule_type {
        L7RuleType::HostName => format!("req.hdr(host) -i {cmp} {value}"),
        L7RuleType::Path => format!("path {cmp} {value}"),
        L7RuleType::FileType => format!("path_end {cmp} {value}"),
        L7RuleType::Header => format!("req.hdr({key}) {cmp} {value}"),
        L7RuleType::Cookie => format!("req.cook({key}) {cmp} {value}"),
        L7RuleType::SslConnHasCert => "ssl_c_used".to_string(),
        L7RuleType::SslVerifyResult => format!("ssl_c_verify eq {value}"),
        L7RuleType::SslDnField => format!("ssl_c_s_dn({key}) {cmp} {value}"),
    };
    format!(
        "    acl {} {}\n",
        rule.id,
        fetch.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

fn policy(out: &mut String, p: &L7PolicyConfig, listener: &ListenerConfig, pools: &[PoolConfig]) {
    let rules: Vec<&L7RuleConfig> = p.rules.iter().filter(|r| r.admin_state_up).collect();
    if !p.admin_state_up || rules.is_empty() {
        return;
    }
    for r in &rules {
        out.push_str(&acl(r));
    }
    let condition: String = rules
        .iter()
        .map(|r| format!(" {}{}", if r.invert { "!" } else { "" }, r.id))
        .collect();
    let code = p
        .redirect_http_code
        .map(|c| format!(" code {c}"))
        .unwrap_or_default();
    let line = match p.action {
        L7Action::Reject => format!("http-request deny if{condition}"),
        L7Action::RedirectToUrl => format!(
            "redirect{code} location {} if{condition}",
            p.redirect_url.as_deref().unwrap_or_default()
        ),
        L7Action::RedirectPrefix => format!(
            "redirect{code} prefix {} if{condition}",
            p.redirect_prefix.as_deref().unwrap_or_default()
        ),
        L7Action::RedirectToPool => {
            let enabled = pools
                .iter()
                .any(|pool| Some(&pool.id) == p.redirect_pool_id.as_ref() && pool.admin_state_up);
            if !enabled {
                return;
            }
            format!(
                "use_backend {}:{} if{condition}",
                p.redirect_pool_id.as_deref().unwrap_or_default(),
                listener.id
            )
        }
    };
    let _ = writeln!(out, "    {line}");
}

fn frontend(out: &mut String, config: &AmphoraConfig, l: &ListenerConfig) {
    let _ = writeln!(out, "\nfrontend {}", l.id);
    let _ = writeln!(out, "    maxconn {}", limit(l));
    for vip in &config.vips {
        let addr = std::net::SocketAddr::new(*vip, l.protocol_port);
        let _ = writeln!(out, "    bind {addr}");
    }
    let _ = writeln!(out, "    mode {}", mode(l.protocol));
    let mut policies: Vec<&L7PolicyConfig> = l.l7policies.iter().collect();
    policies.sort_by_key(|p| p.position);
    for p in policies {
        policy(out, p, l, &config.pools);
    }
    let default = l.default_pool_id.as_ref().filter(|id| {
        config
            .pools
            .iter()
            .any(|p| &&p.id == id && p.admin_state_up)
    });
    if let Some(pool) = default {
        let _ = writeln!(out, "    default_backend {pool}:{}", l.id);
    }
    let _ = writeln!(out, "    timeout client {}", l.timeout_client_data);
}

/// The pools a listener sends to: its default pool and its enabled policies' pools.
fn used_pools<'c>(config: &'c AmphoraConfig, l: &ListenerConfig) -> Vec<&'c PoolConfig> {
    config
        .pools
        .iter()
        .filter(|p| p.admin_state_up)
        .filter(|p| {
            l.default_pool_id.as_ref() == Some(&p.id)
                || l.l7policies
                    .iter()
                    .any(|pol| pol.admin_state_up && pol.redirect_pool_id.as_ref() == Some(&p.id))
        })
        .collect()
}

fn backend(out: &mut String, l: &ListenerConfig, p: &PoolConfig) {
    let _ = writeln!(out, "\nbackend {}:{}", p.id, l.id);
    let pool_mode = match p.protocol {
        model::PoolProtocol::Http => "http",
        model::PoolProtocol::Proxy | model::PoolProtocol::ProxyV2 => mode(l.protocol),
        _ => "tcp",
    };
    let _ = writeln!(out, "    mode {pool_mode}");
    let balance = match p.lb_algorithm {
        LbAlgorithm::LeastConnections => "leastconn",
        LbAlgorithm::SourceIp => "source",
        _ => "roundrobin",
    };
    let _ = writeln!(out, "    balance {balance}");
    let _ = writeln!(out, "    fullconn {}", limit(l));
    out.push_str("    option allbackups\n");
    let _ = writeln!(out, "    timeout connect {}", l.timeout_member_connect);
    let _ = writeln!(out, "    timeout server {}", l.timeout_member_data);
    for m in &p.members {
        let addr = std::net::SocketAddr::new(m.address, m.protocol_port);
        let mut line = format!("    server {} {addr} weight {}", m.id, m.weight);
        if m.backup {
            line.push_str(" backup");
        }
        if !m.admin_state_up {
            line.push_str(" disabled");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The haproxy.cfg of one load balancer.
pub fn render(config: &AmphoraConfig) -> String {
    let listeners: Vec<&ListenerConfig> = config
        .listeners
        .iter()
        .filter(|l| {
            l.admin_state_up
                && !matches!(l.protocol, ListenerProtocol::Udp | ListenerProtocol::Sctp)
        })
        .collect();
    let total: i64 = listeners.iter().map(|l| limit(l)).sum();
    let maxconn = if total > 0 && total < 1_000_000 {
        total
    } else {
        1_000_000
    };
    let mut out = format!(
        "global\n    maxconn {maxconn}\n\ndefaults\n    retries 3\n    option redispatch\n    \
         option splice-request\n    option splice-response\n    option http-keep-alive\n"
    );
    for l in &listeners {
        frontend(&mut out, config, l);
    }
    for l in &listeners {
        for p in used_pools(config, l) {
            backend(&mut out, l, p);
        }
    }
    out
}
