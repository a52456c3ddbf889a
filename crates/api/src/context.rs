//! Who is calling: the request context policy checks are made against.

use axum::http::HeaderMap;

#[derive(Clone, Debug, PartialEq)]
pub struct RequestContext {
    pub project_id: String,
    pub user_id: Option<String>,
    pub roles: Vec<String>,
    /// In `noauth` every caller is an administrator, as in Octavia.
    pub is_admin: bool,
}

impl RequestContext {
    /// Builds the context the way oslo.context does in `noauth`: project from
    /// `X-Project-Id` (or the legacy tenant headers), roles from `X-Roles`. A request without a
    /// project uses `default_project`, so `auth_type: none` clients work.
    pub fn noauth(headers: &HeaderMap, default_project: &str) -> RequestContext {
        let header = |names: &[&str]| {
            names.iter().find_map(|n| {
                headers
                    .get(*n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            })
        };
        RequestContext {
            project_id: header(&["x-project-id", "x-tenant-id", "x-tenant"])
                .unwrap_or_else(|| default_project.to_string()),
            user_id: header(&["x-user-id", "x-user"]),
            roles: header(&["x-roles"])
                .map(|r| r.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default(),
            is_admin: true,
        }
    }

    /// May this caller act on objects of `project`?
    pub fn may_access(&self, project: Option<&str>) -> bool {
        self.is_admin || project == Some(self.project_id.as_str())
    }
}
