//! An L7 rule of a policy: what part of a request it compares, how, with what; what its
//! POST (also inline with a policy) and PUT take.

use super::{nullable, yes};
use crate::patch::Patch;
use crate::protocol::{CompareType, L7RuleType};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L7Rule {
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(rename = "type")]
    pub kind: L7RuleType,
    pub compare_type: CompareType,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
    #[serde(default)]
    pub invert: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct L7RuleCreate {
    #[serde(rename = "type")]
    pub kind: L7RuleType,
    pub compare_type: CompareType,
    #[serde(default)]
    pub key: Patch<String>,
    pub value: String,
    #[serde(default)]
    pub invert: Patch<bool>,
    #[serde(default)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    pub tags: Patch<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct L7RulePatch {
    #[serde(rename = "type")]
    pub kind: Patch<L7RuleType>,
    pub compare_type: Patch<CompareType>,
    pub key: Patch<String>,
    pub value: Patch<String>,
    pub invert: Patch<bool>,
    pub admin_state_up: Patch<bool>,
    pub tags: Patch<Vec<String>>,
}

impl L7Rule {
    pub fn create(body: L7RuleCreate) -> L7Rule {
        L7Rule {
            admin_state_up: body.admin_state_up.or_by(true, false),
            kind: body.kind,
            compare_type: body.compare_type,
            key: body.key.into_option(),
            value: body.value,
            invert: body.invert.or(false),
            tags: body.tags.or_else(Vec::new),
        }
    }

    /// A PUT: null resets to Octavia's defaults (type and compare type take no null: the
    /// caller refuses it).
    pub fn update(&mut self, patch: L7RulePatch) {
        patch.kind.assign(&mut self.kind);
        patch.compare_type.assign(&mut self.compare_type);
        patch.key.update_option(&mut self.key);
        patch.value.update(&mut self.value, String::new());
        patch.invert.update(&mut self.invert, false);
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch.tags.update(&mut self.tags, Vec::new());
    }
}
