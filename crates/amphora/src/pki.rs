//! The certificate authority of the amphora agents, as Octavia's: created in the data dir at
//! first start; each amphora's agent presents a server certificate whose name is the
//! amphora id, and accepts only clients (the controller) with a certificate from that CA.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PkiError(String);

pub type Result<T> = std::result::Result<T, PkiError>;

fn err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> PkiError + '_ {
    move |e| PkiError(format!("{what}: {e}"))
}

/// A certificate and its key, PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    /// `cert_expiration` as Octavia renders it.
    pub not_after: String,
}

pub struct Authority {
    ca_pem: String,
    issuer: rcgen::Certificate,
    key: KeyPair,
}

/// Leaf certificates live this long (no rotation yet: see the README).
const LEAF_DAYS: i64 = 3650;

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Ostia amphora CA");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2124, 1, 1);
    p
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

impl Authority {
    /// The CA in `dir` (`ca.pem`, `ca.key`), created on first use.
    pub fn load_or_create(dir: &Path) -> Result<Authority> {
        std::fs::create_dir_all(dir).map_err(|e| err("creating the CA directory")(&e))?;
        let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
        let key = match std::fs::read_to_string(&key_path) {
            Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| err("reading ca.key")(&e))?,
            Err(_) => {
                let key = KeyPair::generate().map_err(|e| err("generating the CA key")(&e))?;
                write_private(&key_path, &key.serialize_pem())
                    .map_err(|e| err("writing ca.key")(&e))?;
                let _ = std::fs::remove_file(&cert_path);
                key
            }
        };
        // Certificates name their issuer by its subject and key, both the same for every
        // self-signature of these parameters with this key: the issuer can be rebuilt.
        let issuer = ca_params()
            .self_signed(&key)
            .map_err(|e| err("signing the CA")(&e))?;
        let ca_pem = match std::fs::read_to_string(&cert_path) {
            Ok(pem) => pem,
            Err(_) => {
                std::fs::write(&cert_path, issuer.pem()).map_err(|e| err("writing ca.pem")(&e))?;
                issuer.pem()
            }
        };
        Ok(Authority {
            ca_pem,
            issuer,
            key,
        })
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A certificate for `name` (an amphora id, or the controller), for a server or a client.
    pub fn issue(&self, name: &str, server: bool) -> Result<Issued> {
        let mut p = CertificateParams::new(vec![name.to_string()])
            .map_err(|e| err("certificate name")(&e))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        p.distinguished_name = dn;
        p.extended_key_usages = vec![if server {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let day = |offset: i64| {
            let d = chrono::Utc::now().date_naive() + chrono::Duration::days(offset);
            use chrono::Datelike;
            (
                d,
                rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8),
            )
        };
        p.not_before = day(-1).1;
        let (expiry, not_after) = day(LEAF_DAYS);
        p.not_after = not_after;
        let key = KeyPair::generate().map_err(|e| err("generating a key")(&e))?;
        let cert = p
            .signed_by(&key, &self.issuer, &self.key)
            .map_err(|e| err("signing a certificate")(&e))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            not_after: format!("{expiry}T00:00:00"),
        })
    }

    /// The controller's side of the agent connection: a client certificate from this CA,
    /// trusting only agents with a certificate from it.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let me = self.issue("ostia-controller", false)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| err("TLS versions")(&e))?
            .with_root_certificates(roots(&self.ca_pem)?)
            .with_client_auth_cert(certs(&me.cert_pem)?, key(&me.key_pem)?)
            .map_err(|e| err("controller certificate")(&e))?;
        Ok(Arc::new(config))
    }
}

/// The agent's side: its certificate, and clients verified against the CA when they present
/// a certificate. A client without one gets through the handshake only to be answered 401,
/// so that it learns why; a certificate from another CA fails the handshake.
pub fn server_config(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_pem)?), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| err("client verifier")(&e))?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("TLS versions")(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert_pem)?, key(key_pem)?)
        .map_err(|e| err("agent certificate")(&e))?;
    Ok(Arc::new(config))
}

fn roots(ca_pem: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in certs(ca_pem)? {
        roots.add(cert).map_err(|e| err("CA certificate")(&e))?;
    }
    Ok(roots)
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| err("certificate PEM")(&e))
}

fn key(pem: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| err("key PEM")(&e))
}
