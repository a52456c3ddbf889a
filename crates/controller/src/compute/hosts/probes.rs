//! Probes, as `neutron-debug probe-create` makes them: a port of a network (device owner
//! `network:probe`, device id the host's name) and a namespace `qprobe-<port id>` with it on
//! a host, made by that host's agent.

use super::Hosts;
use crate::compute::ComputeError;
use hyper::Method;
use model::{Host, NetworkPlumbing, PortPlumbing};
use serde::Serialize;

pub const DEVICE_OWNER: &str = "network:probe";

/// What `ostia probe-create` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    pub port_id: String,
    pub namespace: String,
    pub ip_address: String,
    pub network_id: String,
    pub host: String,
}

impl Hosts {
    /// Makes a probe on `network` (its id or name) on the host named `host` (default: the
    /// only live host).
    pub async fn create_probe(
        &self,
        network: &str,
        host: Option<&str>,
    ) -> Result<Probe, ComputeError> {
        let refused = |m: String| ComputeError::Refused(m);
        let host = self.probe_host(host).await?;
        let agent = host
            .agent
            .ok_or_else(|| refused(format!("host {} has no agent", host.name)))?;
        let networks = self.store.networks().await.map_err(Self::failed)?;
        let found: Vec<_> = networks
            .iter()
            .filter(|n| n.id == network || n.name == network)
            .collect();
        let net = match found.as_slice() {
            [one] => (*one).clone(),
            [] => return Err(refused(format!("Network {network} could not be found."))),
            _ => {
                return Err(refused(format!(
                    "Multiple network matches found for name '{network}', use an ID to be more \
                     specific."
                )))
            }
        };
        let subnets = self.store.subnets().await.map_err(Self::failed)?;
        let subnet = subnets
            .iter()
            .find(|s| s.network_id == net.id && s.ip_version == 4)
            .or_else(|| subnets.iter().find(|s| s.network_id == net.id))
            .ok_or_else(|| refused(format!("network {} has no subnet", net.id)))?;
        let cidr: ipnet::IpNet = subnet
            .cidr
            .parse()
            .map_err(|_| Self::failed(format!("subnet {} has no CIDR", subnet.id)))?;
        let mut tx = self.store.begin().await.map_err(Self::failed)?;
        let port = tx
            .allocate_port(subnet, None, "", DEVICE_OWNER, &net.project_id)
            .await
            .map_err(Self::failed)?
            .map_err(|e| refused(format!("no address for a probe on {}: {e:?}", subnet.id)))?;
        tx.set_port_device(&port.id, &host.name, DEVICE_OWNER)
            .await
            .map_err(Self::failed)?;
        tx.commit().await.map_err(Self::failed)?;
        let ip: std::net::IpAddr = port
            .ip_address
            .parse()
            .map_err(|_| Self::failed("allocated address"))?;
        let mut peers = self.carriers(&net.id).await?;
        peers.push(host.local_ip);
        let body = serde_json::json!({
            "network": NetworkPlumbing {
                network_id: net.id.clone(),
                vni: self.store.network_vni(&net.id).await.map_err(Self::failed)?,
                peers,
            },
            "port": PortPlumbing {
                port_id: port.id.clone(),
                network_id: net.id.clone(),
                mac: port.mac(),
                addresses: vec![ipnet::IpNet::new(ip, cidr.prefix_len()).map_err(Self::failed)?],
                gateway: subnet.gateway_ip.as_deref().and_then(|g| g.parse().ok()),
                floating: Vec::new(),
            },
        });
        let made: Result<serde_json::Value, _> = self
            .builder
            .json(
                agent,
                &host.name,
                Method::POST,
                "/1.0/probes",
                Some(body.to_string().into_bytes()),
            )
            .await;
        match made {
            Ok(answer) => Ok(Probe {
                namespace: answer["namespace"].as_str().unwrap_or_default().to_string(),
                port_id: port.id,
                ip_address: port.ip_address,
                network_id: net.id,
                host: host.name,
            }),
            Err(e) => {
                // Nothing is left of a probe that could not be made.
                self.forget_port(&port.id).await;
                Err(super::compute_error(e))
            }
        }
    }

    /// The probes' ports, with their hosts.
    pub async fn probes(&self) -> Result<Vec<Probe>, ComputeError> {
        Ok(self
            .store
            .ports()
            .await
            .map_err(Self::failed)?
            .into_iter()
            .filter(|p| p.device_owner == DEVICE_OWNER)
            .map(|p| Probe {
                namespace: format!("qprobe-{}", p.id),
                port_id: p.id,
                ip_address: p.ip_address,
                network_id: p.network_id,
                host: p.device_id,
            })
            .collect())
    }

    /// Deletes a probe: its namespace on its host, then its port.
    pub async fn delete_probe(&self, port_id: &str) -> Result<(), ComputeError> {
        let probe = self
            .probes()
            .await?
            .into_iter()
            .find(|p| p.port_id == port_id)
            .ok_or_else(|| ComputeError::Refused(format!("Port {port_id} is not a probe.")))?;
        let hosts = self.store.hosts().await.map_err(Self::failed)?;
        if let Some((host, agent)) = hosts
            .iter()
            .find(|h| h.name == probe.host)
            .and_then(|h| Some((h, h.agent?)))
        {
            let path = format!("/1.0/probes/{port_id}");
            self.client
                .json::<serde_json::Value>(agent, &host.name, Method::DELETE, &path, None)
                .await
                .map_err(super::compute_error)?;
        }
        self.forget_port(port_id).await;
        Ok(())
    }

    async fn forget_port(&self, port_id: &str) {
        let deleted = async {
            let mut tx = self.store.begin().await?;
            tx.delete_port(port_id).await?;
            tx.commit().await
        };
        if let Err(e) = deleted.await {
            tracing::warn!(port = %port_id, error = %e, "probe port not deleted");
        }
    }

    async fn probe_host(&self, name: Option<&str>) -> Result<Host, ComputeError> {
        let live = self.live().await?;
        match name {
            Some(name) => live.into_iter().find(|h| h.name == name).ok_or_else(|| {
                ComputeError::Refused(format!("no live host named {name} (is its agent running?)"))
            }),
            None => match <[Host; 1]>::try_from(live) {
                Ok([one]) => Ok(one),
                Err(live) => Err(ComputeError::Refused(format!(
                    "{} live hosts: name one with --host",
                    live.len()
                ))),
            },
        }
    }
}
