//! Checks that more than one resource makes (Octavia's `validate.py`): what listeners and
//! pools share about TLS.

use super::*;

/// Octavia's default cipher string for TERMINATED_HTTPS listeners and TLS pools.
pub const DEFAULT_CIPHERS: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

/// `validate.check_tls_version_list` (null: the default applies).
pub fn check_tls_versions(versions: Option<&Value>) -> ApiResult<()> {
    let Some(Value::Array(versions)) = versions else {
        return Ok(());
    };
    if versions.is_empty() {
        return Err(ApiError::validation("Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default."));
    }
    let bad: Vec<&str> = versions
        .iter()
        .filter_map(Value::as_str)
        .filter(|v| !model::protocol::TLS_VERSIONS.contains(v))
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::validation(format!(
            "Invalid TLS versions: {}",
            bad.join(", ")
        )));
    }
    Ok(())
}

/// `validate.check_alpn_protocols`; each value was checked while decoding.
pub fn check_alpn_list(protocols: Option<&Value>) -> ApiResult<()> {
    if matches!(protocols, Some(Value::Array(p)) if p.is_empty()) {
        return Err(ApiError::validation("Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default."));
    }
    Ok(())
}
