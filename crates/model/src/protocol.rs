//! Octavia's compatibility matrices (reference §5).

pub const LISTENER_PROTOCOLS: &[&str] = &[
    "TCP",
    "HTTPS",
    "HTTP",
    "TERMINATED_HTTPS",
    "UDP",
    "SCTP",
    "PROMETHEUS",
];
pub const POOL_PROTOCOLS: &[&str] = &["TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"];
pub const LB_ALGORITHMS: &[&str] = &[
    "LEAST_CONNECTIONS",
    "ROUND_ROBIN",
    "SOURCE_IP",
    "SOURCE_IP_PORT",
];
pub const HM_TYPES: &[&str] = &[
    "HTTP",
    "HTTPS",
    "PING",
    "TCP",
    "TLS-HELLO",
    "UDP-CONNECT",
    "SCTP",
];
pub const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH",
];
pub const SESSION_PERSISTENCE_TYPES: &[&str] = &["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"];
pub const L7_ACTIONS: &[&str] = &[
    "REJECT",
    "REDIRECT_TO_URL",
    "REDIRECT_TO_POOL",
    "REDIRECT_PREFIX",
];
pub const L7_RULE_TYPES: &[&str] = &[
    "HOST_NAME",
    "PATH",
    "FILE_TYPE",
    "HEADER",
    "COOKIE",
    "SSL_CONN_HAS_CERT",
    "SSL_VERIFY_RESULT",
    "SSL_DN_FIELD",
];
pub const L7_COMPARE_TYPES: &[&str] =
    &["REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"];
pub const CLIENT_AUTH: &[&str] = &["NONE", "OPTIONAL", "MANDATORY"];
pub const TLS_VERSIONS: &[&str] = &["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
pub const ALPN_PROTOCOLS: &[&str] = &["h2", "http/1.1", "http/1.0"];
pub const REDIRECT_CODES: &[i64] = &[301, 302, 303, 307, 308];

/// Pool protocols a listener of `listener` protocol may use (`VALID_LISTENER_POOL_PROTOCOL_MAP`).
pub fn pool_protocols_for_listener(listener: &str) -> &'static [&'static str] {
    match listener {
        "TCP" => &["HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"],
        "HTTP" => &["HTTP", "PROXY", "PROXYV2"],
        "HTTPS" => &["HTTPS", "PROXY", "PROXYV2", "TCP"],
        "TERMINATED_HTTPS" => &["HTTP", "PROXY", "PROXYV2"],
        "UDP" => &["UDP"],
        "SCTP" => &["SCTP"],
        _ => &[],
    }
}

pub fn listener_pool_compatible(listener: &str, pool: &str) -> bool {
    pool_protocols_for_listener(listener).contains(&pool)
}

/// The L4 protocol a listener occupies on its port: TCP:80 and UDP:80 may coexist.
pub fn l4_protocol(protocol: &str) -> &'static str {
    match protocol {
        "UDP" => "UDP",
        "SCTP" => "SCTP",
        _ => "TCP",
    }
}

pub fn is_lvs_protocol(protocol: &str) -> bool {
    matches!(protocol, "UDP" | "SCTP")
}

/// Health monitor types allowed for a pool protocol.
pub fn hm_type_allowed(pool_protocol: &str, hm_type: &str) -> bool {
    if is_lvs_protocol(pool_protocol) {
        matches!(hm_type, "UDP-CONNECT" | "SCTP" | "TCP" | "HTTP")
    } else {
        !matches!(hm_type, "UDP-CONNECT" | "SCTP")
    }
}

crate::wire_enum!(
    /// What a listener speaks to clients.
    ListenerProtocol {
        Tcp = "TCP",
        Http = "HTTP",
        /// TLS passed through in TCP mode.
        Https = "HTTPS",
        TerminatedHttps = "TERMINATED_HTTPS",
        Udp = "UDP",
        Sctp = "SCTP",
        Prometheus = "PROMETHEUS",
    }
);

crate::wire_enum!(
    /// What a pool speaks to its members.
    PoolProtocol {
        Tcp = "TCP",
        Http = "HTTP",
        Https = "HTTPS",
        Proxy = "PROXY",
        ProxyV2 = "PROXYV2",
        Udp = "UDP",
        Sctp = "SCTP",
    }
);

crate::wire_enum!(LbAlgorithm {
    RoundRobin = "ROUND_ROBIN",
    LeastConnections = "LEAST_CONNECTIONS",
    SourceIp = "SOURCE_IP",
    SourceIpPort = "SOURCE_IP_PORT",
});

crate::wire_enum!(MonitorType {
    Http = "HTTP",
    Https = "HTTPS",
    Ping = "PING",
    Tcp = "TCP",
    TlsHello = "TLS-HELLO",
    UdpConnect = "UDP-CONNECT",
    Sctp = "SCTP",
});

crate::wire_enum!(PersistenceType {
    SourceIp = "SOURCE_IP",
    HttpCookie = "HTTP_COOKIE",
    AppCookie = "APP_COOKIE",
});

crate::wire_enum!(L7Action {
    Reject = "REJECT",
    RedirectToUrl = "REDIRECT_TO_URL",
    RedirectToPool = "REDIRECT_TO_POOL",
    RedirectPrefix = "REDIRECT_PREFIX",
});

crate::wire_enum!(L7RuleType {
    HostName = "HOST_NAME",
    Path = "PATH",
    FileType = "FILE_TYPE",
    Header = "HEADER",
    Cookie = "COOKIE",
    SslConnHasCert = "SSL_CONN_HAS_CERT",
    SslVerifyResult = "SSL_VERIFY_RESULT",
    SslDnField = "SSL_DN_FIELD",
});

crate::wire_enum!(CompareType {
    Regex = "REGEX",
    StartsWith = "STARTS_WITH",
    EndsWith = "ENDS_WITH",
    Contains = "CONTAINS",
    EqualTo = "EQUAL_TO",
});

/// The `insert_headers` only TERMINATED_HTTPS listeners take: what the client's certificate
/// says, in Octavia's order.
pub const X_SSL_HEADERS: [&str; 8] = [
    "X-SSL-Client-Verify",
    "X-SSL-Client-Has-Cert",
    "X-SSL-Client-DN",
    "X-SSL-Client-CN",
    "X-SSL-Issuer",
    "X-SSL-Client-SHA1",
    "X-SSL-Client-Not-Before",
    "X-SSL-Client-Not-After",
];
