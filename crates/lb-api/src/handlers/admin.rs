//! Resources outside load-balancer trees: quotas, providers, flavors and flavor profiles,
//! availability zones and their profiles, amphorae.

use super::*;
use crate::specs;
use front::schema::decode;
use front::Rule;

const QUOTA_KEYS: [&str; 9] = [
    "loadbalancer",
    "load_balancer",
    "listener",
    "member",
    "pool",
    "healthmonitor",
    "health_monitor",
    "l7policy",
    "l7rule",
];

/// A quota record on the wire; unset limits show `defaults` when given, null otherwise.
fn quota_body(
    stored: Option<&Map<String, Value>>,
    defaults: Option<&crate::QuotaDefaults>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for key in QUOTA_KEYS {
        let canonical = match key {
            "load_balancer" => "loadbalancer",
            "health_monitor" => "healthmonitor",
            k => k,
        };
        let v = stored
            .and_then(|s| s.get(canonical))
            .cloned()
            .unwrap_or(Value::Null);
        let v = match defaults {
            Some(d) if v.is_null() => json!(d.get(canonical)),
            _ => v,
        };
        out.insert(key.to_string(), v);
    }
    out
}

pub async fn quotas(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let scope = req.ctx.list_scope(
                Rule::ReadQuota,
                Rule::ReadQuotaGlobal,
                req.query.get("project_id"),
            )?;
            let mut items = Vec::new();
            for (project, stored) in state.core.store.quotas().await? {
                if scope.as_deref().is_some_and(|p| p != project) {
                    continue;
                }
                let mut q = quota_body(Some(&stored), None);
                q.insert("project_id".into(), json!(project));
                items.push(q);
            }
            let body = listing::respond(
                items,
                &[],
                &req.query,
                "quotas",
                Some("quotas_links"),
                &req.url,
                state.config.max_limit,
            )?;
            Ok(axum::Json(body).into_response())
        }
        (&Method::GET, [project]) => {
            check_project(req, project)?;
            let stored = state.core.store.quota(project).await?;
            Ok(axum::Json(
                json!({"quota": quota_body(stored.as_ref(), Some(&state.config.quota_defaults))}),
            )
            .into_response())
        }
        (&Method::GET, [project, "default" | "defaults"]) => {
            check_project(req, project)?;
            Ok(
                axum::Json(json!({"quota": quota_body(None, Some(&state.config.quota_defaults))}))
                    .into_response(),
            )
        }
        (&Method::PUT, [project]) => {
            req.ctx.authorize(Rule::WriteQuota, Some(project))?;
            let attrs = decode(&req.body, "quotas", "quota", &specs::QUOTA_PUT)?;
            let mut tx = state.core.store.begin().await?;
            let mut stored = tx.quota(project).await?.unwrap_or_default();
            for (key, value) in attrs {
                let canonical = match key.as_str() {
                    "load_balancer" => "loadbalancer",
                    "health_monitor" => "healthmonitor",
                    k => k,
                };
                stored.insert(canonical.to_string(), value);
            }
            tx.put_quota(project, &stored).await?;
            tx.commit().await?;
            Ok((
                StatusCode::ACCEPTED,
                axum::Json(
                    json!({"quota": quota_body(Some(&stored), Some(&state.config.quota_defaults))}),
                ),
            )
                .into_response())
        }
        (&Method::DELETE, [project]) => {
            req.ctx.authorize(Rule::WriteQuota, Some(project))?;
            let mut tx = state.core.store.begin().await?;
            if !tx.delete_quota(project).await? {
                return Err(ApiError::not_found_named("Quotas", project));
            }
            tx.commit().await?;
            Ok(accepted())
        }
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn check_project(req: &Req, project: &str) -> ApiResult<()> {
    req.ctx.authorize(Rule::ReadQuota, Some(project))
}

/// Flavors, zones and providers belong to no project: Octavia checks them against the
/// caller's own.
fn authorize_own(req: &Req, rule: Rule) -> ApiResult<()> {
    req.ctx.authorize(rule, req.ctx.project_id.as_deref())
}

const PROVIDERS: &[(&str, &str)] = &[
    ("amphora", "The Octavia Amphora driver."),
    ("octavia", "Deprecated alias of the Octavia Amphora driver."),
    ("noop_driver", "The No-Op driver."),
];

fn flavor_capabilities(provider: &str) -> Vec<(&'static str, &'static str)> {
    if provider == "noop_driver" {
        return vec![("some_topology", "OCTAVIA_NOOP_DRIVER topology")];
    }
    vec![
        ("loadbalancer_topology", "The load balancer topology. One of: SINGLE - One amphora per load balancer. ACTIVE_STANDBY - Two amphora per load balancer."),
        ("compute_flavor", "The compute driver flavor ID."),
        ("amp_image_tag", "The amphora image tag."),
        ("sriov_vip", "When true, the VIP port will be created using an SR-IOV VF port."),
        ("allow_member_sriov", "When true, users can request SR-IOV ports for members."),
    ]
}

fn az_capabilities(provider: &str) -> Vec<(&'static str, &'static str)> {
    if provider == "noop_driver" {
        return vec![(
            "compute_zone",
            "compute availability zone to use for this loadbalancer.",
        )];
    }
    vec![
        ("compute_zone", "The compute availability zone."),
        ("volume_zone", "The volume availability zone."),
        ("management_network", "The management network ID for the amphora."),
        ("valid_vip_networks", "List of network IDs that are allowed for VIP use. This overrides/replaces the list of allowed networks configured in `octavia.conf`."),
    ]
}

pub async fn providers(_state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    if req.method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    let fields = req.query.fields();
    let list = |items: Vec<(&str, &str)>| -> Vec<Value> {
        items
            .into_iter()
            .map(|(n, d)| {
                let obj: Map<String, Value> = [
                    ("name".to_string(), json!(n)),
                    ("description".to_string(), json!(d)),
                ]
                .into_iter()
                .collect();
                Value::Object(listing::select_fields(obj, &fields))
            })
            .collect()
    };
    let filter = |items: Vec<(&'static str, &'static str)>| -> Vec<(&'static str, &'static str)> {
        items
            .into_iter()
            .filter(|(n, d)| {
                req.query.get("name").is_none_or(|w| w == *n)
                    && req.query.get("description").is_none_or(|w| w == *d)
            })
            .collect()
    };
    match rest {
        [] => {
            authorize_own(req, Rule::Read)?;
            Ok(axum::Json(json!({"providers": list(PROVIDERS.to_vec())})).into_response())
        }
        [provider, what @ ("flavor_capabilities" | "availability_zone_capabilities")] => {
            authorize_own(req, Rule::Admin)?;
            if !PROVIDERS.iter().any(|(n, _)| n == provider) {
                return Err(ApiError::bad_request(format!(
                    "Provider '{provider}' is not enabled."
                )));
            }
            let items = if *what == "flavor_capabilities" {
                flavor_capabilities(provider)
            } else {
                az_capabilities(provider)
            };
            Ok(axum::Json(json!({ *what: list(filter(items)) })).into_response())
        }
        _ => Err(ApiError::no_route()),
    }
}

/// The provider's check of a flavor/AZ profile's data document.
fn validate_profile_data(
    provider: &str,
    field: &str,
    data: &str,
    allowed: &[(&str, &str)],
) -> ApiResult<()> {
    if !PROVIDERS.iter().any(|(n, _)| *n == provider) {
        return Err(ApiError::bad_request(format!(
            "Provider '{provider}' is not enabled."
        )));
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(data) else {
        return Err(ApiError::invalid_option(data, field));
    };
    if provider != "noop_driver" {
        if let Some(key) = map.keys().find(|k| !allowed.iter().any(|(a, _)| a == k)) {
            return Err(ApiError::unsupported_option(
                provider,
                &format!("Additional properties are not allowed ('{key}' was unexpected)"),
            ));
        }
    }
    Ok(())
}

/// Which standalone collection a path names, with its POST/PUT specs and WSME names.
struct Collection {
    post: &'static front::schema::Spec,
    put: &'static front::schema::Spec,
    argname: &'static str,
    /// The attribute naming the profile (flavors, zones), and the profile's kind.
    profile: Option<(&'static str, Kind)>,
}

fn collection(kind: Kind) -> Collection {
    match kind {
        Kind::Flavor => Collection {
            post: &specs::FLAVOR_POST,
            put: &specs::FLAVOR_PUT,
            argname: "flavor_",
            profile: Some(("flavor_profile_id", Kind::FlavorProfile)),
        },
        Kind::FlavorProfile => Collection {
            post: &specs::FLAVORPROFILE_POST,
            put: &specs::FLAVORPROFILE_PUT,
            argname: "flavor_profile_",
            profile: None,
        },
        Kind::AvailabilityZone => Collection {
            post: &specs::AZ_POST,
            put: &specs::AZ_PUT,
            argname: "availability_zone_",
            profile: Some((
                "availability_zone_profile_id",
                Kind::AvailabilityZoneProfile,
            )),
        },
        _ => Collection {
            post: &specs::AZPROFILE_POST,
            put: &specs::AZPROFILE_PUT,
            argname: "availability_zone_profile_",
            profile: None,
        },
    }
}

fn check_data(kind: Kind, attrs: &Map<String, Value>) -> ApiResult<()> {
    let provider = attrs
        .get("provider_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        Kind::FlavorProfile => validate_profile_data(
            provider,
            "flavor_data",
            attrs
                .get("flavor_data")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            &flavor_capabilities(provider),
        ),
        Kind::AvailabilityZoneProfile => validate_profile_data(
            provider,
            "availability_zone_data",
            attrs
                .get("availability_zone_data")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            &az_capabilities(provider),
        ),
        _ => Ok(()),
    }
}

/// Is the object referenced (profiles by flavors/zones, flavors/zones by load balancers)?
async fn in_use(tx: &mut WriteTx, kind: Kind, id: &str) -> ApiResult<bool> {
    let (user, attr) = match kind {
        Kind::Flavor => (Kind::LoadBalancer, "flavor_id"),
        Kind::AvailabilityZone => (Kind::LoadBalancer, "availability_zone"),
        Kind::FlavorProfile => (Kind::Flavor, "flavor_profile_id"),
        _ => (Kind::AvailabilityZone, "availability_zone_profile_id"),
    };
    Ok(tx
        .list(user)
        .await?
        .iter()
        .any(|r| r.str(attr) == Some(id) && r.provisioning_status != DELETED))
}

pub async fn standalone(
    state: &AppState,
    req: &Req,
    kind: Kind,
    rest: &[&str],
) -> ApiResult<Response> {
    let c = collection(kind);
    let writes_admin = matches!(req.method, Method::POST | Method::PUT | Method::DELETE);
    let profile_kind = matches!(kind, Kind::FlavorProfile | Kind::AvailabilityZoneProfile);
    if writes_admin || profile_kind {
        authorize_own(req, Rule::Admin)?;
    } else {
        authorize_own(req, Rule::Read)?;
    }
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let mut rows = state.core.store.list(kind, None).await?;
            // Octavia's default order is (created_at, id) where the model has them: these
            // have no created_at, so id; zones are keyed by name and keep insertion order.
            if kind != Kind::AvailabilityZone {
                rows.sort_by(|a, b| a.id.cmp(&b.id));
            }
            let objects = rows.iter().map(render::standalone).collect();
            let body = listing::respond(
                objects,
                &[],
                &req.query,
                kind.plural(),
                Some(kind.links_key()),
                &req.url,
                state.config.max_limit,
            )?;
            Ok(axum::Json(body).into_response())
        }
        (&Method::GET, [id]) => {
            let r = get_standalone(state, kind, id).await?;
            Ok(one(
                kind,
                render::standalone(&r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::POST, []) => {
            let mut attrs = decode(&req.body, c.argname, kind.singular(), c.post)?;
            let mut tx = state.core.store.begin().await?;
            let name = attrs
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let named = matches!(kind, Kind::Flavor | Kind::AvailabilityZone);
            if named
                && tx
                    .list(kind)
                    .await?
                    .iter()
                    .any(|r| r.str("name") == Some(&name))
            {
                let noun = if kind == Kind::Flavor {
                    "flavor"
                } else {
                    "availability zone"
                };
                return Err(ApiError::conflict(format!(
                    "A {noun} of {name} already exists."
                )));
            }
            if let Some((attr, profile)) = c.profile {
                let pid = attrs
                    .get(attr)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if tx.get(profile, &pid).await?.is_none() {
                    return Err(ApiError::not_found(profile, &pid));
                }
            }
            check_data(kind, &attrs)?;
            if attrs.contains_key("enabled")
                || matches!(kind, Kind::Flavor | Kind::AvailabilityZone)
            {
                default_admin(&mut attrs, "enabled");
            }
            if matches!(kind, Kind::Flavor | Kind::AvailabilityZone) {
                default_attr(&mut attrs, "description", Value::Null);
            }
            let id = if kind == Kind::AvailabilityZone {
                name
            } else {
                new_id()
            };
            let mut r = Resource::new(kind, id);
            r.provisioning_status = ACTIVE.into();
            r.operating_status = ONLINE.into();
            r.attrs = attrs;
            tx.put(&r).await?;
            tx.commit().await?;
            Ok(one(
                kind,
                render::standalone(&r),
                &req.query,
                StatusCode::CREATED,
            ))
        }
        (&Method::PUT, [id]) => {
            let update = decode(&req.body, c.argname, kind.singular(), c.put)?;
            let mut tx = state.core.store.begin().await?;
            let mut r = tx
                .get(kind, id)
                .await?
                .filter(|_| valid_key(kind, id))
                .ok_or_else(|| ApiError::not_found(kind, id))?;
            if profile_kind {
                if let Some((key, _)) = update.iter().find(|(_, v)| v.is_null()) {
                    return Err(ApiError::invalid_option("None", key));
                }
                let changes_data = update.contains_key("provider_name")
                    || update.keys().any(|k| k.ends_with("_data"));
                if changes_data && in_use(&mut tx, kind, id).await? {
                    return Err(ApiError::conflict(format!(
                        "{} {id} is in use and cannot be modified.",
                        kind.display_name()
                    )));
                }
            }
            if kind == Kind::Flavor {
                if let Some(name) = update.get("name").and_then(Value::as_str) {
                    if tx
                        .list(kind)
                        .await?
                        .iter()
                        .any(|o| o.id != *id && o.str("name") == Some(name))
                    {
                        return Err(ApiError::conflict(format!(
                            "A flavor of {name} already exists."
                        )));
                    }
                }
            }
            apply_update(&mut r, &update, &[("enabled", json!(false))]);
            check_data(kind, &r.attrs)?;
            tx.put(&r).await?;
            tx.commit().await?;
            Ok(one(
                kind,
                render::standalone(&r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::DELETE, [id]) => {
            let mut tx = state.core.store.begin().await?;
            if tx
                .get(kind, id)
                .await?
                .filter(|_| valid_key(kind, id))
                .is_none()
            {
                return Err(ApiError::not_found(kind, id));
            }
            if in_use(&mut tx, kind, id).await? {
                return Err(ApiError::conflict(format!(
                    "{} {id} is in use and cannot be modified.",
                    kind.display_name()
                )));
            }
            tx.delete(id).await?;
            tx.commit().await?;
            Ok(no_content())
        }
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

fn valid_key(kind: Kind, id: &str) -> bool {
    kind == Kind::AvailabilityZone || (is_uuid(id) && id != "00000000-0000-0000-0000-000000000000")
}

async fn get_standalone(state: &AppState, kind: Kind, id: &str) -> ApiResult<Resource> {
    if !valid_key(kind, id) {
        return Err(ApiError::not_found(kind, id));
    }
    state
        .core
        .store
        .get(kind, id)
        .await?
        .ok_or_else(|| ApiError::not_found(kind, id))
}

pub async fn amphorae(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    authorize_own(req, Rule::Admin)?;
    let live = |r: &Resource| r.provisioning_status != DELETED;
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let objects = state
                .core
                .store
                .list(Kind::Amphora, None)
                .await?
                .iter()
                .filter(|r| live(r))
                .map(render::standalone)
                .collect();
            let body = listing::respond(
                objects,
                &[],
                &req.query,
                "amphorae",
                Some("amphorae_links"),
                &req.url,
                state.config.max_limit,
            )?;
            Ok(axum::Json(body).into_response())
        }
        (&Method::GET, [id]) => {
            let r = get_standalone(state, Kind::Amphora, id).await?;
            if !live(&r) {
                return Err(ApiError::not_found(Kind::Amphora, id));
            }
            Ok(one(
                Kind::Amphora,
                render::standalone(&r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::GET, [id, "stats"]) => {
            let r = get_standalone(state, Kind::Amphora, id).await?;
            let lb = r.lb_id.clone().unwrap_or_default();
            let items: Vec<Value> = state
                .core
                .store
                .amphora_stats(&r.id)
                .await?
                .into_iter()
                .map(|(listener, s)| {
                    json!({"id": r.id, "listener_id": listener, "loadbalancer_id": lb,
                        "active_connections": s.active_connections, "bytes_in": s.bytes_in,
                        "bytes_out": s.bytes_out, "request_errors": s.request_errors,
                        "total_connections": s.total_connections})
                })
                .collect();
            if items.is_empty() {
                return Err(ApiError::not_found_named("Amphora stats for", id));
            }
            Ok(axum::Json(json!({"amphora_stats": items})).into_response())
        }
        (&Method::PUT, [id, "config"]) => {
            let r = get_standalone(state, Kind::Amphora, id).await?;
            if !live(&r) {
                return Err(ApiError::not_found(Kind::Amphora, id));
            }
            let lb = r.lb_id.clone().unwrap_or_default();
            let mut tx = state.core.store.begin().await?;
            let Some(tree) = tx.tree(&lb).await? else {
                return Err(ApiError::not_found(Kind::Amphora, id));
            };
            commit_job(state, tx, &tree, JobAction::Configure, Kind::Amphora, id).await?;
            Ok(accepted())
        }
        (&Method::PUT, [id, "failover"]) => {
            let r = get_standalone(state, Kind::Amphora, id).await?;
            let lb = r.lb_id.clone().unwrap_or_default();
            let mut tx = state.core.store.begin().await?;
            let Some(mut tree) = tx.tree(&lb).await? else {
                return Err(ApiError::not_found(Kind::Amphora, id));
            };
            if tree.lb().provisioning_status != ACTIVE {
                return Err(ApiError::immutable(Kind::LoadBalancer, &lb));
            }
            tree.lb_mut().set_status(PENDING_UPDATE);
            commit_job(state, tx, &tree, JobAction::Failover, Kind::Amphora, id).await?;
            Ok(accepted())
        }
        (&Method::DELETE, [id]) => {
            let r = get_standalone(state, Kind::Amphora, id).await?;
            if r.provisioning_status != ERROR {
                return Err(ApiError::conflict(format!(
                    "amphora {id} is immutable and cannot be updated."
                )));
            }
            let mut tx = state.core.store.begin().await?;
            tx.delete(id).await?;
            tx.commit().await?;
            Ok(no_content())
        }
        _ => Err(ApiError::no_route()),
    }
}
