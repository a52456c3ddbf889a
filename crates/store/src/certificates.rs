//! Certificate bundles assembled from a key manager as Octavia's cert managers assemble them:
//! a ref names a `certificate` container (certificate, private_key, intermediates,
//! private_key_passphrase) or a single secret holding a PKCS12 bundle (or PEM certificate and
//! key). The key manager is the built-in one (`LocalSecrets`) or, in Keystone mode, a real
//! Barbican read with the user's token (the API's own `SecretSource`). One assembly for the
//! API's check and the worker's load, so what the API accepts is what the amphora serves.

use crate::pkcs;
use crate::{Sealer, Store};
use model::CertificateBundle;
use serde_json::Value;

/// Where the secrets of a ref are read. Errors are reasons a user can act on.
pub trait SecretSource {
    /// The named secret refs of the container `reference`; None when it is no container.
    fn container(
        &self,
        reference: &str,
    ) -> impl std::future::Future<Output = Result<Option<Vec<(String, String)>>, String>> + Send;
    /// The payload of the secret `reference`.
    fn payload(
        &self,
        reference: &str,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, String>> + Send;
}

fn text(reference: &str, bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("secret {reference} is not PEM text"))
}

/// The certificate (with its intermediates) and unencrypted key of `reference`.
pub async fn bundle(
    source: &impl SecretSource,
    reference: &str,
) -> Result<CertificateBundle, String> {
    let Some(parts) = source.container(reference).await? else {
        let opened = secret_bundle(reference, source.payload(reference).await?)?;
        return Ok(CertificateBundle {
            reference: reference.to_string(),
            certificate_pem: opened.certificate_pem,
            private_key_pem: opened.private_key_pem,
        });
    };
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.as_str())
    };
    let certificate =
        part("certificate").ok_or_else(|| format!("container {reference} has no certificate"))?;
    let key =
        part("private_key").ok_or_else(|| format!("container {reference} has no private_key"))?;
    let mut certificate_pem = text(certificate, source.payload(certificate).await?)?;
    if let Some(intermediates) = part("intermediates") {
        if !certificate_pem.ends_with('\n') {
            certificate_pem.push('\n');
        }
        certificate_pem.push_str(&text(intermediates, source.payload(intermediates).await?)?);
    }
    let mut private_key_pem = text(key, source.payload(key).await?)?;
    match part("private_key_passphrase") {
        Some(passphrase) => {
            let passphrase = source.payload(passphrase).await?;
            private_key_pem = pkcs::decrypt_key(&private_key_pem, &passphrase)
                .map_err(|e| format!("container {reference}: {e}"))?;
        }
        None if pkcs::is_encrypted_key(&private_key_pem) => {
            return Err(format!(
                "container {reference}: the private key is under a passphrase and the container has no private_key_passphrase"
            ));
        }
        None => {}
    }
    Ok(CertificateBundle {
        reference: reference.to_string(),
        certificate_pem,
        private_key_pem,
    })
}

/// A secret holding a whole bundle: PEM text with certificate and key, or PKCS12 (DER).
fn secret_bundle(reference: &str, payload: Vec<u8>) -> Result<pkcs::Opened, String> {
    if payload.trim_ascii_start().starts_with(b"-----BEGIN") {
        let pem = text(reference, payload)?;
        if pkcs::is_encrypted_key(&pem) {
            return Err(format!(
                "secret {reference}: a key under a passphrase needs a certificate container with private_key_passphrase"
            ));
        }
        return Ok(pkcs::Opened {
            certificate_pem: pem.clone(),
            private_key_pem: pem,
        });
    }
    pkcs::open_pkcs12(&payload).map_err(|e| format!("secret {reference}: {e}"))
}

/// A single PEM of a ref (client CA, CRL): a secret's payload, or a container's certificate.
pub async fn single(source: &impl SecretSource, reference: &str) -> Result<String, String> {
    let Some(parts) = source.container(reference).await? else {
        return text(reference, source.payload(reference).await?);
    };
    let certificate = parts
        .iter()
        .find(|(n, _)| n == "certificate")
        .map(|(_, r)| r.clone())
        .ok_or_else(|| format!("container {reference} has no certificate"))?;
    text(&certificate, source.payload(&certificate).await?)
}

/// The built-in key manager: secrets and containers in the store, payloads unsealed, each
/// object checked with `may_read(project_id)` (the caller's policy; the worker reads all).
pub struct LocalSecrets<'a, F> {
    pub store: &'a Store,
    pub sealer: &'a Sealer,
    pub may_read: F,
}

impl<F: Fn(&str) -> bool + Sync> SecretSource for LocalSecrets<'_, F> {
    async fn container(&self, reference: &str) -> Result<Option<Vec<(String, String)>>, String> {
        let id = crate::ref_id(reference);
        let Some(c) = self.store.container(id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        if !(self.may_read)(&c.project_id) {
            return Err(format!("container {id} is not readable by this project"));
        }
        let refs = c.attrs.get("secret_refs").and_then(Value::as_array);
        Ok(Some(
            refs.into_iter()
                .flatten()
                .filter_map(|r| Some((r["name"].as_str()?.into(), r["secret_id"].as_str()?.into())))
                .collect(),
        ))
    }

    async fn payload(&self, reference: &str) -> Result<Vec<u8>, String> {
        let id = crate::ref_id(reference);
        let secret = self
            .store
            .secret(id)
            .await
            .map_err(|e| e.to_string())?
            .filter(|s| (self.may_read)(&s.project_id))
            .ok_or_else(|| format!("secret {id} does not exist"))?;
        let sealed = secret
            .sealed
            .ok_or_else(|| format!("secret {id} has no payload"))?;
        self.sealer
            .open(&secret.id, &sealed)
            .map_err(|e| format!("secret {id}: {e}"))
    }
}

/// The copy of a certificate another key manager holds (a real Barbican in Keystone mode),
/// kept when the API loaded it with the user's token; None when there is none.
pub async fn copied(
    store: &Store,
    sealer: &Sealer,
    reference: &str,
) -> Result<Option<CertificateBundle>, String> {
    let Some(sealed) = store
        .certificate_copy(reference)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let plain = sealer
        .open(reference, &sealed)
        .map_err(|e| format!("the copy of {reference}: {e}"))?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|e| format!("the copy of {reference}: {e}"))
}

/// Keeps `bundle` (loaded from another key manager for `project_id`) for the worker.
pub async fn keep_copy(
    store: &Store,
    sealer: &Sealer,
    project_id: &str,
    bundle: &CertificateBundle,
) -> crate::Result<()> {
    let plain = serde_json::to_vec(bundle).expect("a bundle serializes");
    let sealed = sealer.seal(&bundle.reference, &plain);
    let mut tx = store.begin().await?;
    tx.put_certificate_copy(&bundle.reference, project_id, &sealed)
        .await?;
    tx.commit().await
}

/// The built-in key manager as the worker reads it: every project's objects.
fn worker_view<'a>(store: &'a Store, sealer: &'a Sealer) -> LocalSecrets<'a, fn(&str) -> bool> {
    LocalSecrets {
        store,
        sealer,
        may_read: |_| true,
    }
}

/// What the worker serves for `reference`: the copy of another key manager's certificate, or
/// the built-in key manager's.
pub async fn served(
    store: &Store,
    sealer: &Sealer,
    reference: &str,
) -> Result<CertificateBundle, String> {
    if let Some(copy) = copied(store, sealer, reference).await? {
        return Ok(copy);
    }
    bundle(&worker_view(store, sealer), reference).await
}

/// The single PEM (CA, CRL) the worker serves for `reference`.
pub async fn served_single(
    store: &Store,
    sealer: &Sealer,
    reference: &str,
) -> Result<String, String> {
    if let Some(copy) = copied(store, sealer, reference).await? {
        return Ok(copy.certificate_pem);
    }
    single(&worker_view(store, sealer), reference).await
}
