//! Quotas and the amphora admin API: per-project limits, and amphorae as Octavia's admin API
//! shows them (list, show, stats, config push, failover, delete).

use super::*;
use crate::specs;
use front::schema::decode_as;
use model::{Amphora, AmphoraStatus, Quota, QuotaPatch};

/// A quota record on the wire; unset limits show `defaults` when given, null otherwise.
fn quota_body(stored: Quota, defaults: Option<&Quota>) -> Map<String, Value> {
    let shown = match defaults {
        Some(d) => stored.or(d),
        None => stored,
    };
    shown
        .wire()
        .into_iter()
        .map(|(key, limit)| (key.to_string(), json!(limit)))
        .collect()
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
                let mut q = quota_body(stored, None);
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
            let stored = state.core.store.quota(project).await?.unwrap_or_default();
            let defaults = state.config.quota_defaults;
            Ok(axum::Json(json!({"quota": quota_body(stored, Some(&defaults))})).into_response())
        }
        (&Method::GET, [project, "default" | "defaults"]) => {
            check_project(req, project)?;
            let defaults = state.config.quota_defaults;
            Ok(
                axum::Json(json!({"quota": quota_body(Quota::default(), Some(&defaults))}))
                    .into_response(),
            )
        }
        (&Method::PUT, [project]) => {
            req.ctx.authorize(Rule::WriteQuota, Some(project))?;
            let patch: QuotaPatch = decode_as(&req.body, "quotas", "quota", &specs::QUOTA_PUT)?;
            let mut tx = state.core.store.begin().await?;
            let mut stored = tx.quota(project).await?.unwrap_or_default();
            stored.update(patch);
            tx.put_quota(project, &stored).await?;
            tx.commit().await?;
            let body = quota_body(stored, Some(&state.config.quota_defaults));
            Ok((StatusCode::ACCEPTED, axum::Json(json!({ "quota": body }))).into_response())
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
