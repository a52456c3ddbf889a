//! What an operator offers outside load-balancer trees: flavors and availability zones, and
//! the provider profiles behind them.

use super::{nullable, yes};
use crate::patch::Patch;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub flavor_profile_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlavorProfile {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    pub provider_name: String,
    /// A JSON document of the provider's flavor capabilities.
    pub flavor_data: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityZone {
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub availability_zone_profile_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityZoneProfile {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    pub provider_name: String,
    /// A JSON document of the provider's zone capabilities.
    pub availability_zone_data: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct FlavorCreate {
    pub name: String,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub enabled: Patch<bool>,
    pub flavor_profile_id: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FlavorPatch {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub enabled: Patch<bool>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AvailabilityZoneCreate {
    pub name: String,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub enabled: Patch<bool>,
    pub availability_zone_profile_id: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AvailabilityZonePatch {
    pub description: Patch<String>,
    pub enabled: Patch<bool>,
}

/// A flavor or zone profile's POST: its data document under the kind's own name.
#[derive(Clone, Debug, Deserialize)]
pub struct ProfileCreate {
    pub name: String,
    pub provider_name: String,
    #[serde(alias = "flavor_data", alias = "availability_zone_data")]
    pub data: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfilePatch {
    pub name: Patch<String>,
    pub provider_name: Patch<String>,
    #[serde(alias = "flavor_data", alias = "availability_zone_data")]
    pub data: Patch<String>,
}

impl Flavor {
    pub fn create(body: FlavorCreate) -> Flavor {
        Flavor {
            name: body.name,
            description: body.description.or_else(String::new),
            enabled: body.enabled.or_by(true, false),
            flavor_profile_id: body.flavor_profile_id,
        }
    }

    pub fn update(&mut self, patch: FlavorPatch) {
        patch.name.update(&mut self.name, String::new());
        patch
            .description
            .update(&mut self.description, String::new());
        patch.enabled.update(&mut self.enabled, false);
    }
}

impl AvailabilityZone {
    pub fn create(body: AvailabilityZoneCreate) -> AvailabilityZone {
        AvailabilityZone {
            name: body.name,
            description: body.description.or_else(String::new),
            enabled: body.enabled.or_by(true, false),
            availability_zone_profile_id: body.availability_zone_profile_id,
        }
    }

    pub fn update(&mut self, patch: AvailabilityZonePatch) {
        patch
            .description
            .update(&mut self.description, String::new());
        patch.enabled.update(&mut self.enabled, false);
    }
}
