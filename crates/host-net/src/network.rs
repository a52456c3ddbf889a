//! A network on this host: its bridge and its VXLAN device, with one flooding entry per
//! other host that carries the network (head-end replication, as l2population programs it).
//! Unicast frames go where the VXLAN device learned their MAC.

use crate::command::{already, ip, run, Result};
use model::NetworkPlumbing;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The UDP port of VXLAN (IANA's, which Linux and Neutron default to).
pub const VXLAN_PORT: &str = "4789";
/// A veth's MTU behind VXLAN over a 1500-byte underlay (IPv4 + UDP + VXLAN + Ethernet: 50).
pub const MTU: u32 = 1450;

pub fn bridge(network_id: &str) -> String {
    format!("brq{}", crate::short(network_id, 11))
}

pub fn vxlan(vni: u32) -> String {
    format!("vxlan-{vni}")
}

/// Makes the network's bridge and VXLAN device (leaving from `local_ip`) unless they exist,
/// and sets its flooding entries to exactly the network's peers.
pub async fn ensure(net: &NetworkPlumbing, local_ip: IpAddr) -> Result<()> {
    if !(1..=0xff_ffff).contains(&net.vni) {
        return Err(crate::PlumbingError::Invalid(format!(
            "network {}: VNI {} is outside 1-16777215",
            net.network_id, net.vni
        )));
    }
    let bridge = bridge(&net.network_id);
    let vxlan = vxlan(net.vni);
    if !crate::command::link_exists(&bridge).await {
        tolerate(ip(&["link", "add", &bridge, "type", "bridge"]).await)?;
    }
    ip(&["link", "set", &bridge, "up"]).await?;
    if !crate::command::link_exists(&vxlan).await {
        let (vni, local) = (net.vni.to_string(), local_ip.to_string());
        tolerate(
            ip(&[
                "link", "add", &vxlan, "type", "vxlan", "id", &vni, "local", &local, "dstport",
                VXLAN_PORT,
            ])
            .await,
        )?;
    }
    ip(&["link", "set", &vxlan, "master", &bridge, "up"]).await?;
    set_peers(net.vni, &net.peers).await
}

/// The flooding entries of the network's VXLAN device become exactly `peers`.
pub async fn set_peers(vni: u32, peers: &[IpAddr]) -> Result<()> {
    let dev = vxlan(vni);
    let have = flood_entries(&dev).await?;
    let want: BTreeSet<String> = peers.iter().map(IpAddr::to_string).collect();
    for gone in have.difference(&want) {
        tolerate(
            run(
                "bridge",
                &["fdb", "del", ZERO_MAC, "dev", &dev, "dst", gone.as_str()],
            )
            .await,
        )?;
    }
    for new in want.difference(&have) {
        tolerate(
            run(
                "bridge",
                &["fdb", "append", ZERO_MAC, "dev", &dev, "dst", new.as_str()],
            )
            .await,
        )?;
    }
    Ok(())
}

const ZERO_MAC: &str = "00:00:00:00:00:00";

/// Destinations of the all-zero (flooding) entries of a VXLAN device.
pub async fn flood_entries(dev: &str) -> Result<BTreeSet<String>> {
    let out = run("bridge", &["fdb", "show", "dev", dev]).await?;
    Ok(out
        .lines()
        .filter(|l| l.starts_with(ZERO_MAC))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "dst")?;
            words.next().map(str::to_string)
        })
        .collect())
}

/// Whether anything but the VXLAN device is on the network's bridge.
pub async fn in_use(network_id: &str) -> Result<bool> {
    let bridge = bridge(network_id);
    if !crate::command::link_exists(&bridge).await {
        return Ok(false);
    }
    let out = ip(&["-o", "link", "show", "master", &bridge]).await?;
    Ok(out.lines().any(|l| !l.contains("vxlan-")))
}

/// Deletes the network's VXLAN device and bridge.
pub async fn remove(network_id: &str, vni: u32) -> Result<()> {
    for dev in [vxlan(vni), bridge(network_id)] {
        if crate::command::link_exists(&dev).await {
            tolerate(ip(&["link", "del", &dev]).await)?;
        }
    }
    Ok(())
}

fn tolerate(r: Result<String>) -> Result<()> {
    match r {
        Err(e) if !already(&e) => Err(e),
        _ => Ok(()),
    }
}
