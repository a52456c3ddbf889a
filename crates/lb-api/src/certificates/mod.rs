//! What the load-balancer API asks of the key manager (Octavia's cert manager with
//! `check_only`): can the caller load each certificate ref of a listener or pool. A ref
//! names a container with a `certificate` secret, or a secret itself (a PKCS12 bundle or PEM),
//! that the caller's project may read and that opens (`store::certificates`, the same assembly
//! the worker loads with). In Keystone mode a ref the built-in key manager does not hold is
//! read from the caller's Barbican (`barbican`). With the noop drivers refs are accepted
//! unchecked, as Octavia's noop cert manager accepts them.

use crate::AppState;
use front::{ApiError, ApiResult};
mod remote;

use crate::NetworkDriver;
use front::RequestContext;
use model::CertificateBundle;
use store::certificates::{bundle, keep_copy, single, LocalSecrets};

/// The certificate refs a request names, in the order Octavia collects them: those that
/// must hold a certificate and key (SNI, default, a pool's client certificate), and single
/// secrets (CA certificates and revocation lists).
#[derive(Default)]
pub struct Refs<'a> {
    pub certificates: Vec<&'a str>,
    pub secrets: Vec<&'a str>,
}

/// Bodies that name certificates.
pub trait NamesCertificates {
    fn refs(&self) -> Refs<'_>;
}

fn given(p: &model::Patch<String>) -> Option<&str> {
    p.value().map(String::as_str)
}

fn listener_refs<'a>(
    sni: &'a model::Patch<Vec<String>>,
    default: &'a model::Patch<String>,
    client_ca: &'a model::Patch<String>,
    client_crl: &'a model::Patch<String>,
) -> Refs<'a> {
    let mut certificates: Vec<&str> = sni
        .value()
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    certificates.extend(given(default));
    Refs {
        certificates,
        secrets: [given(client_ca), given(client_crl)]
            .into_iter()
            .flatten()
            .collect(),
    }
}

impl NamesCertificates for model::resource::ListenerCreate {
    fn refs(&self) -> Refs<'_> {
        listener_refs(
            &self.sni_container_refs,
            &self.default_tls_container_ref,
            &self.client_ca_tls_container_ref,
            &self.client_crl_container_ref,
        )
    }
}

impl NamesCertificates for model::resource::ListenerPatch {
    fn refs(&self) -> Refs<'_> {
        listener_refs(
            &self.sni_container_refs,
            &self.default_tls_container_ref,
            &self.client_ca_tls_container_ref,
            &self.client_crl_container_ref,
        )
    }
}

fn pool_refs<'a>(
    tls: &'a model::Patch<String>,
    ca: &'a model::Patch<String>,
    crl: &'a model::Patch<String>,
) -> Refs<'a> {
    Refs {
        certificates: given(tls).into_iter().collect(),
        secrets: [given(ca), given(crl)].into_iter().flatten().collect(),
    }
}

impl NamesCertificates for model::resource::PoolCreate {
    fn refs(&self) -> Refs<'_> {
        pool_refs(
            &self.tls_container_ref,
            &self.ca_tls_container_ref,
            &self.crl_container_ref,
        )
    }
}

impl NamesCertificates for model::resource::PoolPatch {
    fn refs(&self) -> Refs<'_> {
        pool_refs(
            &self.tls_container_ref,
            &self.ca_tls_container_ref,
            &self.crl_container_ref,
        )
    }
}

/// The built-in key manager as the caller may read it.
fn readable<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
) -> LocalSecrets<'a, impl Fn(&str) -> bool + Sync + 'a> {
    LocalSecrets {
        store: &state.core.store,
        sealer: &state.core.secrets,
        may_read: move |project: &str| ctx.allows(front::Rule::Read, Some(project)),
    }
}

/// Which key manager holds `reference`: the built-in one when it has the object, else the
/// caller's Barbican (Keystone mode, under a `key-manager` endpoint of the caller's catalog).
async fn remote(
    state: &AppState,
    ctx: &RequestContext,
    reference: &str,
) -> Result<Option<remote::RemoteBarbican>, String> {
    let id = store::ref_id(reference);
    let held = |r: store::Result<bool>| r.map_err(|e| e.to_string());
    if held(state.core.store.container(id).await.map(|c| c.is_some()))?
        || held(state.core.store.secret(id).await.map(|s| s.is_some()))?
    {
        return Ok(None);
    }
    let (identity::Authenticator::Keystone(keystone), Some(token)) = (&state.core.auth, &ctx.token)
    else {
        return Err(format!("{reference} is not in the key manager"));
    };
    let endpoints = keystone
        .endpoints(&token.0, "key-manager")
        .await
        .map_err(|e| format!("the catalog: {e}"))?;
    if !remote::is_under(reference, &endpoints) {
        return Err(format!(
            "{reference} is under no key-manager endpoint of the caller's catalog"
        ));
    }
    Ok(Some(remote::RemoteBarbican {
        token: token.0.clone(),
    }))
}

/// Loads a certificate ref as the caller; another key manager's is kept for the worker.
async fn load_certificate(
    state: &AppState,
    ctx: &RequestContext,
    reference: &str,
) -> Result<(), String> {
    match remote(state, ctx, reference).await? {
        None => bundle(&readable(state, ctx), reference).await.map(drop),
        Some(barbican) => {
            let loaded = bundle(&barbican, reference).await?;
            keep(state, ctx, &loaded).await
        }
    }
}

/// Loads a CA or CRL ref as the caller; another key manager's is kept for the worker.
async fn load_single(
    state: &AppState,
    ctx: &RequestContext,
    reference: &str,
) -> Result<(), String> {
    match remote(state, ctx, reference).await? {
        None => single(&readable(state, ctx), reference).await.map(drop),
        Some(barbican) => {
            let pem = single(&barbican, reference).await?;
            let loaded = CertificateBundle {
                reference: reference.to_string(),
                certificate_pem: pem,
                private_key_pem: String::new(),
            };
            keep(state, ctx, &loaded).await
        }
    }
}

async fn keep(state: &AppState, ctx: &RequestContext, b: &CertificateBundle) -> Result<(), String> {
    let project = ctx.project_id.as_deref().unwrap_or_default();
    keep_copy(&state.core.store, &state.core.secrets, project, b)
        .await
        .map_err(|e| e.to_string())
}

/// Python's repr of a list of strings, as Octavia's message shows the refs.
fn python_list(refs: &[&str]) -> String {
    let quoted: Vec<String> = refs.iter().map(|r| format!("'{r}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// 400 `Could not retrieve certificate: …` for the first refs the caller cannot load.
pub async fn check_refs(state: &AppState, ctx: &RequestContext, refs: &Refs<'_>) -> ApiResult<()> {
    if state.config.network_driver == NetworkDriver::Noop {
        return Ok(());
    }
    let mut bad = Vec::new();
    for &r in &refs.certificates {
        if let Err(why) = load_certificate(state, ctx, r).await {
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
    for &r in &refs.secrets {
        if let Err(why) = load_single(state, ctx, r).await {
            tracing::debug!(reference = r, "secret ref refused: {why}");
            return Err(ApiError::bad_request(format!(
                "Could not retrieve certificate: {r}"
            )));
        }
    }
    Ok(())
}
