//! `/v1/secrets`: a payload given at create time (`payload`, `payload_content_type`,
//! `payload_content_encoding: base64` for binary) or later with PUT, metadata as Barbican
//! shows it, the payload itself at `/payload` in its content type.

use crate::call::{object, paged, Answer, Call};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use front::barbican::{fault, Fault};
use serde_json::{json, Value};
use store::Secret;

const TYPES: [&str; 7] = [
    "symmetric",
    "public",
    "private",
    "passphrase",
    "certificate",
    "opaque",
    "pkcs12",
];

fn not_found() -> Fault {
    fault(StatusCode::NOT_FOUND, "Secret not found.")
}

fn bad(description: impl Into<String>) -> Fault {
    fault(StatusCode::BAD_REQUEST, description)
}

pub(crate) async fn find(call: &Call<'_>, id: &str) -> Result<Secret, Fault> {
    match call.state.store.secret(id).await? {
        Some(s) if call.reads(&s.project_id) => Ok(s),
        _ => Err(not_found()),
    }
}

pub(crate) fn secret_ref(call: &Call, id: &str) -> String {
    format!("{}/v1/secrets/{id}", call.origin)
}

fn view(call: &Call, s: &Secret) -> Value {
    let content_types = match &s.content_type {
        Some(t) => json!({ "default": t }),
        None => Value::Null,
    };
    let attr = |k: &str| s.attrs.get(k).cloned().unwrap_or(Value::Null);
    json!({"secret_ref": secret_ref(call, &s.id), "name": s.name, "status": "ACTIVE",
           "secret_type": s.secret_type, "content_types": content_types,
           "algorithm": attr("algorithm"), "bit_length": attr("bit_length"), "mode": attr("mode"),
           "expiration": attr("expiration"), "creator_id": s.creator_id,
           "created": s.created_at, "updated": s.updated_at})
}

/// The payload as bytes, from its JSON form.
fn decode(payload: &str, content_type: &str, encoding: Option<&str>) -> Result<Vec<u8>, Fault> {
    match (content_type, encoding) {
        ("application/octet-stream", Some("base64")) => base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|_| bad("Problem decoding payload")),
        ("application/octet-stream", _) => Err(bad(
            "Invalid payload for payload_content_encoding: application/octet-stream needs base64",
        )),
        (t, _) if t.starts_with("text/plain") => Ok(payload.as_bytes().to_vec()),
        (t, _) => Err(bad(format!(
            "Provided object does not match schema 'Secret': payload_content_type {t} is not supported"
        ))),
    }
}

pub async fn create(call: &Call<'_>, bytes: &[u8]) -> Answer {
    let body = object(bytes, "Secret")?;
    let project = call.project()?;
    call.writes(&project)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let secret_type = text("secret_type").unwrap_or("opaque");
    if !TYPES.contains(&secret_type) {
        return Err(bad(format!(
            "Provided object does not match schema 'Secret': '{secret_type}' is not one of {TYPES:?}"
        )));
    }
    let now = model::now();
    let mut secret = Secret {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project,
        creator_id: call.creator(),
        name: text("name").map(str::to_string),
        secret_type: secret_type.to_string(),
        content_type: None,
        sealed: None,
        created_at: now.clone(),
        updated_at: now,
        attrs: ["algorithm", "bit_length", "mode", "expiration"]
            .iter()
            .filter_map(|k| body.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect(),
    };
    match body.get("payload") {
        None | Some(Value::Null) => {
            if text("payload_content_type").is_some() {
                return Err(bad("payload_content_type is given without a payload"));
            }
        }
        Some(Value::String(p)) if !p.is_empty() => {
            let content_type = text("payload_content_type").ok_or_else(|| {
                bad("If 'payload' specified, must be non empty and 'payload_content_type' given")
            })?;
            let plain = decode(p, content_type, text("payload_content_encoding"))?;
            secret.sealed = Some(call.state.secrets.seal(&secret.id, &plain));
            secret.content_type = Some(
                content_type
                    .split(';')
                    .next()
                    .unwrap_or(content_type)
                    .trim()
                    .to_string(),
            );
        }
        Some(_) => return Err(bad("If 'payload' specified, must be non empty")),
    }
    let mut tx = call.state.store.begin().await?;
    tx.put_secret(&secret).await?;
    tx.commit().await?;
    let body = json!({ "secret_ref": secret_ref(call, &secret.id) });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub async fn show(call: &Call<'_>, id: &str) -> Answer {
    let s = find(call, id).await?;
    // An old client asks for the payload itself by its Accept header.
    let accept = call
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !accept.contains("json") && !accept.contains("*/*") {
        return payload(call, id).await;
    }
    Ok(axum::Json(view(call, &s)).into_response())
}

/// The payload in clear (Octavia and the CLI read certificates and keys here).
pub(crate) async fn payload_of(call: &Call<'_>, s: &Secret) -> Result<Vec<u8>, Fault> {
    let sealed = s
        .sealed
        .as_ref()
        .ok_or_else(|| fault(StatusCode::NOT_FOUND, "No payload."))?;
    call.state.secrets.open(&s.id, sealed).map_err(|e| {
        tracing::error!(secret = %s.id, error = %e, "key manager");
        fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The payload cannot be opened.",
        )
    })
}

pub async fn payload(call: &Call<'_>, id: &str) -> Answer {
    let s = find(call, id).await?;
    let plain = payload_of(call, &s).await?;
    let content_type = s
        .content_type
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(([(header::CONTENT_TYPE, content_type)], plain).into_response())
}

/// A payload for a secret made without one; a secret's payload never changes.
pub async fn put_payload(call: &Call<'_>, id: &str, bytes: &[u8]) -> Answer {
    let mut s = find(call, id).await?;
    call.writes(&s.project_id)?;
    if s.sealed.is_some() {
        return Err(fault(
            StatusCode::CONFLICT,
            "Secret already has data, cannot modify it.",
        ));
    }
    if bytes.is_empty() {
        return Err(bad("No payload provided."));
    }
    let header_text = |h: header::HeaderName| {
        call.headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header_text(header::CONTENT_TYPE).unwrap_or_else(|| "text/plain".into());
    let encoding = header_text(header::CONTENT_ENCODING);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("Problem decoding payload"));
    let plain = match (content_type.as_str(), encoding.as_deref()) {
        ("application/octet-stream", None) => bytes.to_vec(),
        (t, e) => decode(text?, t, e)?,
    };
    s.sealed = Some(call.state.secrets.seal(&s.id, &plain));
    s.content_type = Some(
        content_type
            .split(';')
            .next()
            .unwrap_or("text/plain")
            .trim()
            .to_string(),
    );
    s.updated_at = model::now();
    let mut tx = call.state.store.begin().await?;
    tx.put_secret(&s).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete(call: &Call<'_>, id: &str) -> Answer {
    let s = find(call, id).await?;
    call.writes(&s.project_id)?;
    let mut tx = call.state.store.begin().await?;
    tx.delete_secret(id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list(call: &Call<'_>) -> Answer {
    let name = call.query.get("name").map(str::to_string);
    let items = call
        .state
        .store
        .secrets()
        .await?
        .iter()
        .filter(|s| call.reads(&s.project_id))
        .filter(|s| name.is_none() || s.name == name)
        .map(|s| view(call, s))
        .collect();
    paged(call, "secrets", items)
}
