//! Reference §5 (validation matrices), table-driven, against a real Ostia: every rule that
//! api_validation.rs does not already check. Expected texts are Octavia's own:
//! `octavia/common/validate.py`, `octavia/common/exceptions.py`, `octavia/api/v2/controllers/*.py`,
//! `octavia/api/v2/types/*.py` and WSME (`wsme/types.py`, `wsme/exc.py`).

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The matrices, rows and Octavia's texts, kept one row per line.
#[rustfmt::skip]
mod tables {
    pub const LISTENER_PROTOCOLS: [&str; 7] = ["TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"];
    pub const POOL_PROTOCOLS: [&str; 7] = ["TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"];
    pub const HM_TYPES: [&str; 7] = ["HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"];
    pub const COMPARE_TYPES: [&str; 5] = ["REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"];

    /// `VALID_LISTENER_POOL_PROTOCOL_MAP` (octavia/common/constants.py).
    pub fn allowed_pools(listener: &str) -> &'static [&'static str] {
        match listener {
            "TCP" => &["HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"],
            "HTTP" | "TERMINATED_HTTPS" => &["HTTP", "PROXY", "PROXYV2"],
            "HTTPS" => &["HTTPS", "PROXY", "PROXYV2", "TCP"],
            "UDP" => &["UDP"],
            "SCTP" => &["SCTP"],
            _ => &[],
        }
    }

    pub fn lvs(protocol: &str) -> bool { matches!(protocol, "UDP" | "SCTP") }
    pub fn protocol_text(pool: &str, listener: &str) -> String {
        format!("Validation failure: The pool protocol '{pool}' is invalid while the listener protocol is '{listener}'.")
    }
    pub fn rule_text(msg: &str) -> String { format!("Error parsing L7Rule: {msg}") }
    pub fn invalid_l7(msg: &str) -> String { rule_text(&format!("Invalid L7 Rule: {msg}")) }
    /// WSME's `InvalidInput` text.
    pub fn wsme(field: &str, value: &str, reason: &str) -> String {
        format!("Invalid input for field/attribute {field}. Value: '{value}'. {reason}")
    }
    pub fn parse(json: &str) -> serde_json::Value { serde_json::from_str(json).expect("table JSON") }
    /// The last segment of a path: an object's id.
    pub fn last(path: &str) -> String { path.rsplit('/').next().unwrap_or_default().to_string() }

    pub const NO_CHILDREN: &str = "Protocol PROMETHEUS listeners cannot have child objects.";
    pub const ONLY_APP: &str = "Validation failure: Field \"cookie_name\" can only be specified with session persistence of type \"APP_COOKIE\".";
    pub const NEEDS_NAME: &str = "Validation failure: Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type.";
    pub const BAD_NAME: &str = "Validation failure: Supplied \"cookie_name\" is invalid.";
    pub const LVS_ONLY: &str = "Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.";
    pub const LVS_ONLY_PUT: &str = "Validation failure: persistence_timeout and persistence_granularity is only for UDP protocol pools.";
    pub const COOKIE_PATTERN: &str = r"Invalid input for field/attribute cookie_name. Value: 'a,b'. Value should match the pattern ^[^\s,;\\]+$";
    pub const LVS_SOURCE_IP: &str = "Validation failure: session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: type, persistence_timeout, persistence_granularity.";
    pub const LVS_COOKIE: &str = "Validation failure: Cookie names are not supported for UDP/SCTP pools.";
    pub const LVS_HTTP_COOKIE: &str = "Validation failure: Session persistence of type HTTP_COOKIE is not supported for UDP/SCTP protocol pools.";
    pub const LVS_APP_COOKIE: &str = "Validation failure: Session persistence of type APP_COOKIE is not supported for UDP/SCTP protocol pools.";
    pub const EMPTY_TLS: &str = "Validation failure: Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default.";
    pub const EMPTY_ALPN: &str = "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default.";
    pub const BAD_ALPN: &str = "Invalid input for field/attribute alpn_protocols. Value: '['h2', 'h3']'. Value should be a valid ALPN protocol ID";
    pub const HSTS: &str = "Validation failure: The HSTS feature can only be used for listeners using the TERMINATED_HTTPS protocol.";
    pub const DOMAIN_HTTP_10: &str = "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check";

    /// Session persistence on TCP/HTTP/HTTPS/PROXY/PROXYV2 pools: body, refusal ("" = accepted).
    pub const SP_OTHER: &[(&str, &str)] = &[
        (r#"{"type": "SOURCE_IP"}"#, ""),
        (r#"{"type": "HTTP_COOKIE"}"#, ""),
        (r#"{"type": "APP_COOKIE", "cookie_name": "JSESSIONID_1"}"#, ""),
        (r#"{"type": "HTTP_COOKIE", "cookie_name": "c"}"#, ONLY_APP),
        (r#"{"type": "SOURCE_IP", "cookie_name": "c"}"#, ONLY_APP),
        (r#"{"type": "APP_COOKIE", "cookie_name": null}"#, NEEDS_NAME),
        (r#"{"type": "APP_COOKIE", "cookie_name": "a:b"}"#, BAD_NAME),
        (r#"{"type": "APP_COOKIE", "cookie_name": "a/b"}"#, BAD_NAME),
        (r#"{"type": "APP_COOKIE", "cookie_name": "a(b)"}"#, BAD_NAME),
        (r#"{"type": "APP_COOKIE", "cookie_name": "a,b"}"#, COOKIE_PATTERN),
        (r#"{"type": "SOURCE_IP", "persistence_timeout": 60}"#, LVS_ONLY),
        (r#"{"type": "HTTP_COOKIE", "persistence_granularity": "255.255.255.0"}"#, LVS_ONLY),
        // Octavia tests these attributes for truth: 0 is as good as absent.
        (r#"{"type": "SOURCE_IP", "persistence_timeout": 0}"#, ""),
    ];
    /// Session persistence on UDP and SCTP pools.
    pub const SP_LVS: &[(&str, &str)] = &[
        (r#"{"type": "SOURCE_IP"}"#, ""),
        (r#"{"type": "SOURCE_IP", "persistence_timeout": 60, "persistence_granularity": "255.255.255.0"}"#, ""),
        (r#"{"type": "SOURCE_IP", "cookie_name": "c"}"#, LVS_SOURCE_IP),
        (r#"{"type": "APP_COOKIE", "cookie_name": "c"}"#, LVS_COOKIE),
        (r#"{"type": "HTTP_COOKIE"}"#, LVS_HTTP_COOKIE),
        (r#"{"type": "APP_COOKIE"}"#, LVS_APP_COOKIE),
    ];

    /// L7 rule type, key, and a value every allowed compare type (REGEX too) accepts.
    pub const RULE_KINDS: [(&str, Option<&str>, &str); 8] = [
        ("HOST_NAME", None, "www.example.com"),
        ("PATH", None, "/api"),
        ("FILE_TYPE", None, "jpg"),
        ("HEADER", Some("X-Test"), "abc"),
        ("COOKIE", Some("sess"), "abc"),
        ("SSL_CONN_HAS_CERT", None, "True"),
        ("SSL_VERIFY_RESULT", None, "0"),
        ("SSL_DN_FIELD", Some("CN"), "example"),
    ];
    /// EQUAL_TO rules: type, key, value, and "" (accepted) or what Octavia calls the invalid part
    /// (`Invalid characters in <what>`).
    pub const RULE_VALUES: &[(&str, Option<&str>, &str, &str)] = &[
        ("HOST_NAME", None, r##"a!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##, ""),
        ("HOST_NAME", None, "\"quoted value\twith tab\"", ""),
        ("HOST_NAME", None, "a b", "comparison value"),
        ("PATH", None, "\"unbalanced", ""),
        ("PATH", None, "\"unbalanced quote", "comparison value"),
        ("PATH", None, "/caf\u{e9}", "comparison value"),
        ("FILE_TYPE", None, "\"t a r\"", ""),
        ("FILE_TYPE", None, "t a r", "comparison value"),
        ("HEADER", Some("X-H"), r##"a!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##, ""),
        ("HEADER", Some("X-H"), "\"a b\"", ""),
        ("HEADER", Some("X-H"), "a\tb", "header value"),
        // HTTP_COOKIE_VALUE_REGEX: its `+-.` is the range + , - . so `,` and `-` pass.
        ("COOKIE", Some("c"), "a,b-c.d+e", ""),
        ("COOKIE", Some("c"), "!#$%&'()*/:<=>?@[]^_`{|}~", ""),
        ("COOKIE", Some("c"), "a;b", "cookie value"),
        ("COOKIE", Some("c"), "a\"b", "cookie value"),
        ("COOKIE", Some("c"), "a\\b", "cookie value"),
        ("COOKIE", Some("c"), "a b", "cookie value"),
        // HTTP_HEADER_NAME_REGEX has the same `+-.` range.
        ("HEADER", Some("X-Forwarded,For+1.2"), "v", ""),
        ("COOKIE", Some("!#$%&'*^_`|~"), "v", ""),
        ("HEADER", Some("X Forwarded"), "v", "key"),
        ("HEADER", Some("X:Y"), "v", "key"),
        ("COOKIE", Some("c(1)"), "v", "key"),
        ("COOKIE", Some("c/1"), "v", "key"),
        // SSL_DN_FIELD values are free (only REGEX ones must compile); SSL_* values.
        ("SSL_DN_FIELD", Some("OU-2"), "a b;\"c\"", ""),
        ("SSL_CONN_HAS_CERT", None, "TRUE", ""),
        ("SSL_VERIFY_RESULT", None, "18", ""),
    ];
    /// EQUAL_TO rules refused with `Invalid L7 Rule: <message>`.
    pub const RULE_INVALID: &[(&str, Option<&str>, &str, &str)] = &[
        ("HEADER", None, "v", "L7 rule type requires a key"),
        ("COOKIE", Some(""), "v", "L7 rule type requires a key"),
        ("SSL_CONN_HAS_CERT", Some("k"), "true", "L7rule type SSL_CONN_HAS_CERT does not use the \"key\" field."),
        ("SSL_CONN_HAS_CERT", None, "false", "L7rule value false is not a boolean True string."),
        ("SSL_VERIFY_RESULT", Some("k"), "0", "L7rule type SSL_VERIFY_RESULT does not use the \"key\" field."),
        // `str.isdigit()`: no sign, no fraction.
        ("SSL_VERIFY_RESULT", None, "-1", "L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0"),
        ("SSL_VERIFY_RESULT", None, "+1", "L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0"),
        ("SSL_VERIFY_RESULT", None, "1.5", "L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0"),
        ("SSL_DN_FIELD", None, "v", "L7rule type SSL_DN_FIELD needs to specify a key and a value."),
        ("SSL_DN_FIELD", Some("1CN"), "v", "Invalid L7rule distinguished name field."),
        ("SSL_DN_FIELD", Some("O_U"), "v", "Invalid L7rule distinguished name field."),
    ];

    const MAX_TIMEOUT: i64 = 2_073_600_000;
    const MAX_QUOTA: i64 = 2_000_000_000;
    /// Object (see `ranges_and_enumerations`), field, minimum, maximum (None: unbounded).
    pub const RANGES: &[(&str, &str, i64, Option<i64>)] = &[
        ("l", "connection_limit", -1, None),
        ("l", "timeout_client_data", 0, Some(MAX_TIMEOUT)),
        ("l", "timeout_member_connect", 0, Some(MAX_TIMEOUT)),
        ("l", "timeout_member_data", 0, Some(MAX_TIMEOUT)),
        ("l", "timeout_tcp_inspect", 0, Some(MAX_TIMEOUT)),
        ("t", "hsts_max_age", 0, None),
        ("m", "weight", 0, Some(256)),
        ("m", "monitor_port", 1, Some(65535)),
        ("h", "delay", 0, None),
        ("h", "timeout", 0, None),
        ("h", "max_retries", 1, Some(10)),
        ("h", "max_retries_down", 1, Some(10)),
        ("q", "position", 1, Some(2_147_483_647)),
        ("quota", "loadbalancer", -1, Some(MAX_QUOTA)),
        ("quota", "load_balancer", -1, Some(MAX_QUOTA)),
        ("quota", "listener", -1, Some(MAX_QUOTA)),
        ("quota", "member", -1, Some(MAX_QUOTA)),
        ("quota", "pool", -1, Some(MAX_QUOTA)),
        ("quota", "healthmonitor", -1, Some(MAX_QUOTA)),
        ("quota", "health_monitor", -1, Some(MAX_QUOTA)),
        ("quota", "l7policy", -1, Some(MAX_QUOTA)),
        ("quota", "l7rule", -1, Some(MAX_QUOTA)),
    ];
    /// WSME `Enum`s: object, field, a refused value, how WSME shows it, the values listed.
    pub const ENUMS: &[(&str, &str, &str, &str, &[&str])] = &[
        ("q", "redirect_http_code", "300", "300", &["301", "302", "303", "307", "308"]),
        ("h", "http_version", "2.0", "2.0", &["1.0", "1.1"]),
        ("l", "client_authentication", r#""ALWAYS""#, "ALWAYS", &["NONE", "OPTIONAL", "MANDATORY"]),
    ];
    const INVALID_TLS: &str = "Validation failure: Invalid TLS versions: TLSv1.4";
    const OPTIONAL_CA: &str = "Validation failure: Client authentication setting OPTIONAL requires a client CA container reference.";
    const MANDATORY_CA: &str = "Validation failure: Client authentication setting MANDATORY requires a client CA container reference.";
    /// PUTs in order: object, attributes, refusal ("" = accepted).
    pub const PUTS: &[(&str, &str, &str)] = &[
        ("l", r#"{"hsts_max_age": 0}"#, HSTS),
        ("q", r#"{"redirect_http_code": 301}"#, ""),
        ("q", r#"{"redirect_http_code": 302}"#, ""),
        ("q", r#"{"redirect_http_code": 303}"#, ""),
        ("q", r#"{"redirect_http_code": 307}"#, ""),
        ("q", r#"{"redirect_http_code": 308}"#, ""),
        ("h", r#"{"http_version": 1.0, "domain_name": "example.com"}"#, DOMAIN_HTTP_10),
        ("h", r#"{"http_version": 1.0}"#, ""),
        ("h", r#"{"http_version": 1.1}"#, ""),
        ("h", r#"{"domain_name": "example.com"}"#, ""),
        ("t", r#"{"tls_versions": ["TLSv1.2", "TLSv1.4"]}"#, INVALID_TLS),
        ("t", r#"{"tls_versions": []}"#, EMPTY_TLS),
        ("t", r#"{"tls_versions": ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]}"#, ""),
        ("t", r#"{"alpn_protocols": ["h2", "h3"]}"#, BAD_ALPN),
        ("t", r#"{"alpn_protocols": []}"#, EMPTY_ALPN),
        ("t", r#"{"alpn_protocols": ["h2", "http/1.1", "http/1.0"]}"#, ""),
        // Pool updates check TLS versions and ALPN protocols even with TLS off.
        ("p", r#"{"tls_versions": ["TLSv1.2", "TLSv1.4"]}"#, INVALID_TLS),
        ("p", r#"{"tls_versions": []}"#, EMPTY_TLS),
        ("p", r#"{"tls_versions": ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]}"#, ""),
        ("p", r#"{"alpn_protocols": ["h2", "h3"]}"#, BAD_ALPN),
        ("p", r#"{"alpn_protocols": []}"#, EMPTY_ALPN),
        ("p", r#"{"alpn_protocols": ["h2", "http/1.1", "http/1.0"]}"#, ""),
        ("l", r#"{"client_authentication": "NONE"}"#, ""),
        ("t", r#"{"client_authentication": "OPTIONAL"}"#, OPTIONAL_CA),
        ("t", r#"{"client_authentication": "MANDATORY"}"#, MANDATORY_CA),
        ("t", r#"{"client_authentication": "OPTIONAL", "client_ca_tls_container_ref": "ca"}"#, ""),
        ("t", r#"{"client_authentication": "MANDATORY"}"#, ""),
    ];
    /// Objects with names (and descriptions) of at most 255 characters; all have tags.
    pub const NAMED: &[(&str, &[&str])] = &[
        ("lb", &["name", "description"]),
        ("l", &["name", "description"]),
        ("p", &["name", "description"]),
        ("m", &["name"]),
        ("h", &["name"]),
        ("q", &["name", "description"]),
        ("rule", &[]),
    ];
    /// Session persistence updates: UDP pool?, session_persistence, refusal.
    pub const SP_PUTS: &[(bool, &str, &str)] = &[
        (false, r#"{"type": "SOURCE_IP", "persistence_timeout": 60}"#, LVS_ONLY_PUT),
        (false, r#"{"type": "HTTP_COOKIE", "cookie_name": "c"}"#, ONLY_APP),
        (false, r#"{"type": "APP_COOKIE", "cookie_name": "c"}"#, ""),
        (true, r#"{"type": "HTTP_COOKIE"}"#, LVS_HTTP_COOKIE),
        (true, r#"{"type": "SOURCE_IP", "persistence_timeout": 30}"#, ""),
    ];
    pub const ALGORITHMS: [&str; 4] = ["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"];
    /// Member protocol_port at both edges: port, refusal ("" = accepted).
    pub const MEMBER_PORTS: [(i64, &str); 4] = [
        (0, "Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1"),
        (1, ""),
        (65535, ""),
        (65536, "Invalid input for field/attribute protocol_port. Value: '65536'. Value should be lower or equal to 65535"),
    ];
    /// The refusal of an L7 rule type with a compare type ("" = allowed).
    pub fn compare_refusal(t: &str, c: &str) -> String {
        match t {
            "FILE_TYPE" if !matches!(c, "EQUAL_TO" | "REGEX") => invalid_l7("invalid comparison type for rule type"),
            "SSL_CONN_HAS_CERT" | "SSL_VERIFY_RESULT" if c != "EQUAL_TO" => invalid_l7(&format!("L7rule type {t} only supports the EQUAL_TO compare type.")),
            _ => String::new(),
        }
    }
    /// Attributes only HTTP and HTTPS health monitors take.
    pub const HTTP_FIELDS: [(&str, &str); 3] = [("http_method", "HEAD"), ("url_path", "/x"), ("expected_codes", "201")];
    /// REGEX rules: type, key.
    pub const REGEX_RULES: [(&str, Option<&str>); 4] = [("PATH", None), ("HEADER", Some("X-H")), ("COOKIE", Some("c")), ("SSL_DN_FIELD", Some("CN"))];
    /// Updates of a FILE_TYPE EQUAL_TO rule, checked on the merged rule.
    pub const RULE_PUTS: &[(&str, &str)] = &[
        (r#"{"compare_type": "CONTAINS"}"#, "Error parsing L7Rule: Invalid L7 Rule: invalid comparison type for rule type"),
        (r#"{"type": "HEADER", "key": "bad key"}"#, "Error parsing L7Rule: Invalid characters in key"),
        (r#"{"type": "HEADER", "key": "X-Ok", "compare_type": "CONTAINS"}"#, ""),
    ];
}
use tables::*;

/// The runs use the noop drivers, which (as Octavia's noop cert manager) take any certificate
/// reference, so this one makes a TERMINATED_HTTPS listener; the local key manager's check of
/// references is tested in tests/key_manager.rs.
const CERT: &str = "http://barbican.example/v1/containers/6f1b1b6e-0c9e-4a43-9a4c-2f1f0b3c1a10";
const LISTENERS: &str = "/v2/lbaas/listeners";
const POOLS: &str = "/v2/lbaas/pools";
const HMS: &str = "/v2/lbaas/healthmonitors";
const POLICIES: &str = "/v2/lbaas/l7policies";

fn rule(t: &str, compare: &str, key: Option<&str>, value: &str) -> Value {
    json!({"rule": {"type": t, "compare_type": compare, "key": key, "value": value}})
}

/// A ROUND_ROBIN pool `{"pool": {<on>: <id>, "protocol": …}}`.
fn pool(on: &str, id: &str, protocol: &str) -> Value {
    json!({"pool": {on: id, "protocol": protocol, "lb_algorithm": "ROUND_ROBIN"}})
}

/// One server, one load balancer, and a count of the checks made.
struct Run {
    env: Env,
    lb: String,
    checks: usize,
}

impl Run {
    async fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let opts = ostia::Options {
            network_driver: lb_api::NetworkDriver::Noop,
            ..options(dir.path())
        };
        let env = start_with(dir, opts).await;
        let lb = env.lb("lb").await;
        Run { env, lb, checks: 0 }
    }

    /// Expects 2xx, then waits for the load balancer to be ACTIVE again.
    async fn ok(&mut self, method: &str, path: &str, body: Value) -> Value {
        let sent = (!body.is_null()).then(|| body.clone());
        let (s, b) = self.env.req(method, path, sent).await;
        assert!((200..300).contains(&s), "{method} {path} {body}: {s} {b}");
        let lb = self.env.wait_lb(&self.lb).await;
        assert_eq!(lb["provisioning_status"], "ACTIVE");
        self.checks += 1;
        b
    }

    /// POSTs `{"<kind>": {...}}` to a collection; returns the new object's path.
    async fn create(&mut self, collection: &str, body: Value) -> String {
        let kind = body.as_object().and_then(|o| o.keys().next()).cloned();
        let b = self.ok("POST", collection, body).await;
        let id = b[kind.expect("envelope")]["id"].as_str().expect("id");
        format!("{collection}/{id}")
    }

    /// Expects 400 with `text`.
    async fn bad(&mut self, method: &str, path: &str, body: Value, text: &str) {
        let (s, b) = self.env.req(method, path, Some(body.clone())).await;
        assert_eq!((s, fault(&b)), (400, text), "{method} {path} {body}");
        self.checks += 1;
    }

    /// Expects the refusal `text` or, if it is empty, success.
    async fn expect(&mut self, method: &str, path: &str, body: Value, text: &str) -> Value {
        if text.is_empty() {
            return self.ok(method, path, body).await;
        }
        self.bad(method, path, body, text).await;
        Value::Null
    }

    /// A WSME `Enum` refusal (POST to the pools, else PUT); WSME lists the values from a
    /// Python `set`, in no fixed order.
    async fn bad_enum(&mut self, path: &str, body: Value, field: [&str; 2], values: &[&str]) {
        let method = if path == POOLS { "POST" } else { "PUT" };
        let (s, b) = self.env.req(method, path, Some(body.clone())).await;
        let prefix = wsme(field[0], field[1], "Value should be one of: ");
        let listed = fault(&b).strip_prefix(&prefix).map(|l| l.split(", "));
        assert!(s == 400 && listed.is_some(), "{path} {body}: {s} {b}");
        let want: BTreeSet<&str> = values.iter().copied().collect();
        assert_eq!(listed.unwrap().collect::<BTreeSet<_>>(), want, "{body}");
        self.checks += 1;
    }

    /// PUT `min - 1` refused, `min` accepted; with a maximum, `max` accepted, `max + 1` refused.
    async fn range(&mut self, path: &str, kind: &str, field: &str, min: i64, max: Option<i64>) {
        let body = |v: i64| json!({ kind: { field: v } });
        let low = format!("Value should be greater or equal to {min}");
        let low = wsme(field, &(min - 1).to_string(), &low);
        self.bad("PUT", path, body(min - 1), &low).await;
        self.ok("PUT", path, body(min)).await;
        if let Some(max) = max {
            self.ok("PUT", path, body(max)).await;
            let high = format!("Value should be lower or equal to {max}");
            let high = wsme(field, &(max + 1).to_string(), &high);
            self.bad("PUT", path, body(max + 1), &high).await;
        }
    }

    async fn finish(self, name: &str) {
        eprintln!("{name}: {} checks", self.checks);
        self.env.stop().await;
    }
}

/// §5.1 through pool POST with listener_id, listener PUT default_pool_id and L7 redirect pools.
#[tokio::test]
async fn listener_pool_protocol_matrix() {
    let mut r = Run::new().await;
    let lb = r.lb.clone();
    let mut listeners = Vec::new();
    for (i, lp) in LISTENER_PROTOCOLS.into_iter().enumerate() {
        let mut l = json!({"loadbalancer_id": lb, "protocol": lp, "protocol_port": 8000 + i});
        if lp == "TERMINATED_HTTPS" {
            l["default_tls_container_ref"] = json!(CERT);
        }
        let path = r.create(LISTENERS, json!({ "listener": l })).await;
        listeners.push((lp, last(&path), path));
    }
    for (lp, lid, _) in &listeners {
        for pp in POOL_PROTOCOLS {
            let body = pool("listener_id", lid, pp);
            if *lp == "PROMETHEUS" {
                r.bad("POST", POOLS, body, NO_CHILDREN).await;
            } else if allowed_pools(lp).contains(&pp) {
                // The listener's default pool, deleted again to free the slot.
                let path = r.create(POOLS, body).await;
                let (_, b) = r.env.get(&path).await;
                assert_eq!(b["pool"]["listeners"], json!([{ "id": lid }]));
                r.ok("DELETE", &path, Value::Null).await;
            } else {
                r.bad("POST", POOLS, body, &protocol_text(pp, lp)).await;
            }
        }
    }
    let mut pools = Vec::new();
    for pp in POOL_PROTOCOLS {
        let path = r.create(POOLS, pool("loadbalancer_id", &lb, pp)).await;
        pools.push((pp, last(&path)));
    }
    for (lp, lid, path) in &listeners {
        for (pp, pid) in &pools {
            let allowed = allowed_pools(lp).contains(pp);
            let text = match *lp {
                "PROMETHEUS" => NO_CHILDREN.to_string(),
                _ if allowed => String::new(),
                _ => protocol_text(pp, lp),
            };
            let body = json!({"listener": {"default_pool_id": pid}});
            if !r.expect("PUT", path, body, &text).await.is_null() {
                let detach = json!({"listener": {"default_pool_id": null}});
                r.ok("PUT", path, detach).await;
            }
            // Allowed pairs on other listeners pass this check, then meet the amphora driver's
            // refusal of L7 policies on non-HTTP listeners (not a §5 rule).
            if !allowed || matches!(*lp, "HTTP" | "TERMINATED_HTTPS") {
                let policy = json!({"l7policy": {"listener_id": lid, "action": "REDIRECT_TO_POOL", "redirect_pool_id": pid}});
                r.expect("POST", POLICIES, policy, &text).await;
            }
        }
    }
    r.finish("5.1").await;
}

/// §5.2: pool protocol × health monitor type; http_method/url_path/expected_codes only for
/// HTTP and HTTPS monitors, on create and on update.
#[tokio::test]
async fn pool_health_monitor_matrix() {
    let mut r = Run::new().await;
    let lb = r.lb.clone();
    for pp in POOL_PROTOCOLS {
        let pid = last(&r.create(POOLS, pool("loadbalancer_id", &lb, pp)).await);
        for t in HM_TYPES {
            let mut hm =
                json!({"pool_id": pid, "type": t, "delay": 5, "timeout": 3, "max_retries": 3});
            let refusal = match (lvs(pp), t) {
                (true, "UDP-CONNECT" | "SCTP" | "TCP" | "HTTP") => None,
                (true, _) => Some(format!("Validation failure: The associated pool protocol is {pp}, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported.")),
                (false, "UDP-CONNECT" | "SCTP") => Some(format!("Validation failure: The {t} type is only supported for pools of type UDP/SCTP.")),
                (false, _) => None,
            };
            if let Some(text) = refusal {
                r.bad("POST", HMS, json!({ "healthmonitor": hm }), &text)
                    .await;
                continue;
            }
            let http = matches!(t, "HTTP" | "HTTPS");
            let not_http = |field: &str| match http {
                true => String::new(),
                false => format!("{field} is not a valid option for health monitors of type {t}"),
            };
            for (field, value) in HTTP_FIELDS.into_iter().filter(|_| !http) {
                let mut body = hm.clone();
                body[field] = json!(value);
                let body = json!({ "healthmonitor": body });
                r.bad("POST", HMS, body, &not_http(field)).await;
            }
            for (field, value) in HTTP_FIELDS.into_iter().filter(|_| http) {
                hm[field] = json!(value);
            }
            let path = r.create(HMS, json!({ "healthmonitor": hm })).await;
            for (field, value) in HTTP_FIELDS {
                let body = json!({"healthmonitor": { field: value }});
                r.expect("PUT", &path, body, &not_http(field)).await;
            }
            r.ok("DELETE", &path, Value::Null).await;
        }
    }
    r.finish("5.2").await;
}

/// §5.3: algorithms and session persistence.
#[tokio::test]
async fn algorithms_and_session_persistence() {
    let mut r = Run::new().await;
    let lb = r.lb.clone();
    let sp_pool = |protocol: &str, algorithm: &str, sp: Value| {
        let mut body = pool("loadbalancer_id", &lb, protocol);
        body["pool"]["lb_algorithm"] = json!(algorithm);
        body["pool"]["session_persistence"] = sp;
        body
    };
    for algorithm in ["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"] {
        for pp in POOL_PROTOCOLS {
            let path = r.create(POOLS, sp_pool(pp, algorithm, Value::Null)).await;
            assert_eq!(r.env.get(&path).await.1["pool"]["lb_algorithm"], algorithm);
        }
    }
    let body = sp_pool("HTTP", "RANDOM", Value::Null);
    r.bad_enum(POOLS, body, ["lb_algorithm", "RANDOM"], &ALGORITHMS)
        .await;
    // Both providers accept SOURCE_IP_PORT: the engine balances on address and port.
    for provider in ["amphora", "noop_driver"] {
        let lb = json!({"loadbalancer": {"vip_subnet_id": r.env.subnet, "provider": provider}});
        let (s, b) = r.env.post("/v2/lbaas/loadbalancers", lb).await;
        let lb = b["loadbalancer"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(s, 201, "{b}");
        r.env.wait_lb(&lb).await;
        let mut body = pool("loadbalancer_id", &lb, "HTTP");
        body["pool"]["lb_algorithm"] = json!("SOURCE_IP_PORT");
        let (s, b) = r.env.post(POOLS, body).await;
        assert_eq!(
            (s, &b["pool"]["lb_algorithm"]),
            (201, &json!("SOURCE_IP_PORT"))
        );
        r.env.wait_lb(&lb).await;
    }
    r.checks += 1;

    for pp in POOL_PROTOCOLS {
        for (sp, text) in if lvs(pp) { SP_LVS } else { SP_OTHER } {
            let sp = parse(sp);
            let body = sp_pool(pp, "ROUND_ROBIN", sp.clone());
            let b = r.expect("POST", POOLS, body, text).await;
            assert!(!text.is_empty() || b["pool"]["session_persistence"]["type"] == sp["type"]);
        }
    }
    let body = sp_pool("HTTP", "ROUND_ROBIN", json!({"type": "JSESSION"}));
    let types = ["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"];
    r.bad_enum(POOLS, body, ["type", "JSESSION"], &types).await;
    let http = r.create(POOLS, pool("loadbalancer_id", &lb, "HTTP")).await;
    let udp = r.create(POOLS, pool("loadbalancer_id", &lb, "UDP")).await;
    for (on_udp, sp, text) in SP_PUTS {
        let path = if *on_udp { &udp } else { &http };
        let body = json!({"pool": {"session_persistence": parse(sp)}});
        r.expect("PUT", path, body, text).await;
    }
    r.finish("5.3").await;
}

/// §5.4: L7 rule type × compare type, value and key validation, the 50-rule limit.
#[tokio::test]
async fn l7_rule_matrix() {
    let mut r = Run::new().await;
    let lb = r.lb.clone();
    let l = json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}});
    let lid = last(&r.create(LISTENERS, l).await);
    let mut rules = Vec::new();
    for _ in 0..3 {
        let p = json!({"l7policy": {"listener_id": lid, "action": "REJECT"}});
        rules.push(format!("{}/rules", r.create(POLICIES, p).await));
    }

    let mut on_first = 0;
    for (t, key, value) in RULE_KINDS {
        for c in COMPARE_TYPES {
            let text = compare_refusal(t, c);
            on_first += usize::from(text.is_empty());
            let body = rule(t, c, key, value);
            r.expect("POST", &rules[0], body, &text).await;
        }
    }
    for (t, key, value, what) in RULE_VALUES {
        let text = match *what {
            "" => String::new(),
            what => rule_text(&format!("Invalid characters in {what}")),
        };
        let body = rule(t, "EQUAL_TO", *key, value);
        r.expect("POST", &rules[1], body, &text).await;
    }
    for (t, key, value, msg) in RULE_INVALID {
        let body = rule(t, "EQUAL_TO", *key, value);
        r.bad("POST", &rules[1], body, &invalid_l7(msg)).await;
    }
    for (t, key, _) in RULE_KINDS {
        let text = invalid_l7("L7 rule type requires a value");
        let body = rule(t, "EQUAL_TO", key, "");
        r.bad("POST", &rules[2], body, &text).await;
    }
    // REGEX values must compile. Octavia reports Python's `re` error, which words the same
    // fault differently from Rust's `regex`, so only Octavia's part of the text is compared.
    for (t, key) in REGEX_RULES {
        let body = rule(t, "REGEX", key, "^/api/v[0-9]+(/.*)?$");
        r.ok("POST", &rules[2], body).await;
        let (s, b) = r.env.post(&rules[2], rule(t, "REGEX", key, "[x")).await;
        let prefix = rule_text("Unable to parse regular expression: ");
        assert!(s == 400 && fault(&b).starts_with(&prefix), "{t}: {s} {b}");
        r.checks += 1;
    }
    let body = rule("FILE_TYPE", "EQUAL_TO", None, "png");
    let path = r.create(&rules[2], body).await;
    for (update, text) in RULE_PUTS {
        let body = json!({ "rule": parse(update) });
        r.expect("PUT", &path, body, text).await;
    }
    // MAX_L7RULES_PER_L7POLICY = 50.
    for i in on_first..50 {
        let body = rule("PATH", "EQUAL_TO", None, &format!("/n{i}"));
        r.ok("POST", &rules[0], body).await;
    }
    let policy = last(rules[0].trim_end_matches("/rules"));
    let body = rule("PATH", "EQUAL_TO", None, "/one-too-many");
    let (s, b) = r.env.post(&rules[0], body).await;
    let text = format!("Too many rules on L7 policy {policy}");
    assert_eq!((s, fault(&b)), (409, text.as_str()));
    r.checks += 1;
    r.finish("5.4").await;
}

/// §5.5: every numeric range at both edges, the enumerations, lengths.
#[tokio::test]
async fn ranges_and_enumerations() {
    let mut r = Run::new().await;
    let lb = r.lb.clone();
    // Listener ports at both edges (0 and 65536 are in api_validation.rs), member ports.
    let listener = |protocol: &str, port: i64| json!({"listener": {"loadbalancer_id": lb, "protocol": protocol, "protocol_port": port}});
    let l = r.create(LISTENERS, listener("HTTP", 1)).await;
    r.ok("POST", LISTENERS, listener("TCP", 65535)).await;
    let mut tls = listener("TERMINATED_HTTPS", 443);
    tls["listener"]["default_tls_container_ref"] = json!(CERT);
    let t = r.create(LISTENERS, tls).await;
    let p = r.create(POOLS, pool("loadbalancer_id", &lb, "HTTP")).await;
    let pid = last(&p);
    let members = format!("{p}/members");
    let member = |port: i64| json!({"member": {"address": "127.0.0.1", "protocol_port": port}});
    for (port, text) in MEMBER_PORTS {
        r.expect("POST", &members, member(port), text).await;
    }
    let m = r.create(&members, member(80)).await;
    let hm = json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}});
    let h = r.create(HMS, hm).await;
    let lid = last(&l);
    let q = json!({"l7policy": {"listener_id": lid, "action": "REDIRECT_TO_URL", "redirect_url": "http://example.com"}});
    let q = r.create(POLICIES, q).await;
    let body = rule("PATH", "STARTS_WITH", None, "/");
    let rule = r.create(&format!("{q}/rules"), body).await;
    let lb_path = format!("/v2/lbaas/loadbalancers/{lb}");
    let object = |key: &str| match key {
        "l" => (l.as_str(), "listener"),
        "t" => (t.as_str(), "listener"),
        "p" => (p.as_str(), "pool"),
        "m" => (m.as_str(), "member"),
        "h" => (h.as_str(), "healthmonitor"),
        "q" => (q.as_str(), "l7policy"),
        "rule" => (rule.as_str(), "rule"),
        "lb" => (lb_path.as_str(), "loadbalancer"),
        _ => ("/v2/lbaas/quotas/another-project", "quota"),
    };

    for (key, field, min, max) in RANGES {
        let (path, kind) = object(key);
        r.range(path, kind, field, *min, *max).await;
    }
    for (key, field, value, shown, values) in ENUMS {
        let (path, kind) = object(key);
        let body = json!({ kind: { *field: parse(value) } });
        r.bad_enum(path, body, [field, shown], values).await;
    }
    for (key, attributes, text) in PUTS {
        let (path, kind) = object(key);
        let body = json!({ kind: parse(attributes) });
        r.expect("PUT", path, body, text).await;
    }
    // Pools check TLS versions on create only with TLS on.
    let sslv2 = "Validation failure: Invalid TLS versions: SSLv2";
    for (tls, text) in [(true, sslv2), (false, "")] {
        let mut body = pool("loadbalancer_id", &lb, "HTTP");
        body["pool"]["tls_enabled"] = json!(tls);
        body["pool"]["tls_versions"] = json!(["TLSv1.3", "SSLv2"]);
        r.expect("POST", POOLS, body, text).await;
    }

    // Tags of at most 255 characters (WSME reports the whole list), names and descriptions.
    let (fits, long) = ("t".repeat(255), "t".repeat(256));
    let max = "Value should have a maximum character requirement of 255";
    for (key, fields) in NAMED {
        let (path, kind) = object(key);
        r.ok("PUT", path, json!({ kind: {"tags": ["a", fits]} }))
            .await;
        let text = wsme("tags", &format!("['a', '{long}']"), max);
        let body = json!({ kind: {"tags": ["a", long]} });
        r.bad("PUT", path, body, &text).await;
        for field in *fields {
            r.ok("PUT", path, json!({ kind: { *field: fits } })).await;
            let body = json!({ kind: { *field: long } });
            r.bad("PUT", path, body, &wsme(field, &long, max)).await;
        }
    }
    r.finish("5.5").await;
}
