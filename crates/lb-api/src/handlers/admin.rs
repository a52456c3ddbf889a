//! Quotas and the amphora admin API: per-project limits, and amphorae as Octavia's admin API
//! shows them (list, show, stats, config push, failover, delete).

use super::*;
use crate::specs;
use front::schema::decode;
use model::{Amphora, AmphoraStatus};

const QUOTA_KEYS: [&str; 9] = [
    "loadbalancer",
    "load_balancer",
    "listener",
    "member",
    "pool",
    "healthmonitor",
    "health_monitor",
    "l7policy",
    "l7rule",
];

/// A quota record on the wire; unset limits show `defaults` when given, null otherwise.
fn quota_body(
    stored: Option<&Map<String, Value>>,
    defaults: Option<&crate::QuotaDefaults>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for key in QUOTA_KEYS {
        let canonical = match key {
            "load_balancer" => "loadbalancer",
            "health_monitor" => "healthmonitor",
            k => k,
        };
        let v = stored
            .and_then(|s| s.get(canonical))
            .cloned()
            .unwrap_or(Value::Null);
        let v = match defaults {
            Some(d) if v.is_null() => json!(d.get(canonical)),
            _ => v,
        };
        out.insert(key.to_string(), v);
    }
    out
}

pub async fn quotas(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let scope = req.ctx.list_scope(
                Rule::ReadQuota,
                Rule::ReadQuotaGlobal,
                req.query.get("project_id"),
            )?;
            let mut items = Vec::new();
            for (project, stored) in state.core.store.quotas().await? {
                if scope.as_deref().is_some_and(|p| p != project) {
                    continue;
                }
                let mut q = quota_body(Some(&stored), None);
                q.insert("project_id".into(), json!(project));
                items.push(q);
            }
            let body = listing::respond(
                items,
                &[],
                &req.query,
                "quotas",
                Some("quotas_links"),
                &req.url,
                state.config.max_limit,
            )?;
            Ok(axum::Json(body).into_response())
        }
        (&Method::GET, [project]) => {
            check_project(req, project)?;
            let stored = state.core.store.quota(project).await?;
            Ok(axum::Json(
                json!({"quota": quota_body(stored.as_ref(), Some(&state.config.quota_defaults))}),
            )
            .into_response())
        }
        (&Method::GET, [project, "default" | "defaults"]) => {
            check_project(req, project)?;
            Ok(
                axum::Json(json!({"quota": quota_body(None, Some(&state.config.quota_defaults))}))
                    .into_response(),
            )
        }
        (&Method::PUT, [project]) => {
            req.ctx.authorize(Rule::WriteQuota, Some(project))?;
            let attrs = decode(&req.body, "quotas", "quota", &specs::QUOTA_PUT)?;
            let mut tx = state.core.store.begin().await?;
            let mut stored = tx.quota(project).await?.unwrap_or_default();
            for (key, value) in attrs {
                let canonical = match key.as_str() {
                    "load_balancer" => "loadbalancer",
                    "health_monitor" => "healthmonitor",
                    k => k,
                };
                stored.insert(canonical.to_string(), value);
            }
            tx.put_quota(project, &stored).await?;
            tx.commit().await?;
            Ok((
                StatusCode::ACCEPTED,
                axum::Json(
                    json!({"quota": quota_body(Some(&stored), Some(&state.config.quota_defaults))}),
                ),
            )
                .into_response())
        }
        (&Method::DELETE, [project]) => {
            req.ctx.authorize(Rule::WriteQuota, Some(project))?;
            let mut tx = state.core.store.begin().await?;
            if !tx.delete_quota(project).await? {
                return Err(ApiError::not_found_named("Quotas", project));
            }
            tx.commit().await?;
            Ok(accepted())
        }
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn check_project(req: &Req, project: &str) -> ApiResult<()> {
    req.ctx.authorize(Rule::ReadQuota, Some(project))
}

/// Resources outside any project (flavors, zones, providers, amphorae): Octavia checks
/// them against the caller's own.
pub fn authorize_own(req: &Req, rule: Rule) -> ApiResult<()> {
    req.ctx.authorize(rule, req.ctx.project_id.as_deref())
}

/// An amphora the admin API shows: any but DELETED ones.
async fn amphora(state: &AppState, id: &str) -> ApiResult<Amphora> {
    if !is_uuid(id) {
        return Err(ApiError::not_found(Kind::Amphora, id));
    }
    state
        .core
        .store
        .amphora(id)
        .await?
        .ok_or_else(|| ApiError::not_found(Kind::Amphora, id))
}

pub async fn amphorae(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    authorize_own(req, Rule::Admin)?;
    let live = |a: &Amphora| a.status != AmphoraStatus::Deleted;
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let objects = state
                .core
                .store
                .amphorae(None)
                .await?
                .iter()
                .filter(|a| live(a))
                .map(render::amphora)
                .collect();
            let body = listing::respond(
                objects,
                &[],
                &req.query,
                "amphorae",
                Some("amphorae_links"),
                &req.url,
                state.config.max_limit,
            )?;
            Ok(axum::Json(body).into_response())
        }
        (&Method::GET, [id]) => {
            let a = amphora(state, id).await?;
            if !live(&a) {
                return Err(ApiError::not_found(Kind::Amphora, id));
            }
            Ok(one(
                Kind::Amphora,
                render::amphora(&a),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::GET, [id, "stats"]) => {
            let a = amphora(state, id).await?;
            let lb = a.lb_id.clone();
            let items: Vec<Value> = state
                .core
                .store
                .amphora_stats(&a.id)
                .await?
                .into_iter()
                .map(|(listener, s)| {
                    json!({"id": a.id, "listener_id": listener, "loadbalancer_id": lb,
                        "active_connections": s.active_connections, "bytes_in": s.bytes_in,
                        "bytes_out": s.bytes_out, "request_errors": s.request_errors,
                        "total_connections": s.total_connections})
                })
                .collect();
            if items.is_empty() {
                return Err(ApiError::not_found_named("Amphora stats for", id));
            }
            Ok(axum::Json(json!({"amphora_stats": items})).into_response())
        }
        (&Method::PUT, [id, "config"]) => {
            let a = amphora(state, id).await?;
            if !live(&a) {
                return Err(ApiError::not_found(Kind::Amphora, id));
            }
            let lb = a.lb_id.clone();
            let mut tx = state.core.store.begin().await?;
            let Some(tree) = tx.tree(&lb).await? else {
                return Err(ApiError::not_found(Kind::Amphora, id));
            };
            commit_job(state, tx, &tree, JobAction::Configure, Kind::Amphora, id).await?;
            Ok(accepted())
        }
        (&Method::PUT, [id, "failover"]) => {
            let lb = amphora(state, id).await?.lb_id;
            let mut tx = state.core.store.begin().await?;
            let Some(mut tree) = tx.tree(&lb).await? else {
                return Err(ApiError::not_found(Kind::Amphora, id));
            };
            if tree.lb().provisioning_status != ProvisioningStatus::Active {
                return Err(ApiError::immutable(Kind::LoadBalancer, &lb));
            }
            tree.lb_mut().set_status(ProvisioningStatus::PendingUpdate);
            commit_job(state, tx, &tree, JobAction::Failover, Kind::Amphora, id).await?;
            Ok(accepted())
        }
        (&Method::DELETE, [id]) => {
            if amphora(state, id).await?.status != AmphoraStatus::Error {
                return Err(ApiError::conflict(format!(
                    "amphora {id} is immutable and cannot be updated."
                )));
            }
            let mut tx = state.core.store.begin().await?;
            tx.delete(id).await?;
            tx.commit().await?;
            Ok(no_content())
        }
        _ => Err(ApiError::no_route()),
    }
}
