//! A member of a pool: where it is, its weight and backup role, where it is checked; what
//! its POST (also inline in a graph, and each item of a batch update) and PUT take.

use super::{nullable, yes};
use crate::address::IpAddress;
use crate::patch::Patch;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub address: IpAddress,
    pub protocol_port: u16,
    /// 0..=256; 0 drains.
    #[serde(default = "one")]
    pub weight: u16,
    #[serde(default)]
    pub backup: bool,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub monitor_address: Option<IpAddress>,
    #[serde(default)]
    pub monitor_port: Option<u16>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default = "normal")]
    pub vnic_type: String,
}

fn one() -> u16 {
    1
}

fn normal() -> String {
    "normal".into()
}

#[derive(Clone, Debug, Deserialize)]
pub struct MemberCreate {
    pub address: IpAddress,
    pub protocol_port: u16,
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    pub weight: Patch<u16>,
    #[serde(default)]
    pub backup: Patch<bool>,
    #[serde(default)]
    pub subnet_id: Patch<String>,
    #[serde(default)]
    pub monitor_address: Patch<IpAddress>,
    #[serde(default)]
    pub monitor_port: Patch<u16>,
    #[serde(default)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    pub request_sriov: Patch<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MemberPatch {
    pub name: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub weight: Patch<u16>,
    pub backup: Patch<bool>,
    pub monitor_port: Patch<u16>,
    pub monitor_address: Patch<IpAddress>,
    pub tags: Patch<Vec<String>>,
}

impl Member {
    /// A new member with Octavia's defaults for what the POST left unset or null.
    pub fn create(body: MemberCreate) -> Member {
        Member {
            name: body.name.or_else(String::new),
            admin_state_up: body.admin_state_up.or_by(true, false),
            address: body.address,
            protocol_port: body.protocol_port,
            weight: body.weight.or(1),
            backup: body.backup.or(false),
            subnet_id: body.subnet_id.into_option(),
            monitor_address: body.monitor_address.into_option(),
            monitor_port: body.monitor_port.into_option(),
            tags: body.tags.or_else(Vec::new),
            vnic_type: normal(),
        }
    }

    /// A PUT: null resets to Octavia's defaults.
    pub fn update(&mut self, patch: MemberPatch) {
        patch.name.update(&mut self.name, String::new());
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch.weight.update(&mut self.weight, 1);
        patch.backup.update(&mut self.backup, false);
        patch.monitor_port.update_option(&mut self.monitor_port);
        patch
            .monitor_address
            .update_option(&mut self.monitor_address);
        patch.tags.update(&mut self.tags, Vec::new());
    }

    /// Whether a PUT would change anything (a batch update leaves unchanged members be).
    pub fn changed_by(&self, patch: &MemberPatch) -> bool {
        let mut after = self.clone();
        after.update(patch.clone());
        after != *self || after.monitor_address_text() != self.monitor_address_text()
    }

    fn monitor_address_text(&self) -> Option<&str> {
        self.monitor_address.as_ref().map(IpAddress::as_str)
    }
}

impl MemberCreate {
    /// The part of a batch item that updates an existing member.
    pub fn patch(&self) -> MemberPatch {
        MemberPatch {
            name: self.name.clone(),
            admin_state_up: self.admin_state_up.clone(),
            weight: self.weight.clone(),
            backup: self.backup.clone(),
            monitor_port: self.monitor_port.clone(),
            monitor_address: self.monitor_address.clone(),
            tags: self.tags.clone(),
        }
    }
}
