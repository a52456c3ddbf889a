//! One backend per listener × pool, as Octavia's `backend_macro` and `member_macro` render
//! it (reference §9.3): mode, connection reuse, balance, session persistence, the health
//! monitor, the inserted headers, then one `server` line per member with its check, cookie,
//! PROXY protocol, backup/disabled and pool TLS options.

use super::{file, limit, mode, versions_and_alpn};
use model::{
    LbAlgorithm, ListenerConfig, ListenerProtocol, MemberConfig, MonitorConfig, MonitorType,
    PersistenceType, PoolConfig, PoolProtocol,
};
use std::fmt::Write;
use std::path::Path;

/// Octavia's `[haproxy_amphora] haproxy_stick_size`.
const STICK_SIZE: &str = "10k";

/// `octavia.common.utils.expand_expected_codes`: "200-202,204" → "200|201|202|204".
fn expand_expected_codes(codes: &str) -> String {
    let mut out = Vec::new();
    for part in codes.split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
                    out.extend((lo..=hi).map(|c| c.to_string()));
                }
            }
            None => out.push(part.trim().to_string()),
        }
    }
    out.join("|")
}

fn enabled_monitor(p: &PoolConfig) -> Option<&MonitorConfig> {
    p.healthmonitor.as_ref().filter(|m| m.admin_state_up)
}

/// Does the listener ask for `header` (`insert_headers` value "true", any case).
fn inserts(l: &ListenerConfig, header: &str) -> bool {
    l.insert_headers
        .get(header)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// One backend; `peers`: the peers section its stick table is shared through (a pair's).
pub fn render(
    out: &mut String,
    l: &ListenerConfig,
    p: &PoolConfig,
    dir: &Path,
    peers: Option<&str>,
) -> std::io::Result<()> {
    let _ = writeln!(out, "\nbackend {}:{}", p.id, l.id);
    let pool_mode = match p.protocol {
        PoolProtocol::Http => "http",
        PoolProtocol::Proxy | PoolProtocol::ProxyV2 => mode(l.protocol),
        _ => "tcp",
    };
    let _ = writeln!(out, "    mode {pool_mode}");
    if pool_mode == "http" {
        out.push_str("    http-reuse safe\n");
    }
    let balance = match p.lb_algorithm {
        LbAlgorithm::LeastConnections => "leastconn",
        LbAlgorithm::SourceIp => "source",
        _ => "roundrobin",
    };
    let _ = writeln!(out, "    balance {balance}");
    persistence(out, p, peers);
    if let Some(m) = enabled_monitor(p) {
        monitor(out, m);
    }
    headers(out, l, p);
    let _ = writeln!(out, "    fullconn {}", limit(l));
    out.push_str("    option allbackups\n");
    let _ = writeln!(out, "    timeout connect {}", l.timeout_member_connect);
    let _ = writeln!(out, "    timeout server {}", l.timeout_member_data);
    let tls = pool_tls(p, dir)?;
    for m in &p.members {
        let _ = writeln!(out, "{}", server(l, p, m, &tls));
    }
    Ok(())
}

fn persistence(out: &mut String, p: &PoolConfig, peers: Option<&str>) {
    let Some(sp) = &p.session_persistence else {
        return;
    };
    let shared = peers
        .map(|name| format!(" peers {name}"))
        .unwrap_or_default();
    match sp.kind {
        PersistenceType::SourceIp => {
            let _ = writeln!(out, "    stick-table type ipv6 size {STICK_SIZE}{shared}");
            out.push_str("    stick on src\n");
        }
        PersistenceType::AppCookie => {
            let name = sp.cookie_name.as_deref().unwrap_or_default();
            let _ = writeln!(
                out,
                "    stick-table type string len 64 size {STICK_SIZE}{shared}\n    \
                 stick store-response res.cook({name})\n    stick match req.cook({name})"
            );
        }
        PersistenceType::HttpCookie => out.push_str("    cookie SRV insert indirect nocache\n"),
    }
}

fn monitor(out: &mut String, m: &MonitorConfig) {
    let _ = writeln!(out, "    timeout check {}s", m.timeout);
    match m.kind {
        MonitorType::Http | MonitorType::Https => {
            let method = m.http_method.as_deref().unwrap_or("GET");
            let path = m.url_path.as_deref().unwrap_or("/");
            let mut line = format!("    option httpchk {method} {path}");
            if let Some(version) = &m.http_version {
                let _ = write!(line, " HTTP/{version}");
            }
            let _ = writeln!(out, "{line}");
            if let (Some("1.1"), Some(domain)) = (m.http_version.as_deref(), &m.domain_name) {
                let _ = writeln!(out, "    http-check send hdr Host {domain}");
            }
            let codes = expand_expected_codes(m.expected_codes.as_deref().unwrap_or("200"));
            let _ = writeln!(out, "    http-check expect rstatus {codes}");
        }
        MonitorType::Ping => out.push_str(
            "    option external-check\n    external-check command /var/lib/octavia/ping-wrapper.sh\n",
        ),
        // TCP and TLS-HELLO: a connect check (TLS-HELLO over the server's `ssl`).
        _ => {}
    }
}

fn headers(out: &mut String, l: &ListenerConfig, p: &PoolConfig) {
    if p.protocol == PoolProtocol::Http {
        if inserts(l, "X-Forwarded-For") {
            out.push_str("    option forwardfor\n");
        }
        if inserts(l, "X-Forwarded-Port") {
            out.push_str("    http-request set-header X-Forwarded-Port %[dst_port]\n");
        }
    }
    if inserts(l, "X-Forwarded-Proto") {
        match l.protocol {
            ListenerProtocol::Http => {
                out.push_str("    http-request set-header X-Forwarded-Proto http\n")
            }
            ListenerProtocol::TerminatedHttps => {
                out.push_str("    http-request set-header X-Forwarded-Proto https\n")
            }
            _ => {}
        }
    }
    if l.protocol != ListenerProtocol::TerminatedHttps {
        return;
    }
    for (header, value) in [
        ("X-SSL-Client-Verify", "%[ssl_c_verify]"),
        ("X-SSL-Client-Has-Cert", "%[ssl_c_used]"),
        ("X-SSL-Client-DN", "%{+Q}[ssl_c_s_dn]"),
        ("X-SSL-Client-CN", "%{+Q}[ssl_c_s_dn(cn)]"),
        ("X-SSL-Issuer", "%{+Q}[ssl_c_i_dn]"),
        ("X-SSL-Client-SHA1", "%{+Q}[ssl_c_sha1,hex]"),
        ("X-SSL-Client-Not-Before", "%{+Q}[ssl_c_notbefore]"),
        ("X-SSL-Client-Not-After", "%{+Q}[ssl_c_notafter]"),
    ] {
        if inserts(l, header) {
            let _ = writeln!(out, "    http-request set-header {header} {value}");
        }
    }
}

/// The `ssl …` options every server of a TLS pool carries, its files written next to the
/// configuration; empty for a plain pool.
fn pool_tls(p: &PoolConfig, dir: &Path) -> std::io::Result<String> {
    let Some(tls) = p.tls.as_ref().filter(|_| p.tls_enabled) else {
        return Ok(String::new());
    };
    let mut opts = " ssl".to_string();
    if let Some(b) = &tls.client_certificate {
        let pem = format!("{}\n{}", b.certificate_pem.trim_end(), b.private_key_pem);
        let _ = write!(
            opts,
            " crt {}",
            file(dir, format!("{}-client.pem", p.id), &pem)?
        );
    }
    match &tls.ca_pem {
        Some(ca) => {
            let _ = write!(
                opts,
                " ca-file {}",
                file(dir, format!("{}-ca.pem", p.id), ca)?
            );
            if let Some(crl) = &tls.crl_pem {
                let path = file(dir, format!("{}-crl.pem", p.id), crl)?;
                let _ = write!(opts, " crl-file {path}");
            }
            // Octavia writes `verify required` only with a CRL, relying on haproxy's default;
            // but an HTTPS monitor's `check-ssl verify none` earlier on the line turns
            // verification off for the traffic too. A pool given a CA verifies its members.
            opts.push_str(" verify required");
        }
        None => opts.push_str(" verify none"),
    }
    opts.push_str(" sni ssl_fc_sni");
    if let Some(ciphers) = &tls.ciphers {
        let _ = write!(opts, " ciphers {ciphers}");
    }
    versions_and_alpn(&mut opts, &tls.versions, &tls.alpn_protocols);
    Ok(opts)
}

fn server(l: &ListenerConfig, p: &PoolConfig, m: &MemberConfig, tls: &str) -> String {
    let addr = std::net::SocketAddr::new(m.address, m.protocol_port);
    let mut line = format!("    server {} {addr} weight {}", m.id, m.weight);
    if let Some(hm) = enabled_monitor(p) {
        line.push_str(" check");
        if hm.kind == MonitorType::Https {
            line.push_str(" check-ssl verify none");
        }
        let _ = write!(
            line,
            " inter {}s fall {} rise {}",
            hm.delay, hm.max_retries_down, hm.max_retries
        );
        if let Some(a) = m.monitor_address {
            let _ = write!(line, " addr {a}");
        }
        if let Some(port) = m.monitor_port {
            let _ = write!(line, " port {port}");
        }
    }
    if p.session_persistence
        .as_ref()
        .is_some_and(|s| s.kind == PersistenceType::HttpCookie)
    {
        let _ = write!(line, " cookie {}", m.id);
    }
    match p.protocol {
        PoolProtocol::Proxy => line.push_str(" send-proxy"),
        PoolProtocol::ProxyV2 if l.protocol == ListenerProtocol::TerminatedHttps => {
            line.push_str(" send-proxy-v2-ssl-cn")
        }
        PoolProtocol::ProxyV2 => line.push_str(" send-proxy-v2"),
        _ => {}
    }
    if m.backup {
        line.push_str(" backup");
    }
    if !m.admin_state_up {
        line.push_str(" disabled");
    }
    line.push_str(tls);
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn expected_codes_expand_as_octavia_expands_them() {
        assert_eq!(super::expand_expected_codes("200"), "200");
        assert_eq!(super::expand_expected_codes("200,202"), "200|202");
        assert_eq!(
            super::expand_expected_codes("200-202,204"),
            "200|201|202|204"
        );
    }
}
