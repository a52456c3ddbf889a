//! A load balancer: its VIP(s), provider, flavor and zone; and what its POST (which may
//! carry a whole graph of listeners and pools) and PUT take.

use super::{nullable, yes, ListenerCreate, PoolCreate};
use crate::address::IpAddress;
use crate::patch::Patch;
use crate::protocol::{EngineKind, Provider, Topology};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub vip_address: IpAddress,
    pub vip_port_id: String,
    pub vip_subnet_id: String,
    pub vip_network_id: String,
    #[serde(default)]
    pub vip_qos_policy_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub vip_sg_ids: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub additional_vips: Vec<AdditionalVip>,
    #[serde(default = "amphora")]
    pub provider: Provider,
    #[serde(default)]
    pub flavor_id: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// Ostia created the VIP port and frees it with the load balancer.
    #[serde(default)]
    pub vip_port_owned: bool,
    #[serde(default = "normal")]
    pub vip_vnic_type: String,
    /// From the flavor's `loadbalancer_topology`; None: the worker's
    /// `--loadbalancer-topology` decides when it builds the amphorae.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
    /// From the flavor's `engine`; None: the worker's `--default-engine` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
}

fn amphora() -> Provider {
    Provider::Amphora
}

fn normal() -> String {
    "normal".into()
}

/// An address of the load balancer on another subnet of the VIP's network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdditionalVip {
    pub subnet_id: String,
    pub ip_address: IpAddress,
    pub port_id: String,
}

/// An additional VIP as a POST asks for it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct AdditionalVipRequest {
    pub subnet_id: String,
    #[serde(default)]
    pub ip_address: Patch<IpAddress>,
    #[serde(default)]
    pub port_id: Patch<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoadBalancerCreate {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub vip_address: Patch<IpAddress>,
    pub vip_port_id: Patch<String>,
    pub vip_subnet_id: Patch<String>,
    pub vip_network_id: Patch<String>,
    pub vip_qos_policy_id: Patch<String>,
    pub vip_sg_ids: Patch<Vec<String>>,
    pub additional_vips: Patch<Vec<AdditionalVipRequest>>,
    pub project_id: Patch<String>,
    pub listeners: Patch<Vec<ListenerCreate>>,
    pub pools: Patch<Vec<PoolCreate>>,
    pub provider: Patch<String>,
    pub flavor_id: Patch<String>,
    pub availability_zone: Patch<String>,
    pub tags: Patch<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoadBalancerPatch {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub vip_qos_policy_id: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub vip_sg_ids: Patch<Vec<String>>,
    pub tags: Patch<Vec<String>>,
}

impl LoadBalancer {
    /// A PUT: null resets to Octavia's defaults.
    pub fn update(&mut self, patch: LoadBalancerPatch) {
        patch.name.update(&mut self.name, String::new());
        patch
            .description
            .update(&mut self.description, String::new());
        patch
            .vip_qos_policy_id
            .update_option(&mut self.vip_qos_policy_id);
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch.vip_sg_ids.update(&mut self.vip_sg_ids, Vec::new());
        patch.tags.update(&mut self.tags, Vec::new());
    }

    /// The VIP and every additional VIP.
    pub fn vips(&self) -> impl Iterator<Item = &IpAddress> {
        std::iter::once(&self.vip_address).chain(self.additional_vips.iter().map(|v| &v.ip_address))
    }
}
