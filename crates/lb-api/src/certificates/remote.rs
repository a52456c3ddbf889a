//! A real Barbican's certificates, in Keystone mode. A ref the built-in key manager does not
//! hold is read from the Barbican the caller's catalog names (`key-manager`) with the caller's
//! token, as Octavia's API reads it; a ref under any other address is never fetched. What
//! loads is kept sealed (`store::certificates::keep_copy`), so the worker serves it later
//! without the user's token; updating the listener or pool reads it again.

use serde_json::Value;
use std::sync::LazyLock;
use std::time::Duration;
use store::certificates::SecretSource;

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
});

/// Barbican read as the caller.
pub struct RemoteBarbican {
    pub token: String,
}

/// Is `reference` under one of the key manager's `endpoints`.
pub fn is_under(reference: &str, endpoints: &[String]) -> bool {
    endpoints.iter().any(|e| {
        let base = e.trim_end_matches('/');
        reference
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

impl RemoteBarbican {
    async fn get(&self, url: &str, accept: &str) -> Result<reqwest::Response, String> {
        let response = CLIENT
            .get(url)
            .header("X-Auth-Token", &self.token)
            .header("Accept", accept)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: Barbican answered {}", response.status()));
        }
        Ok(response)
    }

    async fn json(&self, url: &str) -> Result<Value, String> {
        self.get(url, "application/json")
            .await?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))
    }
}

impl SecretSource for RemoteBarbican {
    async fn container(&self, reference: &str) -> Result<Option<Vec<(String, String)>>, String> {
        if !reference.contains("/containers/") {
            return Ok(None);
        }
        let body = self.json(reference).await?;
        Ok(Some(
            body["secret_refs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some((r["name"].as_str()?.into(), r["secret_ref"].as_str()?.into()))
                })
                .collect(),
        ))
    }

    async fn payload(&self, reference: &str) -> Result<Vec<u8>, String> {
        // The payload is asked for in the content type it was stored with, as barbicanclient does.
        let meta = self.json(reference).await?;
        let content_type = meta["content_types"]["default"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_string();
        let url = format!("{}/payload", reference.trim_end_matches('/'));
        let bytes = self.get(&url, &content_type).await?.bytes().await;
        bytes.map(|b| b.to_vec()).map_err(|e| format!("{url}: {e}"))
    }
}
