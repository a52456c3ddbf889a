//! v1 health monitors: shared objects outside every tree. Associating one with a pool makes
//! an Octavia health monitor on that pool with the monitor's settings; changing the monitor
//! changes every one of them; deleting it removes them.

use super::*;
use front::neutron::bad;
use model::MonitorType;
use store::{V1Association, V1Monitor};

/// What v1 monitors take (fewer than Octavia's).
const TYPES: [MonitorType; 4] = [
    MonitorType::Ping,
    MonitorType::Tcp,
    MonitorType::Http,
    MonitorType::Https,
];
const HTTP_FIELDS: [&str; 3] = ["http_method", "url_path", "expected_codes"];
const SETTINGS: [&str; 7] = [
    "delay",
    "timeout",
    "max_retries",
    "http_method",
    "url_path",
    "expected_codes",
    "admin_state_up",
];

fn not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "HealthMonitorNotFound",
        format!("Health_monitor {id} could not be found"),
    )
}

async fn find(call: &Call<'_>, id: &str) -> Result<V1Monitor, Fault> {
    match call.state.core.store.v1_monitor(id).await? {
        Some(m) if call.sees(&m.project_id) => Ok(m),
        _ => Err(not_found(id)),
    }
}

/// The pools a monitor is associated with, and the status of its monitor on each.
async fn pools_of(call: &Call<'_>, id: &str) -> Result<Vec<(String, &'static str)>, Fault> {
    let mut out = Vec::new();
    for a in call.state.core.store.v1_associations().await? {
        if a.monitor_id != id {
            continue;
        }
        if let Some(v1) = call.state.core.store.v1_pool(&a.pool_id).await? {
            let status = match call.state.core.store.tree(&v1.lb_id).await? {
                Some(tree) => tree
                    .get(&a.healthmonitor_id)
                    .map(render::status)
                    .unwrap_or("ERROR"),
                None => continue,
            };
            out.push((a.pool_id, status));
        }
    }
    Ok(out)
}

async fn rendered(call: &Call<'_>, m: &V1Monitor) -> Result<Value, Fault> {
    Ok(render::monitor(m, &pools_of(call, &m.id).await?))
}

pub async fn list(call: &Call<'_>, query: &front::listing::Query) -> Answer {
    let mut items = Vec::new();
    for m in call.state.core.store.v1_monitors().await? {
        if call.sees(&m.project_id) {
            items.push(rendered(call, &m).await?);
        }
    }
    listed("health_monitors", items, query)
}

pub async fn show(call: &Call<'_>, id: &str) -> Answer {
    let m = find(call, id).await?;
    shown("health_monitor", rendered(call, &m).await?)
}

fn check_ranges(attrs: &Map<String, Value>) -> Result<(), Fault> {
    for key in ["delay", "timeout"] {
        if let Some(v) = attrs.get(key) {
            if v.as_i64().is_none_or(|n| n < 0) {
                return Err(bad(format!(
                    "Invalid input for {key}. Reason: '{}' should be non-negative.",
                    v.as_str().map(str::to_string).unwrap_or(v.to_string())
                )));
            }
        }
    }
    if let Some(v) = attrs.get("max_retries") {
        if v.as_i64().is_none_or(|n| !(1..=10).contains(&n)) {
            return Err(bad(format!(
                "Invalid input for max_retries. Reason: '{}' is not in range 1 through 10.",
                v.as_str().map(str::to_string).unwrap_or(v.to_string())
            )));
        }
    }
    Ok(())
}

pub async fn create(call: &Call<'_>, bytes: &[u8]) -> Answer {
    let body = envelope(bytes, "health_monitor")?;
    for key in ["type", "delay", "timeout", "max_retries"] {
        required(&body, key)?;
    }
    one_of(&body, "type", &TYPES)?;
    check_ranges(&body)?;
    let project = match body.get("tenant_id").and_then(Value::as_str) {
        Some(p) => p.to_string(),
        None => call
            .ctx
            .project_id
            .clone()
            .ok_or_else(|| bad("A project is required to create a health monitor.".into()))?,
    };
    if !call.ctx.allows(front::Rule::Write, Some(&project)) {
        return Err(forbidden());
    }
    let mut attrs = Map::new();
    attrs.insert("type".into(), body["type"].clone());
    for (key, default) in [
        ("delay", Value::Null),
        ("timeout", Value::Null),
        ("max_retries", Value::Null),
        ("http_method", json!("GET")),
        ("url_path", json!("/")),
        ("expected_codes", json!("200")),
        ("admin_state_up", json!(true)),
    ] {
        attrs.insert(key.into(), body.get(key).cloned().unwrap_or(default));
    }
    let m = V1Monitor {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project,
        created_at: model::now(),
        attrs,
    };
    let mut tx = call.state.core.store.begin().await?;
    tx.put_v1_monitor(&m).await?;
    tx.commit().await?;
    created("health_monitor", rendered(call, &m).await?)
}

fn forbidden() -> Fault {
    fault(
        StatusCode::FORBIDDEN,
        "PolicyNotAuthorized",
        "Policy doesn't allow this operation to be performed.".into(),
    )
}

/// The Octavia health monitor settings of a v1 monitor: v1 gives every type HTTP fields.
fn octavia_settings(m: &V1Monitor) -> Map<String, Value> {
    let http = m.attrs["type"]
        .as_str()
        .and_then(|t| t.parse::<MonitorType>().ok())
        .is_some_and(MonitorType::is_http);
    SETTINGS
        .iter()
        .filter(|k| http || !HTTP_FIELDS.contains(k))
        .filter_map(|k| m.attrs.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

pub async fn update(call: &Call<'_>, bytes: &[u8], id: &str) -> Answer {
    let body = envelope(bytes, "health_monitor")?;
    only(&body, &SETTINGS)?;
    check_ranges(&body)?;
    let mut m = find(call, id).await?;
    if !call.ctx.allows(front::Rule::Write, Some(&m.project_id)) {
        return Err(forbidden());
    }
    for (key, value) in body {
        m.attrs.insert(key, value);
    }
    let settings = octavia_settings(&m);
    for a in associations_of(call, id).await? {
        let Some(v1) = call.state.core.store.v1_pool(&a.pool_id).await? else {
            continue;
        };
        call.settle(&v1.lb_id).await?;
        call.v2(
            Method::PUT,
            &format!("healthmonitors/{}", a.healthmonitor_id),
            Some(json!({ "healthmonitor": settings })),
        )
        .await?;
    }
    let mut tx = call.state.core.store.begin().await?;
    tx.put_v1_monitor(&m).await?;
    tx.commit().await?;
    shown("health_monitor", rendered(call, &m).await?)
}

async fn associations_of(call: &Call<'_>, id: &str) -> Result<Vec<V1Association>, Fault> {
    Ok(call
        .state
        .core
        .store
        .v1_associations()
        .await?
        .into_iter()
        .filter(|a| a.monitor_id == id)
        .collect())
}

/// Deleting a monitor takes it off every pool first.
pub async fn delete(call: &Call<'_>, id: &str) -> Answer {
    let m = find(call, id).await?;
    if !call.ctx.allows(front::Rule::Write, Some(&m.project_id)) {
        return Err(forbidden());
    }
    for a in associations_of(call, id).await? {
        detach(call, &a).await?;
    }
    let mut tx = call.state.core.store.begin().await?;
    tx.delete_v1_monitor(id).await?;
    tx.commit().await?;
    no_content()
}

pub async fn associate(call: &Call<'_>, bytes: &[u8], pool_id: &str) -> Answer {
    let body = envelope(bytes, "health_monitor")?;
    let monitor_id = required(&body, "id")?
        .as_str()
        .ok_or_else(|| bad("Invalid input for id. Reason: not a string.".into()))?
        .to_string();
    let view = find_pool(call, pool_id).await?;
    let m = find(call, &monitor_id).await?;
    let associations = call.state.core.store.v1_associations().await?;
    if associations
        .iter()
        .any(|a| a.monitor_id == monitor_id && a.pool_id == pool_id)
    {
        return Err(fault(
            StatusCode::CONFLICT,
            "PoolMonitorAssociationExists",
            format!("health_monitor {monitor_id} is already associated with pool {pool_id}"),
        ));
    }
    if let Some(other) = view.tree.pool_monitor(pool_id) {
        return Err(fault(
            StatusCode::CONFLICT,
            "PoolMonitorAssociationExists",
            format!(
                "Pool {pool_id} already has a health monitor ({}); a pool here is checked by \
                 one monitor, so disassociate that one first.",
                associations
                    .iter()
                    .find(|a| a.healthmonitor_id == other.id)
                    .map(|a| a.monitor_id.as_str())
                    .unwrap_or(other.id.as_str())
            ),
        ));
    }
    let mut settings = octavia_settings(&m);
    settings.insert("pool_id".into(), json!(pool_id));
    settings.insert("type".into(), m.attrs["type"].clone());
    call.settle(&view.v1.lb_id).await?;
    let made = call
        .v2(
            Method::POST,
            "healthmonitors",
            Some(json!({ "healthmonitor": settings })),
        )
        .await?;
    let mut tx = call.state.core.store.begin().await?;
    tx.put_v1_association(&V1Association {
        monitor_id: monitor_id.clone(),
        pool_id: pool_id.to_string(),
        healthmonitor_id: id_of(&made, "healthmonitor"),
    })
    .await?;
    tx.commit().await?;
    created("health_monitor", json!({ "id": monitor_id }))
}

pub async fn disassociate(call: &Call<'_>, pool_id: &str, monitor_id: &str) -> Answer {
    find_pool(call, pool_id).await?;
    let association = associations_of(call, monitor_id)
        .await?
        .into_iter()
        .find(|a| a.pool_id == pool_id)
        .ok_or_else(|| {
            fault(
                StatusCode::NOT_FOUND,
                "PoolMonitorAssociationNotFound",
                format!("Monitor {monitor_id} is not associated with Pool {pool_id}"),
            )
        })?;
    detach(call, &association).await?;
    no_content()
}

/// Removes the Octavia health monitor of one association, then the association.
async fn detach(call: &Call<'_>, a: &V1Association) -> Result<(), Fault> {
    if let Some(v1) = call.state.core.store.v1_pool(&a.pool_id).await? {
        call.settle(&v1.lb_id).await?;
        let present = call
            .state
            .core
            .store
            .tree(&v1.lb_id)
            .await?
            .is_some_and(|t| t.get(&a.healthmonitor_id).is_some());
        if present {
            call.v2(
                Method::DELETE,
                &format!("healthmonitors/{}", a.healthmonitor_id),
                None,
            )
            .await?;
        }
    }
    let mut tx = call.state.core.store.begin().await?;
    tx.delete_v1_association(&a.monitor_id, &a.pool_id).await?;
    tx.commit().await?;
    Ok(())
}
