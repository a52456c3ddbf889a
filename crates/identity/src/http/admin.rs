//! Keystone's admin resources as operators and tempest use them: projects, users, roles, role
//! assignments and the one Default domain. Writes, and reads of other users, need the admin
//! role; a user may read themself and their own projects.

use super::{caller, links, KsError, KsResult, Req};
use crate::service::{hash, new_id, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME};
use crate::{Identity, Principal};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use store::identity::{Assignment, Entity, Table};

pub async fn route(identity: &Identity, req: &Req, rest: &[&str]) -> KsResult<Response> {
    let me = caller(identity, req).await?;
    let m = &req.method;
    match rest {
        ["auth", "projects"] => my_projects(identity, req, &me.user_id).await,
        ["domains"] if m == Method::GET => domains(req),
        ["domains", id] if m == Method::GET && *id == DEFAULT_DOMAIN_ID => {
            Ok(axum::Json(json!({"domain": domain(req)})).into_response())
        }
        ["domains", ..] => Err(KsError::new(
            StatusCode::NOT_IMPLEMENTED,
            "The action you have requested has not been implemented: only the Default domain exists.",
        )),
        ["users", id] if m == Method::GET && *id == me.user_id => {
            show(identity, req, Table::Users, id).await
        }
        ["users", id, "projects"] if *id == me.user_id => {
            my_projects(identity, req, &me.user_id).await
        }
        _ => {
            admin_only(&me, rest)?;
            admin_route(identity, req, rest).await
        }
    }
}

fn admin_only(me: &Principal, rest: &[&str]) -> KsResult<()> {
    if me.roles.iter().any(|r| r.name == "admin") {
        Ok(())
    } else {
        Err(KsError::forbidden(&format!(
            "identity:{}",
            rest.first().copied().unwrap_or("")
        )))
    }
}

async fn admin_route(identity: &Identity, req: &Req, rest: &[&str]) -> KsResult<Response> {
    let m = req.method.clone();
    match (rest, m) {
        (["role_assignments"], Method::GET) => role_assignments(identity, req).await,
        ([c], Method::GET) => list(identity, req, table(c)?).await,
        ([c], Method::POST) => create(identity, req, table(c)?).await,
        ([c, id], Method::GET) => show(identity, req, table(c)?, id).await,
        ([c, id], Method::PATCH) => update(identity, req, table(c)?, id).await,
        ([c, id], Method::DELETE) => {
            let t = table(c)?;
            if identity.store.identity_delete(t, id).await? {
                Ok(StatusCode::NO_CONTENT.into_response())
            } else {
                Err(KsError::not_found(kind(t), id))
            }
        }
        (["users", id, "projects"], Method::GET) => {
            find(identity, Table::Users, id).await?;
            my_projects(identity, req, id).await
        }
        (["projects", p, "users", u, "roles"], Method::GET) => {
            let a = assignment(identity, p, u, None).await?;
            let ids: Vec<String> = identity
                .store
                .assignments(Some(&a.user_id), Some(&a.project_id))
                .await?
                .into_iter()
                .map(|a| a.role_id)
                .collect();
            let roles: Vec<Value> = identity
                .store
                .identity_list(Table::Roles)
                .await?
                .iter()
                .filter(|r| ids.contains(&r.id))
                .map(|r| render(req, Table::Roles, r))
                .collect();
            let path = format!("projects/{p}/users/{u}/roles");
            Ok(axum::Json(json!({"roles": roles, "links": links(req, &path)})).into_response())
        }
        (["projects", p, "users", u, "roles", r], m) => {
            let a = assignment(identity, p, u, Some(r)).await?;
            match m {
                Method::PUT => {
                    identity.store.assign_role(&a).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                Method::DELETE => {
                    if identity.store.unassign_role(&a).await? {
                        Ok(StatusCode::NO_CONTENT.into_response())
                    } else {
                        Err(KsError::not_found("role assignment", r))
                    }
                }
                Method::GET | Method::HEAD => {
                    let held = identity
                        .store
                        .assignments(Some(&a.user_id), Some(&a.project_id))
                        .await?
                        .iter()
                        .any(|x| x.role_id == a.role_id);
                    if held {
                        Ok(StatusCode::NO_CONTENT.into_response())
                    } else {
                        Err(KsError::not_found("role assignment", r))
                    }
                }
                _ => Err(not_allowed()),
            }
        }
        _ => Err(KsError::new(
            StatusCode::NOT_FOUND,
            "The resource could not be found.",
        )),
    }
}

fn not_allowed() -> KsError {
    KsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
}

fn table(collection: &str) -> KsResult<Table> {
    match collection {
        "projects" => Ok(Table::Projects),
        "users" => Ok(Table::Users),
        "roles" => Ok(Table::Roles),
        _ => Err(KsError::new(
            StatusCode::NOT_FOUND,
            "The resource could not be found.",
        )),
    }
}

fn kind(t: Table) -> &'static str {
    match t {
        Table::Projects => "project",
        Table::Users => "user",
        Table::Roles => "role",
    }
}

fn plural(t: Table) -> &'static str {
    match t {
        Table::Projects => "projects",
        Table::Users => "users",
        Table::Roles => "roles",
    }
}

async fn find(identity: &Identity, t: Table, id: &str) -> KsResult<Entity> {
    identity
        .store
        .identity_get(t, id)
        .await?
        .ok_or_else(|| KsError::not_found(kind(t), id))
}

async fn assignment(
    identity: &Identity,
    project: &str,
    user: &str,
    role: Option<&str>,
) -> KsResult<Assignment> {
    find(identity, Table::Projects, project).await?;
    find(identity, Table::Users, user).await?;
    if let Some(r) = role {
        find(identity, Table::Roles, r).await?;
    }
    Ok(Assignment {
        project_id: project.to_string(),
        user_id: user.to_string(),
        role_id: role.unwrap_or_default().to_string(),
    })
}

fn domain(req: &Req) -> Value {
    json!({"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME, "description": "The default domain",
           "enabled": true, "tags": [], "options": {},
           "links": {"self": format!("{}/v3/domains/{DEFAULT_DOMAIN_ID}", req.origin)}})
}

fn domains(req: &Req) -> KsResult<Response> {
    let wanted = |key: &str, value: &str| req.param(key).is_none_or(|v| v == value);
    let list: Vec<Value> = if wanted("name", DEFAULT_DOMAIN_NAME) && wanted("id", DEFAULT_DOMAIN_ID)
    {
        vec![domain(req)]
    } else {
        Vec::new()
    };
    Ok(axum::Json(json!({"domains": list, "links": links(req, "domains")})).into_response())
}

fn render(req: &Req, t: Table, e: &Entity) -> Value {
    let mut obj = Map::new();
    obj.insert("id".into(), json!(e.id));
    obj.insert("name".into(), json!(e.name));
    match t {
        Table::Roles => {
            obj.insert("domain_id".into(), Value::Null);
        }
        _ => {
            obj.insert("domain_id".into(), json!(e.domain_id));
            obj.insert("enabled".into(), json!(e.enabled));
        }
    }
    match t {
        Table::Projects => {
            obj.insert("parent_id".into(), json!(e.domain_id));
            obj.insert("is_domain".into(), json!(false));
            obj.insert("description".into(), json!(""));
            obj.insert("tags".into(), json!([]));
        }
        Table::Users => {
            obj.insert("password_expires_at".into(), Value::Null);
            if let Some(p) = &e.default_project_id {
                obj.insert("default_project_id".into(), json!(p));
            }
        }
        Table::Roles => {}
    }
    obj.insert("options".into(), json!({}));
    for (k, v) in &e.extra {
        obj.insert(k.clone(), v.clone());
    }
    obj.insert(
        "links".into(),
        json!({"self": format!("{}/v3/{}/{}", req.origin, plural(t), e.id)}),
    );
    Value::Object(obj)
}

async fn list(identity: &Identity, req: &Req, t: Table) -> KsResult<Response> {
    let rows = identity.store.identity_list(t).await?;
    let shown: Vec<Value> = rows
        .iter()
        .filter(|e| {
            req.param("name").is_none_or(|n| n == e.name)
                && req.param("id").is_none_or(|n| n == e.id)
                && (t == Table::Roles || req.param("domain_id").is_none_or(|d| d == e.domain_id))
                && req
                    .param("enabled")
                    .is_none_or(|v| (v != "false" && v != "0") == e.enabled)
        })
        .map(|e| render(req, t, e))
        .collect();
    Ok(axum::Json(json!({ plural(t): shown, "links": links(req, plural(t)) })).into_response())
}

async fn show(identity: &Identity, req: &Req, t: Table, id: &str) -> KsResult<Response> {
    let e = find(identity, t, id).await?;
    Ok(axum::Json(json!({ kind(t): render(req, t, &e) })).into_response())
}

/// Attributes Keystone keeps as given (in `extra`).
const EXTRA: [&str; 3] = ["description", "email", "tags"];

fn body_object(req: &Req, t: Table) -> KsResult<Map<String, Value>> {
    match req.json()?.get(kind(t)) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(KsError::bad_request(&format!(
            "Expecting to find {} in request body.",
            kind(t)
        ))),
    }
}

/// Applies a create or update body to `e`.
async fn apply(
    identity: &Identity,
    t: Table,
    e: &mut Entity,
    body: &Map<String, Value>,
) -> KsResult<()> {
    let invalid = |field: &str, want: &str| {
        KsError::bad_request(&format!(
            "Invalid input for field '{field}': expected {want}."
        ))
    };
    if let Some(v) = body.get("name") {
        let name = v
            .as_str()
            .filter(|n| !n.trim().is_empty() && n.len() <= 255);
        e.name = name
            .ok_or_else(|| invalid("name", "a non-empty string of at most 255 characters"))?
            .to_string();
    }
    if let Some(v) = body.get("enabled") {
        e.enabled = v.as_bool().ok_or_else(|| invalid("enabled", "a boolean"))?;
    }
    if let Some(v) = body.get("domain_id") {
        if v.as_str() != Some(DEFAULT_DOMAIN_ID) {
            return Err(KsError::bad_request(
                "Only the Default domain (id 'default') exists.",
            ));
        }
    }
    for key in EXTRA {
        if let Some(v) = body.get(key) {
            e.extra.insert(key.to_string(), v.clone());
        }
    }
    if t == Table::Users {
        if let Some(v) = body.get("password") {
            let password = v.as_str().ok_or_else(|| invalid("password", "a string"))?;
            if password.len() > 4096 {
                return Err(invalid("password", "at most 4096 characters"));
            }
            e.password_hash = Some(hash(password).await);
        }
        if let Some(v) = body.get("default_project_id") {
            e.default_project_id = match v {
                Value::Null => None,
                Value::String(p) => {
                    find(identity, Table::Projects, p).await?;
                    Some(p.clone())
                }
                _ => return Err(invalid("default_project_id", "a project id")),
            };
        }
    }
    Ok(())
}

async fn create(identity: &Identity, req: &Req, t: Table) -> KsResult<Response> {
    let body = body_object(req, t)?;
    if body.get("name").is_none() {
        return Err(KsError::bad_request("'name' is a required property."));
    }
    let domain = if t == Table::Roles {
        ""
    } else {
        DEFAULT_DOMAIN_ID
    };
    let mut e = Entity::new(new_id(), String::new(), domain);
    apply(identity, t, &mut e, &body).await?;
    save(identity, t, &e).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ kind(t): render(req, t, &e) })),
    )
        .into_response())
}

async fn update(identity: &Identity, req: &Req, t: Table, id: &str) -> KsResult<Response> {
    let body = body_object(req, t)?;
    let mut e = find(identity, t, id).await?;
    apply(identity, t, &mut e, &body).await?;
    save(identity, t, &e).await?;
    Ok(axum::Json(json!({ kind(t): render(req, t, &e) })).into_response())
}

async fn save(identity: &Identity, t: Table, e: &Entity) -> KsResult<()> {
    if identity.store.identity_put(t, e).await? {
        Ok(())
    } else {
        Err(KsError::new(
            StatusCode::CONFLICT,
            format!(
                "Conflict occurred attempting to store {} - Duplicate entry found with name {}.",
                kind(t),
                e.name
            ),
        ))
    }
}

async fn my_projects(identity: &Identity, req: &Req, user_id: &str) -> KsResult<Response> {
    let ids: Vec<String> = identity
        .store
        .assignments(Some(user_id), None)
        .await?
        .into_iter()
        .map(|a| a.project_id)
        .collect();
    let projects: Vec<Value> = identity
        .store
        .identity_list(Table::Projects)
        .await?
        .iter()
        .filter(|p| ids.contains(&p.id))
        .map(|p| render(req, Table::Projects, p))
        .collect();
    Ok(
        axum::Json(json!({"projects": projects, "links": links(req, "auth/projects")}))
            .into_response(),
    )
}

async fn role_assignments(identity: &Identity, req: &Req) -> KsResult<Response> {
    let found = identity
        .store
        .assignments(req.param("user.id"), req.param("scope.project.id"))
        .await?;
    let names = req
        .param("include_names")
        .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "none"));
    let mut named = std::collections::HashMap::new();
    if names {
        for t in [Table::Users, Table::Projects, Table::Roles] {
            for e in identity.store.identity_list(t).await? {
                named.insert(e.id.clone(), e.name);
            }
        }
    }
    let reference = |id: &str, with_domain: bool| {
        let mut v = json!({ "id": id });
        if names {
            v["name"] = json!(named.get(id).cloned().unwrap_or_default());
            if with_domain {
                v["domain"] = json!({"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME});
            }
        }
        v
    };
    let list: Vec<Value> = found
        .iter()
        .filter(|a| req.param("role.id").is_none_or(|r| r == a.role_id))
        .map(|a| {
            json!({"role": reference(&a.role_id, false), "user": reference(&a.user_id, true),
                   "scope": {"project": reference(&a.project_id, true)},
                   "links": {"assignment": format!("{}/v3/projects/{}/users/{}/roles/{}",
                       req.origin, a.project_id, a.user_id, a.role_id)}})
        })
        .collect();
    Ok(
        axum::Json(json!({"role_assignments": list, "links": links(req, "role_assignments")}))
            .into_response(),
    )
}
