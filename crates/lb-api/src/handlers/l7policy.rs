//! `/v2/lbaas/l7policies` (rules are in `l7rule`).

use super::flow::{self, answer, change, Change};
use super::validate;
use super::*;
use crate::specs;
use front::schema::decode_as;
use model::resource::{L7PolicyCreate, L7PolicyPatch};
use model::{L7Policy, Patch, Provider};

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::L7Policy, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::L7Policy, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::L7Policy,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (_, [id, "rules", more @ ..]) => super::l7rule::route(state, req, id, more).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

/// Moves policy `moved` of a listener to `position` (1-based; past the end is last) and
/// numbers the listener's policies 1..n.
pub fn place(tree: &mut Tree, listener_id: &str, moved: &str, position: u32) {
    let mut order: Vec<String> = tree
        .policies_in_order(listener_id)
        .into_iter()
        .filter(|id| id != moved)
        .collect();
    let at = (position.max(1) as usize - 1).min(order.len());
    order.insert(at, moved.to_string());
    tree.number_policies(&order);
}

/// Builds a new policy of a listener (rules are created by the caller).
pub fn prepare(tree: &Tree, listener_id: &str, mut body: L7PolicyCreate) -> ApiResult<Resource> {
    let protocol = validate::policy_listener(tree, listener_id)?;
    validate::l7policy_redirect(&mut body.redirect)?;
    let Some(&action) = body.redirect.action.value() else {
        return Err(ApiError::bad_request(
            "Invalid L7 Policy action specified: None",
        ));
    };
    if let Some(pool) = body.redirect.redirect_pool_id.value() {
        validate::redirect_pool(tree, protocol, pool)?;
    }
    let provider = tree.load_balancer().provider;
    if provider != Provider::NoopDriver && !protocol.is_http() {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("Provider '{provider}' does not support a requested action: {protocol} protocol listeners do not support L7 policies"),
        ));
    }
    let policy = L7Policy::create(body, action);
    Ok(new_child(
        tree,
        listener_id,
        policy,
        OperatingStatus::Offline,
    ))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let mut body: L7PolicyCreate =
        decode_as(&req.body, "l7policy_", "l7policy", &specs::POLICY_POST)?;
    let listener_id = body.listener_id.value().cloned().unwrap_or_default();
    let rules = std::mem::take(&mut body.rules).or_else(Vec::new);
    let c = Change::create(Kind::L7Policy, Kind::Listener, &listener_id);
    let (tree, policy) = change(state, req, c, |tree| {
        let policy = prepare(tree, &listener_id, body)?;
        lock_lb_for_child(tree)?;
        mark_pending(tree, std::slice::from_ref(&listener_id));
        let position = policy.get::<L7Policy>().map_or(u32::MAX, |p| p.position);
        let id = flow::insert(tree, policy).id;
        place(tree, &listener_id, &id, position);
        super::l7rule::create_all(tree, &id, rules)?;
        Ok(tree.get(&id).cloned().expect("inserted"))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &policy))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let mut patch: L7PolicyPatch =
        decode_as(&req.body, "l7policy_", "l7policy", &specs::POLICY_PUT)?;
    validate::l7policy_redirect(&mut patch.redirect)?;
    if patch.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid L7 Policy arguments: Invalid update options",
        ));
    }
    let (tree, policy) = change(state, req, Change::update(Kind::L7Policy, id), |tree| {
        let mut r = tree.get(id).cloned().expect("found with its tree");
        let listener_id = r.parent_id.clone().unwrap_or_default();
        let protocol = validate::policy_listener(tree, &listener_id)?;
        if let Some(pool) = patch.redirect.redirect_pool_id.value() {
            validate::redirect_pool(tree, protocol, pool)?;
        }
        // A null position moves the policy last.
        let moved = match &patch.position {
            Patch::Absent => None,
            Patch::Null => Some(u32::MAX),
            Patch::Set(p) => Some(*p),
        };
        r.get_mut::<L7Policy>().expect("a policy").update(patch);
        lock_lb_for_child(tree)?;
        mark_pending(tree, std::slice::from_ref(&listener_id));
        flow::replace(tree, r);
        if let Some(position) = moved {
            place(tree, &listener_id, id, position);
        }
        Ok(tree.get(id).cloned().expect("present"))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &policy))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(state, req, Change::delete(Kind::L7Policy, id), |tree| {
        let listener_id = tree
            .get(id)
            .and_then(|p| p.parent_id.clone())
            .unwrap_or_default();
        lock_lb_for_child(tree)?;
        mark_pending(tree, std::slice::from_ref(&listener_id));
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
