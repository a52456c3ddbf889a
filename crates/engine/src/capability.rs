//! What this engine can serve. A configuration asking for anything else is refused as a
//! whole, with the reason, before anything changes: the control plane then marks the object
//! ERROR instead of reporting ACTIVE something the data plane does not do.

use model::{AmphoraConfig, ListenerProtocol, MonitorType, PoolProtocol};

/// Octavia's largest timeout (`timeout_*`, milliseconds).
pub const MAX_TIMEOUT_MS: u64 = 2_073_600_000;
/// Monitor delays and timeouts (seconds) beyond this are not scheduled (Octavia's column is
/// a 32-bit integer).
pub const MAX_MONITOR_SECONDS: u64 = i32::MAX as u64;
pub const MAX_WEIGHT: u32 = 256;

/// Why `config` cannot be served, or Ok.
pub fn check(config: &AmphoraConfig) -> Result<(), String> {
    for l in &config.listeners {
        let what = format!("listener {}", l.id);
        match l.protocol {
            ListenerProtocol::Tcp
            | ListenerProtocol::Http
            | ListenerProtocol::Https
            | ListenerProtocol::Udp => {}
            ListenerProtocol::TerminatedHttps if l.tls.is_some() => {}
            ListenerProtocol::TerminatedHttps => {
                return Err(format!("{what}: TERMINATED_HTTPS without its certificates"))
            }
            other => return Err(not_yet(&what, &format!("protocol {other}"))),
        }
        let http = matches!(
            l.protocol,
            ListenerProtocol::Http | ListenerProtocol::TerminatedHttps
        );
        if !http && l.l7policies.iter().any(|p| p.admin_state_up) {
            return Err(not_yet(&what, &format!("L7 policies on {}", l.protocol)));
        }
        if l.connection_limit < -1 {
            return Err(format!(
                "{what}: connection_limit {} is below -1",
                l.connection_limit
            ));
        }
        for (name, value) in [
            ("timeout_client_data", l.timeout_client_data),
            ("timeout_member_connect", l.timeout_member_connect),
            ("timeout_member_data", l.timeout_member_data),
            ("timeout_tcp_inspect", l.timeout_tcp_inspect),
        ] {
            if value > MAX_TIMEOUT_MS {
                return Err(format!(
                    "{what}: {name} {value} ms is above {MAX_TIMEOUT_MS}"
                ));
            }
        }
        if let Some(bad) = l
            .allowed_cidrs
            .iter()
            .find(|c| c.parse::<ipnet::IpNet>().is_err())
        {
            return Err(format!("{what}: allowed_cidrs entry '{bad}' is not a CIDR"));
        }
    }
    for p in &config.pools {
        let what = format!("pool {}", p.id);
        if p.protocol == PoolProtocol::Sctp {
            return Err(not_yet(&what, "protocol SCTP"));
        }
        if p.tls_enabled && p.tls.is_none() {
            return Err(format!("{what}: tls_enabled without its TLS settings"));
        }
        if let Some(m) = p.members.iter().find(|m| m.weight > MAX_WEIGHT) {
            return Err(format!(
                "{what}: member {} weight {} is above {MAX_WEIGHT}",
                m.id, m.weight
            ));
        }
        if let Some(hm) = &p.healthmonitor {
            let what = format!("health monitor {}", hm.id);
            if hm.kind == MonitorType::Sctp {
                return Err(not_yet(&what, "type SCTP"));
            }
            for (name, value) in [("delay", hm.delay), ("timeout", hm.timeout)] {
                if value > MAX_MONITOR_SECONDS {
                    return Err(format!(
                        "{what}: {name} {value} s is above {MAX_MONITOR_SECONDS}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn not_yet(what: &str, feature: &str) -> String {
    format!("{what}: {feature} is not served by the native engine yet")
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{L7Action, L7PolicyConfig, LbAlgorithm, ListenerConfig, MonitorConfig, PoolConfig};

    fn base() -> AmphoraConfig {
        let mut pool = PoolConfig::new("p", PoolProtocol::Http, LbAlgorithm::RoundRobin);
        pool.healthmonitor = Some(MonitorConfig::new("hm", MonitorType::Http, 5, 5, 3));
        AmphoraConfig {
            lb_id: "lb".into(),
            generation: 1,
            vips: vec!["127.0.0.1".parse().unwrap()],
            listeners: vec![ListenerConfig::new(
                "l",
                ListenerProtocol::Http,
                80,
                Some("p"),
            )],
            pools: vec![pool],
            plumbing: None,
            vrrp: None,
            engine: Default::default(),
        }
    }

    #[test]
    fn what_the_engine_serves_passes() {
        assert_eq!(check(&base()), Ok(()));
    }

    #[test]
    fn unserved_features_and_out_of_range_values_are_refused_with_a_reason() {
        type Change = Box<dyn Fn(&mut AmphoraConfig)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|c| c.listeners[0].protocol = ListenerProtocol::TerminatedHttps),
                "listener l: TERMINATED_HTTPS without its certificates",
            ),
            (
                Box::new(|c| c.listeners[0].protocol = ListenerProtocol::Sctp),
                "protocol SCTP is not served",
            ),
            (
                Box::new(|c| {
                    c.listeners[0].protocol = ListenerProtocol::Tcp;
                    c.listeners[0].l7policies.push(L7PolicyConfig {
                        id: "pol".into(),
                        action: L7Action::Reject,
                        position: 1,
                        admin_state_up: true,
                        redirect_pool_id: None,
                        redirect_url: None,
                        redirect_prefix: None,
                        redirect_http_code: None,
                        rules: vec![],
                    })
                }),
                "L7 policies on TCP is not served",
            ),
            (
                Box::new(|c| c.pools[0].tls_enabled = true),
                "tls_enabled without its TLS settings",
            ),
            (
                Box::new(|c| {
                    c.listeners[0].allowed_cidrs = vec!["10.0.0.0/8".into(), "nope".into()]
                }),
                "allowed_cidrs entry 'nope' is not a CIDR",
            ),
            (
                Box::new(|c| c.pools[0].healthmonitor.as_mut().unwrap().delay = u64::MAX),
                "health monitor hm: delay 18446744073709551615 s is above",
            ),
            (
                Box::new(|c| c.listeners[0].timeout_client_data = MAX_TIMEOUT_MS + 1),
                "timeout_client_data",
            ),
        ];
        for (change, reason) in cases {
            let mut c = base();
            change(&mut c);
            let err = check(&c).unwrap_err();
            assert!(err.contains(reason), "{err} should contain {reason}");
        }
    }
}
