//! The oracle for "L7 exactly as HAProxy": one AmphoraConfig with a dozen L7 policies (every
//! action, rule type and compare type, inverted rules, disabled policies and rules, classes
//! interleaved by position) is served by the engine and, rendered as Octavia renders it, by
//! the real HAProxy binary; the same 180 requests (hosts, paths, file types, headers,
//! cookies) go to both, and every answer (status, Location, the pool that served) must agree.
//! Skips, saying so, where HAProxy is not installed (`scripts/test` installs it).

mod oracle;

use model::{
    AmphoraConfig, CompareType, L7Action, L7PolicyConfig, L7RuleConfig, L7RuleType, ListenerConfig,
    ListenerProtocol,
};
use oracle::{ask, pools_of, Oracle};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn rule(
    id: &str,
    kind: L7RuleType,
    cmp: CompareType,
    key: Option<&str>,
    value: &str,
) -> L7RuleConfig {
    L7RuleConfig {
        id: id.into(),
        rule_type: kind,
        compare_type: cmp,
        key: key.map(str::to_string),
        value: value.into(),
        invert: false,
        admin_state_up: true,
    }
}

fn inverted(mut r: L7RuleConfig) -> L7RuleConfig {
    r.invert = true;
    r
}

fn disabled(mut r: L7RuleConfig) -> L7RuleConfig {
    r.admin_state_up = false;
    r
}

fn policy(id: &str, position: u32, action: L7Action, rules: Vec<L7RuleConfig>) -> L7PolicyConfig {
    L7PolicyConfig {
        id: id.into(),
        action,
        position,
        admin_state_up: true,
        redirect_pool_id: None,
        redirect_url: None,
        redirect_prefix: None,
        redirect_http_code: None,
        rules,
    }
}

fn to_pool(id: &str, position: u32, pool: &str, rules: Vec<L7RuleConfig>) -> L7PolicyConfig {
    L7PolicyConfig {
        redirect_pool_id: Some(pool.into()),
        ..policy(id, position, L7Action::RedirectToPool, rules)
    }
}

/// The policies, interleaving the classes by position so that HAProxy's class order shows.
fn policies() -> Vec<L7PolicyConfig> {
    use CompareType::*;
    use L7RuleType::*;
    let mut prefix = policy(
        "p-prefix",
        3,
        L7Action::RedirectPrefix,
        vec![rule("r-old", Path, StartsWith, None, "/old")],
    );
    prefix.redirect_prefix = Some("https://new.example.com".into());
    prefix.redirect_http_code = Some(301);
    let mut url = policy(
        "p-url",
        4,
        L7Action::RedirectToUrl,
        vec![rule("r-org", HostName, EndsWith, None, "example.org")],
    );
    url.redirect_url = Some("http://example.com/moved".into());
    let mut off = policy(
        "p-off",
        10,
        L7Action::Reject,
        vec![rule("r-all", Path, StartsWith, None, "/")],
    );
    off.admin_state_up = false;
    let mut root = policy(
        "p-root",
        13,
        L7Action::RedirectPrefix,
        vec![rule("r-root-q", Path, EqualTo, None, "/docs/readme.txt")],
    );
    root.redirect_prefix = Some("/".into());
    root.redirect_http_code = Some(308);
    vec![
        to_pool(
            "p-api-host",
            1,
            "api",
            vec![rule(
                "r-api-host",
                HostName,
                EqualTo,
                None,
                "api.example.com",
            )],
        ),
        policy(
            "p-admin",
            2,
            L7Action::Reject,
            vec![
                rule("r-admin", Path, StartsWith, None, "/admin"),
                inverted(rule("r-session", Cookie, EqualTo, Some("session"), "abc")),
            ],
        ),
        prefix,
        url,
        to_pool(
            "p-static",
            5,
            "static",
            vec![rule("r-static", FileType, Regex, None, "\\.(js|png)$")],
        ),
        to_pool(
            "p-gold",
            6,
            "gold",
            vec![rule("r-gold", Header, EqualTo, Some("X-Tenant"), "gold")],
        ),
        to_pool(
            "p-api-path",
            7,
            "api",
            vec![rule("r-api-path", Path, Regex, None, "^/api/v[0-9]+/")],
        ),
        policy(
            "p-evil",
            8,
            L7Action::Reject,
            vec![rule("r-evil", HostName, Contains, None, "EVIL")],
        ),
        to_pool(
            "p-beta",
            9,
            "beta",
            vec![rule("r-beta", Cookie, StartsWith, Some("beta"), "1")],
        ),
        off,
        to_pool(
            "p-norules",
            11,
            "gold",
            vec![disabled(rule("r-dis", Path, StartsWith, None, "/"))],
        ),
        to_pool(
            "p-txt",
            12,
            "static",
            vec![
                inverted(rule("r-cert", SslConnHasCert, EqualTo, None, "True")),
                rule("r-txt", FileType, EqualTo, None, ".txt"),
            ],
        ),
        root,
        to_pool(
            "p-silver",
            14,
            "gold",
            vec![rule("r-silver", Header, Contains, Some("X-Tenant"), "silv")],
        ),
    ]
}

fn requests() -> Vec<String> {
    let hosts = [
        Some("www.example.com"),
        Some("API.example.com"),
        Some("shop.example.org"),
        Some("evil.example.com"),
        None,
    ];
    let paths = [
        "/",
        "/admin/users",
        "/static/app.js",
        "/img/logo.png?v=2",
        "/api/v2/items",
        "/old/page?q=1",
        "/docs/readme.txt",
        "/notes.txt",
        "/API/v1/x",
    ];
    let extras = [
        "",
        "X-Tenant: gold\r\n",
        "X-Tenant: bronze, silver\r\nCookie: beta=1\r\n",
        "Cookie: theme=dark; session=abc\r\n",
    ];
    let mut out = Vec::new();
    for host in hosts {
        for path in paths {
            for extra in extras {
                let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
                out.push(format!(
                    "GET {path} HTTP/1.1\r\n{host}{extra}Connection: close\r\n\r\n"
                ));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_answers_every_l7_request_as_haproxy_does() {
    if !oracle::have_haproxy("the L7 oracle") {
        return;
    }
    let names = ["default", "api", "static", "gold", "beta"];
    let (_backends, pools) = pools_of(&names).await;
    let config = |port: u16| {
        let mut l = ListenerConfig::new("listener", ListenerProtocol::Http, port, Some("default"));
        l.l7policies = policies();
        // HAProxy sizes its file descriptors from maxconn; 50000 needs more than a test may have.
        l.connection_limit = 1000;
        AmphoraConfig {
            lb_id: "lb".into(),
            generation: 1,
            vips: vec!["127.0.0.1".parse().unwrap()],
            listeners: vec![l],
            pools: pools.clone(),
            plumbing: None,
            vrrp: None,
            engine: Default::default(),
        }
    };

    let oracle = Oracle::start(config).await;
    let (engine_addr, haproxy_addr) = (oracle.engine_addr, oracle.haproxy_addr);

    let mut differences = Vec::new();
    let mut outcomes = std::collections::BTreeMap::new();
    let all = requests();
    for head in &all {
        let theirs = ask(haproxy_addr, head).await;
        let ours = ask(engine_addr, head).await;
        *outcomes
            .entry(format!("{} {}{}", theirs.0, theirs.2, theirs.1))
            .or_insert(0) += 1;
        if theirs != ours {
            differences.push(format!(
                "{head:?}\n  haproxy: {theirs:?}\n  engine:  {ours:?}"
            ));
        }
    }
    println!(
        "{} requests, outcomes (per HAProxy): {outcomes:#?}",
        all.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} requests differ:\n{}",
        differences.len(),
        all.len(),
        differences.join("\n")
    );
    // The table must exercise every kind of answer, or agreeing proves little.
    for wanted in [
        "403 ",
        "301 ",
        "302 ",
        "308 /docs/readme.txt",
        "200 you hit: api",
        "200 you hit: static",
        "200 you hit: gold",
        "200 you hit: beta",
        "200 you hit: default",
    ] {
        assert!(
            outcomes.keys().any(|k| k.starts_with(wanted)),
            "no request got {wanted:?}: {outcomes:#?}"
        );
    }
}

mod tls_oracle {
    //! The same oracle for the rules that look at the TLS connection: a TERMINATED_HTTPS
    //! listener asking for client certificates (OPTIONAL), rules on SSL_CONN_HAS_CERT,
    //! SSL_VERIFY_RESULT and SSL_DN_FIELD, and clients with no certificate, two certificates
    //! of the listener's CA and one of another CA.

    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use std::sync::Arc;

    struct Ca {
        cert: rcgen::Certificate,
        key: rcgen::KeyPair,
    }

    fn ca(name: &str) -> Ca {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        Ca {
            cert: p.self_signed(&key).unwrap(),
            key,
        }
    }

    /// (certificate PEM, key PEM, certificate DER, key DER) of `cn`/`o`, issued by `ca`.
    fn issue(ca: &Ca, cn: &str, o: &str, server: bool) -> (String, String, Vec<u8>, Vec<u8>) {
        let names = if server {
            vec![cn.to_string()]
        } else {
            Vec::new()
        };
        let mut p = rcgen::CertificateParams::new(names).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, o);
        // bob's dates are in this century (X-SSL-Client-Not-Before/After have values); the
        // others keep rcgen's 1975–4096, which HAProxy leaves empty.
        if cn == "bob" {
            p.not_before = rcgen::date_time_ymd(2024, 3, 1);
            p.not_after = rcgen::date_time_ymd(2099, 12, 31);
        }
        p.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
        (
            cert.pem(),
            key.serialize_pem(),
            cert.der().to_vec(),
            key.serialize_der(),
        )
    }

    /// (status, Location, body) of one GET through TLS, or zeros when the handshake fails.
    async fn ask_tls(
        addr: SocketAddr,
        path: &str,
        identity: Option<&(Vec<u8>, Vec<u8>)>,
    ) -> (u16, String, String) {
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
                    PrivateKeyDer::Pkcs8(key.clone().into()),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        let io = async {
            let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
            let name = ServerName::try_from("secure.example.com").unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .ok()?;
            let head = format!(
                "GET {path} HTTP/1.1\r\nHost: secure.example.com\r\nConnection: close\r\n\r\n"
            );
            tls.write_all(head.as_bytes()).await.ok()?;
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer).await;
            let text = String::from_utf8_lossy(&answer).into_owned();
            let (top, body) = text.split_once("\r\n\r\n")?;
            let status = top.get(9..12)?.parse().ok()?;
            let location = top
                .lines()
                .find_map(|l| {
                    l.strip_prefix("location: ")
                        .or_else(|| l.strip_prefix("Location: "))
                })
                .unwrap_or_default()
                .to_string();
            let body = if status == 200 {
                body.trim().to_string()
            } else {
                String::new()
            };
            Some((status, location, body))
        };
        tokio::time::timeout(Duration::from_secs(5), io)
            .await
            .ok()
            .flatten()
            .unwrap_or((0, String::new(), String::new()))
    }

    fn ssl_rule(
        id: &str,
        kind: L7RuleType,
        cmp: CompareType,
        key: Option<&str>,
        value: &str,
    ) -> L7RuleConfig {
        rule(id, kind, cmp, key, value)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_engine_answers_tls_rules_as_haproxy_does() {
        if !oracle::have_haproxy("the TLS oracle") {
            return;
        }
        use CompareType::*;
        use L7RuleType::*;
        let (trusted, stranger) = (ca("Oracle CA"), ca("Other CA"));
        let (server_pem, server_key, _, _) = issue(&trusted, "secure.example.com", "Oracle", true);
        let identity = |ca: &Ca, cn: &str, o: &str| {
            let (_, _, der, key) = issue(ca, cn, o, false);
            (der, key)
        };
        let clients = [
            ("none", None),
            ("alice", Some(identity(&trusted, "alice", "Engineering"))),
            ("bob", Some(identity(&trusted, "bob", "Sales"))),
            ("eve", Some(identity(&stranger, "eve", "Engineering"))),
        ];
        let names = ["default", "api", "gold", "beta"];
        let (backends, pools) = pools_of(&names).await;
        // What the serving member was told about the client's certificate.
        let told = |answer: &(u16, String, String)| {
            let name = answer.2.strip_prefix("you hit: ").unwrap_or_default();
            let Some(b) = backends.iter().find(|b| b.name == name) else {
                return Vec::new();
            };
            let seen = b.seen.last_headers.lock().unwrap().clone();
            seen.into_iter()
                .filter(|(k, _)| k.starts_with("x-ssl-") || k == "x-forwarded-proto")
                .collect::<Vec<_>>()
        };
        let mut login = policy(
            "p-login",
            5,
            L7Action::RedirectPrefix,
            vec![
                inverted(ssl_rule("r-nocert2", SslConnHasCert, EqualTo, None, "True")),
                ssl_rule("r-login", Path, EqualTo, None, "/login"),
            ],
        );
        login.redirect_prefix = Some("https://login.example.com".into());
        let policies = vec![
            to_pool(
                "p-alice",
                1,
                "gold",
                vec![ssl_rule("r-cn", SslDnField, EqualTo, Some("CN"), "alice")],
            ),
            policy(
                "p-private",
                2,
                L7Action::Reject,
                vec![
                    inverted(ssl_rule("r-nocert", SslConnHasCert, EqualTo, None, "True")),
                    ssl_rule("r-private", Path, StartsWith, None, "/private"),
                ],
            ),
            to_pool(
                "p-sales",
                3,
                "beta",
                vec![ssl_rule("r-o", SslDnField, StartsWith, Some("O"), "Sal")],
            ),
            to_pool(
                "p-verified",
                4,
                "api",
                vec![
                    ssl_rule("r-verify", SslVerifyResult, EqualTo, None, "0"),
                    ssl_rule("r-verified", Path, StartsWith, None, "/verified"),
                ],
            ),
            login,
        ];
        let config = |port: u16| {
            let mut l = ListenerConfig::new(
                "tls",
                ListenerProtocol::TerminatedHttps,
                port,
                Some("default"),
            );
            l.connection_limit = 1000;
            l.l7policies = policies.clone();
            for h in model::X_SSL_HEADERS.iter().chain(&["X-Forwarded-Proto"]) {
                l.insert_headers.insert(h.to_string(), "true".into());
            }
            l.tls = Some(model::ListenerTls {
                default_certificate: Some(model::CertificateBundle {
                    reference: "server".into(),
                    certificate_pem: server_pem.clone(),
                    private_key_pem: server_key.clone(),
                }),
                alpn_protocols: vec!["http/1.1".into()],
                client_authentication: model::ClientAuthentication::Optional,
                client_ca_pem: Some(trusted.cert.pem()),
                ..model::ListenerTls::default()
            });
            AmphoraConfig {
                lb_id: "lb".into(),
                generation: 1,
                vips: vec!["127.0.0.1".parse().unwrap()],
                listeners: vec![l],
                pools: pools.clone(),
                plumbing: None,
                vrrp: None,
                engine: Default::default(),
            }
        };
        let oracle = Oracle::start(config).await;
        let (engine_addr, haproxy_addr) = (oracle.engine_addr, oracle.haproxy_addr);
        let mut differences = Vec::new();
        let mut outcomes = std::collections::BTreeMap::new();
        let mut count = 0;
        for (who, identity) in &clients {
            for path in ["/", "/private/x", "/verified/y", "/login", "/public?q=1"] {
                count += 1;
                let theirs = ask_tls(haproxy_addr, path, identity.as_ref()).await;
                let their_headers = told(&theirs);
                let ours = ask_tls(engine_addr, path, identity.as_ref()).await;
                let our_headers = told(&ours);
                if their_headers != our_headers {
                    differences.push(format!(
                        "{who} {path} headers\n  haproxy: {their_headers:?}\n  engine:  {our_headers:?}"
                    ));
                }
                *outcomes
                    .entry(format!("{} {}{}", theirs.0, theirs.2, theirs.1))
                    .or_insert(0) += 1;
                if theirs != ours {
                    differences.push(format!(
                        "{who} {path}\n  haproxy: {theirs:?}\n  engine:  {ours:?}"
                    ));
                }
            }
        }
        println!("{count} TLS requests, outcomes (per HAProxy): {outcomes:#?}");
        assert!(
            differences.is_empty(),
            "{} of {count} differ:\n{}",
            differences.len(),
            differences.join("\n")
        );
        for wanted in [
            "0 ",
            "403 ",
            "302 https://login.example.com/login",
            "200 you hit: gold",
            "200 you hit: beta",
            "200 you hit: api",
            "200 you hit: default",
        ] {
            assert!(
                outcomes.keys().any(|k| k.starts_with(wanted)),
                "no request got {wanted:?}: {outcomes:#?}"
            );
        }
    }
}
