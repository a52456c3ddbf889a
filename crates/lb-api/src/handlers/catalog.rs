//! What an operator offers outside load-balancer trees: flavors, availability zones and
//! their provider profiles. Administrators write them; any project reads flavors and zones.

use super::admin::authorize_own;
use super::providers::{self, az_capabilities, flavor_capabilities, Capability};
use super::*;
use crate::specs;
use front::schema::{decode_as, Spec};
use model::resource::{
    AvailabilityZoneCreate, AvailabilityZonePatch, FlavorCreate, FlavorPatch, ProfileCreate,
    ProfilePatch,
};
use model::{
    AvailabilityZone, AvailabilityZoneProfile, Body, Flavor, FlavorProfile, Patch, Provider,
};

/// A collection's WSME argument name and its POST and PUT specs.
fn bodies(kind: Kind) -> (&'static str, &'static Spec, &'static Spec) {
    match kind {
        Kind::Flavor => ("flavor_", &specs::FLAVOR_POST, &specs::FLAVOR_PUT),
        Kind::FlavorProfile => (
            "flavor_profile_",
            &specs::FLAVORPROFILE_POST,
            &specs::FLAVORPROFILE_PUT,
        ),
        Kind::AvailabilityZone => ("availability_zone_", &specs::AZ_POST, &specs::AZ_PUT),
        _ => (
            "availability_zone_profile_",
            &specs::AZPROFILE_POST,
            &specs::AZPROFILE_PUT,
        ),
    }
}

/// The provider's check of a profile's data document: a JSON object naming only the
/// capabilities the provider has (the noop driver takes any).
fn profile_data(
    provider_name: &str,
    field: &str,
    data: &str,
    capabilities: fn(Provider) -> Vec<Capability>,
) -> ApiResult<()> {
    let provider = providers::enabled(provider_name)?;
    let Ok(Value::Object(document)) = serde_json::from_str::<Value>(data) else {
        return Err(ApiError::invalid_option(data, field));
    };
    if provider == Provider::NoopDriver {
        return Ok(());
    }
    super::validate::profile_document(&document, &capabilities(provider))
        .map_err(|message| ApiError::unsupported_option(provider_name, &message))
}

fn check_profile(body: &Body) -> ApiResult<()> {
    match body {
        Body::FlavorProfile(p) => profile_data(
            &p.provider_name,
            "flavor_data",
            &p.flavor_data,
            flavor_capabilities,
        ),
        Body::AvailabilityZoneProfile(p) => profile_data(
            &p.provider_name,
            "availability_zone_data",
            &p.availability_zone_data,
            az_capabilities,
        ),
        _ => Ok(()),
    }
}

/// Is the object referenced (profiles by flavors/zones, flavors/zones by load balancers)?
async fn in_use(tx: &mut WriteTx, kind: Kind, id: &str) -> ApiResult<bool> {
    let user = match kind {
        Kind::Flavor | Kind::AvailabilityZone => Kind::LoadBalancer,
        Kind::FlavorProfile => Kind::Flavor,
        _ => Kind::AvailabilityZone,
    };
    let uses = |r: &Resource| match (&r.body, kind) {
        (Body::LoadBalancer(lb), Kind::Flavor) => lb.flavor_id.as_deref() == Some(id),
        (Body::LoadBalancer(lb), _) => lb.availability_zone.as_deref() == Some(id),
        (Body::Flavor(f), _) => f.flavor_profile_id == id,
        (Body::AvailabilityZone(z), _) => z.availability_zone_profile_id == id,
        _ => false,
    };
    Ok(tx
        .list(user)
        .await?
        .iter()
        .any(|r| uses(r) && r.provisioning_status != ProvisioningStatus::Deleted))
}

fn name_of(r: &Resource) -> Option<&str> {
    match &r.body {
        Body::Flavor(f) => Some(&f.name),
        Body::AvailabilityZone(z) => Some(&z.name),
        _ => None,
    }
}

/// A flavor's or zone's name is unique among its kind.
async fn unique_name(tx: &mut WriteTx, kind: Kind, name: &str, other_than: &str) -> ApiResult<()> {
    let taken = tx
        .list(kind)
        .await?
        .iter()
        .any(|r| r.id != other_than && name_of(r) == Some(name));
    if taken {
        let noun = if kind == Kind::Flavor {
            "flavor"
        } else {
            "availability zone"
        };
        return Err(ApiError::conflict(format!(
            "A {noun} of {name} already exists."
        )));
    }
    Ok(())
}

async fn profile_exists(tx: &mut WriteTx, kind: Kind, id: &str) -> ApiResult<()> {
    match tx.get(kind, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(kind, id)),
    }
}

fn in_use_error(kind: Kind, id: &str) -> ApiError {
    ApiError::conflict(format!(
        "{} {id} is in use and cannot be modified.",
        kind.display_name()
    ))
}

pub async fn route(state: &AppState, req: &Req, kind: Kind, rest: &[&str]) -> ApiResult<Response> {
    let writes = matches!(req.method, Method::POST | Method::PUT | Method::DELETE);
    let profile_kind = matches!(kind, Kind::FlavorProfile | Kind::AvailabilityZoneProfile);
    if writes || profile_kind {
        authorize_own(req, Rule::Admin)?;
    } else {
        authorize_own(req, Rule::Read)?;
    }
    match (&req.method, rest) {
        (&Method::GET, []) => list(state, req, kind).await,
        (&Method::GET, [id]) => {
            let r = get(state, kind, id).await?;
            Ok(one(
                kind,
                render::standalone(&r),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::POST, []) => create(state, req, kind).await,
        (&Method::PUT, [id]) => update(state, req, kind, id).await,
        (&Method::DELETE, [id]) => delete(state, kind, id).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

async fn list(state: &AppState, req: &Req, kind: Kind) -> ApiResult<Response> {
    let mut rows = state.core.store.list(kind, None).await?;
    // Octavia's default order is (created_at, id) where the model has them: these have no
    // created_at, so id; zones are keyed by name and keep insertion order.
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

async fn create(state: &AppState, req: &Req, kind: Kind) -> ApiResult<Response> {
    let (argname, post, _) = bodies(kind);
    let envelope = kind.singular();
    let mut tx = state.core.store.begin().await?;
    let (id, body) = match kind {
        Kind::Flavor => {
            let body: FlavorCreate = decode_as(&req.body, argname, envelope, post)?;
            unique_name(&mut tx, kind, &body.name, "").await?;
            profile_exists(&mut tx, Kind::FlavorProfile, &body.flavor_profile_id).await?;
            (new_id(), Body::Flavor(Flavor::create(body)))
        }
        Kind::AvailabilityZone => {
            let body: AvailabilityZoneCreate = decode_as(&req.body, argname, envelope, post)?;
            unique_name(&mut tx, kind, &body.name, "").await?;
            let profile = &body.availability_zone_profile_id;
            profile_exists(&mut tx, Kind::AvailabilityZoneProfile, profile).await?;
            (
                body.name.clone(),
                Body::AvailabilityZone(AvailabilityZone::create(body)),
            )
        }
        Kind::FlavorProfile => {
            let p: ProfileCreate = decode_as(&req.body, argname, envelope, post)?;
            let body = Body::FlavorProfile(FlavorProfile {
                name: p.name,
                provider_name: p.provider_name,
                flavor_data: p.data,
            });
            (new_id(), body)
        }
        _ => {
            let p: ProfileCreate = decode_as(&req.body, argname, envelope, post)?;
            let body = Body::AvailabilityZoneProfile(AvailabilityZoneProfile {
                name: p.name,
                provider_name: p.provider_name,
                availability_zone_data: p.data,
            });
            (new_id(), body)
        }
    };
    check_profile(&body)?;
    let r = Resource::new(
        id,
        body,
        ProvisioningStatus::Active,
        OperatingStatus::Online,
    );
    tx.put(&r).await?;
    tx.commit().await?;
    Ok(one(
        kind,
        render::standalone(&r),
        &req.query,
        StatusCode::CREATED,
    ))
}

/// A catalog PUT, decoded for its kind.
enum CatalogPatch {
    Flavor(FlavorPatch),
    Zone(AvailabilityZonePatch),
    Profile(ProfilePatch),
}

async fn update(state: &AppState, req: &Req, kind: Kind, id: &str) -> ApiResult<Response> {
    let (argname, _, put) = bodies(kind);
    let envelope = kind.singular();
    let patch = match kind {
        Kind::Flavor => CatalogPatch::Flavor(decode_as(&req.body, argname, envelope, put)?),
        Kind::AvailabilityZone => CatalogPatch::Zone(decode_as(&req.body, argname, envelope, put)?),
        _ => CatalogPatch::Profile(decode_as(&req.body, argname, envelope, put)?),
    };
    let mut tx = state.core.store.begin().await?;
    let mut r = tx
        .get(kind, id)
        .await?
        .filter(|_| valid_key(kind, id))
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    match (&mut r.body, patch) {
        (Body::Flavor(flavor), CatalogPatch::Flavor(patch)) => {
            if let Some(name) = patch.name.value() {
                unique_name(&mut tx, kind, name, id).await?;
            }
            flavor.update(patch);
        }
        (Body::AvailabilityZone(zone), CatalogPatch::Zone(patch)) => zone.update(patch),
        (body, CatalogPatch::Profile(patch)) => {
            let data_key = if kind == Kind::FlavorProfile {
                "flavor_data"
            } else {
                "availability_zone_data"
            };
            for (key, null) in [
                ("name", patch.name.is_null()),
                ("provider_name", patch.provider_name.is_null()),
                (data_key, patch.data.is_null()),
            ] {
                if null {
                    return Err(ApiError::invalid_option("None", key));
                }
            }
            let changes_data = !patch.provider_name.is_absent() || !patch.data.is_absent();
            if changes_data && in_use(&mut tx, kind, id).await? {
                return Err(in_use_error(kind, id));
            }
            update_profile(body, patch);
        }
        (body, _) => {
            tracing::error!(kind = %body.kind(), "a catalog row of another kind");
            return Err(ApiError::internal());
        }
    }
    check_profile(&r.body)?;
    tx.put(&r).await?;
    tx.commit().await?;
    Ok(one(
        kind,
        render::standalone(&r),
        &req.query,
        StatusCode::OK,
    ))
}

fn update_profile(body: &mut Body, patch: ProfilePatch) {
    let (name, provider, data) = match body {
        Body::FlavorProfile(p) => (&mut p.name, &mut p.provider_name, &mut p.flavor_data),
        Body::AvailabilityZoneProfile(p) => (
            &mut p.name,
            &mut p.provider_name,
            &mut p.availability_zone_data,
        ),
        _ => return,
    };
    for (field, value) in [
        (name, patch.name),
        (provider, patch.provider_name),
        (data, patch.data),
    ] {
        if let Patch::Set(v) = value {
            *field = v;
        }
    }
}

async fn delete(state: &AppState, kind: Kind, id: &str) -> ApiResult<Response> {
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
        return Err(in_use_error(kind, id));
    }
    tx.delete(id).await?;
    tx.commit().await?;
    Ok(no_content())
}

fn valid_key(kind: Kind, id: &str) -> bool {
    kind == Kind::AvailabilityZone || (is_uuid(id) && id != "00000000-0000-0000-0000-000000000000")
}

async fn get(state: &AppState, kind: Kind, id: &str) -> ApiResult<Resource> {
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
