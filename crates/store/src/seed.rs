//! The built-in networks of `ostia up`, made on first start: `ostia-local` (VIPs), the external
//! `provider` (floating IPs) and `ostia-router` between them.

use crate::network::{
    GATEWAY_OWNER, INTERFACE_OWNER, LOCAL_NETWORK, LOCAL_ROUTER, LOCAL_SUBNET, PROVIDER_CIDR,
    PROVIDER_NETWORK, PROVIDER_SUBNET, SERVICE_PROJECT,
};
use crate::{Network, Result, Store, Subnet};
use serde_json::Map;
use std::net::IpAddr;

impl Store {
    /// Creates the built-in networks on first start: `ostia-local` on `cidr` for VIPs, and the
    /// external `provider` (127.20.0.0/16) for floating IPs. Gateways are the first address.
    pub async fn seed_network(&self, cidr: ipnet::Ipv4Net) -> Result<()> {
        self.seed_one(LOCAL_NETWORK, LOCAL_SUBNET, cidr, false)
            .await?;
        let provider = PROVIDER_CIDR.parse().expect("literal");
        if cidr != provider {
            self.seed_one(PROVIDER_NETWORK, PROVIDER_SUBNET, provider, true)
                .await?;
            self.seed_router().await?;
        }
        Ok(())
    }

    /// `ostia-router`: the VIP subnet reaches `provider` through it, so floating IPs from
    /// `provider` can be associated with VIPs on a fresh `ostia up`.
    async fn seed_router(&self) -> Result<()> {
        if self.routers().await?.iter().any(|r| r.name == LOCAL_ROUTER) {
            return Ok(());
        }
        let networks = self.networks().await?;
        let subnets = self.subnets().await?;
        let named = |n: &str| networks.iter().find(|x| x.name == n).map(|x| x.id.clone());
        let (Some(provider), Some(local)) = (named(PROVIDER_NETWORK), named(LOCAL_NETWORK)) else {
            return Ok(());
        };
        let first_subnet = |net: &str| subnets.iter().find(|s| s.network_id == net).cloned();
        let (Some(external), Some(inside)) = (first_subnet(&provider), first_subnet(&local)) else {
            return Ok(());
        };
        let mut attrs = Map::new();
        attrs.insert(
            "external_gateway_info".into(),
            serde_json::json!({"network_id": provider, "enable_snat": true}),
        );
        let router = crate::Router {
            id: uuid::Uuid::new_v4().to_string(),
            name: LOCAL_ROUTER.into(),
            project_id: SERVICE_PROJECT.into(),
            created_at: model::now(),
            attrs,
        };
        let mut tx = self.begin().await?;
        tx.put_router(&router).await?;
        let gateway = inside.gateway_ip.as_deref().and_then(|g| g.parse().ok());
        for (subnet, address, owner) in [
            (&external, None, GATEWAY_OWNER),
            (&inside, gateway, INTERFACE_OWNER),
        ] {
            if let Ok(port) = tx
                .allocate_port(subnet, address, "", owner, SERVICE_PROJECT)
                .await?
            {
                tx.set_port_device(&port.id, &router.id, owner).await?;
            }
        }
        tx.commit().await
    }

    async fn seed_one(
        &self,
        network: &str,
        subnet: &str,
        cidr: ipnet::Ipv4Net,
        external: bool,
    ) -> Result<()> {
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM networks WHERE name = $1")
            .bind(network)
            .fetch_one(&self.write)
            .await?;
        if exists > 0 {
            return Ok(());
        }
        let mut hosts = cidr.hosts();
        let gateway = hosts.next().map(IpAddr::V4);
        let start = hosts.next().map(IpAddr::V4);
        let end = cidr.hosts().last().map(IpAddr::V4);
        let (Some(start), Some(end)) = (start, end) else {
            return Ok(());
        };
        let now = model::now();
        let net = Network {
            id: uuid::Uuid::new_v4().to_string(),
            name: network.into(),
            project_id: SERVICE_PROJECT.into(),
            created_at: now.clone(),
            subnets: Vec::new(),
            external,
            shared: !external,
            attrs: Map::new(),
        };
        let mut tx = self.begin().await?;
        tx.insert_network(&net).await?;
        tx.insert_subnet(&Subnet {
            id: uuid::Uuid::new_v4().to_string(),
            name: subnet.into(),
            network_id: net.id.clone(),
            cidr: cidr.to_string(),
            gateway_ip: gateway.map(|g| g.to_string()),
            pool_start: start.to_string(),
            pool_end: end.to_string(),
            project_id: SERVICE_PROJECT.into(),
            created_at: now,
            ip_version: 4,
            attrs: Map::new(),
        })
        .await?;
        tx.commit().await
    }
}
