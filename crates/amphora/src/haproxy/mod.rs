//! `AmphoraConfig` rendered as Octavia renders a load balancer for HAProxy (reference §9,
//! `combined_listeners` templates): one frontend per enabled listener, one backend per
//! listener × pool it uses, L7 policies as ACLs with `http-request deny`, `redirect` and
//! `use_backend`.
//!
//! Rendered: HTTP, TCP, HTTPS and TERMINATED_HTTPS listeners (the certificates written to a
//! crt-list, client CA and CRL, versions, ciphers, ALPN, HSTS) and L7 policies here; backends
//! (`backend`: balance, persistence, health monitors, inserted headers, members, HTTPS pools).
//! Left out: the global section's daemon and user (haproxy runs in master-worker mode under
//! its amphora) and logging; `render_served` adds the stats socket and the server-state file
//! of a served haproxy. It must stay the same text Octavia would write, so that HAProxy's
//! answers are Octavia's.

mod backend;
pub mod process;
pub mod stats;

use model::{
    AmphoraConfig, ClientAuthentication, CompareType, L7Action, L7PolicyConfig, L7RuleConfig,
    L7RuleType, ListenerConfig, ListenerProtocol, ListenerTls, PoolConfig,
};
use std::fmt::Write;
use std::path::Path;

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

/// The `ssl …` options of a TLS listener's bind line, its files written under `dir`.
fn tls_bind(l: &ListenerConfig, tls: &ListenerTls, dir: &Path) -> std::io::Result<String> {
    let file = |name: String, content: &str| file(dir, name, content);
    let mut list = String::new();
    for (i, b) in tls
        .default_certificate
        .iter()
        .chain(&tls.sni_certificates)
        .enumerate()
    {
        let pem = format!("{}\n{}", b.certificate_pem.trim_end(), b.private_key_pem);
        list.push_str(&file(format!("{}-{i}.pem", l.id), &pem)?);
        list.push('\n');
    }
    let mut opts = format!(
        " ssl crt-list {}",
        file(format!("{}.crt-list", l.id), &list)?
    );
    if let Some(ca) = &tls.client_ca_pem {
        let verify = match tls.client_authentication {
            ClientAuthentication::Mandatory => "required",
            ClientAuthentication::Optional => "optional",
            ClientAuthentication::None => "none",
        };
        let _ = write!(
            opts,
            " ca-file {} verify {verify}",
            file(format!("{}-ca.pem", l.id), ca)?
        );
        if let Some(crl) = &tls.client_crl_pem {
            let _ = write!(
                opts,
                " crl-file {}",
                file(format!("{}-crl.pem", l.id), crl)?
            );
        }
    }
    if let Some(ciphers) = &tls.ciphers {
        let _ = write!(opts, " ciphers {ciphers}");
    }
    versions_and_alpn(&mut opts, &tls.versions, &tls.alpn_protocols);
    Ok(opts)
}

/// `no-<version>` for each version not listed (when some are), then `alpn`.
fn versions_and_alpn(opts: &mut String, versions: &[String], alpn: &[String]) {
    if !versions.is_empty() {
        for (name, option) in [
            ("SSLv3", "no-sslv3"),
            ("TLSv1", "no-tlsv10"),
            ("TLSv1.1", "no-tlsv11"),
            ("TLSv1.2", "no-tlsv12"),
            ("TLSv1.3", "no-tlsv13"),
        ] {
            if !versions.iter().any(|v| v == name) {
                let _ = write!(opts, " {option}");
            }
        }
    }
    if !alpn.is_empty() {
        let _ = write!(opts, " alpn {}", alpn.join(","));
    }
}

/// A file next to the configuration (0600), named `name`; its path.
fn file(dir: &Path, name: String, content: &str) -> std::io::Result<String> {
    let path = dir.join(name);
    crate::pki::write_private(&path, content)?;
    Ok(path.display().to_string())
}

fn frontend(
    out: &mut String,
    config: &AmphoraConfig,
    l: &ListenerConfig,
    dir: &Path,
) -> std::io::Result<()> {
    let _ = writeln!(out, "\nfrontend {}", l.id);
    let _ = writeln!(out, "    maxconn {}", limit(l));
    if l.protocol == ListenerProtocol::TerminatedHttps {
        out.push_str("    redirect scheme https if !{ ssl_fc }\n");
    }
    if let Some(max_age) = l.tls.as_ref().and_then(|t| t.hsts_max_age) {
        let tls = l.tls.as_ref().expect("checked above");
        let mut value = format!("max-age={max_age};");
        if tls.hsts_include_subdomains {
            value.push_str(" includeSubDomains;");
        }
        if tls.hsts_preload {
            value.push_str(" preload;");
        }
        let _ = writeln!(
            out,
            "    http-response set-header Strict-Transport-Security \"{value}\""
        );
    }
    let ssl = match &l.tls {
        Some(tls) => tls_bind(l, tls, dir)?,
        None => String::new(),
    };
    for vip in &config.vips {
        let addr = std::net::SocketAddr::new(*vip, l.protocol_port);
        let _ = writeln!(out, "    bind {addr}{ssl}");
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
    Ok(())
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

/// The haproxy.cfg of one load balancer; TLS listeners' certificates and CAs are written
/// into `cert_dir` (0600), as Octavia writes them next to the configuration.
pub fn render(config: &AmphoraConfig, cert_dir: &Path) -> std::io::Result<String> {
    render_with(config, cert_dir, None)
}

/// The haproxy.cfg amphora `amphora_id` serves from `dir`: `render`'s, with what Octavia's
/// amphora adds for a running haproxy (its stats socket, the server-state file a reload
/// starts from, and for one of a pair the peers its stick tables are shared with).
pub fn render_served(
    config: &AmphoraConfig,
    dir: &Path,
    amphora_id: &str,
) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    render_with(config, dir, Some((dir, amphora_id)))
}

/// Octavia's names: the pair's peers section, and each amphora's peer (ids without dashes).
fn peers_name(lb_id: &str) -> String {
    format!("{}_peers", lb_id.replace('-', ""))
}

fn peer_name(amphora_id: &str) -> String {
    amphora_id.replace('-', "")
}

/// The peers section of a pair (Octavia's: each amphora at its VRRP address, TCP 1025).
fn peers_section(name: &str, group: &model::VrrpConfig) -> String {
    let mut out = format!("\npeers {name}\n");
    for m in &group.members {
        let addr = std::net::SocketAddr::new(m.address, PEER_PORT);
        let _ = writeln!(out, "    peer {} {addr}", peer_name(&m.amphora_id));
    }
    out
}

/// The TCP port HAProxy's peers of a pair talk on (a first listener's `peer_port`).
const PEER_PORT: u16 = 1025;

/// Where a served haproxy's member states are kept across reloads (Octavia's name).
pub fn server_state_file(dir: &Path) -> std::path::PathBuf {
    dir.join("servers-state")
}

fn render_with(
    config: &AmphoraConfig,
    cert_dir: &Path,
    served: Option<(&Path, &str)>,
) -> std::io::Result<String> {
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
    let pings = config.pools.iter().any(|p| {
        p.healthmonitor
            .as_ref()
            .is_some_and(|m| m.admin_state_up && m.kind == model::MonitorType::Ping)
    });
    let external_check = if pings {
        "    external-check\n    insecure-fork-wanted\n"
    } else {
        ""
    };
    // One of a pair shares its stick tables with the other (as Octavia's amphorae).
    let pair = served.zip(config.vrrp.as_ref());
    let peers = pair.map(|_| peers_name(&config.lb_id));
    let (runtime, load_state) = match served {
        Some((dir, _)) => (
            // The socket's path is relative to haproxy's directory (see `process`).
            format!(
                "    stats socket unix@stats.sock mode 0600 level user\n    server-state-file {}\n",
                server_state_file(dir).display()
            ),
            // A reload closes idle keep-alive connections at once, racing requests clients
            // are sending on them (haproxy ≥ 2.4); with this, each is closed after answering
            // one more request (`Connection: close`), as haproxy did before 2.4.
            "    load-server-state-from-file global\n    option idle-close-on-response\n",
        ),
        None => (String::new(), ""),
    };
    let localpeer = match pair {
        Some(((_, me), _)) => format!("    localpeer {}\n", peer_name(me)),
        None => String::new(),
    };
    let mut out = format!(
        "global\n{runtime}{localpeer}    maxconn {maxconn}\n{external_check}\ndefaults\n{load_state}    retries 3\n    \
         option redispatch\n    option splice-request\n    option splice-response\n    option http-keep-alive\n"
    );
    if let (Some(((_, _), group)), Some(name)) = (pair, &peers) {
        out.push_str(&peers_section(name, group));
    }
    for l in &listeners {
        frontend(&mut out, config, l, cert_dir)?;
    }
    for l in &listeners {
        for p in used_pools(config, l) {
            backend::render(&mut out, l, p, cert_dir, peers.as_deref())?;
        }
    }
    Ok(out)
}
