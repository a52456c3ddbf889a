//! Neutron's policy as Ostia applies it: who is an administrator, who owns an object, and
//! which networks a caller sees.

use front::{RequestContext, Rule};
use store::Network;

pub fn is_admin(ctx: &RequestContext) -> bool {
    ctx.allows(Rule::Admin, None)
}

/// An administrator owns everything; anyone else their project's objects.
pub fn owns(ctx: &RequestContext, project: &str) -> bool {
    is_admin(ctx) || ctx.project_id.as_deref() == Some(project)
}

/// Networks a caller sees: their own, shared and external ones; all for an administrator.
pub fn network_visible(ctx: &RequestContext, n: &Network) -> bool {
    n.shared || n.external || is_admin(ctx) || ctx.project_id.as_deref() == Some(&n.project_id)
}
