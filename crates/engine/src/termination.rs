//! TLS termination for TERMINATED_HTTPS listeners, with rustls on aws-lc-rs, built once per
//! configuration generation from the listener's certificates and settings (Octavia's `bind
//! … ssl crt-list …` line, reference §9.2):
//! - the certificate follows the client's SNI: the first certificate, default first and then
//!   the SNI ones in order, whose names (exact or wildcard) cover it; the default otherwise;
//! - `tls_versions`: TLS 1.2 and 1.3 are served; a listener allowing only older versions is
//!   refused with the reason; `tls_ciphers` (OpenSSL names) choose the TLS 1.2 suites;
//! - `alpn_protocols`: h2 (served by `listener::h2`), http/1.1 and http/1.0;
//! - client authentication OPTIONAL or MANDATORY against the client CA, with its CRL.

use model::{ClientAuthentication, ListenerTls};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::sync::Arc;

/// OpenSSL's names of the TLS 1.2 suites rustls serves.
const TLS12_SUITES: [(&str, rustls::CipherSuite); 6] = [
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

#[derive(Debug)]
struct Certificates {
    /// Default first, then SNI certificates in order: (leaf, key).
    all: Vec<(CertificateDer<'static>, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello
            .server_name()
            .and_then(|n| ServerName::try_from(n).ok())
        {
            for (leaf, key) in &self.all {
                let covers = webpki::EndEntityCert::try_from(leaf)
                    .and_then(|c| c.verify_is_valid_for_subject_name(&name))
                    .is_ok();
                if covers {
                    return Some(key.clone());
                }
            }
        }
        self.all.first().map(|(_, key)| key.clone())
    }
}

fn certified(
    provider: &CryptoProvider,
    pem: &str,
    key_pem: &str,
    what: &str,
) -> Result<(CertificateDer<'static>, Arc<CertifiedKey>), String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: certificate: {e}"))?;
    let leaf = chain
        .first()
        .cloned()
        .ok_or_else(|| format!("{what}: no certificate in the PEM"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("{what}: private key: {e}"))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("{what}: private key: {e}"))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| format!("{what}: the key does not belong to the certificate: {e}"))?;
    Ok((leaf, Arc::new(certified)))
}

/// Octavia's `tls_versions` as rustls serves them (all when empty).
pub(crate) fn versions(
    names: &[String],
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if names.is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut out = Vec::new();
    if names.iter().any(|v| v == "TLSv1.3") {
        out.push(&rustls::version::TLS13);
    }
    if names.iter().any(|v| v == "TLSv1.2") {
        out.push(&rustls::version::TLS12);
    }
    if out.is_empty() {
        return Err(format!(
            "tls_versions {names:?} are not served (TLSv1.2 and TLSv1.3 are)"
        ));
    }
    Ok(out)
}

/// The ALPN protocols served of `names`, in their order: h2 (to clients only) and HTTP/1.
pub(crate) fn alpn(names: &[String], h2: bool) -> Vec<Vec<u8>> {
    names
        .iter()
        .filter(|p| matches!(p.as_str(), "http/1.1" | "http/1.0") || (h2 && p.as_str() == "h2"))
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

/// The provider with the TLS 1.2 suites `ciphers` names (TLS 1.3's are always offered, as
/// `ciphers` leaves them alone in HAProxy).
pub(crate) fn provider(ciphers: Option<&str>) -> Result<CryptoProvider, String> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(list) = ciphers.filter(|c| !c.trim().is_empty()) {
        // As OpenSSL's cipher list (TLS 1.2 and below): names it does not know are skipped,
        // a list of none is refused.
        let known = list
            .split(':')
            .map(str::trim)
            .any(|name| TLS12_SUITES.iter().any(|(n, _)| *n == name));
        if !known {
            return Err(format!(
                "tls_ciphers '{list}' names no TLS 1.2 cipher this engine serves (OpenSSL's names, \
                 as ECDHE-RSA-AES128-GCM-SHA256; TLS 1.3's suites are always offered)"
            ));
        }
        let wanted: Vec<rustls::CipherSuite> = list
            .split(':')
            .filter_map(|name| TLS12_SUITES.iter().find(|(n, _)| *n == name.trim()))
            .map(|(_, suite)| *suite)
            .collect();
        provider.cipher_suites.retain(|s| match s {
            rustls::SupportedCipherSuite::Tls13(_) => true,
            rustls::SupportedCipherSuite::Tls12(_) => wanted.contains(&s.suite()),
        });
    }
    Ok(provider)
}

/// The server configuration of one TERMINATED_HTTPS listener.
pub fn server_config(tls: &ListenerTls) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(provider(tls.ciphers.as_deref())?);
    let mut all = Vec::new();
    if let Some(b) = &tls.default_certificate {
        all.push(certified(
            &provider,
            &b.certificate_pem,
            &b.private_key_pem,
            &b.reference,
        )?);
    }
    for b in &tls.sni_certificates {
        all.push(certified(
            &provider,
            &b.certificate_pem,
            &b.private_key_pem,
            &b.reference,
        )?);
    }
    if all.is_empty() {
        return Err("no certificate to serve".into());
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(&tls.versions)?)
        .map_err(|e| format!("TLS settings: {e}"))?;
    let builder = match tls.client_authentication {
        ClientAuthentication::Optional | ClientAuthentication::Mandatory => {
            let ca = tls
                .client_ca_pem
                .as_deref()
                .ok_or("client authentication without a client CA")?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                let cert = cert.map_err(|e| format!("client CA: {e}"))?;
                roots.add(cert).map_err(|e| format!("client CA: {e}"))?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            if let Some(crl) = &tls.client_crl_pem {
                let crls: Vec<CertificateRevocationListDer<'static>> =
                    CertificateRevocationListDer::pem_slice_iter(crl.as_bytes())
                        .collect::<Result<_, _>>()
                        .map_err(|e| format!("client CRL: {e}"))?;
                verifier = verifier.with_crls(crls);
            }
            if tls.client_authentication == ClientAuthentication::Optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier
                .build()
                .map_err(|e| format!("client authentication: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        ClientAuthentication::None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(Certificates { all }));
    config.alpn_protocols = alpn(&tls.alpn_protocols, true);
    Ok(Arc::new(config))
}

/// What a TLS connection tells about its client, once per connection: HAProxy's `ssl_c_*`
/// fetches, for the X-SSL-* headers and the SSL_* L7 rules.
#[derive(Debug, Default)]
pub struct TlsFacts {
    /// `ssl_fc_sni`: the name the client asked for, sent on to HTTPS pools' members.
    pub sni: Option<String>,
    /// `ssl_c_used`: the client presented a certificate (verified by then).
    pub has_cert: bool,
    /// `ssl_c_s_dn`, as OpenSSL's one-line form (`/C=US/CN=client`).
    pub subject: String,
    /// The subject's attributes by short name (`CN`, `O`, …), for `ssl_c_s_dn(<field>)`.
    pub fields: Vec<(String, String)>,
    /// `ssl_c_i_dn`.
    pub issuer: String,
    /// `ssl_c_sha1,hex`.
    pub sha1: String,
    /// `ssl_c_notbefore` / `ssl_c_notafter`: `YYMMDDhhmmssZ`.
    pub not_before: String,
    pub not_after: String,
}

fn one_line(name: &x509_parser::x509::X509Name<'_>) -> (String, Vec<(String, String)>) {
    let registry = x509_parser::objects::oid_registry();
    let mut line = String::new();
    let mut fields = Vec::new();
    for attr in name.iter_attributes() {
        let short = registry
            .get(attr.attr_type())
            .map(|e| e.sn().to_string())
            .unwrap_or_else(|| attr.attr_type().to_id_string());
        let short = match short.as_str() {
            "commonName" => "CN".to_string(),
            "countryName" => "C".to_string(),
            "organizationName" => "O".to_string(),
            "organizationalUnitName" => "OU".to_string(),
            "localityName" => "L".to_string(),
            "stateOrProvinceName" => "ST".to_string(),
            _ => short,
        };
        let value = attr.as_str().unwrap_or_default().to_string();
        line.push_str(&format!("/{short}={value}"));
        fields.push((short, value));
    }
    (line, fields)
}

/// As HAProxy's `ssl_sock_get_time`: only dates of 2000–2099 have a value (measured against
/// HAProxy 2.6: a 1975 or 4096 date gives an empty header).
fn asn1_time(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    if !(2000..=2099).contains(&d.year()) {
        return String::new();
    }
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        d.year() % 100,
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

impl TlsFacts {
    pub fn of(connection: &rustls::ServerConnection) -> TlsFacts {
        let sni = connection.server_name().map(str::to_string);
        let Some(leaf) = connection.peer_certificates().and_then(|c| c.first()) else {
            return TlsFacts {
                sni,
                ..TlsFacts::default()
            };
        };
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
            return TlsFacts {
                sni,
                has_cert: true,
                ..TlsFacts::default()
            };
        };
        let (subject, fields) = one_line(cert.subject());
        let (issuer, _) = one_line(cert.issuer());
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, leaf);
        TlsFacts {
            sni,
            has_cert: true,
            subject,
            fields,
            issuer,
            sha1: digest.as_ref().iter().map(|b| format!("{b:02X}")).collect(),
            not_before: asn1_time(&cert.validity().not_before),
            not_after: asn1_time(&cert.validity().not_after),
        }
    }

    /// `ssl_c_s_dn(<field>)`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The X-SSL-* headers `insert_headers` asks for, as Octavia renders them (§9.3) and
    /// HAProxy sends them: `%{+Q}` quotes in logs, not in `http-request set-header` (the TLS
    /// oracle compares them with HAProxy's).
    pub fn headers(&self, wanted: impl Fn(&str) -> bool) -> Vec<(&'static str, String)> {
        let all: [(&'static str, String); 8] = [
            ("X-SSL-Client-Verify", "0".to_string()),
            (
                "X-SSL-Client-Has-Cert",
                if self.has_cert { "1" } else { "0" }.to_string(),
            ),
            ("X-SSL-Client-DN", self.subject.clone()),
            (
                "X-SSL-Client-CN",
                self.field("CN").unwrap_or_default().to_string(),
            ),
            ("X-SSL-Issuer", self.issuer.clone()),
            ("X-SSL-Client-SHA1", self.sha1.clone()),
            ("X-SSL-Client-Not-Before", self.not_before.clone()),
            ("X-SSL-Client-Not-After", self.not_after.clone()),
        ];
        all.into_iter().filter(|(name, _)| wanted(name)).collect()
    }
}
