//! `/v2/lbaas/pools/{pool_id}/members`, including the batch update.

use super::flow::{self, answer, change, Change};
use super::*;
use crate::specs;
use front::schema::{decode, decode_list};
use front::Rule;
use std::net::IpAddr;

const RESERVED_IPS: &[&str] = &["169.254.169.254"];

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
pub fn prepare(tree: &Tree, pool_id: &str, mut attrs: Map<String, Value>) -> ApiResult<Resource> {
    body_project(&mut attrs);
    let address = attrs
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if RESERVED_IPS.contains(&address.as_str()) {
        return Err(ApiError::invalid_option(&address, "member address"));
    }
    let port = attrs
        .get("protocol_port")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let same = |m: &Resource| {
        let ip = |s: Option<&str>| s.and_then(|s| s.parse::<IpAddr>().ok());
        ip(m.str("address")) == ip(Some(&address)) && m.int("protocol_port") == Some(port)
    };
    if tree.children(Kind::Member, pool_id).any(same) {
        return Err(ApiError::conflict(format!(
            "Another member on this pool is already using ip {address} on protocol_port {port}"
        )));
    }
    if attrs.get("request_sriov").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::bad_request(
            "The load balancer flavor does not allow SR-IOV member ports.",
        ));
    }
    attrs.remove("request_sriov");
    default_admin(&mut attrs, "admin_state_up");
    default_attr(&mut attrs, "weight", json!(1));
    default_attr(&mut attrs, "backup", json!(false));
    for key in ["subnet_id", "monitor_address", "monitor_port"] {
        default_attr(&mut attrs, key, Value::Null);
    }
    default_tags(&mut attrs);
    attrs.insert("vnic_type".into(), json!("normal"));
    let operating = if tree.pool_monitor(pool_id).is_some() {
        OFFLINE
    } else {
        NO_MONITOR
    };
    Ok(new_child(Kind::Member, tree, pool_id, attrs, operating))
}

/// Subnets named by members must exist (in the built-in network service).
async fn check_subnet(
    state: &AppState,
    tx: &mut WriteTx,
    attrs: &Map<String, Value>,
) -> ApiResult<()> {
    if state.config.network_driver == crate::NetworkDriver::Noop {
        return Ok(());
    }
    if let Some(subnet) = attrs.get("subnet_id").and_then(Value::as_str) {
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
    if pool.provisioning_status != ACTIVE {
        return Err(ApiError::immutable(Kind::Pool, pool_id));
    }
    lock_lb_for_child(tree)?;
    let mut ids = tree.pool_listeners(pool_id);
    ids.push(pool_id.to_string());
    mark_pending(tree, &ids);
    Ok(())
}

async fn create(state: &AppState, req: &Req, pool_id: &str) -> ApiResult<Response> {
    let attrs = decode(&req.body, "member_", "member", &specs::MEMBER_POST)?;
    let mut open = flow::open(
        state,
        req,
        Change::create(Kind::Member, Kind::Pool, pool_id),
    )
    .await?;
    check_subnet(state, &mut open.tx, &attrs).await?;
    let (tree, member) = open
        .finish(state, |tree| {
            let member = prepare(tree, pool_id, attrs)?;
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

const NULL_DEFAULTS: fn() -> Vec<(&'static str, Value)> = || {
    vec![
        ("weight", json!(1)),
        ("backup", json!(false)),
        ("tags", json!([])),
        ("admin_state_up", json!(false)),
    ]
};

async fn update(state: &AppState, req: &Req, pool_id: &str, id: &str) -> ApiResult<Response> {
    let update = decode(&req.body, "member_", "member", &specs::MEMBER_PUT)?;
    let c = Change::update(Kind::Member, id).through(Kind::Pool, pool_id);
    let (tree, member) = change(state, req, c, |tree| {
        let mut member = member_of(tree, pool_id, id)?;
        lock_pool(tree, pool_id)?;
        apply_update(&mut member, &update, &NULL_DEFAULTS());
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
    let members = decode_list(&req.body, "members_", "members", &specs::MEMBER_POST)?;
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
    let key = |address: Option<&str>, port: Option<i64>| {
        (address.and_then(|a| a.parse::<IpAddr>().ok()), port)
    };
    let existing: Vec<Resource> = tree.children(Kind::Member, pool_id).cloned().collect();
    let mut seen = Vec::new();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for attrs in members {
        let k = key(
            attrs.get("address").and_then(Value::as_str),
            attrs.get("protocol_port").and_then(Value::as_i64),
        );
        if seen.contains(&k) {
            return Err(ApiError::validation(
                "Member must be updated only once in the same request.",
            ));
        }
        seen.push(k);
        match existing
            .iter()
            .find(|m| key(m.str("address"), m.int("protocol_port")) == k)
        {
            Some(m) => updates.push((m.id.clone(), attrs)),
            None => creates.push(attrs),
        }
    }
    let deletes: Vec<String> = if additive {
        Vec::new()
    } else {
        existing
            .iter()
            .filter(|m| !seen.contains(&key(m.str("address"), m.int("protocol_port"))))
            .map(|m| m.id.clone())
            .collect()
    };
    let changed_updates: Vec<(String, Map<String, Value>)> = updates
        .into_iter()
        .filter(|(id, attrs)| {
            let m = tree.get(id).expect("existing");
            [
                "name",
                "admin_state_up",
                "weight",
                "backup",
                "monitor_port",
                "monitor_address",
                "tags",
            ]
            .iter()
            .any(|k| attrs.get(*k).map(|v| v != m.get(k)).unwrap_or(false))
        })
        .collect();
    if creates.is_empty() && deletes.is_empty() && changed_updates.is_empty() {
        return Ok(accepted());
    }
    let project = tree.lb().project_id.clone().unwrap_or_default();
    for attrs in &creates {
        check_subnet(state, &mut open.tx, attrs).await?;
    }
    let net_new = creates.len() as i64 - deletes.len() as i64;
    if net_new > 0 {
        check_quota(state, &mut open.tx, Kind::Member, &project, net_new).await?;
    }
    open.finish(state, |tree| {
        lock_pool(tree, pool_id)?;
        apply_batch(tree, pool_id, creates, changed_updates, deletes)
    })
    .await?;
    Ok(accepted())
}

fn apply_batch(
    tree: &mut Tree,
    pool_id: &str,
    creates: Vec<Map<String, Value>>,
    changed_updates: Vec<(String, Map<String, Value>)>,
    deletes: Vec<String>,
) -> ApiResult<Resource> {
    for attrs in creates {
        let member = prepare(tree, pool_id, attrs)?;
        tree.insert(member);
    }
    for (id, attrs) in changed_updates {
        let m = tree.get_mut(&id).expect("existing");
        let mut attrs = attrs;
        for k in [
            "address",
            "protocol_port",
            "subnet_id",
            "request_sriov",
            "project_id",
        ] {
            attrs.remove(k);
        }
        apply_update(m, &attrs, &NULL_DEFAULTS());
        m.set_status(PENDING_UPDATE);
    }
    for id in deletes {
        tree.get_mut(&id)
            .expect("existing")
            .set_status(PENDING_DELETE);
    }
    Ok(tree.get(pool_id).cloned().expect("found with its tree"))
}
