//! An L7 policy of a listener: what it does with a matching request (reject, redirect to a
//! URL, a prefix or a pool) and its place among the listener's policies; what its POST (also
//! inline in a graph, with a redirect pool and rules) and PUT take.

use super::{nullable, yes, L7RuleCreate, PoolCreate};
use crate::patch::Patch;
use crate::protocol::L7Action;
use serde::{Deserialize, Serialize};

/// Where positions start when none is given: last.
pub const LAST: u32 = 2_147_483_647;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L7Policy {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub action: L7Action,
    #[serde(default)]
    pub redirect_pool_id: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub redirect_prefix: Option<String>,
    #[serde(default)]
    pub redirect_http_code: Option<u16>,
    /// 1-based, dense among the listener's policies.
    pub position: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}

/// The action and redirect attributes of a POST or PUT, which imply and clear each other
/// (Octavia's `sanitize_l7policy_api_args`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Redirect {
    pub action: Patch<L7Action>,
    pub redirect_pool_id: Patch<String>,
    /// Inside a graph: the pool by name or definition.
    pub redirect_pool: Patch<PoolCreate>,
    pub redirect_url: Patch<String>,
    pub redirect_prefix: Patch<String>,
    pub redirect_http_code: Patch<u16>,
}

impl Redirect {
    pub fn is_empty(&self) -> bool {
        self.action.is_absent()
            && self.redirect_pool_id.is_absent()
            && self.redirect_pool.is_absent()
            && self.redirect_url.is_absent()
            && self.redirect_prefix.is_absent()
            && self.redirect_http_code.is_absent()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct L7PolicyCreate {
    #[serde(default)]
    pub listener_id: Patch<String>,
    #[serde(flatten)]
    pub redirect: Redirect,
    #[serde(default)]
    pub position: Patch<u32>,
    #[serde(default)]
    pub rules: Patch<Vec<L7RuleCreate>>,
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    pub tags: Patch<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct L7PolicyPatch {
    #[serde(flatten)]
    pub redirect: Redirect,
    pub position: Patch<u32>,
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub tags: Patch<Vec<String>>,
}

impl L7PolicyPatch {
    pub fn is_empty(&self) -> bool {
        self.redirect.is_empty()
            && self.position.is_absent()
            && self.name.is_absent()
            && self.description.is_absent()
            && self.admin_state_up.is_absent()
            && self.tags.is_absent()
    }
}

impl L7Policy {
    /// A new policy from a sanitized POST (its action is given), placed last until the
    /// caller places it.
    pub fn create(body: L7PolicyCreate, action: L7Action) -> L7Policy {
        let r = body.redirect;
        L7Policy {
            name: body.name.or_else(String::new),
            description: body.description.or_else(String::new),
            admin_state_up: body.admin_state_up.or_by(true, false),
            action,
            redirect_pool_id: r.redirect_pool_id.into_option(),
            redirect_url: r.redirect_url.into_option(),
            redirect_prefix: r.redirect_prefix.into_option(),
            redirect_http_code: r.redirect_http_code.into_option(),
            position: body.position.or(LAST),
            tags: body.tags.or_else(Vec::new),
        }
    }

    /// A sanitized PUT (the caller places the policy when its position is given).
    pub fn update(&mut self, patch: L7PolicyPatch) {
        let r = patch.redirect;
        r.action.assign(&mut self.action);
        r.redirect_pool_id.update_option(&mut self.redirect_pool_id);
        r.redirect_url.update_option(&mut self.redirect_url);
        r.redirect_prefix.update_option(&mut self.redirect_prefix);
        r.redirect_http_code
            .update_option(&mut self.redirect_http_code);
        patch.position.update(&mut self.position, LAST);
        patch.name.update(&mut self.name, String::new());
        patch
            .description
            .update(&mut self.description, String::new());
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch.tags.update(&mut self.tags, Vec::new());
    }
}
