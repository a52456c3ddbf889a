//! Request handlers, one module per resource, and what they share: loading trees, the lock
//! rule, responses.

pub mod admin;
pub mod catalog;
pub mod flow;
pub mod graph;
pub mod healthmonitor;
pub mod l7policy;
pub mod l7rule;
pub mod listener;
pub mod loadbalancer;
pub mod member;
pub mod pool;
pub mod providers;
pub mod stats;
pub mod validate;

use crate::render;
use crate::AppState;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use front::listing::{self, Query};
use front::{ApiError, ApiResult, RequestContext, Rule};
use model::{JobAction, Kind, OperatingStatus, ProvisioningStatus, Resource, Tree};
use serde_json::{json, Map, Value};
use store::WriteTx;

/// One API request, as the handlers see it.
pub struct Req {
    pub method: Method,
    pub query: Query,
    pub body: bytes::Bytes,
    /// Scheme, host and path of the request without query, for `*_links`.
    pub url: String,
    pub ctx: RequestContext,
}

pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `{"<singular>": {...}}` with `fields=` applied.
pub fn one(kind: Kind, obj: Map<String, Value>, q: &Query, status: StatusCode) -> Response {
    let obj = listing::select_fields(obj, &q.fields());
    (status, axum::Json(json!({ kind.singular(): obj }))).into_response()
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// Loads the live (not DELETED) object and its tree, or 404.
pub async fn find(state: &AppState, kind: Kind, id: &str) -> ApiResult<(Tree, Resource)> {
    if !is_uuid(id) {
        return Err(ApiError::not_found(kind, id));
    }
    let row = state
        .core
        .store
        .get(kind, id)
        .await?
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    let lb_id = row.lb_id.clone().unwrap_or_default();
    let tree = state
        .core
        .store
        .tree(&lb_id)
        .await?
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    if tree.lb().provisioning_status == ProvisioningStatus::Deleted {
        return Err(ApiError::not_found(kind, id));
    }
    let r = tree
        .get_kind(kind, id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    Ok((tree, r))
}

/// The same inside a write transaction.
pub async fn find_tx(tx: &mut WriteTx, kind: Kind, id: &str) -> ApiResult<Tree> {
    if !is_uuid(id) {
        return Err(ApiError::not_found(kind, id));
    }
    let row = tx
        .get(kind, id)
        .await?
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    let lb_id = row.lb_id.clone().unwrap_or_default();
    let tree = tx
        .tree(&lb_id)
        .await?
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    if tree.lb().provisioning_status == ProvisioningStatus::Deleted {
        return Err(ApiError::not_found(kind, id));
    }
    Ok(tree)
}

/// The one authorization point of an action on a load balancer's tree: reads need
/// `load-balancer:read`, changes `load-balancer:write`, on the load balancer's project.
pub fn authorize(req: &Req, tree: &Tree) -> ApiResult<()> {
    let rule = match req.method {
        Method::GET | Method::HEAD => Rule::Read,
        _ => Rule::Write,
    };
    authorize_rule(req, tree, rule)
}

/// The same with an explicit rule (failover is admin-only, member lists admit `service`).
pub fn authorize_rule(req: &Req, tree: &Tree, rule: Rule) -> ApiResult<()> {
    req.ctx.authorize(rule, tree.lb().project_id.as_deref())
}

/// The lock rule for a change below the load balancer: the load balancer must be ACTIVE and
/// becomes PENDING_UPDATE, or the request fails with 409 ImmutableObject.
pub fn lock_lb_for_child(tree: &mut Tree) -> ApiResult<()> {
    let lb = tree.lb();
    if lb.provisioning_status != ProvisioningStatus::Active {
        return Err(ApiError::immutable(Kind::LoadBalancer, &lb.id.clone()));
    }
    tree.lb_mut().set_status(ProvisioningStatus::PendingUpdate);
    Ok(())
}

/// Marks objects PENDING_UPDATE (listeners of a pool, a policy of a rule, …).
pub fn mark_pending(tree: &mut Tree, ids: &[String]) {
    for id in ids {
        if let Some(r) = tree.get_mut(id) {
            r.set_status(ProvisioningStatus::PendingUpdate);
        }
    }
}

/// Commits a tree change and the job that will settle it, then wakes the worker.
pub async fn commit_job(
    state: &AppState,
    mut tx: WriteTx,
    tree: &Tree,
    action: JobAction,
    kind: Kind,
    object_id: &str,
) -> ApiResult<()> {
    tree.debug_check(&format!("{action} of {kind} {object_id} through the API"));
    tx.save_tree(tree).await?;
    let provider = tree.load_balancer().provider;
    tx.enqueue(&tree.lb().id, action, kind, object_id, provider)
        .await?;
    tx.commit().await?;
    state.core.jobs.notify_one();
    Ok(())
}

/// Lists objects of a tree kind, optionally below one parent.
pub async fn list_tree_kind(
    state: &AppState,
    req: &Req,
    kind: Kind,
    parent: Option<&str>,
) -> ApiResult<Response> {
    // Below a parent the caller was authorized on the parent; top-level lists follow
    // Octavia's get_all / get_all-global.
    let scope = match parent {
        Some(_) => None,
        None => req
            .ctx
            .list_scope(Rule::Read, Rule::ReadGlobal, req.query.get("project_id"))?,
    };
    let snapshot = state.core.store.snapshot().await?;
    let mut objects = Vec::new();
    for (tree, r) in snapshot.objects(kind, parent) {
        let lb = tree.lb();
        if lb.provisioning_status == ProvisioningStatus::Deleted
            || scope
                .as_deref()
                .is_some_and(|p| lb.project_id.as_deref() != Some(p))
        {
            continue;
        }
        let mut obj = render::in_tree(tree, r);
        for (key, value) in filter_columns(tree, r) {
            obj.entry(key).or_insert(value);
        }
        objects.push(obj);
    }
    let body = listing::respond(
        objects,
        &[
            "loadbalancer_id",
            "load_balancer_id",
            "pool_id",
            "l7policy_id",
        ],
        &req.query,
        kind.plural(),
        Some(kind.links_key()),
        &req.url,
        state.config.max_limit,
    )?;
    Ok(axum::Json(body).into_response())
}

/// Parent columns Octavia can filter on although responses do not show them.
fn filter_columns(tree: &Tree, r: &Resource) -> Vec<(&'static str, Value)> {
    let parent = json!(r.parent_id);
    let lb = json!(tree.lb().id);
    let mut cols = vec![("loadbalancer_id", lb.clone()), ("load_balancer_id", lb)];
    match r.kind() {
        Kind::Member | Kind::HealthMonitor => cols.push(("pool_id", parent)),
        Kind::L7Rule => cols.push(("l7policy_id", parent)),
        _ => {}
    }
    cols
}

/// A new object of the tree below `parent`, PENDING_CREATE.
pub fn new_child(
    tree: &Tree,
    parent: &str,
    body: impl Into<model::Body>,
    operating: OperatingStatus,
) -> Resource {
    let lb = tree.lb();
    let mut r = Resource::new(new_id(), body, ProvisioningStatus::PendingCreate, operating);
    r.lb_id = Some(lb.id.clone());
    r.parent_id = Some(parent.to_string());
    r.project_id = lb.project_id.clone();
    r
}

/// Quota check for creating `count` objects of `kind` in a project: the project's own limit,
/// else the default; -1 is unlimited (Octavia's QuotaException).
pub async fn check_quota(
    state: &AppState,
    tx: &mut WriteTx,
    kind: Kind,
    project: &str,
    count: i64,
) -> ApiResult<()> {
    let stored = tx.quota(project).await?.unwrap_or_default();
    let limit = stored
        .or(&state.config.quota_defaults)
        .limit(kind)
        .unwrap_or(-1);
    if limit < 0 {
        return Ok(());
    }
    let used = tx.count(kind, project).await?;
    if used + count > limit {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Quota has been met for resources: {}", kind.display_name()),
        ));
    }
    Ok(())
}
