//! Providers: who carries a job out. `amphora` (alias `octavia`) drives amphorae through the
//! compute driver; `noop_driver` completes jobs without any data plane.

/// Providers whose load balancers run in amphorae (listed by the amphora API).
pub fn uses_amphorae(provider: &str) -> bool {
    matches!(provider, "amphora" | "octavia")
}

/// Whether a provider is known at all.
pub fn exists(provider: &str) -> bool {
    uses_amphorae(provider) || provider == "noop_driver"
}
