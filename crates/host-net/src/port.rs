//! A port of a network inside a namespace: a veth pair, `tap…` on the network's bridge and
//! `ns-<port>` inside, with the port's MAC, its addresses and a default route.

use crate::command::{already, ip, ip_in, Result};
use crate::network::{bridge, MTU};
use ipnet::IpNet;
use model::PortPlumbing;
use std::collections::BTreeSet;

/// The host's end of a port's veth pair. Named after the namespace and the port together:
/// while an amphora is replaced on the same host, the old and the new one both have the
/// VIP's port for a moment.
pub fn tap(namespace: &str, port_id: &str) -> String {
    // FNV-1a, 64 bits: stable across runs and releases.
    let hash = namespace
        .bytes()
        .chain([0u8])
        .chain(port_id.bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("tap{:011x}", hash & 0xfff_ffff_ffff)
}

pub fn inner(port_id: &str) -> String {
    format!("ns-{}", crate::short(port_id, 11))
}

/// Plugs the port into `namespace` (which must exist) and its network's bridge (which must
/// exist), then makes its addresses and route what `port` says.
pub async fn attach(namespace: &str, port: &PortPlumbing) -> Result<()> {
    let (tap, inner) = (tap(namespace, &port.port_id), inner(&port.port_id));
    let mtu = MTU.to_string();
    if !crate::command::link_exists(&tap).await {
        let made = ip(&[
            "link", "add", &tap, "mtu", &mtu, "type", "veth", "peer", "name", &inner, "mtu", &mtu,
            "netns", namespace,
        ])
        .await;
        if let Err(e) = made {
            if !already(&e) {
                return Err(e);
            }
        }
    }
    ip(&[
        "link",
        "set",
        &tap,
        "master",
        &bridge(&port.network_id),
        "up",
    ])
    .await?;
    ip_in(namespace, &["link", "set", &inner, "address", &port.mac]).await?;
    ip_in(namespace, &["link", "set", &inner, "up"]).await?;
    let added = set_addresses(namespace, &inner, &port.addresses, &port.floating).await?;
    announce(namespace, &inner, &added).await;
    if let Some(gateway) = port.gateway {
        let family = if gateway.is_ipv6() { "-6" } else { "-4" };
        ip_in(
            namespace,
            &[
                family,
                "route",
                "replace",
                "default",
                "via",
                &gateway.to_string(),
                "dev",
                &inner,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Gratuitous ARP for IPv4 addresses just added (iputils' `arping -U`), as keepalived and
/// Neutron's L3 agent send them: an address that moved to another host is found there at
/// once, not when neighbours' caches and bridges' learned entries expire. Without `arping`
/// the address is found when the namespace next speaks. Not waited for: arping sends at
/// once, then lingers a second for answers that never come to an unsolicited ARP.
async fn announce(namespace: &str, dev: &str, added: &[IpNet]) {
    let ns = format!("--net={}", crate::namespace::path(namespace).display());
    for address in added.iter().filter(|a| a.addr().is_ipv4()) {
        let (ns, dev, ip) = (ns.clone(), dev.to_string(), address.addr().to_string());
        let namespace = namespace.to_string();
        tokio::spawn(async move {
            let args = [
                ns.as_str(),
                "--",
                "arping",
                "-U",
                "-c",
                "1",
                "-I",
                &dev,
                &ip,
            ];
            if let Err(e) = crate::command::run("nsenter", &args).await {
                tracing::debug!(%namespace, address = %ip, error = %e, "no gratuitous ARP");
            }
        });
    }
}

/// The interface's global addresses become exactly `want`, leaving `floating` ones alone
/// (keepalived's); returns those it added.
pub async fn set_addresses(
    namespace: &str,
    dev: &str,
    want: &[IpNet],
    floating: &[std::net::IpAddr],
) -> Result<Vec<IpNet>> {
    let mut have = addresses(namespace, dev).await?;
    have.retain(|a| !floating.contains(&a.addr()));
    let want: BTreeSet<IpNet> = want.iter().copied().collect();
    for gone in have.difference(&want) {
        let cidr = gone.to_string();
        if let Err(e) = ip_in(namespace, &["addr", "del", &cidr, "dev", dev]).await {
            if !already(&e) {
                return Err(e);
            }
        }
    }
    let added: Vec<IpNet> = want.difference(&have).copied().collect();
    for new in &added {
        let cidr = new.to_string();
        let mut args = vec!["addr", "replace", cidr.as_str(), "dev", dev];
        if new.addr().is_ipv6() {
            // Addresses the control plane allocated are unique: no duplicate detection delay.
            args.push("nodad");
        }
        ip_in(namespace, &args).await?;
    }
    Ok(added)
}

/// The interface's global (not link-local) addresses.
pub async fn addresses(namespace: &str, dev: &str) -> Result<BTreeSet<IpNet>> {
    let out = ip_in(
        namespace,
        &["-o", "addr", "show", "dev", dev, "scope", "global"],
    )
    .await?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet" || *w == "inet6")?;
            words.next()?.parse().ok()
        })
        .collect())
}

/// Unplugs the port from the namespace (deleting one end of a veth pair deletes both).
pub async fn detach(namespace: &str, port_id: &str) -> Result<()> {
    let tap = tap(namespace, port_id);
    if crate::command::link_exists(&tap).await {
        if let Err(e) = ip(&["link", "del", &tap]).await {
            if !already(&e) {
                return Err(e);
            }
        }
    }
    Ok(())
}
