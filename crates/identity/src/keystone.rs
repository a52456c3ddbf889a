//! Tokens of a real Keystone, validated as keystonemiddleware does (`GET /v3/auth/tokens` with
//! the token as its own subject) and cached until they expire, in a bounded cache.

use crate::{Principal, Rejected, RoleRef};
use aws_lc_rs::digest;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const MAX_CACHED: usize = 10_000;
/// Like keystonemiddleware's `token_cache_time`: a revoked token is refused again after this.
const CACHE_AT_MOST: i64 = 300;

pub struct RemoteKeystone {
    base: String,
    client: reqwest::Client,
    /// SHA-256 of the token (never the token itself) → principal and until when it is trusted.
    cache: Mutex<HashMap<Vec<u8>, (Principal, i64)>>,
}

impl RemoteKeystone {
    /// `url` is Keystone's endpoint, with or without `/v3`.
    pub fn new(url: &str) -> RemoteKeystone {
        let base = url
            .trim_end_matches('/')
            .trim_end_matches("/v3")
            .to_string();
        RemoteKeystone {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn validate(&self, token: &str) -> Result<Principal, Rejected> {
        if token.len() > 16_384 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Rejected::Unauthorized);
        }
        let key = digest::digest(&digest::SHA256, token.as_bytes())
            .as_ref()
            .to_vec();
        let now = crate::service::now();
        if let Some((p, until)) = self.cache.lock().expect("cache lock").get(&key) {
            if *until > now {
                return Ok(p.clone());
            }
        }
        let response = self
            .client
            .get(format!("{}/v3/auth/tokens?nocatalog", self.base))
            .header("X-Auth-Token", token)
            .header("X-Subject-Token", token)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, keystone = %self.base, "Keystone unreachable");
                Rejected::Unavailable
            })?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 | 404 => return Err(Rejected::Unauthorized),
            status => {
                tracing::warn!(status, keystone = %self.base, "Keystone refused to validate");
                return Err(Rejected::Unavailable);
            }
        }
        let body: Value = response.json().await.map_err(|_| Rejected::Unavailable)?;
        let principal = principal_of(&body["token"]).ok_or(Rejected::Unavailable)?;
        if principal.expires_at <= now {
            return Err(Rejected::Unauthorized);
        }
        let until = principal.expires_at.min(now + CACHE_AT_MOST);
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, u)| *u > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (principal.clone(), until));
        Ok(principal)
    }
}

impl RemoteKeystone {
    /// The endpoint URLs of `service_type` in the catalog of `token` (`GET /v3/auth/catalog`),
    /// as a client of that service would find it.
    pub async fn endpoints(
        &self,
        token: &str,
        service_type: &str,
    ) -> Result<Vec<String>, Rejected> {
        let response = self
            .client
            .get(format!("{}/v3/auth/catalog", self.base))
            .header("X-Auth-Token", token)
            .send()
            .await
            .map_err(|_| Rejected::Unavailable)?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 | 404 => return Err(Rejected::Unauthorized),
            _ => return Err(Rejected::Unavailable),
        }
        let body: Value = response.json().await.map_err(|_| Rejected::Unavailable)?;
        Ok(body["catalog"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["type"] == service_type)
            .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
            .filter_map(|e| e["url"].as_str().map(str::to_string))
            .collect())
    }
}

fn time(v: &Value) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.timestamp())
}

/// A Keystone v3 token body as a principal.
pub fn principal_of(token: &Value) -> Option<Principal> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    Some(Principal {
        user_id: s(&token["user"]["id"])?,
        user_name: s(&token["user"]["name"]).unwrap_or_default(),
        project_id: s(&token["project"]["id"]),
        project_name: s(&token["project"]["name"]),
        roles: token["roles"]
            .as_array()
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| {
                        Some(RoleRef {
                            id: s(&r["id"]).unwrap_or_default(),
                            name: s(&r["name"])?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        methods: token["methods"]
            .as_array()
            .map(|m| m.iter().filter_map(s).collect())
            .unwrap_or_default(),
        issued_at: time(&token["issued_at"]).unwrap_or(0),
        expires_at: time(&token["expires_at"])?,
        audit_id: token["audit_ids"][0]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    })
}
