//! TLS towards members, with rustls on the aws-lc-rs provider: HTTPS pools (`member_config`),
//! and HTTPS health checks, which verify nothing, as HAProxy's `check-ssl verify none` in
//! Octavia's template.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Opens TLS over `stream` without verifying the member's certificate. No SNI is sent
/// (the server name is the member's address), as HAProxy's checks without `check-sni`.
pub async fn connect_unverified(
    stream: TcpStream,
    target: SocketAddr,
) -> std::io::Result<TlsStream<TcpStream>> {
    static CONNECTOR: OnceLock<Option<TlsConnector>> = OnceLock::new();
    let connector = CONNECTOR
        .get_or_init(unverified_connector)
        .clone()
        .ok_or_else(|| std::io::Error::other("no TLS client configuration"))?;
    connector
        .connect(ServerName::IpAddress(target.ip().into()), stream)
        .await
}

fn unverified_connector() -> Option<TlsConnector> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Some(TlsConnector::from(Arc::new(config)))
}

/// Accepts any certificate, still checking that the handshake is signed by its key.
#[derive(Debug)]
pub(crate) struct AnyCertificate(pub(crate) Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A member's chain is checked against the pool's CA, but not its name: Octavia renders
/// `verify required` without `verifyhost`, so HAProxy checks the chain only.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The client configuration towards an HTTPS pool's members (`tls_enabled`): its CA and CRL
/// (`verify required`) or none (`verify none`), its client certificate, versions and ALPN.
pub fn member_config(tls: &model::PoolTls) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateRevocationListDer, PrivateKeyDer};
    let provider = Arc::new(crate::termination::provider(tls.ciphers.as_deref())?);
    let versions = crate::termination::versions(&tls.versions)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS settings: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match &tls.ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots
                    .add(cert.map_err(|e| format!("CA: {e}"))?)
                    .map_err(|e| format!("CA: {e}"))?;
            }
            let mut webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            );
            if let Some(crl) = &tls.crl_pem {
                let crls: Vec<CertificateRevocationListDer<'static>> =
                    CertificateRevocationListDer::pem_slice_iter(crl.as_bytes())
                        .collect::<Result<_, _>>()
                        .map_err(|e| format!("CRL: {e}"))?;
                webpki = webpki.with_crls(crls);
            }
            Arc::new(ChainOnly(webpki.build().map_err(|e| format!("CA: {e}"))?))
        }
        None => Arc::new(AnyCertificate(provider.clone())),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &tls.client_certificate {
        Some(b) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(b.certificate_pem.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(b.private_key_pem.as_bytes())
                .map_err(|e| format!("client certificate's key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    // Members are spoken to over HTTP/1.1 only.
    config.alpn_protocols = crate::termination::alpn(&tls.alpn_protocols, false);
    Ok(Arc::new(config))
}
