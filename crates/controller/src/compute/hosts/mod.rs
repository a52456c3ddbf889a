//! `--amphora netns`: amphorae on hosts' agents. The scheduler places each new amphora on a
//! live, admin-up host with the fewest amphorae (ties at random), as neutron-lbaas's
//! `ChanceScheduler` picks among live LBaaS agents; the host's agent builds it as an `ostia
//! amphora` process in a namespace of its own. Each configuration carries its plumbing: the
//! VIP's network with its VXLAN id and the hosts that carry it, and the VIP port (its MAC,
//! the VIP with its subnet's prefix, the subnet's gateway).

mod probes;
mod routers;
mod sync;

pub use probes::Probe;
pub use sync::Pushed;

use super::{BoxFuture, ComputeDriver, ComputeError, Placed, Placement, Stop};
use amphora::client::{AgentClient, AgentError};
use amphora::pki::Authority;
use engine::Applied;
use hyper::Method;
use model::{AmphoraConfig, Host, NetworkPlumbing, Plumbing, PortPlumbing};
use std::net::SocketAddr;
use std::time::Duration;
use store::Store;

pub struct Hosts {
    store: Store,
    /// For what answers at once: a host that does not answer within a second is taken for
    /// dead (a host that just died is still reported alive for a few seconds).
    quick: AgentClient,
    /// For the rest.
    client: AgentClient,
    /// For building an amphora (a process to start, ports to plumb).
    builder: AgentClient,
    /// A host silent this long is dead (`--host-down-time`).
    down_after: Duration,
    /// The host that holds the routers (the control plane's own).
    router_host: Option<String>,
    /// Hosts that did not answer a quick question, and when (ms): passed over without
    /// asking again until they report after that. When a host dies, the failovers of its
    /// amphorae then pay the quick timeout once, not once each.
    unanswered: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl Hosts {
    /// `pki_dir` holds the CA the hosts' agents trust.
    pub fn new(
        store: Store,
        pki_dir: &std::path::Path,
        down_after: Duration,
        router_host: Option<String>,
    ) -> Result<Hosts, ComputeError> {
        let authority =
            Authority::load_or_create(pki_dir).map_err(|e| ComputeError::Failed(e.to_string()))?;
        let tls = authority
            .client_config()
            .map_err(|e| ComputeError::Failed(e.to_string()))?;
        Ok(Hosts {
            store,
            quick: AgentClient::new(tls.clone(), Duration::from_secs(1)),
            client: AgentClient::new(tls.clone(), Duration::from_secs(5)),
            builder: AgentClient::new(tls, Duration::from_secs(20)),
            down_after,
            router_host,
            unanswered: Default::default(),
        })
    }

    fn failed(e: impl std::fmt::Display) -> ComputeError {
        ComputeError::Failed(e.to_string())
    }

    /// The hosts that reported within the down time, and answered since they last did not.
    async fn live(&self) -> Result<Vec<Host>, ComputeError> {
        let now = store::jobs::now_millis();
        let down_after = self.down_after.as_millis() as i64;
        Ok(self
            .store
            .hosts()
            .await
            .map_err(Self::failed)?
            .into_iter()
            .filter(|h| h.alive(now, down_after) && !self.is_unanswering(h))
            .collect())
    }

    fn is_unanswering(&self, host: &Host) -> bool {
        let unanswered = self.unanswered.lock().expect("not poisoned");
        unanswered
            .get(&host.id)
            .is_some_and(|at| *at >= host.heartbeat_at)
    }

    fn did_not_answer(&self, host: &Host) {
        let mut unanswered = self.unanswered.lock().expect("not poisoned");
        unanswered.insert(host.id.clone(), store::jobs::now_millis());
    }

    /// Live, admin-up hosts with an agent: those without an amphora of load balancer
    /// `lb_id` first (anti-affinity: the two of a pair on two hosts when there are two), then
    /// the least loaded (ties in random order). With each, whether it holds one already.
    async fn candidates(&self, lb_id: &str) -> Result<Vec<(Host, bool)>, ComputeError> {
        let amphorae: Vec<_> = self
            .store
            .amphorae(None)
            .await
            .map_err(Self::failed)?
            .into_iter()
            .filter(|a| !a.status.is_gone())
            .collect();
        let mut hosts: Vec<(bool, usize, f64, Host)> = self
            .live()
            .await?
            .into_iter()
            .filter(|h| h.admin_state_up && h.agent.is_some())
            .map(|h| {
                let on_host =
                    |a: &&model::Amphora| a.details.compute_id.as_deref() == Some(h.id.as_str());
                let sibling = amphorae.iter().filter(on_host).any(|a| a.lb_id == lb_id);
                let load = amphorae.iter().filter(on_host).count();
                (sibling, load, amphora::random_fraction(), h)
            })
            .collect();
        hosts.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
        Ok(hosts
            .into_iter()
            .map(|(sibling, _, _, h)| (h, sibling))
            .collect())
    }

    /// The host an amphora was placed on, and its agent's address.
    async fn host_of(&self, placed: &Placed) -> Result<(Host, SocketAddr), ComputeError> {
        let unreachable =
            |why: &str| ComputeError::Unreachable(format!("amphora {}: {why}", placed.id));
        let host = self
            .store
            .host(&placed.placement.compute_id)
            .await
            .map_err(Self::failed)?
            .ok_or_else(|| unreachable("its host is gone"))?;
        let agent = host
            .agent
            .ok_or_else(|| unreachable("its host has no agent"))?;
        Ok((host, agent))
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        placed: &Placed,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ComputeError> {
        let (host, agent) = self.host_of(placed).await?;
        let client = if method == Method::PUT {
            &self.builder
        } else {
            &self.client
        };
        client
            .json(agent, &host.name, method, path, body)
            .await
            .map_err(compute_error)
    }

    /// Whether the host an amphora was placed on reports.
    async fn host_alive(&self, placed: &Placed) -> bool {
        let now = store::jobs::now_millis();
        match self.host_of(placed).await {
            Ok((host, _)) => {
                host.alive(now, self.down_after.as_millis() as i64) && !self.is_unanswering(&host)
            }
            Err(_) => false,
        }
    }

    /// What `amphora` of `config`'s load balancer is plugged into, and its configuration
    /// with only the load balancer's own VIPs (floating IPs are the routers'). A STANDALONE
    /// amphora holds the VIP port; one of a pair its VRRP port, where keepalived brings
    /// the VIPs.
    async fn plumbed(
        &self,
        amphora: &Placed,
        config: &AmphoraConfig,
    ) -> Result<AmphoraConfig, ComputeError> {
        let tree = self
            .store
            .tree(&config.lb_id)
            .await
            .map_err(Self::failed)?
            .ok_or_else(|| Self::failed(format!("load balancer {} is gone", config.lb_id)))?;
        let lb = tree.load_balancer();
        let vips: Vec<std::net::IpAddr> = lb.vips().map(|v| v.ip()).collect();
        let subnets = self.store.subnets().await.map_err(Self::failed)?;
        let subnet = subnets
            .iter()
            .find(|s| s.id == lb.vip_subnet_id)
            .ok_or_else(|| Self::failed(format!("VIP subnet {} is gone", lb.vip_subnet_id)))?;
        let cidr: ipnet::IpNet = subnet
            .cidr
            .parse()
            .map_err(|_| Self::failed(format!("subnet {} has no CIDR", subnet.id)))?;
        if cidr.addr().is_loopback() {
            return Err(ComputeError::Refused(format!(
                "--amphora netns serves VIPs on networks; subnet {} ({}) is the loopback \
                 subnet of in-process amphorae",
                subnet.id, subnet.cidr
            )));
        }
        let record = self
            .store
            .amphora(&amphora.id)
            .await
            .map_err(Self::failed)?;
        let vrrp_port = record
            .as_ref()
            .filter(|_| config.vrrp.is_some())
            .and_then(|r| r.details.vrrp_port_id.clone());
        let port_id = vrrp_port.clone().unwrap_or_else(|| lb.vip_port_id.clone());
        let port = self
            .store
            .port(&port_id)
            .await
            .map_err(Self::failed)?
            .ok_or_else(|| Self::failed(format!("port {port_id} is gone")))?;
        let vni = self
            .store
            .network_vni(&subnet.network_id)
            .await
            .map_err(Self::failed)?;
        let on_subnet: Vec<std::net::IpAddr> = vips
            .iter()
            .filter(|ip| cidr.contains(*ip))
            .copied()
            .collect();
        let (own, floating) = match vrrp_port {
            Some(_) => {
                let own: std::net::IpAddr = port
                    .ip_address
                    .parse()
                    .map_err(|_| Self::failed(format!("port {} has no address", port.id)))?;
                (vec![own], on_subnet)
            }
            None => (on_subnet, Vec::new()),
        };
        let addresses = own
            .iter()
            .filter_map(|ip| ipnet::IpNet::new(*ip, cidr.prefix_len()).ok())
            .collect();
        let gateway = subnet.gateway_ip.as_deref().and_then(|g| g.parse().ok());
        let plumbing = Plumbing {
            networks: vec![NetworkPlumbing {
                network_id: subnet.network_id.clone(),
                vni,
                peers: self.peers(&subnet.network_id, &config.lb_id).await?,
            }],
            ports: vec![PortPlumbing {
                port_id: port.id.clone(),
                network_id: subnet.network_id.clone(),
                mac: port.mac(),
                addresses,
                gateway,
                floating,
            }],
        };
        let mut config = config.clone();
        config.vips = vips;
        config.plumbing = Some(plumbing);
        Ok(config)
    }

    /// Where a network's floods go from an amphora of `lb_id`: the hosts that carry it, and
    /// the hosts of the load balancer's other amphorae, which may not have reported carrying
    /// it yet (the two of a pair are plumbed one right after the other, and each must hear
    /// the other's first adverts, or both claim the VIP).
    async fn peers(
        &self,
        network_id: &str,
        lb_id: &str,
    ) -> Result<Vec<std::net::IpAddr>, ComputeError> {
        let mut peers = self.carriers(network_id).await?;
        let amphorae = self
            .store
            .amphorae(Some(lb_id))
            .await
            .map_err(Self::failed)?;
        for amp in amphorae.iter().filter(|a| !a.status.is_gone()) {
            let Some(host_id) = amp.details.compute_id.as_deref() else {
                continue;
            };
            if let Some(host) = self.store.host(host_id).await.map_err(Self::failed)? {
                if !peers.contains(&host.local_ip) {
                    peers.push(host.local_ip);
                }
            }
        }
        Ok(peers)
    }

    /// The underlay addresses of the live hosts that carry a network.
    pub async fn carriers(&self, network_id: &str) -> Result<Vec<std::net::IpAddr>, ComputeError> {
        Ok(self
            .live()
            .await?
            .into_iter()
            .filter(|h| h.networks.iter().any(|n| n == network_id))
            .map(|h| h.local_ip)
            .collect())
    }
}

fn compute_error(e: AgentError) -> ComputeError {
    match e {
        AgentError::Refused(reason) => ComputeError::Refused(reason),
        AgentError::Unreachable { .. } => ComputeError::Unreachable(e.to_string()),
        AgentError::Failed { .. } => ComputeError::Failed(e.to_string()),
    }
}

impl ComputeDriver for Hosts {
    fn heartbeats(&self) -> bool {
        true
    }

    fn pairs(&self) -> bool {
        true
    }

    fn create<'a>(
        &'a self,
        amphora_id: &'a str,
        lb_id: &'a str,
    ) -> BoxFuture<'a, Result<Placement, ComputeError>> {
        Box::pin(async move {
            let mut last = None;
            for (host, sibling) in self.candidates(lb_id).await? {
                let Some(agent) = host.agent else { continue };
                let answers: Result<serde_json::Value, _> = self
                    .quick
                    .json(agent, &host.name, Method::GET, "/1.0/info", None)
                    .await;
                if let Err(e) = answers {
                    tracing::info!(host = %host.name, error = %e, "host passed over: no answer");
                    if matches!(e, AgentError::Unreachable { .. }) {
                        self.did_not_answer(&host);
                    }
                    last = Some(e);
                    continue;
                }
                let path = format!("/1.0/amphorae/{amphora_id}?lb={lb_id}");
                let created: Result<serde_json::Value, _> = self
                    .builder
                    .json(agent, &host.name, Method::POST, &path, None)
                    .await;
                match created {
                    Ok(_) => {
                        if sibling {
                            tracing::warn!(host = %host.name, lb = %lb_id, amphora = %amphora_id,
                                "both amphorae of the pair on one host: no other live host \
                                 could build one (their records show the same compute_id)");
                        }
                        return Ok(Placement {
                            compute_id: host.id.clone(),
                            lb_network_ip: host.local_ip.to_string(),
                            agent_port: Some(agent.port()),
                            pid: None,
                            cert_expiration: None,
                        });
                    }
                    // A host that just died, or cannot build: the next one is tried.
                    Err(e) => {
                        tracing::warn!(host = %host.name, amphora = %amphora_id, error = %e,
                            "host could not build the amphora");
                        last = Some(e);
                    }
                }
            }
            Err(match last {
                Some(e) => compute_error(e),
                // neutron-lbaas's NoEligibleLbaasAgent.
                None => ComputeError::Failed(format!(
                    "No eligible agent found for loadbalancer {lb_id}."
                )),
            })
        })
    }

    fn apply<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<Applied, ComputeError>> {
        Box::pin(async move {
            let config = self.plumbed(amphora, config).await?;
            let body = serde_json::to_vec(&config).expect("serialisable");
            let path = format!("/1.0/amphorae/{}/loadbalancer", amphora.id);
            self.call(amphora, Method::PUT, &path, Some(body)).await
        })
    }

    fn delete<'a>(&'a self, amphora: &'a Placed, how: Stop) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let stop = match how {
                Stop::Graceful => "graceful",
                Stop::Kill => "kill",
            };
            let path = format!("/1.0/amphorae/{}?stop={stop}", amphora.id);
            // A host that is down is not waited for: its amphorae are deleted when it comes
            // back (the sync finds it runs amphorae it no longer owns).
            if !self.host_alive(amphora).await {
                return;
            }
            // One second to kill: the amphora being replaced is often on a host that just
            // died. A graceful stop takes longer (keepalived hands the VIP over).
            let client = match how {
                Stop::Kill => &self.quick,
                Stop::Graceful => &self.client,
            };
            let deleted = match self.host_of(amphora).await {
                Ok((host, agent)) => {
                    let answer = client
                        .json::<serde_json::Value>(agent, &host.name, Method::DELETE, &path, None)
                        .await;
                    if matches!(answer, Err(AgentError::Unreachable { .. })) {
                        self.did_not_answer(&host);
                    }
                    answer.map_err(compute_error)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = deleted {
                tracing::info!(amphora = %amphora.id, error = %e, "amphora not deleted on its host");
            }
        })
    }

    fn attach<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async move {
            let config = self.plumbed(amphora, config).await?;
            let body = serde_json::to_vec(&config).expect("serialisable");
            let path = format!("/1.0/amphorae/{}/attach", amphora.id);
            self.call::<serde_json::Value>(amphora, Method::PUT, &path, Some(body))
                .await
                .map(|_| ())
        })
    }

    fn configure<'a>(&'a self, amphora: &'a Placed) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async move {
            let path = format!("/1.0/amphorae/{}/config", amphora.id);
            self.call::<serde_json::Value>(amphora, Method::PUT, &path, None)
                .await
                .map(|_| ())
        })
    }
}
