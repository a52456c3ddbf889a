//! `/v2/lbaas/healthmonitors`.

use super::flow::{self, answer, change, Change};
use super::validate;
use super::*;
use crate::specs;
use front::schema::decode_as;
use model::resource::{HealthMonitorCreate, HealthMonitorPatch};
use model::{HealthMonitor, Pool};

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::HealthMonitor, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => {
            let (tree, r) = find(state, Kind::HealthMonitor, id).await?;
            authorize(req, &tree)?;
            Ok(one(
                Kind::HealthMonitor,
                render::in_tree(&tree, &r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn pool_of<'t>(tree: &'t Tree, pool_id: &str) -> ApiResult<&'t Pool> {
    tree.typed::<Pool>(pool_id)
        .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))
}

/// Builds a new monitor of `pool_id`.
pub fn prepare(tree: &Tree, pool_id: &str, body: HealthMonitorCreate) -> ApiResult<Resource> {
    let pool = pool_of(tree, pool_id)?;
    let http_given = [
        ("http_method", body.http_method.value().is_some()),
        ("url_path", body.url_path.value().is_some()),
        ("expected_codes", body.expected_codes.value().is_some()),
    ];
    validate::monitor(
        pool.protocol,
        body.kind,
        Some(body.delay),
        Some(http_given),
        body.domain_name.value().map(String::as_str),
        body.http_version.value().copied(),
    )?;
    if tree.pool_monitor(pool_id).is_some() {
        return Err(ApiError::conflict("This pool already has a health monitor"));
    }
    let hm = HealthMonitor::create(body);
    Ok(new_child(tree, pool_id, hm, OperatingStatus::Offline))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let body: HealthMonitorCreate = decode_as(
        &req.body,
        "health_monitor_",
        "healthmonitor",
        &specs::HM_POST,
    )?;
    let pool_id = body.pool_id.value().cloned().unwrap_or_default();
    let c = Change::create(Kind::HealthMonitor, Kind::Pool, &pool_id);
    let (tree, hm) = change(state, req, c, |tree| {
        let hm = prepare(tree, &pool_id, body)?;
        super::member::lock_pool(tree, &pool_id)?;
        Ok(flow::insert(tree, hm))
    })
    .await?;
    Ok(answer(req, JobAction::Create, &tree, &hm))
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let patch: HealthMonitorPatch = decode_as(
        &req.body,
        "health_monitor_",
        "healthmonitor",
        &specs::HM_PUT,
    )?;
    for (key, null) in [
        ("delay", patch.delay.is_null()),
        ("timeout", patch.timeout.is_null()),
        ("max_retries", patch.max_retries.is_null()),
    ] {
        if null {
            return Err(ApiError::invalid_option("None", key));
        }
    }
    let (tree, hm) = change(
        state,
        req,
        Change::update(Kind::HealthMonitor, id),
        |tree| updated(tree, id, patch),
    )
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &hm))
}

/// The monitor after a PUT. The request is checked first (a delay it gives, HTTP attributes
/// it sets on another type), then the merged monitor, whose domain name and HTTP version
/// may each come from the request or the stored monitor.
fn updated(tree: &mut Tree, id: &str, patch: HealthMonitorPatch) -> ApiResult<Resource> {
    let mut r = tree.get(id).cloned().expect("found with its tree");
    let pool_id = r.parent_id.clone().unwrap_or_default();
    let protocol = pool_of(tree, &pool_id)?.protocol;
    let hm = r.get_mut::<HealthMonitor>().expect("a monitor");
    let http_given = [
        ("http_method", patch.http_method.value().is_some()),
        ("url_path", patch.url_path.value().is_some()),
        ("expected_codes", patch.expected_codes.value().is_some()),
    ];
    validate::monitor(
        protocol,
        hm.kind,
        patch.delay.value().copied(),
        Some(http_given),
        None,
        None,
    )?;
    hm.update(patch);
    validate::merged_monitor(protocol, hm)?;
    super::member::lock_pool(tree, &pool_id)?;
    Ok(flow::replace(tree, r))
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    change(
        state,
        req,
        Change::delete(Kind::HealthMonitor, id),
        |tree| {
            let pool_id = tree
                .get(id)
                .and_then(|h| h.parent_id.clone())
                .unwrap_or_default();
            super::member::lock_pool(tree, &pool_id)?;
            Ok(flow::remove(tree, id))
        },
    )
    .await?;
    Ok(no_content())
}
