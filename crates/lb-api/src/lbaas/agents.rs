//! Neutron's agent API for the hosts' `ostia agent`s, as neutron-lbaas's agent scheduler
//! extension shows LBaaS agents (reference §2.2–2.3): `GET /v2.0/agents[/{id}]`, `PUT`
//! of `admin_state_up` and `description`, `DELETE` of a dead agent, the load balancers on
//! an agent, and the agent hosting a load balancer. Administrators only: anyone else sees
//! no agents, as Neutron's `admin_only` rules have it.

use crate::AppState;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use front::listing::Query;
use front::neutron::{envelope, fault, filter_list, flag, Answer, Fault};
use front::RequestContext;
use model::{Amphora, Host};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

pub const AGENT_TYPE: &str = "Loadbalancerv2 agent";
pub const BINARY: &str = "neutron-lbaasv2-agent";
pub const TOPIC: &str = "n-lbaasv2_agent";
/// What an `ostia agent` runs amphorae with: Ostia's amphorae (engine or HAProxy inside).
pub const DEVICE_DRIVERS: [&str; 1] = ["ostia"];

/// Serves `/v2.0/agents…` for an authenticated caller.
pub async fn serve(
    state: &AppState,
    ctx: &RequestContext,
    method: &Method,
    rest: &[&str],
    query: &Query,
    body: &[u8],
) -> Answer {
    let admin = ctx.allows(front::Rule::Admin, None);
    match (method, rest) {
        (&Method::GET, []) if !admin => ok(json!({"agents": []})),
        (_, [..]) if !admin => Err(not_found()),
        (&Method::GET, []) => {
            let mut agents = Vec::new();
            let amphorae = placed(state).await?;
            for host in state.core.store.hosts().await? {
                agents.push(render(state, &host, &amphorae));
            }
            ok(json!({"agents": filter_list(agents, query)}))
        }
        (&Method::GET, [id]) => {
            let host = host(state, id).await?;
            ok(json!({"agent": render(state, &host, &placed(state).await?)}))
        }
        (&Method::PUT, [id]) => update(state, id, body).await,
        (&Method::DELETE, [id]) => {
            let host = host(state, id).await?;
            if alive(state, &host) {
                return Err(fault(
                    StatusCode::CONFLICT,
                    "AgentAlive",
                    format!(
                        "Agent {id} is alive: stop the agent on host {} before deleting it.",
                        host.name
                    ),
                ));
            }
            state.core.store.delete_host(id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::GET, [id, "agent-loadbalancers"]) => {
            host(state, id).await?;
            let lb_ids: BTreeSet<String> = placed(state)
                .await?
                .into_iter()
                .filter(|a| a.details.compute_id.as_deref() == Some(*id))
                .map(|a| a.lb_id)
                .collect();
            let mut lbs = Vec::new();
            for lb in lb_ids {
                if let Some(tree) = state.core.store.tree(&lb).await? {
                    let mut shown = crate::render::in_tree(&tree, tree.lb());
                    if let Some(p) = shown.get("project_id").cloned() {
                        shown.insert("tenant_id".into(), p);
                    }
                    lbs.push(Value::Object(shown));
                }
            }
            ok(json!({"loadbalancers": lbs}))
        }
        (_, [] | [_]) => Err(fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTPMethodNotAllowed",
            "The method is not allowed for this resource.".into(),
        )),
        _ => Err(not_found()),
    }
}

/// `GET /v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent`: the agent whose host
/// runs the load balancer's amphora. One on no host (the in-process and process drivers run
/// amphorae on the control plane's own host) gets neutron-lbaas's NoActiveLbaasAgent, not
/// its empty answer, which the `neutron` client cannot print.
pub async fn hosting(state: &AppState, ctx: &RequestContext, lb_id: &str) -> Answer {
    if !ctx.allows(front::Rule::Admin, None) {
        return Err(not_found());
    }
    if state.core.store.tree(lb_id).await?.is_none() {
        // As `lbaas-loadbalancer-show` answers.
        return Err(front::ApiError::not_found(model::Kind::LoadBalancer, lb_id).into());
    }
    let amphorae = placed(state).await?;
    let on = amphorae
        .iter()
        .filter(|a| a.lb_id == lb_id)
        .find_map(|a| a.details.compute_id.clone());
    let host = match on {
        Some(id) => state.core.store.host(&id).await?,
        None => None,
    };
    match host {
        Some(h) => ok(json!({"agent": render(state, &h, &amphorae)})),
        None => Err(fault(
            StatusCode::NOT_FOUND,
            "NoActiveLbaasAgent",
            format!("No active agent found for loadbalancer {lb_id}."),
        )),
    }
}

async fn update(state: &AppState, id: &str, body: &[u8]) -> Answer {
    let changes = envelope(body, "agent")?;
    if let Some(attr) = changes
        .keys()
        .find(|k| !matches!(k.as_str(), "admin_state_up" | "description"))
    {
        let read_only = [
            "id",
            "agent_type",
            "binary",
            "topic",
            "host",
            "alive",
            "created_at",
            "started_at",
            "heartbeat_timestamp",
            "configurations",
        ];
        return Err(fault(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            if read_only.contains(&attr.as_str()) {
                format!("Cannot update read-only attribute {attr}")
            } else {
                format!("Unrecognized attribute(s) '{attr}'")
            },
        ));
    }
    let description = match changes.get("description") {
        None => None,
        Some(Value::String(s)) if s.len() <= 255 => Some(s.clone()),
        Some(other) => {
            return Err(fault(
                StatusCode::BAD_REQUEST,
                "HTTPBadRequest",
                format!(
                    "Invalid input for description. Reason: '{other}' is not a valid string \
                     of at most 255 characters."
                ),
            ))
        }
    };
    let admin_state_up = flag(changes.get("admin_state_up"))?;
    host(state, id).await?;
    state
        .core
        .store
        .update_host(id, admin_state_up, description.as_deref())
        .await?;
    let host = host(state, id).await?;
    ok(json!({"agent": render(state, &host, &placed(state).await?)}))
}

/// Amphorae in service, with their placement.
async fn placed(state: &AppState) -> Result<Vec<Amphora>, Fault> {
    Ok(state
        .core
        .store
        .amphorae(None)
        .await?
        .into_iter()
        .filter(|a| !a.status.is_gone())
        .collect())
}

async fn host(state: &AppState, id: &str) -> Result<Host, Fault> {
    state
        .core
        .store
        .host(id)
        .await?
        .ok_or_else(|| agent_not_found(id))
}

fn alive(state: &AppState, host: &Host) -> bool {
    let down_after = state.config.host_down_time.as_millis() as i64;
    host.alive(store::jobs::now_millis(), down_after)
}

/// An agent as Neutron shows it (`neutron/db/agents_db.py`'s agent dict).
fn render(state: &AppState, host: &Host, amphorae: &[Amphora]) -> Value {
    let instances: BTreeSet<&str> = amphorae
        .iter()
        .filter(|a| a.details.compute_id.as_deref() == Some(host.id.as_str()))
        .map(|a| a.lb_id.as_str())
        .collect();
    let mut configurations = Map::new();
    configurations.insert("device_drivers".into(), json!(DEVICE_DRIVERS));
    configurations.insert("instances".into(), json!(instances.len()));
    configurations.insert("local_ip".into(), json!(host.local_ip.to_string()));
    if let Some(agent) = host.agent {
        configurations.insert("agent".into(), json!(agent.to_string()));
    }
    json!({
        "id": host.id,
        "agent_type": AGENT_TYPE,
        "binary": BINARY,
        "topic": TOPIC,
        "host": host.name,
        "admin_state_up": host.admin_state_up,
        "alive": alive(state, host),
        "description": host.description,
        "created_at": neutron_time(&host.created_at),
        "started_at": neutron_time(&host.started_at),
        "heartbeat_timestamp": host.heartbeat_timestamp(),
        "configurations": configurations,
        "availability_zone": null,
        "resource_versions": {},
        "resources_synced": null,
        "ha_chassis_priority": null,
    })
}

/// Neutron prints an agent's times as Python's `str(datetime)`: a space between date and time.
fn neutron_time(iso: &str) -> String {
    iso.replacen('T', " ", 1)
}

fn agent_not_found(id: &str) -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "AgentNotFound",
        format!("Agent {id} could not be found."),
    )
}

fn not_found() -> Fault {
    fault(
        StatusCode::NOT_FOUND,
        "HTTPNotFound",
        "The resource could not be found.".into(),
    )
}

fn ok(v: Value) -> Answer {
    Ok(axum::Json(v).into_response())
}

/// Renders an answer, error or not.
pub fn respond(answer: Answer) -> Response {
    answer.unwrap_or_else(IntoResponse::into_response)
}
