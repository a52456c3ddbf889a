//! `/v1/containers`: named references to secrets (`certificate`: certificate, private_key,
//! private_key_passphrase, intermediates; `rsa`: public_key, private_key,
//! private_key_passphrase; `generic`: any names), and the consumers registered on them.

use crate::call::{object, paged, Answer, Call};
use crate::secrets;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use front::barbican::{fault, Fault};
use serde_json::{json, Value};
use store::Container;

fn not_found() -> Fault {
    fault(StatusCode::NOT_FOUND, "Container not found.")
}

fn bad(description: impl Into<String>) -> Fault {
    fault(StatusCode::BAD_REQUEST, description)
}

async fn find(call: &Call<'_>, id: &str) -> Result<Container, Fault> {
    match call.state.store.container(id).await? {
        Some(c) if call.reads(&c.project_id) => Ok(c),
        _ => Err(not_found()),
    }
}

fn view(call: &Call, c: &Container) -> Value {
    let refs: Vec<Value> = c
        .attrs
        .get("secret_refs")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .map(|r| {
                    json!({"name": r["name"], "secret_ref":
                        secrets::secret_ref(call, r["secret_id"].as_str().unwrap_or_default())})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"container_ref": format!("{}/v1/containers/{}", call.origin, c.id), "name": c.name,
           "type": c.container_type, "status": "ACTIVE", "secret_refs": refs,
           "consumers": c.attrs.get("consumers").cloned().unwrap_or(json!([])),
           "creator_id": c.creator_id, "created": c.created_at, "updated": c.updated_at})
}

fn allowed_names(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "certificate" => Some(&[
            "certificate",
            "private_key",
            "private_key_passphrase",
            "intermediates",
        ]),
        "rsa" => Some(&["public_key", "private_key", "private_key_passphrase"]),
        _ => None,
    }
}

pub async fn create(call: &Call<'_>, bytes: &[u8]) -> Answer {
    let body = object(bytes, "Container")?;
    let project = call.project()?;
    call.writes(&project)?;
    let kind = body.get("type").and_then(Value::as_str).ok_or_else(|| {
        bad("Provided object does not match schema 'Container': 'type' is a required property")
    })?;
    if !["certificate", "generic", "rsa"].contains(&kind) {
        return Err(bad(format!(
            "Provided object does not match schema 'Container': '{kind}' is not one of ['generic', 'rsa', 'certificate']"
        )));
    }
    let mut refs = Vec::new();
    for r in body
        .get("secret_refs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        let reference = r
            .get("secret_ref")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(names) = allowed_names(kind) {
            if !names.contains(&name) {
                return Err(bad(format!(
                    "Provided object does not match schema 'Container': '{name}' is not one of {names:?}"
                )));
            }
        }
        let id = store::ref_id(reference);
        if secrets::find(call, id).await.is_err() {
            return Err(fault(
                StatusCode::NOT_FOUND,
                format!("Secret provided for '{name}' doesn't exist."),
            ));
        }
        refs.push(json!({"name": name, "secret_id": id}));
    }
    if kind == "certificate" && !refs.iter().any(|r| r["name"] == "certificate") {
        return Err(bad(
            "Provided object does not match schema 'Container': a certificate container needs a 'certificate' secret",
        ));
    }
    let now = model::now();
    let container = Container {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project,
        creator_id: call.creator(),
        name: body.get("name").and_then(Value::as_str).map(str::to_string),
        container_type: kind.to_string(),
        created_at: now.clone(),
        updated_at: now,
        attrs: [
            ("secret_refs".to_string(), Value::Array(refs)),
            ("consumers".to_string(), json!([])),
        ]
        .into_iter()
        .collect(),
    };
    let mut tx = call.state.store.begin().await?;
    tx.put_container(&container).await?;
    tx.commit().await?;
    let body = json!({"container_ref": format!("{}/v1/containers/{}", call.origin, container.id)});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub async fn show(call: &Call<'_>, id: &str) -> Answer {
    let c = find(call, id).await?;
    Ok(axum::Json(view(call, &c)).into_response())
}

pub async fn delete(call: &Call<'_>, id: &str) -> Answer {
    let c = find(call, id).await?;
    call.writes(&c.project_id)?;
    let mut tx = call.state.store.begin().await?;
    tx.delete_container(id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list(call: &Call<'_>) -> Answer {
    let name = call.query.get("name").map(str::to_string);
    let items = call
        .state
        .store
        .containers()
        .await?
        .iter()
        .filter(|c| call.reads(&c.project_id))
        .filter(|c| name.is_none() || c.name == name)
        .map(|c| view(call, c))
        .collect();
    paged(call, "containers", items)
}

fn consumer_of(bytes: &[u8]) -> Result<Value, Fault> {
    let body = object(bytes, "Consumer")?;
    let name = body.get("name").and_then(Value::as_str);
    let url = body.get("URL").and_then(Value::as_str);
    match (name, url) {
        (Some(n), Some(u)) if !n.is_empty() && !u.is_empty() => Ok(json!({"name": n, "URL": u})),
        _ => Err(bad(
            "Provided object does not match schema 'Consumer': 'name' and 'URL' are required",
        )),
    }
}

pub async fn consumers(call: &Call<'_>, id: &str) -> Answer {
    let c = find(call, id).await?;
    let items = c
        .attrs
        .get("consumers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    paged(call, "consumers", items)
}

/// Registering the same consumer twice keeps one.
pub async fn add_consumer(call: &Call<'_>, id: &str, bytes: &[u8]) -> Answer {
    change_consumers(call, id, bytes, |list, consumer| {
        if !list.contains(&consumer) {
            list.push(consumer);
        }
        Ok(())
    })
    .await
}

pub async fn remove_consumer(call: &Call<'_>, id: &str, bytes: &[u8]) -> Answer {
    change_consumers(call, id, bytes, |list, consumer| {
        let before = list.len();
        list.retain(|x| x != &consumer);
        if list.len() == before {
            return Err(fault(StatusCode::NOT_FOUND, "Consumer not found."));
        }
        Ok(())
    })
    .await
}

/// Applies `change` to the container's consumers and answers with the container.
async fn change_consumers(
    call: &Call<'_>,
    id: &str,
    bytes: &[u8],
    change: impl FnOnce(&mut Vec<Value>, Value) -> Result<(), Fault>,
) -> Answer {
    let consumer = consumer_of(bytes)?;
    let mut c = find(call, id).await?;
    let mut list = c
        .attrs
        .get("consumers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    change(&mut list, consumer)?;
    c.attrs.insert("consumers".into(), Value::Array(list));
    c.updated_at = model::now();
    let mut tx = call.state.store.begin().await?;
    tx.put_container(&c).await?;
    tx.commit().await?;
    Ok(axum::Json(view(call, &c)).into_response())
}
