//! The record of an amphora: which load balancer it serves, its status and role, where it
//! runs (compute id, management address, agent port, process), and the configuration
//! generation it acknowledged. Its status is an `AmphoraStatus`, so it is a record of its
//! own beside the tree's resources.

use crate::address::IpAddress;
use crate::resource::now;
use crate::status::{AmphoraRole, AmphoraStatus};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq)]
pub struct Amphora {
    pub id: String,
    pub lb_id: String,
    pub project_id: Option<String>,
    pub status: AmphoraStatus,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub details: AmphoraDetails,
}

/// What the record keeps beside its columns, named as Octavia's amphora API shows it (and
/// Ostia's own: generation, agent port, process id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AmphoraDetails {
    #[serde(default)]
    pub compute_id: Option<String>,
    /// Where its agent is reached (Octavia's management address).
    #[serde(default)]
    pub lb_network_ip: Option<String>,
    #[serde(default)]
    pub vrrp_ip: Option<IpAddress>,
    #[serde(default)]
    pub ha_ip: Option<IpAddress>,
    #[serde(default)]
    pub vrrp_port_id: Option<String>,
    #[serde(default)]
    pub ha_port_id: Option<String>,
    #[serde(default)]
    pub cert_expiration: Option<String>,
    #[serde(default)]
    pub cert_busy: bool,
    #[serde(default)]
    pub role: Option<AmphoraRole>,
    #[serde(default)]
    pub vrrp_interface: Option<String>,
    #[serde(default)]
    pub vrrp_id: Option<i64>,
    #[serde(default)]
    pub vrrp_priority: Option<i64>,
    #[serde(default)]
    pub cached_zone: Option<String>,
    #[serde(default)]
    pub image_id: Option<String>,
    #[serde(default)]
    pub compute_flavor: Option<String>,
    /// The configuration generation it acknowledged.
    #[serde(default)]
    pub generation: u64,
    /// Its agent's port (amphora processes).
    #[serde(default)]
    pub agent_port: Option<u16>,
    #[serde(default)]
    pub pid: Option<u32>,
}

impl Amphora {
    pub fn set_status(&mut self, status: AmphoraStatus) {
        self.status = status;
        self.updated_at = Some(now());
    }
}
