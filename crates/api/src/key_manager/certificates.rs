//! What the load-balancer API asks of the key manager (Octavia's cert manager with
//! `check_only`): can the caller load each certificate ref of a listener or pool. A ref
//! names a container with a `certificate` secret, or a secret itself (a PKCS12 bundle or PEM),
//! that the caller's project may read and that has a payload. With the noop drivers refs are
//! accepted unchecked, as Octavia's noop cert manager accepts them.

use crate::error::{ApiError, ApiResult};
use crate::server::AppState;
use crate::{NetworkDriver, RequestContext};
use serde_json::{Map, Value};

/// Refs that must hold a certificate (and key), in the order Octavia collects them.
const CERTIFICATE_REFS: [&str; 2] = ["default_tls_container_ref", "tls_container_ref"];
/// Refs of single secrets (CA certificates and revocation lists).
const SECRET_REFS: [&str; 4] = [
    "client_ca_tls_container_ref",
    "client_crl_container_ref",
    "ca_tls_container_ref",
    "crl_container_ref",
];

async fn readable_secret(state: &AppState, ctx: &RequestContext, id: &str) -> bool {
    matches!(state.store.secret(id).await, Ok(Some(s))
        if s.sealed.is_some() && ctx.allows(crate::policy::Rule::Read, Some(&s.project_id)))
}

async fn loadable_certificate(state: &AppState, ctx: &RequestContext, reference: &str) -> bool {
    let id = super::ref_id(reference);
    if let Ok(Some(c)) = state.store.container(id).await {
        if !ctx.allows(crate::policy::Rule::Read, Some(&c.project_id)) {
            return false;
        }
        let certificate = c
            .attrs
            .get("secret_refs")
            .and_then(Value::as_array)
            .and_then(|refs| refs.iter().find(|r| r["name"] == "certificate"))
            .and_then(|r| r["secret_id"].as_str().map(str::to_string));
        return match certificate {
            Some(secret) => readable_secret(state, ctx, &secret).await,
            None => false,
        };
    }
    readable_secret(state, ctx, id).await
}

/// Python's repr of a list of strings, as Octavia's message shows the refs.
fn python_list(refs: &[&str]) -> String {
    let quoted: Vec<String> = refs.iter().map(|r| format!("'{r}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// 400 `Could not retrieve certificate: …` for the first refs the caller cannot load.
pub async fn check_refs(
    state: &AppState,
    ctx: &RequestContext,
    attrs: &Map<String, Value>,
) -> ApiResult<()> {
    if state.config.network_driver == NetworkDriver::Noop {
        return Ok(());
    }
    let mut refs: Vec<&str> = attrs
        .get("sni_container_refs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    refs.extend(
        CERTIFICATE_REFS
            .iter()
            .filter_map(|k| attrs.get(*k).and_then(Value::as_str)),
    );
    let mut bad = Vec::new();
    for r in refs {
        if !loadable_certificate(state, ctx, r).await {
            bad.push(r);
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Could not retrieve certificate: {}",
            python_list(&bad)
        )));
    }
    for key in SECRET_REFS {
        if let Some(r) = attrs.get(key).and_then(Value::as_str) {
            if !readable_secret(state, ctx, super::ref_id(r)).await
                && !loadable_certificate(state, ctx, r).await
            {
                return Err(ApiError::bad_request(format!(
                    "Could not retrieve certificate: {r}"
                )));
            }
        }
    }
    Ok(())
}
