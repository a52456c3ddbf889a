//! `/v2/lbaas/l7policies/{id}/rules` (envelope `rule` / `rules`).

use super::flow::{self, answer, change, Change};
use super::validate;
use super::*;
use crate::specs;
use front::schema::decode_as;
use model::resource::{L7RuleCreate, L7RulePatch};
use model::L7Rule;

const MAX_RULES: usize = 50;

pub async fn route(
    state: &AppState,
    req: &Req,
    policy_id: &str,
    rest: &[&str],
) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let (tree, _) = find(state, Kind::L7Policy, policy_id).await?;
            authorize(req, &tree)?;
            list_tree_kind(state, req, Kind::L7Rule, Some(policy_id)).await
        }
        (&Method::POST, []) => create(state, req, policy_id).await,
        (&Method::GET, [id]) => {
            let (tree, _) = find(state, Kind::L7Policy, policy_id).await?;
            authorize(req, &tree)?;
            let rule = rule_of(&tree, policy_id, id)?;
            Ok(one(
                Kind::L7Rule,
                render::in_tree(&tree, &rule),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, policy_id, id).await,
        (&Method::DELETE, [id]) => delete(state, req, policy_id, id).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn rule_of(tree: &Tree, policy_id: &str, id: &str) -> ApiResult<Resource> {
    tree.get_kind(Kind::L7Rule, id)
        .filter(|r| r.parent_id.as_deref() == Some(policy_id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(Kind::L7Rule, id))
}

/// Builds a new rule of a policy.
pub fn prepare(tree: &Tree, policy_id: &str, body: L7RuleCreate) -> ApiResult<Resource> {
    let rule = L7Rule::create(body);
    validate::l7rule(&rule)?;
    if tree.children(Kind::L7Rule, policy_id).count() >= MAX_RULES {
        return Err(ApiError::conflict(format!(
            "Too many rules on L7 policy {policy_id}"
        )));
    }
    Ok(new_child(tree, policy_id, rule, OperatingStatus::Offline))
}

/// Creates the rules given inline with a policy.
pub fn create_all(tree: &mut Tree, policy_id: &str, rules: Vec<L7RuleCreate>) -> ApiResult<()> {
    for body in rules {
        let rule = prepare(tree, policy_id, body)?;
        tree.insert(rule);
    }
    Ok(())
}

/// The rule lock rule: policy ACTIVE; load balancer, listener and policy PENDING_UPDATE.
fn lock_policy(tree: &mut Tree, policy_id: &str) -> ApiResult<()> {
    let policy = tree
        .get_kind(Kind::L7Policy, policy_id)
        .ok_or_else(|| ApiError::not_found(Kind::L7Policy, policy_id))?;
    if policy.provisioning_status != ProvisioningStatus::Active {
        return Err(ApiError::conflict(format!(
            "L7Policy {policy_id} is immutable and cannot be updated."
        )));
    }
    let listener = policy.parent_id.clone().unwrap_or_default();
    lock_lb_for_child(tree)?;
    mark_pending(tree, &[listener, policy_id.to_string()]);
    Ok(())
}

async fn create(state: &AppState, req: &Req, policy_id: &str) -> ApiResult<Response> {
    let body: L7RuleCreate = decode_as(&req.body, "rule_", "rule", &specs::RULE_POST)?;
    let c = Change::create(Kind::L7Rule, Kind::L7Policy, policy_id);
    let (tree, rule) = change(state, req, c, |tree| {
        let rule = prepare(tree, policy_id, body)?;
        lock_policy(tree, policy_id)?;
        Ok(flow::insert(tree, rule))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &rule))
}

async fn update(state: &AppState, req: &Req, policy_id: &str, id: &str) -> ApiResult<Response> {
    let patch: L7RulePatch = decode_as(&req.body, "l7rule_", "rule", &specs::RULE_PUT)?;
    validate::l7rule_type_given(&patch.kind)?;
    if patch.compare_type.is_null() {
        return Err(ApiError::invalid_option("None", "compare_type"));
    }
    let c = Change::update(Kind::L7Rule, id).through(Kind::L7Policy, policy_id);
    let (tree, rule) = change(state, req, c, |tree| {
        let mut rule = rule_of(tree, policy_id, id)?;
        let l7 = rule.get_mut::<L7Rule>().expect("a rule");
        l7.update(patch);
        validate::l7rule(l7)?;
        lock_policy(tree, policy_id)?;
        Ok(flow::replace(tree, rule))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &rule))
}

async fn delete(state: &AppState, req: &Req, policy_id: &str, id: &str) -> ApiResult<Response> {
    let c = Change::delete(Kind::L7Rule, id).through(Kind::L7Policy, policy_id);
    change(state, req, c, |tree| {
        rule_of(tree, policy_id, id)?;
        lock_policy(tree, policy_id)?;
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
