//! Octavia's closed vocabularies — protocols, algorithms, monitor and persistence types, L7
//! actions, rule and compare types, client authentication, providers and topologies — as
//! wire enums, each declared in the order Octavia's validators list them, and the
//! compatibility matrices between them (reference §5).

crate::wire_enum!(
    /// What a listener speaks to clients.
    ListenerProtocol {
        Tcp = "TCP",
        /// TLS passed through in TCP mode.
        Https = "HTTPS",
        Http = "HTTP",
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
    LeastConnections = "LEAST_CONNECTIONS",
    RoundRobin = "ROUND_ROBIN",
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

crate::wire_enum!(
    /// Whether a TERMINATED_HTTPS listener asks clients for a certificate.
    #[derive(Default)]
    ClientAuthentication {
        #[default]
        None = "NONE",
        Optional = "OPTIONAL",
        Mandatory = "MANDATORY",
    }
);

crate::wire_enum!(
    /// Who carries a load balancer's jobs out: `amphora` (alias `octavia`) drives amphorae
    /// through the compute driver; `noop_driver` completes jobs without a data plane.
    Provider {
        Amphora = "amphora",
        Octavia = "octavia",
        NoopDriver = "noop_driver",
    }
);

crate::wire_enum!(
    /// How many amphorae serve a load balancer.
    Topology {
        Single = "SINGLE",
        ActiveStandby = "ACTIVE_STANDBY",
    }
);

crate::wire_enum!(
    /// What serves a load balancer's traffic in its amphorae (flavor key `engine`): Ostia's
    /// own engine, or Debian's haproxy run from Octavia's configuration.
    #[derive(Default)]
    EngineKind {
        #[default]
        Native = "native",
        Haproxy = "haproxy",
    }
);

impl EngineKind {
    pub fn is_native(&self) -> bool {
        *self == EngineKind::Native
    }
}

pub const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH",
];
pub const TLS_VERSIONS: &[&str] = &["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
pub const ALPN_PROTOCOLS: &[&str] = &["h2", "http/1.1", "http/1.0"];
pub const REDIRECT_CODES: &[i64] = &[301, 302, 303, 307, 308];

/// The transport a listener occupies its port on: TCP:80 and UDP:80 may coexist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
    Sctp,
}

impl ListenerProtocol {
    /// Pool protocols a listener of this protocol may use (`VALID_LISTENER_POOL_PROTOCOL_MAP`).
    pub fn pool_protocols(self) -> &'static [PoolProtocol] {
        use PoolProtocol as P;
        match self {
            ListenerProtocol::Tcp => &[P::Http, P::Https, P::Proxy, P::ProxyV2, P::Tcp],
            ListenerProtocol::Http => &[P::Http, P::Proxy, P::ProxyV2],
            ListenerProtocol::Https => &[P::Https, P::Proxy, P::ProxyV2, P::Tcp],
            ListenerProtocol::TerminatedHttps => &[P::Http, P::Proxy, P::ProxyV2],
            ListenerProtocol::Udp => &[P::Udp],
            ListenerProtocol::Sctp => &[P::Sctp],
            ListenerProtocol::Prometheus => &[],
        }
    }

    pub fn takes(self, pool: PoolProtocol) -> bool {
        self.pool_protocols().contains(&pool)
    }

    pub fn transport(self) -> Transport {
        match self {
            ListenerProtocol::Udp => Transport::Udp,
            ListenerProtocol::Sctp => Transport::Sctp,
            _ => Transport::Tcp,
        }
    }

    /// Served by LVS in Octavia's amphorae (UDP, SCTP), not by HAProxy.
    pub fn is_lvs(self) -> bool {
        self.transport() != Transport::Tcp
    }

    /// Speaks HTTP to clients, so L7 policies and inserted headers apply.
    pub fn is_http(self) -> bool {
        matches!(
            self,
            ListenerProtocol::Http | ListenerProtocol::TerminatedHttps
        )
    }
}

impl PoolProtocol {
    pub fn is_lvs(self) -> bool {
        matches!(self, PoolProtocol::Udp | PoolProtocol::Sctp)
    }

    /// Health monitor types a pool of this protocol takes.
    pub fn takes_monitor(self, monitor: MonitorType) -> bool {
        use MonitorType as M;
        if self.is_lvs() {
            matches!(monitor, M::UdpConnect | M::Sctp | M::Tcp | M::Http)
        } else {
            !matches!(monitor, M::UdpConnect | M::Sctp)
        }
    }
}

impl MonitorType {
    /// HTTP(S) monitors have a method, URL path and expected codes.
    pub fn is_http(self) -> bool {
        matches!(self, MonitorType::Http | MonitorType::Https)
    }
}

impl Provider {
    /// Its load balancers run in amphorae (and are listed by the amphora API).
    pub fn uses_amphorae(self) -> bool {
        matches!(self, Provider::Amphora | Provider::Octavia)
    }

    /// What `GET /providers` says of it.
    pub fn description(self) -> &'static str {
        match self {
            Provider::Amphora => "The Octavia Amphora driver.",
            Provider::Octavia => "Deprecated alias of the Octavia Amphora driver.",
            Provider::NoopDriver => "The No-Op driver.",
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_lists_keep_octavias_order() {
        assert_eq!(
            ListenerProtocol::NAMES,
            [
                "TCP",
                "HTTPS",
                "HTTP",
                "TERMINATED_HTTPS",
                "UDP",
                "SCTP",
                "PROMETHEUS"
            ]
        );
        assert_eq!(
            LbAlgorithm::NAMES,
            [
                "LEAST_CONNECTIONS",
                "ROUND_ROBIN",
                "SOURCE_IP",
                "SOURCE_IP_PORT"
            ]
        );
    }

    #[test]
    fn the_matrices() {
        assert!(ListenerProtocol::Http.takes(PoolProtocol::Proxy));
        assert!(!ListenerProtocol::Http.takes(PoolProtocol::Tcp));
        assert!(ListenerProtocol::Udp.is_lvs() && !ListenerProtocol::Https.is_lvs());
        assert!(PoolProtocol::Udp.takes_monitor(MonitorType::UdpConnect));
        assert!(!PoolProtocol::Tcp.takes_monitor(MonitorType::Sctp));
        assert!(!PoolProtocol::Udp.takes_monitor(MonitorType::Ping));
    }
}
