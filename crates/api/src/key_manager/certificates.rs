//! What the load-balancer API asks of the key manager (Octavia's cert manager with
//! `check_only`): can the caller load each certificate ref of a listener or pool. A ref
//! names a container with a `certificate` secret, or a secret itself (a PKCS12 bundle or PEM),
//! that the caller's project may read and that opens (`store::certificates`, the same assembly
//! the worker loads with). With the noop drivers refs are
//! accepted unchecked, as Octavia's noop cert manager accepts them.

use crate::error::{ApiError, ApiResult};
use crate::server::AppState;
use crate::{NetworkDriver, RequestContext};
use serde_json::{Map, Value};
use store::certificates::{bundle, single, LocalSecrets};

/// Refs that must hold a certificate (and key), in the order Octavia collects them.
const CERTIFICATE_REFS: [&str; 2] = ["default_tls_container_ref", "tls_container_ref"];
/// Refs of single secrets (CA certificates and revocation lists).
const SECRET_REFS: [&str; 4] = [
    "client_ca_tls_container_ref",
    "client_crl_container_ref",
    "ca_tls_container_ref",
    "crl_container_ref",
];

/// The built-in key manager as the caller may read it.
fn readable<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
) -> LocalSecrets<'a, impl Fn(&str) -> bool + Sync + 'a> {
    LocalSecrets {
        store: &state.store,
        sealer: &state.secrets,
        may_read: move |project: &str| ctx.allows(crate::policy::Rule::Read, Some(project)),
    }
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
        if let Err(why) = bundle(&readable(state, ctx), r).await {
            tracing::debug!(reference = r, "certificate ref refused: {why}");
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
            if let Err(why) = single(&readable(state, ctx), r).await {
                tracing::debug!(reference = r, "secret ref refused: {why}");
                return Err(ApiError::bad_request(format!(
                    "Could not retrieve certificate: {r}"
                )));
            }
        }
    }
    Ok(())
}
