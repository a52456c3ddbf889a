//! `/v2/lbaas/loadbalancers`.

use super::flow::{self, answer, change, Change};
use super::*;
use crate::specs;
use crate::vip;
use front::schema::decode;
use front::Rule;

const ENABLED_PROVIDERS: &[&str] = &["amphora", "octavia", "noop_driver"];

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
    let mut attrs = decode(&req.body, "load_balancer", "loadbalancer", &specs::LB_POST)?;
    let project = match attrs.remove("project_id") {
        Some(Value::String(p)) if !p.is_empty() => p,
        _ => req.ctx.project()?.to_string(),
    };
    req.ctx.authorize(Rule::Write, Some(&project))?;
    if ["vip_port_id", "vip_network_id", "vip_subnet_id"]
        .iter()
        .all(|k| attrs.get(*k).map(Value::is_null).unwrap_or(true))
    {
        return Err(ApiError::validation(
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ));
    }
    check_additional_vips(&attrs)?;
    let mut tx = state.core.store.begin().await?;
    let provider = resolve_provider(&mut tx, &attrs).await?;
    if let Some(az) = attrs.get("availability_zone").and_then(Value::as_str) {
        let zone = tx
            .get(Kind::AvailabilityZone, az)
            .await?
            .ok_or_else(|| ApiError::validation("Invalid availability zone."))?;
        if !zone.flag("enabled") {
            return Err(ApiError::bad_request(format!(
                "The selected availability_zone is not allowed in this deployment: {az}"
            )));
        }
    }
    check_quota(state, &mut tx, Kind::LoadBalancer, &project, 1).await?;

    let mut lb = Resource::new(Kind::LoadBalancer, new_id());
    lb.lb_id = Some(lb.id.clone());
    lb.project_id = Some(project.clone());
    lb.provisioning_status = PENDING_CREATE.into();
    lb.operating_status = OFFLINE.into();
    let vip = vip::allocate(
        &mut tx,
        state.config.network_driver,
        &attrs,
        &lb.id,
        &project,
    )
    .await?;
    let additional = allocate_additional(&mut tx, state, &attrs, &vip, &lb.id, &project).await?;
    let listeners = attrs.remove("listeners");
    let pools = attrs.remove("pools");
    default_admin(&mut attrs, "admin_state_up");
    default_tags(&mut attrs);
    for key in ["vip_qos_policy_id", "flavor_id", "availability_zone"] {
        default_attr(&mut attrs, key, Value::Null);
    }
    default_attr(&mut attrs, "vip_sg_ids", json!([]));
    attrs.insert("vip_address".into(), json!(vip.address));
    attrs.insert("vip_port_id".into(), json!(vip.port_id));
    attrs.insert("vip_subnet_id".into(), json!(vip.subnet_id));
    attrs.insert("vip_network_id".into(), json!(vip.network_id));
    attrs.insert("vip_port_owned".into(), json!(vip.owned));
    attrs.insert("additional_vips".into(), Value::Array(additional));
    attrs.insert("provider".into(), json!(provider));
    attrs.insert("vip_vnic_type".into(), json!("normal"));
    attrs.insert("topology".into(), json!("SINGLE"));
    lb.attrs = attrs;
    let mut tree = Tree::from_rows(vec![]);
    tree.insert(lb.clone());
    super::graph::create(state, &mut tx, &mut tree, listeners, pools).await?;
    let id = lb.id.clone();
    commit_job(state, tx, &tree, JobAction::Create, Kind::LoadBalancer, &id).await?;
    Ok(one(
        Kind::LoadBalancer,
        render::full_graph(&tree),
        &req.query,
        StatusCode::CREATED,
    ))
}

async fn resolve_provider(tx: &mut WriteTx, attrs: &Map<String, Value>) -> ApiResult<String> {
    let mut provider = attrs
        .get("provider")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(flavor_id) = attrs.get("flavor_id").and_then(Value::as_str) {
        let flavor = tx
            .get(Kind::Flavor, flavor_id)
            .await?
            .ok_or_else(|| ApiError::validation("Invalid flavor_id."))?;
        if !flavor.flag("enabled") {
            return Err(ApiError::bad_request(format!(
                "The selected flavor is not allowed in this deployment: {flavor_id}"
            )));
        }
        let profile_id = flavor
            .str("flavor_profile_id")
            .unwrap_or_default()
            .to_string();
        if let Some(profile) = tx.get(Kind::FlavorProfile, &profile_id).await? {
            let flavor_provider = profile
                .str("provider_name")
                .unwrap_or("amphora")
                .to_string();
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
    let provider = provider.unwrap_or_else(|| "amphora".to_string());
    if !ENABLED_PROVIDERS.contains(&provider.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Provider '{provider}' is not enabled."
        )));
    }
    Ok(provider)
}

fn check_additional_vips(attrs: &Map<String, Value>) -> ApiResult<()> {
    let Some(Value::Array(vips)) = attrs.get("additional_vips") else {
        return Ok(());
    };
    let mut subnets: Vec<&str> = attrs
        .get("vip_subnet_id")
        .and_then(Value::as_str)
        .into_iter()
        .collect();
    for v in vips {
        let s = v
            .get("subnet_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if subnets.contains(&s) {
            return Err(ApiError::validation(
                "Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet.",
            ));
        }
        subnets.push(s);
    }
    Ok(())
}

async fn allocate_additional(
    tx: &mut WriteTx,
    state: &AppState,
    attrs: &Map<String, Value>,
    primary: &vip::Vip,
    lb_id: &str,
    project: &str,
) -> ApiResult<Vec<Value>> {
    let Some(Value::Array(vips)) = attrs.get("additional_vips") else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for v in vips {
        let mut request = Map::new();
        request.insert(
            "vip_subnet_id".into(),
            v.get("subnet_id").cloned().unwrap_or(Value::Null),
        );
        if let Some(ip) = v.get("ip_address").filter(|ip| !ip.is_null()) {
            request.insert("vip_address".into(), ip.clone());
        }
        let got = vip::allocate(tx, state.config.network_driver, &request, lb_id, project).await?;
        if state.config.network_driver == crate::NetworkDriver::Local
            && got.network_id != primary.network_id
        {
            return Err(ApiError::validation(
                "All VIP subnets must belong to the same network.",
            ));
        }
        out.push(
            json!({"subnet_id": got.subnet_id, "ip_address": got.address, "port_id": got.port_id}),
        );
    }
    Ok(out)
}

async fn update(state: &AppState, req: &Req, id: &str) -> ApiResult<Response> {
    let attrs = decode(&req.body, "load_balancer", "loadbalancer", &specs::LB_PUT)?;
    let (tree, lb) = change(state, req, Change::update(Kind::LoadBalancer, id), |tree| {
        let status = tree.lb().provisioning_status.clone();
        if status != ACTIVE {
            return Err(ApiError::lb_pending(&status, id));
        }
        let mut lb = tree.lb().clone();
        apply_update(
            &mut lb,
            &attrs,
            &[
                ("vip_sg_ids", json!([])),
                ("tags", json!([])),
                ("admin_state_up", json!(false)),
            ],
        );
        Ok(flow::replace(tree, lb))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &lb))
}

/// A delete or failover needs the load balancer settled (ACTIVE or ERROR).
fn settled(tree: &Tree, id: &str) -> ApiResult<()> {
    let status = &tree.lb().provisioning_status;
    if status != ACTIVE && status != ERROR {
        return Err(ApiError::lb_pending(status, id));
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
