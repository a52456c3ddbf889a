//! `/v2/lbaas/pools/{pool_id}/members`, including the batch update.

use super::flow::{self, answer, change, Change};
use super::*;
use crate::specs;
use front::schema::{decode_as, decode_list_as};
use model::resource::{MemberCreate, MemberPatch};
use model::Member;
use std::net::{IpAddr, Ipv4Addr};

/// The metadata address members may not have.
const RESERVED_IPS: &[IpAddr] = &[IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254))];

pub async fn route(
    state: &AppState,
    req: &Req,
    pool_id: &str,
    rest: &[&str],
) -> ApiResult<Response> {
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let (tree, _) = find(state, Kind::Pool, pool_id).await?;
            authorize_rule(req, &tree, Rule::ReadOrService)?;
            list_tree_kind(state, req, Kind::Member, Some(pool_id)).await
        }
        (&Method::POST, []) => create(state, req, pool_id).await,
        (&Method::PUT, []) => batch(state, req, pool_id).await,
        (&Method::GET, [id]) => {
            let (tree, _) = find(state, Kind::Pool, pool_id).await?;
            authorize(req, &tree)?;
            let member = tree
                .get_kind(Kind::Member, id)
                .filter(|m| m.parent_id.as_deref() == Some(pool_id))
                .ok_or_else(|| ApiError::not_found(Kind::Member, id))?;
            Ok(one(
                Kind::Member,
                render::in_tree(&tree, member),
                &req.query,
                StatusCode::OK,
            ))
        }
        (&Method::PUT, [id]) => update(state, req, pool_id, id).await,
        (&Method::DELETE, [id]) => delete(state, req, pool_id, id).await,
        (_, []) | (_, [_]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::no_route()),
    }
}

/// Builds a new member of `pool_id`.
pub fn prepare(tree: &Tree, pool_id: &str, body: MemberCreate) -> ApiResult<Resource> {
    if RESERVED_IPS.contains(&body.address.ip()) {
        return Err(ApiError::invalid_option(&body.address, "member address"));
    }
    let same = |(_, m): &(&Resource, &Member)| {
        m.address == body.address && m.protocol_port == body.protocol_port
    };
    if tree.children_of::<Member>(pool_id).any(|m| same(&m)) {
        return Err(ApiError::conflict(format!(
            "Another member on this pool is already using ip {} on protocol_port {}",
            body.address, body.protocol_port
        )));
    }
    if body.request_sriov.value() == Some(&true) {
        return Err(ApiError::bad_request(
            "The load balancer flavor does not allow SR-IOV member ports.",
        ));
    }
    let operating = if tree.pool_monitor(pool_id).is_some() {
        OperatingStatus::Offline
    } else {
        OperatingStatus::NoMonitor
    };
    Ok(new_child(tree, pool_id, Member::create(body), operating))
}

/// Subnets named by members must exist (in the built-in network service).
async fn check_subnet(state: &AppState, tx: &mut WriteTx, body: &MemberCreate) -> ApiResult<()> {
    if state.config.network_driver == crate::NetworkDriver::Noop {
        return Ok(());
    }
    if let Some(subnet) = body.subnet_id.value() {
        if tx.subnet(subnet).await?.is_none() {
            return Err(ApiError::bad_request(format!("Subnet {subnet} not found.")));
        }
    }
    Ok(())
}

/// The member lock rule: pool ACTIVE, load balancer ACTIVE → PENDING_UPDATE with the pool's
/// listeners and the pool.
pub fn lock_pool(tree: &mut Tree, pool_id: &str) -> ApiResult<()> {
    let pool = tree
        .get_kind(Kind::Pool, pool_id)
        .ok_or_else(|| ApiError::not_found(Kind::Pool, pool_id))?;
    if pool.provisioning_status != ProvisioningStatus::Active {
        return Err(ApiError::immutable(Kind::Pool, pool_id));
    }
    lock_lb_for_child(tree)?;
    let mut ids = tree.pool_listeners(pool_id);
    ids.push(pool_id.to_string());
    mark_pending(tree, &ids);
    Ok(())
}

async fn create(state: &AppState, req: &Req, pool_id: &str) -> ApiResult<Response> {
    let body: MemberCreate = decode_as(&req.body, "member_", "member", &specs::MEMBER_POST)?;
    let mut open = flow::open(
        state,
        req,
        Change::create(Kind::Member, Kind::Pool, pool_id),
    )
    .await?;
    check_subnet(state, &mut open.tx, &body).await?;
    let (tree, member) = open
        .finish(state, |tree| {
            let member = prepare(tree, pool_id, body)?;
            lock_pool(tree, pool_id)?;
            Ok(flow::insert(tree, member))
        })
        .await?;
    Ok(answer(req, JobAction::Create, &tree, &member))
}

fn member_of(tree: &Tree, pool_id: &str, id: &str) -> ApiResult<Resource> {
    tree.get_kind(Kind::Member, id)
        .filter(|m| m.parent_id.as_deref() == Some(pool_id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(Kind::Member, id))
}

async fn update(state: &AppState, req: &Req, pool_id: &str, id: &str) -> ApiResult<Response> {
    let patch: MemberPatch = decode_as(&req.body, "member_", "member", &specs::MEMBER_PUT)?;
    let c = Change::update(Kind::Member, id).through(Kind::Pool, pool_id);
    let (tree, member) = change(state, req, c, |tree| {
        let mut member = member_of(tree, pool_id, id)?;
        lock_pool(tree, pool_id)?;
        member.get_mut::<Member>().expect("a member").update(patch);
        Ok(flow::replace(tree, member))
    })
    .await?;
    Ok(answer(req, JobAction::Update, &tree, &member))
}

async fn delete(state: &AppState, req: &Req, pool_id: &str, id: &str) -> ApiResult<Response> {
    let c = Change::delete(Kind::Member, id).through(Kind::Pool, pool_id);
    change(state, req, c, |tree| {
        member_of(tree, pool_id, id)?;
        lock_pool(tree, pool_id)?;
        Ok(flow::remove(tree, id))
    })
    .await?;
    Ok(no_content())
}

/// `PUT /pools/{id}/members`: the list becomes the pool's members, matched on
/// (address, protocol_port); with `additive_only` nothing is removed.
async fn batch(state: &AppState, req: &Req, pool_id: &str) -> ApiResult<Response> {
    let members: Vec<MemberCreate> =
        decode_list_as(&req.body, "members_", "members", &specs::MEMBER_POST)?;
    let additive = req
        .query
        .get("additive_only")
        .map(front::listing::bool_from_string)
        .unwrap_or(false);
    // One job for the whole batch, on the pool.
    let c = Change {
        action: JobAction::BatchUpdate,
        ..Change::update(Kind::Pool, pool_id)
    };
    let mut open = flow::open(state, req, c).await?;
    let tree = &open.tree;
    let existing: Vec<(&Resource, &Member)> = tree.children_of::<Member>(pool_id).collect();
    let mut seen = Vec::new();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for body in members {
        let key = (body.address.ip(), body.protocol_port);
        if seen.contains(&key) {
            return Err(ApiError::validation(
                "Member must be updated only once in the same request.",
            ));
        }
        seen.push(key);
        match existing
            .iter()
            .find(|(_, m)| (m.address.ip(), m.protocol_port) == key)
        {
            Some((r, m)) if m.changed_by(&body.patch()) => updates.push((r.id.clone(), body)),
            Some(_) => {}
            None => creates.push(body),
        }
    }
    let deletes: Vec<String> = if additive {
        Vec::new()
    } else {
        existing
            .iter()
            .filter(|(_, m)| !seen.contains(&(m.address.ip(), m.protocol_port)))
            .map(|(r, _)| r.id.clone())
            .collect()
    };
    if creates.is_empty() && deletes.is_empty() && updates.is_empty() {
        return Ok(accepted());
    }
    let project = tree.lb().project_id.clone().unwrap_or_default();
    for body in &creates {
        check_subnet(state, &mut open.tx, body).await?;
    }
    let net_new = creates.len() as i64 - deletes.len() as i64;
    if net_new > 0 {
        check_quota(state, &mut open.tx, Kind::Member, &project, net_new).await?;
    }
    open.finish(state, |tree| {
        lock_pool(tree, pool_id)?;
        apply_batch(tree, pool_id, creates, updates, deletes)
    })
    .await?;
    Ok(accepted())
}

fn apply_batch(
    tree: &mut Tree,
    pool_id: &str,
    creates: Vec<MemberCreate>,
    updates: Vec<(String, MemberCreate)>,
    deletes: Vec<String>,
) -> ApiResult<Resource> {
    for body in creates {
        let member = prepare(tree, pool_id, body)?;
        tree.insert(member);
    }
    for (id, body) in updates {
        let r = tree.get_mut(&id).expect("existing");
        r.get_mut::<Member>()
            .expect("a member")
            .update(body.patch());
        r.set_status(ProvisioningStatus::PendingUpdate);
    }
    for id in deletes {
        tree.get_mut(&id)
            .expect("existing")
            .set_status(ProvisioningStatus::PendingDelete);
    }
    Ok(tree.get(pool_id).cloned().expect("found with its tree"))
}
