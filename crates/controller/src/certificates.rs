//! The certificates of TERMINATED_HTTPS listeners and TLS pools, loaded from the key manager
//! and unsealed for the amphorae (as Octavia's worker loads them from Barbican and uploads
//! them). Assembly (containers, PKCS12, passphrases, copies of a real Barbican's certificates)
//! is `store::certificates`, shared with the API's check.

use model::AmphoraConfig;
use store::certificates::{served, served_single};
use store::{Sealer, Store};

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
            *b = served(store, sealer, &b.reference).await.map_err(what)?;
        }
        if let Some(r) = &tls.ca_ref {
            tls.ca_pem = Some(served_single(store, sealer, r).await.map_err(what)?);
        }
        if let Some(r) = &tls.crl_ref {
            tls.crl_pem = Some(served_single(store, sealer, r).await.map_err(what)?);
        }
    }
    for listener in &mut config.listeners {
        let Some(tls) = &mut listener.tls else {
            continue;
        };
        let what = |e: String| format!("listener {}: {e}", listener.id);
        if let Some(b) = &mut tls.default_certificate {
            *b = served(store, sealer, &b.reference).await.map_err(what)?;
        }
        for b in &mut tls.sni_certificates {
            *b = served(store, sealer, &b.reference).await.map_err(what)?;
        }
        if let Some(r) = &tls.client_ca_ref {
            tls.client_ca_pem = Some(served_single(store, sealer, r).await.map_err(what)?);
        }
        if let Some(r) = &tls.client_crl_ref {
            tls.client_crl_pem = Some(served_single(store, sealer, r).await.map_err(what)?);
        }
    }
    Ok(())
}
