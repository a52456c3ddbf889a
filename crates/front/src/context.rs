//! Who is calling: the request context policy checks are made against, from a token or the
//! `noauth` headers.

use crate::state::{Core, PolicyModel};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Clone, Debug, PartialEq)]
pub struct RequestContext {
    /// The project the caller's token is scoped to; None for an unscoped token.
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub roles: Vec<String>,
    /// In `noauth` every caller is an administrator, as in Octavia.
    pub is_admin: bool,
    /// Whether the `load-balancer_*` roles count (`--policy advanced`).
    pub advanced_roles: bool,
    /// The caller's token, for what is read on the caller's behalf (a real Barbican's
    /// certificates in Keystone mode); None in `noauth`.
    pub token: Option<CallerToken>,
}

/// A token kept for calls made on its owner's behalf; never printed.
#[derive(Clone, PartialEq)]
pub struct CallerToken(pub String);

impl std::fmt::Debug for CallerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerToken(<redacted>)")
    }
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
            project_id: Some(
                header(&["x-project-id", "x-tenant-id", "x-tenant"])
                    .unwrap_or_else(|| default_project.to_string()),
            ),
            user_id: header(&["x-user-id", "x-user"]),
            roles: header(&["x-roles"])
                .map(|r| r.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default(),
            is_admin: true,
            advanced_roles: false,
            token: None,
        }
    }

    /// The context of a validated token.
    pub fn of(
        principal: &identity::Principal,
        advanced_roles: bool,
        token: Option<&str>,
    ) -> RequestContext {
        RequestContext {
            project_id: principal.project_id.clone(),
            user_id: Some(principal.user_id.clone()),
            roles: principal.role_names(),
            is_admin: false,
            advanced_roles,
            token: token.map(|t| CallerToken(t.trim().to_string())),
        }
    }

    /// The caller's project, or 403 for an unscoped token (Octavia needs a project).
    pub fn project(&self) -> crate::error::ApiResult<&str> {
        self.project_id
            .as_deref()
            .ok_or_else(crate::error::ApiError::forbidden)
    }
}

/// The request's context, or the response that refuses it: 401 with keystonemiddleware's body
/// and where to authenticate, or 503 when Keystone cannot be asked.
pub async fn authenticate(core: &Core, headers: &HeaderMap) -> Result<RequestContext, Response> {
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
    match core.auth.authenticate(token).await {
        Ok(None) => Ok(RequestContext::noauth(headers, &core.default_project)),
        Ok(Some(principal)) => Ok(RequestContext::of(
            &principal,
            core.policy == PolicyModel::Advanced,
            token,
        )),
        Err(rejected) => {
            let status = match rejected {
                identity::Rejected::Unauthorized => StatusCode::UNAUTHORIZED,
                identity::Rejected::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let title = status.canonical_reason().unwrap_or("Error");
            let body = json!({"error": {"code": status.as_u16(), "title": title,
                                        "message": rejected.to_string()}});
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(uri) = core.auth.identity_uri() {
                if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")) {
                    response.headers_mut().insert("www-authenticate", v);
                }
            }
            Err(response)
        }
    }
}
