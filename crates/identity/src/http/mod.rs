//! The identity API on the wire: Keystone v3's version documents, `/v3/auth/tokens` and the
//! catalog, with Keystone's error bodies. The admin resources are in `admin`.

use crate::service::{Domain, Named, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME};
use crate::{AuthFailure, Identity, Principal};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

mod admin;

const BODY_LIMIT: usize = 65_536;
const UPDATED: &str = "2024-04-01T00:00:00Z";

/// A Keystone error: `{"error": {"code", "message", "title"}}`.
#[derive(Debug)]
pub struct KsError {
    pub status: StatusCode,
    pub message: String,
}

impl KsError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> KsError {
        KsError {
            status,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> KsError {
        KsError::new(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    pub fn bad_request(what: &str) -> KsError {
        KsError::new(
            StatusCode::BAD_REQUEST,
            format!("{what} The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."),
        )
    }

    pub fn forbidden(action: &str) -> KsError {
        KsError::new(
            StatusCode::FORBIDDEN,
            format!("You are not authorized to perform the requested action: {action}."),
        )
    }

    pub fn not_found(kind: &str, id: &str) -> KsError {
        KsError::new(
            StatusCode::NOT_FOUND,
            format!("Could not find {kind}: {id}."),
        )
    }
}

impl From<AuthFailure> for KsError {
    fn from(e: AuthFailure) -> KsError {
        match e {
            AuthFailure::Unauthorized => KsError::unauthorized(),
            AuthFailure::BadRequest(m) => KsError::bad_request(&m),
            AuthFailure::Locked(_) | AuthFailure::Busy => {
                KsError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
            }
            AuthFailure::Store(e) => e.into(),
        }
    }
}

impl From<store::StoreError> for KsError {
    fn from(e: store::StoreError) -> KsError {
        tracing::error!(error = %e, "identity store error");
        KsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error prevented the server from fulfilling your request.",
        )
    }
}

impl IntoResponse for KsError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({"error": {"code": self.status.as_u16(), "message": self.message, "title": title}});
        (self.status, axum::Json(body)).into_response()
    }
}

pub type KsResult<T> = Result<T, KsError>;

/// One request as the handlers see it.
pub struct Req {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    pub body: bytes::Bytes,
    /// `http://host` as the client called us, for links.
    pub origin: String,
}

impl Req {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> KsResult<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|_| KsError::bad_request("The request body is not valid JSON."))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The identity API (every path is the dispatcher's).
pub fn routes(identity: Arc<Identity>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(identity)
}

async fn dispatch(State(identity): State<Arc<Identity>>, request: Request<Body>) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut response = match handle(&identity, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if response.status() == StatusCode::UNAUTHORIZED {
        let uri = identity.config.catalog.identity.trim_end_matches("/v3");
        if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")) {
            response.headers_mut().insert("www-authenticate", v);
        }
    }
    // Never the token or the body: they carry secrets.
    tracing::info!(%method, %path, status = response.status().as_u16(), "identity request");
    response
}

async fn handle(identity: &Identity, request: Request<Body>) -> KsResult<Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        KsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request Entity Too Large: the request body is larger than the server accepts.",
        )
    })?;
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:5000")
        .to_string();
    let req = Req {
        method: parts.method.clone(),
        query: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers: parts.headers,
        body,
        origin: format!("http://{host}"),
    };
    let segments: Vec<&str> = parts
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        [] => Ok((
            StatusCode::MULTIPLE_CHOICES,
            axum::Json(json!({"versions": {"values": [version(&req.origin)]}})),
        )
            .into_response()),
        ["v3"] => Ok(axum::Json(json!({ "version": version(&req.origin) })).into_response()),
        ["v3", "auth", "tokens"] => tokens(identity, &req).await,
        ["v3", "auth", "catalog"] => {
            let _ = caller(identity, &req).await?;
            Ok(axum::Json(
                json!({"catalog": catalog(identity), "links": links(&req, "auth/catalog")}),
            )
            .into_response())
        }
        ["v3", rest @ ..] => admin::route(identity, &req, rest).await,
        _ => Err(KsError::new(
            StatusCode::NOT_FOUND,
            "The resource could not be found.",
        )),
    }
}

fn version(origin: &str) -> Value {
    json!({"id": "v3.14", "status": "stable", "updated": UPDATED,
           "links": [{"rel": "self", "href": format!("{origin}/v3/")}],
           "media-types": [{"base": "application/json",
                            "type": "application/vnd.openstack.identity-v3+json"}]})
}

pub fn links(req: &Req, path: &str) -> Value {
    json!({"self": format!("{}/v3/{path}", req.origin), "previous": null, "next": null})
}

/// The caller of an admin or token request: a valid `X-Auth-Token`, or 401.
pub async fn caller(identity: &Identity, req: &Req) -> KsResult<Principal> {
    let token = req
        .header("x-auth-token")
        .ok_or_else(KsError::unauthorized)?;
    Ok(identity.validate(token.trim()).await?)
}

async fn tokens(identity: &Identity, req: &Req) -> KsResult<Response> {
    match req.method {
        Method::POST => login(identity, req).await,
        Method::GET | Method::HEAD | Method::DELETE => {
            let _ = caller(identity, req).await?;
            let subject = req
                .header("x-subject-token")
                .map(str::trim)
                .ok_or_else(KsError::unauthorized)?;
            let principal = identity.validate(subject).await.map_err(|e| match e {
                AuthFailure::Store(e) => e.into(),
                _ => KsError::new(StatusCode::NOT_FOUND, "Could not find token."),
            })?;
            match req.method {
                Method::DELETE => {
                    identity.revoke(subject).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                Method::HEAD => Ok(StatusCode::OK.into_response()),
                _ => {
                    let body = token_body(identity, &principal, req.param("nocatalog").is_none());
                    let mut r = axum::Json(body).into_response();
                    subject_header(&mut r, subject);
                    Ok(r)
                }
            }
        }
        _ => Err(KsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method is not allowed for the requested URL.",
        )),
    }
}

fn subject_header(r: &mut Response, token: &str) {
    if let Ok(v) = HeaderValue::from_str(token) {
        r.headers_mut().insert("x-subject-token", v);
    }
}

/// `POST /v3/auth/tokens`: password (user by id, or by name with its domain) or token, scoped
/// to a project by id or by name with its domain, or unscoped.
async fn login(identity: &Identity, req: &Req) -> KsResult<Response> {
    let body = req.json()?;
    let auth = body
        .get("auth")
        .filter(|a| a.is_object())
        .ok_or_else(|| KsError::bad_request("Expecting to find auth in request body."))?;
    let methods: Vec<&str> = auth["identity"]["methods"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let scope = match auth.get("scope") {
        None | Some(Value::Null) => None,
        Some(s) if s.get("project").is_some() => Some(named(&s["project"], "project")?),
        Some(_) => {
            return Err(KsError::bad_request(
                "Only project-scoped or unscoped tokens are supported.",
            ))
        }
    };
    let (token, principal) = if methods.contains(&"password") {
        let user = &auth["identity"]["password"]["user"];
        let password = user["password"]
            .as_str()
            .ok_or_else(|| KsError::bad_request("Expecting to find password in user."))?;
        identity
            .password_login(&named(user, "user")?, password, scope.as_ref())
            .await?
    } else if methods.contains(&"token") {
        let old = auth["identity"]["token"]["id"]
            .as_str()
            .ok_or_else(|| KsError::bad_request("Expecting to find id in token."))?;
        identity.token_login(old, scope.as_ref()).await?
    } else {
        return Err(KsError::bad_request(
            "Expecting to find methods (password or token) in identity.",
        ));
    };
    let body = token_body(identity, &principal, req.param("nocatalog").is_none());
    let mut r = (StatusCode::CREATED, axum::Json(body)).into_response();
    subject_header(&mut r, &token);
    Ok(r)
}

/// `{"id": …}` or `{"name": …, "domain": {"id"|"name": …}}`.
fn named(v: &Value, what: &str) -> KsResult<Named> {
    if let Some(id) = v.get("id").and_then(Value::as_str) {
        return Ok(Named::Id(id.to_string()));
    }
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| KsError::bad_request(&format!("Expecting to find id or name in {what}.")))?;
    let domain = &v["domain"];
    let domain = if let Some(id) = domain.get("id").and_then(Value::as_str) {
        Domain::Id(id.to_string())
    } else if let Some(n) = domain.get("name").and_then(Value::as_str) {
        Domain::Name(n.to_string())
    } else {
        return Err(KsError::bad_request(&format!(
            "Expecting to find domain in {what}."
        )));
    };
    Ok(Named::Name {
        name: name.to_string(),
        domain,
    })
}

pub fn time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000000Z")
        .to_string()
}

fn default_domain() -> Value {
    json!({"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME})
}

fn token_body(identity: &Identity, p: &Principal, with_catalog: bool) -> Value {
    let mut token = json!({
        "methods": p.methods,
        "user": {"id": p.user_id, "name": p.user_name, "domain": default_domain(),
                 "password_expires_at": null},
        "audit_ids": [p.audit_id],
        "expires_at": time(p.expires_at),
        "issued_at": time(p.issued_at),
    });
    if let Some(project) = &p.project_id {
        token["project"] = json!({"id": project, "name": p.project_name,
                                  "domain": default_domain()});
        token["is_domain"] = json!(false);
        token["roles"] = json!(p
            .roles
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name}))
            .collect::<Vec<_>>());
        if with_catalog {
            token["catalog"] = catalog(identity);
        }
    }
    json!({ "token": token })
}

/// Keystone's catalog: every service with public, internal and admin endpoints.
pub fn catalog(identity: &Identity) -> Value {
    let c = &identity.config.catalog;
    let services = [
        ("identity", "keystone", c.identity.as_str()),
        ("load-balancer", "octavia", c.load_balancer.as_str()),
        ("network", "neutron", c.network.as_str()),
        ("key-manager", "barbican", c.key_manager.as_str()),
    ];
    let list: Vec<Value> = services
        .iter()
        .map(|(kind, name, url)| {
            let endpoints: Vec<Value> = ["public", "internal", "admin"]
                .iter()
                .map(|interface| {
                    json!({"id": format!("{name}-{interface}"), "interface": interface,
                           "region": c.region, "region_id": c.region, "url": url})
                })
                .collect();
            json!({"id": name, "type": kind, "name": name, "endpoints": endpoints})
        })
        .collect();
    Value::Array(list)
}
