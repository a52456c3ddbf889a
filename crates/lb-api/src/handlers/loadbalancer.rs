//! `/v2/lbaas/loadbalancers`.

use super::flow::{self, answer, change, Change};
use super::validate;
use super::*;
use crate::specs;
use crate::vip;
use front::schema::decode_as;
use model::resource::{LoadBalancerCreate, LoadBalancerPatch};
use model::{AdditionalVip, EngineKind, Flavor, FlavorProfile, LoadBalancer, Provider, Topology};

pub async fn route(state: &AppState, req: &Req, rest: &[&str]) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => list_tree_kind(state, req, Kind::LoadBalancer, None).await,
        (&Method::POST, []) => create(state, req).await,
        (&Method::GET, [id]) => show(state, req, id).await,
        (&Method::PUT, [id]) => update(state, req, id).await,
        (&Method::DELETE, [id]) => delete(state, req, id).await,
        (&Method::GET, [id, "status" | "statuses"]) => status(state, req, id).await,
        (&Method::GET, [id, "stats"]) => stats(state, req, id).await,
        (&Method::PUT, [id, "failover"]) => failover(state, req, id).await,
        (_, []) | (_, [_]) | (_, [_, "status" | "statuses" | "stats" | "failover"]) => {
            Err(ApiError::method_not_allowed())
        }
        _ => Err(ApiError::no_route()),
    }
}

async fn show(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let (tree, lb) = find(state, Kind::LoadBalancer, id).await?;
    authorize(req, &tree)?;
    Ok(one(
        Kind::LoadBalancer,
        render::in_tree(&tree, &lb),
        &req.query,
        StatusCode::OK,
    ))
}

async fn create(state: &AppState, req: &Req) -> ApiResult<Response> {
    let mut body: LoadBalancerCreate =
        decode_as(&req.body, "load_balancer", "loadbalancer", &specs::LB_POST)?;
    let project = match body.project_id.value() {
        Some(p) if !p.is_empty() => p.clone(),
        _ => req.ctx.project()?.to_string(),
    };
    req.ctx.authorize(Rule::Write, Some(&project))?;
    let request = vip::VipRequest {
        port_id: body.vip_port_id.value().map(String::as_str),
        network_id: body.vip_network_id.value().map(String::as_str),
        subnet_id: body.vip_subnet_id.value().map(String::as_str),
        address: body.vip_address.value(),
    };
    if request.port_id.is_none() && request.network_id.is_none() && request.subnet_id.is_none() {
        return Err(ApiError::validation(
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ));
    }
    validate::additional_vips(&body)?;
    let mut tx = state.core.store.begin().await?;
    let (provider, choice) = resolve_provider(&mut tx, &body).await?;
    if let (Some(flavor), Some(engine)) = (body.flavor_id.value(), choice.engine) {
        validate::engine_available(flavor, engine, &state.config.unavailable_engines)?;
    }
    if let Some(az) = body.availability_zone.value() {
        let zone = tx
            .get(Kind::AvailabilityZone, az)
            .await?
            .ok_or_else(|| ApiError::validation("Invalid availability zone."))?;
        if !zone.enabled() {
            return Err(ApiError::bad_request(format!(
                "The selected availability_zone is not allowed in this deployment: {az}"
            )));
        }
    }
    check_quota(state, &mut tx, Kind::LoadBalancer, &project, 1).await?;

    let id = new_id();
    let driver = state.config.network_driver;
    let vip = vip::allocate(&mut tx, driver, request, &id, &project).await?;
    let additional = allocate_additional(&mut tx, state, &body, &vip, &id, &project).await?;
    let listeners = std::mem::take(&mut body.listeners).or_else(Vec::new);
    let pools = std::mem::take(&mut body.pools).or_else(Vec::new);
    let lb = LoadBalancer {
        name: body.name.or_else(String::new),
        description: body.description.or_else(String::new),
        admin_state_up: body.admin_state_up.or_by(true, false),
        vip_address: vip.address,
        vip_port_id: vip.port_id,
        vip_subnet_id: vip.subnet_id,
        vip_network_id: vip.network_id,
        vip_qos_policy_id: body.vip_qos_policy_id.into_option(),
        vip_sg_ids: body.vip_sg_ids.or_else(Vec::new),
        additional_vips: additional,
        provider,
        flavor_id: body.flavor_id.into_option(),
        availability_zone: body.availability_zone.into_option(),
        tags: body.tags.or_else(Vec::new),
        vip_port_owned: vip.owned,
        vip_vnic_type: "normal".into(),
        topology: choice.topology,
        engine: choice.engine,
    };
    let mut r = Resource::new(
        id.clone(),
        lb,
        ProvisioningStatus::PendingCreate,
        OperatingStatus::Offline,
    );
    r.lb_id = Some(id.clone());
    r.project_id = Some(project.clone());
    let mut tree = Tree::from_rows(vec![]);
    tree.insert(r);
    super::graph::create(state, &mut tx, &mut tree, listeners, pools).await?;
    commit_job(state, tx, &tree, JobAction::Create, Kind::LoadBalancer, &id).await?;
    Ok(one(
        Kind::LoadBalancer,
        render::full_graph(&tree),
        &req.query,
        StatusCode::CREATED,
    ))
}

/// What a flavor's profile chooses (None: the worker's default).
#[derive(Default)]
struct FlavorChoice {
    topology: Option<Topology>,
    engine: Option<EngineKind>,
}

/// The provider, and what the flavor chooses.
async fn resolve_provider(
    tx: &mut WriteTx,
    body: &LoadBalancerCreate,
) -> ApiResult<(Provider, FlavorChoice)> {
    let mut provider = body.provider.value().cloned();
    let mut choice = FlavorChoice::default();
    if let Some(flavor_id) = body.flavor_id.value() {
        let flavor = tx
            .get(Kind::Flavor, flavor_id)
            .await?
            .ok_or_else(|| ApiError::validation("Invalid flavor_id."))?;
        let Some(flavor) = flavor.get::<Flavor>() else {
            return Err(ApiError::validation("Invalid flavor_id."));
        };
        if !flavor.enabled {
            return Err(ApiError::bad_request(format!(
                "The selected flavor is not allowed in this deployment: {flavor_id}"
            )));
        }
        let profile = tx
            .get(Kind::FlavorProfile, &flavor.flavor_profile_id)
            .await?;
        if let Some(profile) = profile.as_ref().and_then(Resource::get::<FlavorProfile>) {
            // Checked against the provider's schema when the profile was made.
            let data =
                serde_json::from_str::<serde_json::Value>(&profile.flavor_data).unwrap_or_default();
            choice = FlavorChoice {
                topology: data["loadbalancer_topology"]
                    .as_str()
                    .and_then(|t| t.parse().ok()),
                engine: data["engine"].as_str().and_then(|e| e.parse().ok()),
            };
            let flavor_provider = profile.provider_name.clone();
            match &provider {
                Some(p) if *p != flavor_provider => {
                    return Err(ApiError::bad_request(format!(
                        "Flavor '{flavor_id}' is not compatible with provider '{p}'"
                    )))
                }
                _ => provider = Some(flavor_provider),
            }
        }
    }
    let name = provider.unwrap_or_else(|| Provider::Amphora.as_str().to_string());
    let provider = name
        .parse()
        .map_err(|_| ApiError::bad_request(format!("Provider '{name}' is not enabled.")))?;
    Ok((provider, choice))
}

async fn allocate_additional(
    tx: &mut WriteTx,
    state: &AppState,
    body: &LoadBalancerCreate,
    primary: &vip::Vip,
    lb_id: &str,
    project: &str,
) -> ApiResult<Vec<AdditionalVip>> {
    let mut out = Vec::new();
    for v in body.additional_vips.value().into_iter().flatten() {
        let request = vip::VipRequest {
            subnet_id: Some(&v.subnet_id),
            address: v.ip_address.value(),
            ..vip::VipRequest::default()
        };
        let got = vip::allocate(tx, state.config.network_driver, request, lb_id, project).await?;
        if state.config.network_driver == crate::NetworkDriver::Local
            && got.network_id != primary.network_id
        {
            return Err(ApiError::validation(
                "All VIP subnets must belong to the same network.",
            ));
        }
        out.push(AdditionalVip {
            subnet_id: got.subnet_id,
            ip_address: got.address,
            port_id: got.port_id,
        });
    }
    Ok(out)
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let patch: LoadBalancerPatch =
        decode_as(&req.body, "load_balancer", "loadbalancer", &specs::LB_PUT)?;
    let (tree, lb) = change(state, req, Change::update(Kind::LoadBalancer, id), |tree| {
        let status = tree.lb().provisioning_status;
        if status != ProvisioningStatus::Active {
            return Err(ApiError::lb_pending(status.as_str(), id));
        }
        let mut lb = tree.lb().clone();
        lb.get_mut::<LoadBalancer>()
            .expect("a load balancer")
            .update(patch);
        Ok(flow::replace(tree, lb))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &lb))
}

/// A delete or failover needs the load balancer settled (ACTIVE or ERROR).
fn settled(tree: &Tree, id: &str) -> ApiResult<()> {
    let status = tree.lb().provisioning_status;
    if !status.is_settled() {
        return Err(ApiError::lb_pending(status.as_str(), id));
    }
    Ok(())
}

async fn delete(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let cascade = req
        .query
        .get("cascade")
        .map(front::listing::bool_from_string)
        .unwrap_or(false);
    change(state, req, Change::delete(Kind::LoadBalancer, id), |tree| {
        let has_children = tree.of_kind(Kind::Listener).next().is_some()
            || tree.of_kind(Kind::Pool).next().is_some();
        if has_children && !cascade {
            return Err(ApiError::validation(format!(
                "Cannot delete Load Balancer {id} - it has children"
            )));
        }
        settled(tree, id)?;
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}

async fn failover(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let c = Change {
        action: JobAction::Failover,
        rule: Some(Rule::Admin),
        ..Change::update(Kind::LoadBalancer, id)
    };
    change(state, req, c, |tree| {
        settled(tree, id)?;
        Ok(flow::replace(tree, tree.lb().clone()))
    })
    .await?;
    Ok(accepted())
}

async fn status(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let (tree, _) = find(state, Kind::LoadBalancer, id).await?;
    authorize(req, &tree)?;
    Ok(axum::Json(render::status_tree(&tree)).into_response())
}

async fn stats(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let (tree, lb) = find(state, Kind::LoadBalancer, id).await?;
    authorize(req, &tree)?;
    let listeners = tree.child_ids(Kind::Listener, &lb.id);
    super::stats::respond(state, &listeners).await
}
