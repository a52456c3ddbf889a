//! One stored object of any kind: the columns every object has, plus its other API attributes.

use crate::Kind;
use serde_json::{Map, Value};

/// Naive UTC timestamp the way Octavia renders it (`isoformat()` without zone).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub kind: Kind,
    pub id: String,
    /// The load balancer this object belongs to (itself for a load balancer).
    pub lb_id: Option<String>,
    /// Listener for an L7 policy, policy for a rule, pool for a member or monitor,
    /// load balancer for a listener or pool, profile for a flavor or zone.
    pub parent_id: Option<String>,
    pub project_id: Option<String>,
    pub provisioning_status: String,
    pub operating_status: String,
    pub created_at: String,
    pub updated_at: Option<String>,
    /// Every other attribute, named as on the wire.
    pub attrs: Map<String, Value>,
}

impl Resource {
    pub fn new(kind: Kind, id: String) -> Resource {
        Resource {
            kind,
            id,
            lb_id: None,
            parent_id: None,
            project_id: None,
            provisioning_status: String::new(),
            operating_status: String::new(),
            created_at: now(),
            updated_at: None,
            attrs: Map::new(),
        }
    }

    pub fn get(&self, key: &str) -> &Value {
        self.attrs.get(key).unwrap_or(&Value::Null)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).and_then(Value::as_str)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.attrs.get(key).and_then(Value::as_i64)
    }

    /// Booleans default to true when absent: every `admin_state_up`/`enabled` does.
    pub fn flag(&self, key: &str) -> bool {
        self.attrs.get(key).and_then(Value::as_bool).unwrap_or(true)
    }

    pub fn enabled(&self) -> bool {
        self.flag("admin_state_up")
    }

    pub fn set(&mut self, key: &str, value: Value) {
        self.attrs.insert(key.to_string(), value);
    }

    pub fn set_status(&mut self, provisioning: &str) {
        self.provisioning_status = provisioning.to_string();
    }

    pub fn tags(&self) -> Vec<&str> {
        match self.attrs.get("tags") {
            Some(Value::Array(tags)) => tags.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}
