//! `/v2/lbaas/pools`.

use super::flow::{self, answer, change, Change};
use super::validate::{self, Stage};
use super::*;
use crate::certificates::{check_refs, NamesCertificates};
use crate::specs;
use front::schema::decode_as;
use model::resource::{PoolCreate, PoolPatch};
use model::{L7Policy, Listener, Patch, Pool};

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::Pool, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::Pool, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::Pool,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (_, [id, "members", more @ ..]) => super::member::route(state, req, id, more).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

/// Builds a new pool of a tree, optionally as the default pool of `listener`.
pub fn prepare(tree: &Tree, body: PoolCreate, listener: Option<&str>) -> ApiResult<Resource> {
    let (Some(&protocol), Some(&lb_algorithm)) = (body.protocol.value(), body.lb_algorithm.value())
    else {
        return Err(ApiError::mandatory(if body.protocol.value().is_none() {
            "protocol"
        } else {
            "lb_algorithm"
        }));
    };
    if let Some(listener_id) = listener {
        validate::pool_of_listener(tree, listener_id, protocol)?;
    }
    let persistence = body.session_persistence.value().cloned();
    if let Some(sp) = &persistence {
        validate::persistence(protocol, sp, Stage::Create)?;
    }
    if body.crl_container_ref.value().is_some() && body.ca_tls_container_ref.value().is_none() {
        return Err(ApiError::validation(
            "A CA certificate reference is required to specify a revocation list.",
        ));
    }
    if body.tls_enabled.value() == Some(&true) {
        validate::tls_versions(body.tls_versions.value())?;
        validate::alpn_list(body.alpn_protocols.value())?;
    }
    let pool = Pool::create(body, protocol, lb_algorithm, persistence);
    let lb_id = tree.lb().id.clone();
    Ok(new_child(tree, &lb_id, pool, OperatingStatus::Offline))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let body: PoolCreate = decode_as(&req.body, "pool_", "pool", &specs::POOL_POST)?;
    let (lb_id, listener_id) = (
        body.loadbalancer_id.value().cloned(),
        body.listener_id.value().cloned(),
    );
    let at = match (&lb_id, &listener_id) {
        (Some(lb), _) => (Kind::LoadBalancer, lb.as_str()),
        (None, Some(l)) => (Kind::Listener, l.as_str()),
        (None, None) => {
            return Err(ApiError::validation(
                "Must provide at least one of: loadbalancer_id, listener_id",
            ))
        }
    };
    check_refs(state, &req.ctx, &body.refs()).await?;
    let c = Change::create(Kind::Pool, at.0, at.1);
    let (tree, pool) = change(state, req, c, |tree| {
        if let Some(l) = &listener_id {
            if tree.get_kind(Kind::Listener, l).is_none() {
                return Err(ApiError::not_found(Kind::Listener, l));
            }
        }
        let pool = prepare(tree, body, listener_id.as_deref())?;
        lock_lb_for_child(tree)?;
        if let Some(l) = &listener_id {
            let r = tree.get_mut(l).expect("checked above");
            if let Some(listener) = r.get_mut::<Listener>() {
                listener.default_pool_id = Some(pool.id.clone());
            }
            r.set_status(ProvisioningStatus::PendingUpdate);
        }
        Ok(flow::insert(tree, pool))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &pool))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let patch: PoolPatch = decode_as(&req.body, "pool_", "pool", &specs::POOL_PUT)?;
    check_refs(state, &req.ctx, &patch.refs()).await?;
    let (tree, pool) = change(state, req, Change::update(Kind::Pool, id), |tree| {
        updated(tree, id, patch)
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &pool))
}

fn updated(tree: &mut Tree, id: &str, mut patch: PoolPatch) -> ApiResult<Resource> {
    let mut r = tree.get(id).cloned().expect("found with its tree");
    let pool = r.get_mut::<Pool>().expect("a pool");
    match std::mem::take(&mut patch.session_persistence) {
        Patch::Absent => {}
        Patch::Set(sp) if !sp.is_empty() => {
            let current = pool.session_persistence.as_ref().map(|p| p.kind);
            let sp = sp
                .with_type(current)
                .ok_or_else(|| ApiError::mandatory("type"))?;
            validate::persistence(pool.protocol, &sp, Stage::Update)?;
            pool.session_persistence = Some(sp);
        }
        Patch::Set(_) | Patch::Null => pool.session_persistence = None,
    }
    validate::tls_versions(patch.tls_versions.value())?;
    validate::alpn_list(patch.alpn_protocols.value())?;
    if patch.lb_algorithm.is_null() {
        return Err(ApiError::invalid_option("None", "lb_algorithm"));
    }
    if patch.ca_tls_container_ref.is_null()
        && pool.crl_container_ref.is_some()
        && !patch.crl_container_ref.is_null()
    {
        return Err(ApiError::validation(
            "A CA reference cannot be removed when a certificate revocation list is present.",
        ));
    }
    pool.update(patch);
    lock_lb_for_child(tree)?;
    let listeners = tree.pool_listeners(id);
    mark_pending(tree, &listeners);
    Ok(flow::replace(tree, r))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(state, req, Change::delete(Kind::Pool, id), |tree| {
        if let Some((policy, _)) = tree
            .all::<L7Policy>()
            .find(|(_, p)| p.redirect_pool_id.as_deref() == Some(id))
        {
            return Err(ApiError::conflict(format!(
                "Pool {id} is in use by L7 policy {}",
                policy.id
            )));
        }
        lock_lb_for_child(tree)?;
        let listeners = tree.pool_listeners(id);
        mark_pending(tree, &listeners);
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}
