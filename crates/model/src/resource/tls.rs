//! Octavia's TLS defaults, shared by TERMINATED_HTTPS listeners and pools that re-encrypt.

/// Octavia's default cipher string for TERMINATED_HTTPS listeners and TLS pools.
pub const DEFAULT_CIPHERS: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

/// What an unset cipher, version and ALPN list become: Octavia's TLS defaults where TLS is
/// served, nothing where it is not.
pub struct TlsDefaults {
    pub ciphers: Option<String>,
    pub versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
}

impl TlsDefaults {
    pub fn when(tls: bool) -> TlsDefaults {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        TlsDefaults {
            ciphers: tls.then(|| DEFAULT_CIPHERS.to_string()),
            versions: tls.then(|| strings(&["TLSv1.2", "TLSv1.3"])),
            alpn_protocols: tls.then(|| strings(&["h2", "http/1.1", "http/1.0"])),
        }
    }
}
