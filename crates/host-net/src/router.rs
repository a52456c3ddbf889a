//! A router in a namespace of its own, as Neutron's L3 agent makes `qrouter-<id>`: its ports,
//! IPv4 forwarding, and NAT in one nftables table replaced whole at each change: DNAT of each
//! floating IP to its fixed IP, SNAT of that fixed IP to its floating IP on the way out, and
//! SNAT of the subnets' other traffic to the gateway address.

use crate::command::{run, run_with_input, Result};
use crate::port::inner;
use model::RouterPlumbing;
use std::fmt::Write;

const TABLE: &str = "ostia-router";

/// The nftables ruleset of a router (IPv4; IPv6 is routed without NAT, as in Neutron).
pub fn ruleset(router: &RouterPlumbing) -> String {
    let mut pre = String::new();
    let mut post = String::new();
    let gateway = router.gateway.as_ref();
    let out = gateway.map(|g| inner(&g.port_id));
    for f in router
        .floating
        .iter()
        .filter(|f| f.floating_ip.is_ipv4() && f.fixed_ip.is_ipv4())
    {
        let _ = writeln!(pre, "    ip daddr {} dnat to {}", f.floating_ip, f.fixed_ip);
        if let Some(out) = &out {
            let _ = writeln!(
                post,
                "    ip saddr {} oifname \"{out}\" snat to {}",
                f.fixed_ip, f.floating_ip
            );
        }
    }
    if router.snat {
        let address = gateway.and_then(|g| g.addresses.iter().find(|a| a.addr().is_ipv4()));
        if let (Some(out), Some(address)) = (&out, address) {
            let _ = writeln!(post, "    oifname \"{out}\" snat to {}", address.addr());
        }
    }
    format!(
        "table ip {TABLE}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n  \
         chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{pre}  }}\n  \
         chain output {{\n    type nat hook output priority -100; policy accept;\n{pre}  }}\n  \
         chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n{post}  }}\n}}\n"
    )
}

/// Turns forwarding on and replaces the router's NAT, inside `namespace`.
pub async fn configure(namespace: &str, router: &RouterPlumbing) -> Result<()> {
    let ns = format!("--net={}", crate::namespace::path(namespace).display());
    run(
        "nsenter",
        &[&ns, "--", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
    )
    .await?;
    run_with_input("nsenter", &[&ns, "--", "nft", "-f", "-"], &ruleset(router)).await?;
    Ok(())
}

/// The router's NAT rules as nftables lists them (for checks that nothing is left).
pub async fn rules(namespace: &str) -> Result<String> {
    let ns = format!("--net={}", crate::namespace::path(namespace).display());
    run("nsenter", &[&ns, "--", "nft", "list", "ruleset"]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{FloatingPlumbing, PortPlumbing};

    #[test]
    fn a_floating_ip_is_dnat_in_and_snat_out_and_the_rest_leaves_as_the_gateway() {
        let router = RouterPlumbing {
            router_id: "r".into(),
            networks: vec![],
            interfaces: vec![],
            gateway: Some(PortPlumbing {
                port_id: "gateway-port-id".into(),
                network_id: "public".into(),
                mac: "fa:16:3e:00:00:01".into(),
                addresses: vec!["172.24.4.10/24".parse().unwrap()],
                gateway: None,
                floating: vec![],
            }),
            snat: true,
            floating: vec![FloatingPlumbing {
                floating_ip: "172.24.4.201".parse().unwrap(),
                fixed_ip: "10.0.0.5".parse().unwrap(),
            }],
        };
        let rules = ruleset(&router);
        assert!(
            rules.contains("ip daddr 172.24.4.201 dnat to 10.0.0.5"),
            "{rules}"
        );
        assert!(
            rules.contains("ip saddr 10.0.0.5 oifname \"ns-gateway-por\" snat to 172.24.4.201"),
            "{rules}"
        );
        assert!(
            rules.contains("oifname \"ns-gateway-por\" snat to 172.24.4.10"),
            "{rules}"
        );
        // The floating IP's own SNAT comes before the gateway's, which would catch it too.
        assert!(rules.find("snat to 172.24.4.201") < rules.find("snat to 172.24.4.10"));
    }
}
