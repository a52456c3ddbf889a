//! TERMINATED_HTTPS listeners: the certificate follows SNI (exact and wildcard names, the
//! default otherwise), requests reach the pool with `X-Forwarded-Proto: https`, a client
//! outside `tls_versions` is refused at the handshake and counted, and a certificate whose
//! key does not match is refused with the reason.

mod support;

use engine::testing::Backend;
use model::{CertificateBundle, ListenerTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Cert {
    bundle: CertificateBundle,
    der: Vec<u8>,
}

fn cert(reference: &str, names: &[&str]) -> Cert {
    let made =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    Cert {
        bundle: CertificateBundle {
            reference: reference.into(),
            certificate_pem: made.cert.pem(),
            private_key_pem: made.key_pair.serialize_pem(),
        },
        der: made.cert.der().to_vec(),
    }
}

/// Accepts any certificate: the test looks at which one it was.
#[derive(Debug)]
struct Any(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Any {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client(versions: &[&'static rustls::SupportedProtocolVersion]) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Any(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// (leaf certificate, ALPN, answer body) of one GET with `sni`.
async fn get_tls(
    vip: SocketAddr,
    sni: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<(Vec<u8>, Option<Vec<u8>>, String)> {
    let tcp = tokio::net::TcpStream::connect(vip).await?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let mut tls = client(versions).connect(name, tcp).await?;
    let (_, conn) = tls.get_ref();
    let leaf = conn.peer_certificates().unwrap()[0].to_vec();
    let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    tls.write_all(format!("GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer).await;
    Ok((leaf, alpn, answer))
}

fn tls_listener(port: u16, tls: ListenerTls) -> model::ListenerConfig {
    let mut l = listener("TERMINATED_HTTPS", port);
    l.insert_headers
        .insert("X-Forwarded-Proto".into(), "true".into());
    l.tls = Some(tls);
    l
}

#[tokio::test]
async fn the_certificate_follows_sni_and_requests_reach_the_pool() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let default = cert("default", &["default.example.com"]);
    let a = cert("a", &["a.example.com"]);
    let b = cert("b", &["*.b.example.com"]);
    let tls = ListenerTls {
        default_certificate: Some(default.bundle.clone()),
        sni_certificates: vec![a.bundle.clone(), b.bundle.clone()],
        alpn_protocols: vec!["h2".into(), "http/1.1".into(), "http/1.0".into()],
        ..ListenerTls::default()
    };
    let _engine = start(config(
        "127.21.9.1",
        tls_listener(8443, tls),
        pool("HTTP", "ROUND_ROBIN", vec![member("m", web.addr)]),
    ))
    .await;
    let vip: SocketAddr = "127.21.9.1:8443".parse().unwrap();
    let both = [&rustls::version::TLS13, &rustls::version::TLS12];
    for (sni, expected) in [
        ("a.example.com", &a.der),
        ("x.b.example.com", &b.der),
        ("default.example.com", &default.der),
        ("unknown.example.org", &default.der),
    ] {
        let (leaf, alpn, answer) = get_tls(vip, sni, &both).await.unwrap();
        assert_eq!(&leaf, expected, "{sni} got the wrong certificate");
        assert_eq!(
            alpn.as_deref(),
            Some(&b"http/1.1"[..]),
            "h2 is not offered yet"
        );
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("you hit: web\n"),
            "{answer}"
        );
    }
    let headers = web.seen.last_headers.lock().unwrap().clone();
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-forwarded-proto" && v == "https"),
        "{headers:?}"
    );
    // TLS 1.2 only.
    let (leaf, _, _) = get_tls(vip, "a.example.com", &[&rustls::version::TLS12])
        .await
        .unwrap();
    assert_eq!(leaf, a.der);
}

#[tokio::test]
async fn versions_outside_tls_versions_are_refused_and_counted() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let c = cert("c", &["c.example.com"]);
    let tls = ListenerTls {
        default_certificate: Some(c.bundle),
        versions: vec!["TLSv1.3".into()],
        ..ListenerTls::default()
    };
    let engine = start(config(
        "127.21.9.2",
        tls_listener(8443, tls),
        pool("HTTP", "ROUND_ROBIN", vec![member("m", web.addr)]),
    ))
    .await;
    let vip: SocketAddr = "127.21.9.2:8443".parse().unwrap();
    assert!(get_tls(vip, "c.example.com", &[&rustls::version::TLS12])
        .await
        .is_err());
    assert!(get_tls(vip, "c.example.com", &[&rustls::version::TLS13])
        .await
        .is_ok());
    let errors = engine.status().await.listeners[0].counters.request_errors;
    assert_eq!(errors, 1, "the refused handshake is a request error");
}

#[tokio::test]
async fn a_key_that_is_not_the_certificates_is_refused_with_the_reason() {
    let mut c = cert("c", &["c.example.com"]);
    c.bundle.private_key_pem = cert("other", &["o"]).bundle.private_key_pem;
    let tls = ListenerTls {
        default_certificate: Some(c.bundle),
        ..ListenerTls::default()
    };
    let engine = engine::Engine::default();
    let applied = engine
        .apply(config(
            "127.21.9.3",
            tls_listener(8443, tls),
            pool("HTTP", "ROUND_ROBIN", vec![]),
        ))
        .await
        .unwrap();
    assert_eq!(applied.failed_listeners.len(), 1);
    assert!(
        applied.failed_listeners[0]
            .reason
            .contains("does not belong"),
        "{:?}",
        applied.failed_listeners
    );
}
