//! `/v2/lbaas/listeners`.

use super::flow::{self, answer, change, Change};
use super::validate::{self, Stage};
use super::*;
use crate::certificates::{check_refs, NamesCertificates};
use crate::specs;
use front::schema::decode_as;
use model::resource::{ListenerCreate, ListenerPatch};
use model::Listener;

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::Listener, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::Listener, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::Listener,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (&Method::GET, [id, "stats"]) => {
            let (tree, r) = find(state, Kind::Listener, id).await?;
            authorize(req, &tree)?;
            super::stats::respond(state, &[r.id]).await
        }
        (_, []) | (_, [_]) | (_, [_, "stats"]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

/// Builds a new listener of a tree: Octavia's defaults, its checks, port conflicts.
pub fn prepare(tree: &Tree, body: ListenerCreate) -> ApiResult<Resource> {
    let peer = tree
        .all::<Listener>()
        .map(|(_, l)| l.peer_port)
        .filter(|p| *p > 0)
        .max()
        .map_or(1025, |p| p.saturating_add(1));
    let listener = Listener::create(body, peer);
    validate::listener(tree, &listener, Stage::Create)?;
    let transport = listener.protocol.transport();
    if tree.all::<Listener>().any(|(_, l)| {
        l.protocol_port == listener.protocol_port && l.protocol.transport() == transport
    }) {
        return Err(ApiError::conflict(format!(
            "Another Listener on this Load Balancer is already using protocol {} and protocol_port {}",
            listener.protocol, listener.protocol_port
        )));
    }
    let lb_id = tree.lb().id.clone();
    Ok(new_child(tree, &lb_id, listener, OperatingStatus::Offline))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let body: ListenerCreate =
        decode_as(&req.body, "listener_", "listener", &specs::LISTENER_POST)?;
    let lb_id = body.loadbalancer_id.value().cloned().unwrap_or_default();
    check_refs(state, &req.ctx, &body.refs()).await?;
    let c = Change::create(Kind::Listener, Kind::LoadBalancer, &lb_id);
    let (tree, listener) = change(state, req, c, |tree| {
        let listener = prepare(tree, body)?;
        lock_lb_for_child(tree)?;
        Ok(flow::insert(tree, listener))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &listener))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let patch: ListenerPatch = decode_as(&req.body, "listener_", "listener", &specs::LISTENER_PUT)?;
    check_refs(state, &req.ctx, &patch.refs()).await?;
    let (tree, listener) = change(state, req, Change::update(Kind::Listener, id), |tree| {
        updated(tree, id, patch)
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &listener))
}

/// The listener after a PUT: null resets to Octavia's defaults, then the merged listener is
/// checked as a new one would be.
fn updated(tree: &mut Tree, id: &str, patch: ListenerPatch) -> ApiResult<Resource> {
    let mut r = tree.get(id).cloned().expect("found with its tree");
    let listener = r.get_mut::<Listener>().expect("a listener");
    listener.update(patch);
    validate::listener(tree, listener, Stage::Update)?;
    lock_lb_for_child(tree)?;
    Ok(flow::replace(tree, r))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(state, req, Change::delete(Kind::Listener, id), |tree| {
        lock_lb_for_child(tree)?;
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
