//! Routers on the control plane's host, as Neutron's L3 agent holds them: what each router
//! is plugged into and its NAT, read from the store and pushed to that host's agent when it
//! changes; routers gone from the store are deleted there.

use super::{Hosts, Pushed};
use crate::compute::ComputeError;
use hyper::Method;
use model::{FloatingPlumbing, Host, NetworkPlumbing, PortPlumbing, RouterPlumbing};
use std::collections::BTreeMap;
use store::network::{GATEWAY_OWNER, INTERFACE_OWNER};

impl Hosts {
    /// Every router as its host should hold it.
    pub async fn router_plumbing(&self, host: &Host) -> Result<Vec<RouterPlumbing>, ComputeError> {
        let routers = self.store.routers().await.map_err(Self::failed)?;
        let ports = self.store.ports().await.map_err(Self::failed)?;
        let subnets = self.store.subnets().await.map_err(Self::failed)?;
        let floating = self.store.floating_ips().await.map_err(Self::failed)?;
        let mut all = Vec::new();
        for router in routers {
            let fips: Vec<FloatingPlumbing> = floating
                .iter()
                .filter(|f| f.router_id.as_deref() == Some(router.id.as_str()))
                .filter_map(|f| {
                    Some(FloatingPlumbing {
                        floating_ip: f.floating_ip_address.parse().ok()?,
                        fixed_ip: f.fixed_ip_address.as_deref()?.parse().ok()?,
                    })
                })
                .collect();
            let mut interfaces = Vec::new();
            let mut gateway = None;
            let mut loopback = 0;
            for port in ports.iter().filter(|p| p.device_id == router.id) {
                let Some(subnet) = subnets.iter().find(|s| s.id == port.subnet_id) else {
                    continue;
                };
                let (Ok(cidr), Ok(ip)) = (
                    subnet.cidr.parse::<ipnet::IpNet>(),
                    port.ip_address.parse::<std::net::IpAddr>(),
                ) else {
                    continue;
                };
                // Loopback subnets (`ostia up`'s ostia-local and provider) belong to the
                // control plane's own namespace: no host carries them.
                if ip.is_loopback() {
                    loopback += 1;
                    continue;
                }
                let mut plumbed = PortPlumbing {
                    port_id: port.id.clone(),
                    network_id: port.network_id.clone(),
                    mac: port.mac(),
                    addresses: vec![ipnet::IpNet::new(ip, cidr.prefix_len()).map_err(Self::failed)?],
                    gateway: None,
                    floating: Vec::new(),
                };
                if port.device_owner == GATEWAY_OWNER {
                    // Floating IPs are the gateway port's too, as on Neutron's `qg-` device.
                    for f in &fips {
                        let host_prefix = if f.floating_ip.is_ipv4() { 32 } else { 128 };
                        plumbed.addresses.push(
                            ipnet::IpNet::new(f.floating_ip, host_prefix).map_err(Self::failed)?,
                        );
                    }
                    plumbed.gateway = subnet.gateway_ip.as_deref().and_then(|g| g.parse().ok());
                    gateway = Some(plumbed);
                } else if port.device_owner == INTERFACE_OWNER {
                    interfaces.push(plumbed);
                }
            }
            let mut networks = BTreeMap::new();
            for port in interfaces.iter().chain(gateway.iter()) {
                if networks.contains_key(&port.network_id) {
                    continue;
                }
                let mut peers = self.carriers(&port.network_id).await?;
                peers.push(host.local_ip);
                let net = NetworkPlumbing {
                    network_id: port.network_id.clone(),
                    vni: self
                        .store
                        .network_vni(&port.network_id)
                        .await
                        .map_err(Self::failed)?,
                    peers,
                };
                networks.insert(port.network_id.clone(), net);
            }
            let snat = router
                .attrs
                .get("external_gateway_info")
                .and_then(|g| g.get("enable_snat"))
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            if loopback > 0 && interfaces.is_empty() && gateway.is_none() {
                continue;
            }
            all.push(RouterPlumbing {
                router_id: router.id.clone(),
                networks: networks.into_values().collect(),
                interfaces,
                gateway,
                snat,
                floating: fips,
            });
        }
        Ok(all)
    }

    /// Brings the routers of the router host in step with the store.
    pub(super) async fn sync_routers(
        &self,
        host: &Host,
        pushed: &mut Pushed,
    ) -> Result<(), ComputeError> {
        let Some(agent) = host.agent else {
            return Ok(());
        };
        let wanted = self.router_plumbing(host).await?;
        for router in &wanted {
            let mut shown = router.clone();
            // Peers change with hosts: the network sync keeps them, not a router push.
            shown.networks.iter_mut().for_each(|n| n.peers.clear());
            let key = (
                host.id.clone(),
                host.started_at.clone(),
                format!("router {}", router.router_id),
            );
            let fingerprint = serde_json::to_string(&shown).expect("serialisable");
            if pushed.get(&key) == Some(&fingerprint) {
                continue;
            }
            let body = serde_json::to_vec(router).expect("serialisable");
            let path = format!("/1.0/routers/{}", router.router_id);
            match self
                .builder
                .json::<serde_json::Value>(agent, &host.name, Method::PUT, &path, Some(body))
                .await
            {
                Ok(_) => {
                    pushed.insert(key, fingerprint);
                }
                Err(e) => tracing::warn!(host = %host.name, router = %router.router_id,
                    error = %e, "router not plumbed"),
            }
        }
        let held: serde_json::Value = self
            .quick
            .json(agent, &host.name, Method::GET, "/1.0/routers", None)
            .await
            .map_err(super::compute_error)?;
        for id in held["routers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
        {
            if wanted.iter().any(|r| r.router_id == id) {
                continue;
            }
            let path = format!("/1.0/routers/{id}");
            match self
                .client
                .json::<serde_json::Value>(agent, &host.name, Method::DELETE, &path, None)
                .await
            {
                Ok(_) => {
                    pushed.retain(|k, _| k.2 != format!("router {id}"));
                }
                Err(e) => tracing::warn!(host = %host.name, router = %id, error = %e,
                    "router not deleted"),
            }
        }
        Ok(())
    }
}
