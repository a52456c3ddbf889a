//! TERMINATED_HTTPS listeners: the certificate follows SNI (exact and wildcard names, the
//! default otherwise), requests reach the pool with `X-Forwarded-Proto: https`, a client
//! outside `tls_versions` is refused at the handshake and counted, and a certificate whose
//! key does not match is refused with the reason.

mod support;

use engine::testing::Backend;
use model::{CertificateBundle, ListenerTls};
use rustls::pki_types::{CertificateDer, ServerName};
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

fn client(versions: &[&'static rustls::SupportedProtocolVersion]) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(engine::testing::any_certificate())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
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
            "a client offering HTTP/1.1 only gets it"
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
    // A malformed ClientHello: an alert and the connection closes; the listener carries on.
    let mut raw = tokio::net::TcpStream::connect(vip).await.unwrap();
    raw.write_all(b"\x16\x03\x01\x00\x05hello GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        raw.read_to_end(&mut answer),
    )
    .await
    .expect("the engine closes a connection that does not speak TLS");
    assert!(
        answer.is_empty() || answer[0] == 0x15,
        "an alert or nothing: {answer:?}"
    );
    assert!(get_tls(vip, "c.example.com", &[&rustls::version::TLS13])
        .await
        .is_ok());
    let errors = engine.status().await.listeners[0].counters.request_errors;
    assert_eq!(errors, 2, "each refused handshake is a request error");
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

struct Authority {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn authority() -> Authority {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "Test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Authority { cert, key }
}

/// A client certificate for `cn` with `serial`: (cert DER, key DER).
fn client_cert(ca: &Authority, cn: &str, serial: u64) -> (Vec<u8>, Vec<u8>) {
    issued(ca, cn, serial, false)
}

/// A client certificate of `ca`; an `expired` one ran out in 2021.
fn issued(ca: &Authority, cn: &str, serial: u64, expired: bool) -> (Vec<u8>, Vec<u8>) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.serial_number = Some(rcgen::SerialNumber::from(serial));
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.der().to_vec(), key.serialize_der())
}

/// status line, answer head and body of one GET through TLS with an optional client cert.
async fn get_as(vip: SocketAddr, identity: Option<&(Vec<u8>, Vec<u8>)>) -> std::io::Result<String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(engine::testing::any_certificate());
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(cert.clone())],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.clone().into()),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(vip).await?;
    let name = ServerName::try_from("secure.example.com").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: secure.example.com\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await?;
    Ok(answer)
}

#[tokio::test]
async fn mandatory_client_certificates_are_checked_and_named_to_the_member() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let trusted = Backend::http("trusted", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ca = authority();
    let good = client_cert(&ca, "client-1", 1001);
    let revoked = client_cert(&ca, "client-2", 1002);
    let stranger = client_cert(&authority(), "client-1", 1003);
    let expired = issued(&ca, "client-1", 1004, true);
    let crl = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2124, 1, 1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(1002u64),
            revocation_time: rcgen::date_time_ymd(2024, 1, 2),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&ca.cert, &ca.key)
    .unwrap();
    let server = cert("s", &["secure.example.com"]);
    let tls = ListenerTls {
        default_certificate: Some(server.bundle),
        client_authentication: model::ClientAuthentication::Mandatory,
        client_ca_pem: Some(ca.cert.pem()),
        client_crl_pem: Some(crl.pem().unwrap()),
        hsts_max_age: Some(31_536_000),
        hsts_include_subdomains: true,
        ..ListenerTls::default()
    };
    let mut l = tls_listener(8443, tls);
    for h in [
        "X-SSL-Client-Verify",
        "X-SSL-Client-Has-Cert",
        "X-SSL-Client-DN",
        "X-SSL-Client-CN",
    ] {
        l.insert_headers.insert(h.into(), "true".into());
    }
    // client-1 (by its subject's CN) goes to the trusted pool.
    l.l7policies.push(model::L7PolicyConfig {
        id: "p".into(),
        action: model::L7Action::RedirectToPool,
        position: 1,
        admin_state_up: true,
        redirect_pool_id: Some("trusted".into()),
        redirect_url: None,
        redirect_prefix: None,
        redirect_http_code: None,
        rules: vec![model::L7RuleConfig {
            id: "r".into(),
            rule_type: model::L7RuleType::SslDnField,
            compare_type: model::CompareType::EqualTo,
            key: Some("CN".into()),
            value: "client-1".into(),
            invert: false,
            admin_state_up: true,
        }],
    });
    let mut trusted_pool = pool("HTTP", "ROUND_ROBIN", vec![member("t", trusted.addr)]);
    trusted_pool.id = "trusted".into();
    let mut c = config(
        "127.21.9.4",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("m", web.addr)]),
    );
    c.pools.push(trusted_pool);
    let engine = start(c).await;
    let vip: SocketAddr = "127.21.9.4:8443".parse().unwrap();

    let answer = get_as(vip, Some(&good)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with("you hit: trusted\n"),
        "SSL_DN_FIELD CN routed it: {answer}"
    );
    assert!(
        answer.contains("strict-transport-security: max-age=31536000; includeSubDomains;\r\n"),
        "{answer}"
    );
    let headers = trusted.seen.last_headers.lock().unwrap().clone();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("x-ssl-client-cn"), "client-1", "{headers:?}");
    assert_eq!(header("x-ssl-client-dn"), "/CN=client-1", "{headers:?}");
    assert_eq!(header("x-ssl-client-has-cert"), "1");
    assert_eq!(header("x-ssl-client-verify"), "0");

    for (who, identity) in [
        ("no certificate", None),
        ("another CA's", Some(&stranger)),
        ("revoked", Some(&revoked)),
        ("expired", Some(&expired)),
    ] {
        let refused = get_as(vip, identity).await;
        assert!(
            refused.as_ref().map_or(true, |a| !a.contains("200")),
            "{who}: {refused:?}"
        );
    }
    let errors = engine.status().await.listeners[0].counters.request_errors;
    assert_eq!(errors, 4, "each refused handshake is a request error");
}

/// A member speaking HTTPS with a certificate of `ca` for `name`: answers every request with
/// `you hit: <name>` and closes.
async fn tls_member(ca: &Authority, name: &str) -> SocketAddr {
    let mut p = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = format!("you hit: {name}\n");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn https_pools_re_encrypt_and_check_the_members_ca() {
    let ca = authority();
    let member_addr = tls_member(&ca, "member.example.com").await;
    let serve = |vip: &'static str, ca_pem: Option<String>| async move {
        let mut p = pool("HTTP", "ROUND_ROBIN", vec![member("m", member_addr)]);
        p.tls_enabled = true;
        p.tls = Some(model::PoolTls {
            ca_pem,
            ..model::PoolTls::default()
        });
        let engine = start(config(vip, listener("HTTP", 8080), p)).await;
        (engine, format!("{vip}:8080").parse::<SocketAddr>().unwrap())
    };
    // verify none, then verify required with the members' CA: served.
    for (vip, ca_pem) in [("127.21.9.5", None), ("127.21.9.6", Some(ca.cert.pem()))] {
        let (_engine, addr) = serve(vip, ca_pem).await;
        let (status, body) = get(addr, "/").await;
        assert_eq!(
            (status, body.as_str()),
            (200, "you hit: member.example.com\n")
        );
    }
    // Another CA: the member's certificate does not verify, no member can take it.
    let (_engine, addr) = serve("127.21.9.7", Some(authority().cert.pem())).await;
    let (status, _) = get(addr, "/").await;
    assert_eq!(status, 503);
}

/// Under a monitor, an HTTPS pool's checks go over its TLS: a member whose certificate does
/// not chain to the pool's CA is DOWN, one that does is UP.
#[tokio::test]
async fn https_pool_checks_verify_the_members_certificate() {
    let ca = authority();
    let member_addr = tls_member(&ca, "member.example.com").await;
    for (vip, ca_pem, want) in [
        ("127.21.9.8", authority().cert.pem(), "DOWN"),
        ("127.21.9.9", ca.cert.pem(), "UP"),
    ] {
        let mut p = pool("HTTPS", "ROUND_ROBIN", vec![member("m", member_addr)]);
        p.protocol = model::PoolProtocol::Http;
        p.tls_enabled = true;
        p.tls = Some(model::PoolTls {
            ca_pem: Some(ca_pem),
            ..model::PoolTls::default()
        });
        let mut hm = model::MonitorConfig::new("hm", model::MonitorType::Https, 1, 1, 1);
        hm.max_retries_down = 1;
        p.healthmonitor = Some(hm);
        let engine = start(config(vip, listener("HTTP", 8080), p)).await;
        let m = wait_member(&engine, "m", |m| m.checks >= 1 && m.status == want).await;
        assert_eq!(m.status, want, "{vip}");
    }
}

/// A new certificate (a listener update, so a new generation) serves new connections at
/// once, while a connection made before keeps working.
#[tokio::test]
async fn a_new_certificate_is_served_without_dropping_connections() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (old, new) = (
        cert("old", &["www.example.com"]),
        cert("new", &["www.example.com"]),
    );
    let make = |c: &Cert, generation: u64| {
        let tls = ListenerTls {
            default_certificate: Some(c.bundle.clone()),
            ..ListenerTls::default()
        };
        let mut cfg = config(
            "127.21.9.10",
            tls_listener(8443, tls),
            pool("HTTP", "ROUND_ROBIN", vec![member("m", web.addr)]),
        );
        cfg.generation = generation;
        cfg
    };
    let engine = start(make(&old, 1)).await;
    let vip: SocketAddr = "127.21.9.10:8443".parse().unwrap();
    let both = [&rustls::version::TLS13, &rustls::version::TLS12];
    // A kept-alive connection made under the old certificate.
    let tcp = tokio::net::TcpStream::connect(vip).await.unwrap();
    let mut kept = client(&both)
        .connect(ServerName::try_from("www.example.com").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(
        kept.get_ref().1.peer_certificates().unwrap()[0].to_vec(),
        old.der
    );
    let ask = b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    kept.write_all(ask).await.unwrap();
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("you hit: web"));

    engine.apply(make(&new, 2)).await.unwrap();
    let (leaf, _, answer) = get_tls(vip, "www.example.com", &both).await.unwrap();
    assert_eq!(leaf, new.der, "new connections get the new certificate");
    assert!(answer.ends_with("you hit: web\n"), "{answer}");
    kept.write_all(ask).await.unwrap();
    let n = kept.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("you hit: web"),
        "the connection made before carries on"
    );
}

/// A client that speaks h2 gets it (ALPN), and its requests reach the pool over HTTP/1.1,
/// L7 policies included.
#[tokio::test]
async fn h2_clients_are_served() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let c = cert("c", &["h2.example.com"]);
    let tls = ListenerTls {
        default_certificate: Some(c.bundle),
        alpn_protocols: vec!["h2".into(), "http/1.1".into()],
        ..ListenerTls::default()
    };
    let mut l = tls_listener(8443, tls);
    l.l7policies.push(model::L7PolicyConfig {
        id: "p".into(),
        action: model::L7Action::Reject,
        position: 1,
        admin_state_up: true,
        redirect_pool_id: None,
        redirect_url: None,
        redirect_prefix: None,
        redirect_http_code: None,
        rules: vec![model::L7RuleConfig {
            id: "r".into(),
            rule_type: model::L7RuleType::Path,
            compare_type: model::CompareType::StartsWith,
            key: None,
            value: "/admin".into(),
            invert: false,
            admin_state_up: true,
        }],
    });
    let engine = start(config(
        "127.21.9.11",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("m", web.addr)]),
    ))
    .await;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(engine::testing::any_certificate())
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect("127.21.9.11:8443")
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("h2.example.com").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    for (path, want) in [("/", 200), ("/admin/x", 403), ("/again", 200)] {
        let req = hyper::Request::builder()
            .uri(format!("https://h2.example.com{path}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let answer = sender.send_request(req).await.unwrap();
        assert_eq!(answer.status().as_u16(), want, "{path}");
        if want == 200 {
            use http_body_util::BodyExt;
            let body = answer.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"you hit: web\n");
        }
    }
    let headers = web.seen.last_headers.lock().unwrap().clone();
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "host" && v == "h2.example.com"),
        "{headers:?}"
    );
    // A 10 kB body there and back counts into the member's and the listener's bytes; each
    // stream that reached the member counts as one of its connections, none left open.
    let req = hyper::Request::builder()
        .method("POST")
        .uri("https://h2.example.com/echo")
        .body(http_body_util::Full::new(bytes::Bytes::from(vec![
            b'x';
            10_000
        ])))
        .unwrap();
    let answer = sender.send_request(req).await.unwrap();
    use http_body_util::BodyExt;
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 10_000);
    let status = engine.status().await;
    let m = &status.pools[0].members[0];
    assert_eq!((m.total_connections, m.active_connections), (3, 0), "{m:?}");
    assert!(m.bytes_in > 10_000 && m.bytes_out > 10_000, "{m:?}");
    let counters = &status.listeners[0].counters;
    assert!(
        counters.bytes_in > 10_000 && counters.bytes_out > 10_000,
        "{counters:?}"
    );
}

/// h2 clients keep their sessions as HTTP/1 clients do: the SRV cookie is set, and a client
/// that sends it back stays on its member.
#[tokio::test]
async fn h2_clients_keep_their_sessions() {
    let (a, b) = (
        Backend::http("a", "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        Backend::http("b", "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
    );
    let c = cert("c", &["h2.example.com"]);
    let tls = ListenerTls {
        default_certificate: Some(c.bundle),
        alpn_protocols: vec!["h2".into()],
        ..ListenerTls::default()
    };
    let mut p = pool(
        "HTTP",
        "ROUND_ROBIN",
        vec![member("a", a.addr), member("b", b.addr)],
    );
    p.session_persistence = Some(model::SessionPersistence {
        kind: model::PersistenceType::HttpCookie,
        cookie_name: None,
        persistence_timeout: None,
        persistence_granularity: None,
    });
    let _engine = start(config("127.21.9.12", tls_listener(8443, tls), p)).await;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(engine::testing::any_certificate())
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect("127.21.9.12:8443")
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("h2.example.com").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let mut jar = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let mut req = hyper::Request::builder().uri("https://h2.example.com/");
        if !jar.is_empty() {
            req = req.header("cookie", jar.as_str());
        }
        let answer = sender
            .send_request(
                req.body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        if let Some(c) = answer.headers().get("set-cookie") {
            jar = c.to_str().unwrap().split(';').next().unwrap().to_string();
        }
        use http_body_util::BodyExt;
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        seen.insert(String::from_utf8_lossy(&body).to_string());
    }
    assert!(jar.starts_with("SRV="), "{jar}");
    assert_eq!(seen.len(), 1, "one member served all ten: {seen:?}");
}
