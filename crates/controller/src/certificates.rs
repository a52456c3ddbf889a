//! The certificates of TERMINATED_HTTPS listeners, loaded from the key manager and unsealed
//! for the amphorae (as Octavia's worker loads them from Barbican and uploads them). A ref
//! names a `certificate` container (certificate, private_key, intermediates) or a secret; a
//! key under a passphrase or a PKCS12 bundle is refused with the reason, never guessed at.

use model::{AmphoraConfig, CertificateBundle};
use serde_json::Value;
use store::{Sealer, Store};

async fn payload(store: &Store, sealer: &Sealer, secret_id: &str) -> Result<String, String> {
    let secret = store
        .secret(secret_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("secret {secret_id} is gone"))?;
    let sealed = secret
        .sealed
        .ok_or_else(|| format!("secret {secret_id} has no payload"))?;
    let plain = sealer
        .open(&secret.id, &sealed)
        .map_err(|e| format!("secret {secret_id}: {e}"))?;
    String::from_utf8(plain).map_err(|_| {
        format!("secret {secret_id} is not PEM text (a PKCS12 bundle is not served yet)")
    })
}

/// certificate (+ intermediates), private key, of one ref.
async fn bundle(
    store: &Store,
    sealer: &Sealer,
    reference: &str,
) -> Result<CertificateBundle, String> {
    let id = store::ref_id(reference);
    let container = store.container(id).await.map_err(|e| e.to_string())?;
    let Some(container) = container else {
        // A secret holding certificate and key together.
        let pem = payload(store, sealer, id).await?;
        return Ok(CertificateBundle {
            reference: reference.to_string(),
            certificate_pem: pem.clone(),
            private_key_pem: pem,
        });
    };
    let part = |name: &str| {
        container
            .attrs
            .get("secret_refs")
            .and_then(Value::as_array)
            .and_then(|refs| refs.iter().find(|r| r["name"] == name))
            .and_then(|r| r["secret_id"].as_str().map(str::to_string))
    };
    if part("private_key_passphrase").is_some() {
        return Err(format!(
            "container {id}: keys under a passphrase are not served yet"
        ));
    }
    let certificate =
        part("certificate").ok_or_else(|| format!("container {id} has no certificate"))?;
    let key = part("private_key").ok_or_else(|| format!("container {id} has no private_key"))?;
    let mut certificate_pem = payload(store, sealer, &certificate).await?;
    if let Some(intermediates) = part("intermediates") {
        certificate_pem.push('\n');
        certificate_pem.push_str(&payload(store, sealer, &intermediates).await?);
    }
    Ok(CertificateBundle {
        reference: reference.to_string(),
        certificate_pem,
        private_key_pem: payload(store, sealer, &key).await?,
    })
}

/// A single PEM of a ref (client CA, CRL): a secret, or a container's certificate.
async fn single(store: &Store, sealer: &Sealer, reference: &str) -> Result<String, String> {
    Ok(bundle(store, sealer, reference).await?.certificate_pem)
}

/// Fills in every TLS listener's and every TLS pool's PEMs.
pub async fn load(
    store: &Store,
    sealer: &Sealer,
    config: &mut AmphoraConfig,
) -> Result<(), String> {
    for pool in &mut config.pools {
        let Some(tls) = &mut pool.tls else {
            continue;
        };
        let what = |e: String| format!("pool {}: {e}", pool.id);
        if let Some(b) = &mut tls.client_certificate {
            *b = bundle(store, sealer, &b.reference).await.map_err(what)?;
        }
        if let Some(r) = &tls.ca_ref {
            tls.ca_pem = Some(single(store, sealer, r).await.map_err(what)?);
        }
        if let Some(r) = &tls.crl_ref {
            tls.crl_pem = Some(single(store, sealer, r).await.map_err(what)?);
        }
    }
    for listener in &mut config.listeners {
        let Some(tls) = &mut listener.tls else {
            continue;
        };
        let what = |e: String| format!("listener {}: {e}", listener.id);
        if let Some(b) = &mut tls.default_certificate {
            *b = bundle(store, sealer, &b.reference).await.map_err(what)?;
        }
        for b in &mut tls.sni_certificates {
            *b = bundle(store, sealer, &b.reference).await.map_err(what)?;
        }
        if let Some(r) = &tls.client_ca_ref {
            tls.client_ca_pem = Some(single(store, sealer, r).await.map_err(what)?);
        }
        if let Some(r) = &tls.client_crl_ref {
            tls.client_crl_pem = Some(single(store, sealer, r).await.map_err(what)?);
        }
    }
    Ok(())
}
