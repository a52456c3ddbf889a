//! A pool's health monitor: its type, timing and, for HTTP(S), what it asks and expects;
//! what its POST (also inline in a graph) and PUT take.

use super::{nullable, yes};
use crate::patch::Patch;
use crate::protocol::MonitorType;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthMonitor {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Seconds between checks.
    pub delay: u64,
    /// Seconds a check may take.
    pub timeout: u64,
    /// Consecutive successes to go up.
    pub max_retries: u8,
    /// Consecutive failures to go down.
    #[serde(default = "three")]
    pub max_retries_down: u8,
    #[serde(default)]
    pub http_method: Option<String>,
    #[serde(default)]
    pub url_path: Option<String>,
    #[serde(default)]
    pub expected_codes: Option<String>,
    /// 1.0 or 1.1.
    #[serde(default)]
    pub http_version: Option<f64>,
    #[serde(default)]
    pub domain_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}

fn three() -> u8 {
    3
}

#[derive(Clone, Debug, Deserialize)]
pub struct HealthMonitorCreate {
    #[serde(default)]
    pub pool_id: Patch<String>,
    #[serde(rename = "type")]
    pub kind: MonitorType,
    pub delay: u64,
    pub timeout: u64,
    pub max_retries: u8,
    #[serde(default)]
    pub max_retries_down: Patch<u8>,
    #[serde(default)]
    pub http_method: Patch<String>,
    #[serde(default)]
    pub url_path: Patch<String>,
    #[serde(default)]
    pub expected_codes: Patch<String>,
    #[serde(default)]
    pub http_version: Patch<f64>,
    #[serde(default)]
    pub domain_name: Patch<String>,
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    pub tags: Patch<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthMonitorPatch {
    pub delay: Patch<u64>,
    pub timeout: Patch<u64>,
    pub max_retries: Patch<u8>,
    pub max_retries_down: Patch<u8>,
    pub http_method: Patch<String>,
    pub url_path: Patch<String>,
    pub expected_codes: Patch<String>,
    pub http_version: Patch<f64>,
    pub domain_name: Patch<String>,
    pub name: Patch<String>,
    pub admin_state_up: Patch<bool>,
    pub tags: Patch<Vec<String>>,
}

/// What an HTTP(S) monitor asks and expects when nothing is said: `GET /`, 200.
fn http_default(kind: MonitorType, value: &str) -> Option<String> {
    kind.is_http().then(|| value.to_string())
}

impl HealthMonitor {
    /// A new monitor with Octavia's defaults for what the POST left unset or null.
    pub fn create(body: HealthMonitorCreate) -> HealthMonitor {
        let kind = body.kind;
        HealthMonitor {
            name: body.name.or_else(String::new),
            admin_state_up: body.admin_state_up.or_by(true, false),
            kind,
            delay: body.delay,
            timeout: body.timeout,
            max_retries: body.max_retries,
            max_retries_down: body.max_retries_down.or(3),
            http_method: body
                .http_method
                .into_option()
                .or_else(|| http_default(kind, "GET")),
            url_path: body
                .url_path
                .into_option()
                .or_else(|| http_default(kind, "/")),
            expected_codes: body
                .expected_codes
                .into_option()
                .or_else(|| http_default(kind, "200")),
            http_version: body.http_version.into_option(),
            domain_name: body.domain_name.into_option(),
            tags: body.tags.or_else(Vec::new),
        }
    }

    /// A PUT: null resets to Octavia's defaults (delay, timeout and max_retries take no
    /// null: the caller refuses it).
    pub fn update(&mut self, patch: HealthMonitorPatch) {
        let kind = self.kind;
        patch.delay.assign(&mut self.delay);
        patch.timeout.assign(&mut self.timeout);
        patch.max_retries.assign(&mut self.max_retries);
        patch.max_retries_down.update(&mut self.max_retries_down, 3);
        patch
            .http_method
            .update_option_or(&mut self.http_method, http_default(kind, "GET"));
        patch
            .url_path
            .update_option_or(&mut self.url_path, http_default(kind, "/"));
        patch
            .expected_codes
            .update_option_or(&mut self.expected_codes, http_default(kind, "200"));
        patch.http_version.update_option(&mut self.http_version);
        patch.domain_name.update_option(&mut self.domain_name);
        patch.name.update(&mut self.name, String::new());
        patch.admin_state_up.update(&mut self.admin_state_up, false);
        patch.tags.update(&mut self.tags, Vec::new());
    }
}
