//! Objects as Octavia renders them: the typed attributes serialised with their wire names,
//! laid out in the order of Octavia's response types, with derived references
//! (`listeners`, `pools`, `members`, …) and `tenant_id` beside `project_id`.

use model::{Amphora, HealthMonitor, Kind, Member, Resource, Tree};
use serde_json::{json, Map, Value};

fn ids(list: Vec<String>) -> Value {
    Value::Array(list.into_iter().map(|id| json!({ "id": id })).collect())
}

/// Renders an object in the order of Octavia's response types: the columns every object
/// has, `derived` references, and the rest from its attributes.
fn build(
    r: &Resource,
    order: &[&str],
    derived: impl Fn(&str) -> Option<Value>,
) -> Map<String, Value> {
    let Value::Object(mut attrs) = r.body.to_json() else {
        unreachable!("attributes serialise as an object")
    };
    let mut out = Map::new();
    for &key in order {
        let value = match key {
            "id" => Value::String(r.id.clone()),
            "provisioning_status" => json!(r.provisioning_status),
            "operating_status" => json!(r.operating_status),
            "project_id" | "tenant_id" => json!(r.project_id),
            "created_at" => Value::String(r.created_at.clone()),
            "updated_at" => json!(r.updated_at),
            _ => match derived(key) {
                Some(v) => v,
                None => attrs.remove(key).unwrap_or(Value::Null),
            },
        };
        out.insert(key.to_string(), value);
    }
    out
}

const LB_ORDER: &[&str] = &[
    "listeners",
    "pools",
    "id",
    "name",
    "description",
    "provisioning_status",
    "operating_status",
    "admin_state_up",
    "project_id",
    "created_at",
    "updated_at",
    "vip_address",
    "vip_port_id",
    "vip_subnet_id",
    "vip_network_id",
    "vip_sg_ids",
    "additional_vips",
    "provider",
    "flavor_id",
    "vip_qos_policy_id",
    "tags",
    "availability_zone",
    "vip_vnic_type",
    "tenant_id",
];
const LISTENER_ORDER: &[&str] = &[
    "id",
    "name",
    "description",
    "provisioning_status",
    "operating_status",
    "admin_state_up",
    "protocol",
    "protocol_port",
    "connection_limit",
    "default_tls_container_ref",
    "sni_container_refs",
    "project_id",
    "default_pool_id",
    "l7policies",
    "insert_headers",
    "created_at",
    "updated_at",
    "loadbalancers",
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
    "tags",
    "client_ca_tls_container_ref",
    "client_authentication",
    "client_crl_container_ref",
    "allowed_cidrs",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
    "hsts_max_age",
    "hsts_include_subdomains",
    "hsts_preload",
    "tenant_id",
];
const POOL_ORDER: &[&str] = &[
    "id",
    "name",
    "description",
    "provisioning_status",
    "operating_status",
    "admin_state_up",
    "protocol",
    "lb_algorithm",
    "session_persistence",
    "project_id",
    "loadbalancers",
    "listeners",
    "created_at",
    "updated_at",
    "healthmonitor_id",
    "members",
    "tags",
    "tls_container_ref",
    "ca_tls_container_ref",
    "crl_container_ref",
    "tls_enabled",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
    "tenant_id",
];
const MEMBER_ORDER: &[&str] = &[
    "id",
    "name",
    "operating_status",
    "provisioning_status",
    "admin_state_up",
    "address",
    "protocol_port",
    "weight",
    "backup",
    "subnet_id",
    "project_id",
    "created_at",
    "updated_at",
    "monitor_address",
    "monitor_port",
    "tags",
    "vnic_type",
    "tenant_id",
];
const HM_ORDER: &[&str] = &[
    "id",
    "name",
    "type",
    "delay",
    "timeout",
    "max_retries",
    "max_retries_down",
    "http_method",
    "url_path",
    "expected_codes",
    "admin_state_up",
    "project_id",
    "pools",
    "provisioning_status",
    "operating_status",
    "created_at",
    "updated_at",
    "tags",
    "http_version",
    "domain_name",
    "tenant_id",
];
const POLICY_ORDER: &[&str] = &[
    "id",
    "name",
    "description",
    "provisioning_status",
    "operating_status",
    "admin_state_up",
    "project_id",
    "action",
    "listener_id",
    "redirect_pool_id",
    "redirect_url",
    "redirect_prefix",
    "position",
    "rules",
    "created_at",
    "updated_at",
    "tags",
    "redirect_http_code",
    "tenant_id",
];
const RULE_ORDER: &[&str] = &[
    "id",
    "type",
    "compare_type",
    "key",
    "value",
    "invert",
    "provisioning_status",
    "operating_status",
    "created_at",
    "updated_at",
    "project_id",
    "admin_state_up",
    "tags",
    "tenant_id",
];
const FLAVOR_ORDER: &[&str] = &["id", "name", "description", "enabled", "flavor_profile_id"];
const FLAVORPROFILE_ORDER: &[&str] = &["id", "name", "provider_name", "flavor_data"];
const AZ_ORDER: &[&str] = &[
    "name",
    "description",
    "enabled",
    "availability_zone_profile_id",
];
const AZPROFILE_ORDER: &[&str] = &["id", "name", "provider_name", "availability_zone_data"];
const AMPHORA_ORDER: &[&str] = &[
    "id",
    "loadbalancer_id",
    "compute_id",
    "lb_network_ip",
    "vrrp_ip",
    "ha_ip",
    "vrrp_port_id",
    "ha_port_id",
    "cert_expiration",
    "cert_busy",
    "role",
    "status",
    "vrrp_interface",
    "vrrp_id",
    "vrrp_priority",
    "cached_zone",
    "created_at",
    "updated_at",
    "image_id",
    "compute_flavor",
];

/// Renders an object that lives in a load-balancer tree.
pub fn in_tree(tree: &Tree, r: &Resource) -> Map<String, Value> {
    match r.kind() {
        Kind::LoadBalancer => build(r, LB_ORDER, |key| match key {
            "listeners" => Some(ids(tree.child_ids(Kind::Listener, &r.id))),
            "pools" => Some(ids(tree.child_ids(Kind::Pool, &r.id))),
            _ => None,
        }),
        Kind::Listener => build(r, LISTENER_ORDER, |key| match key {
            "l7policies" => Some(ids(tree.policies_in_order(&r.id))),
            "loadbalancers" => Some(ids(vec![tree.lb().id.clone()])),
            _ => None,
        }),
        Kind::Pool => {
            let mut out = build(r, POOL_ORDER, |key| match key {
                "loadbalancers" => Some(ids(vec![tree.lb().id.clone()])),
                "listeners" => Some(ids(tree.pool_listeners(&r.id))),
                "members" => Some(ids(tree.child_ids(Kind::Member, &r.id))),
                "healthmonitor_id" => Some(json!(tree.pool_monitor(&r.id).map(|h| h.id.clone()))),
                _ => None,
            });
            // Octavia leaves `healthmonitor_id` Unset (omitted) when the pool has none.
            if out.get("healthmonitor_id") == Some(&Value::Null) {
                out.remove("healthmonitor_id");
            }
            out
        }
        Kind::Member => build(r, MEMBER_ORDER, |_| None),
        Kind::HealthMonitor => build(r, HM_ORDER, |key| match key {
            "pools" => Some(ids(r.parent_id.clone().into_iter().collect())),
            _ => None,
        }),
        Kind::L7Policy => build(r, POLICY_ORDER, |key| match key {
            "listener_id" => Some(json!(r.parent_id)),
            "rules" => Some(ids(tree.child_ids(Kind::L7Rule, &r.id))),
            _ => None,
        }),
        Kind::L7Rule => build(r, RULE_ORDER, |_| None),
        _ => standalone(r),
    }
}

/// Renders a flavor, zone or profile.
pub fn standalone(r: &Resource) -> Map<String, Value> {
    let order = match r.kind() {
        Kind::Flavor => FLAVOR_ORDER,
        Kind::FlavorProfile => FLAVORPROFILE_ORDER,
        Kind::AvailabilityZone => AZ_ORDER,
        _ => AZPROFILE_ORDER,
    };
    build(r, order, |_| None)
}

/// Renders an amphora record as Octavia's admin API shows it.
pub fn amphora(a: &Amphora) -> Map<String, Value> {
    let Value::Object(mut details) = json!(a.details) else {
        unreachable!("amphora details serialise as an object")
    };
    AMPHORA_ORDER
        .iter()
        .map(|&key| {
            let value = match key {
                "id" => json!(a.id),
                "loadbalancer_id" => json!(a.lb_id),
                "status" => json!(a.status),
                "created_at" => json!(a.created_at),
                "updated_at" => json!(a.updated_at),
                _ => details.remove(key).unwrap_or(Value::Null),
            };
            (key.to_string(), value)
        })
        .collect()
}

/// The fully populated graph returned by a load-balancer POST: children as whole objects,
/// without the back-references Octavia leaves out inside the graph.
pub fn full_graph(tree: &Tree) -> Map<String, Value> {
    let lb = tree.lb();
    let mut out = in_tree(tree, lb);
    let listeners: Vec<Value> = tree
        .children(Kind::Listener, &lb.id)
        .map(|l| {
            let mut obj = in_tree(tree, l);
            obj.remove("loadbalancers");
            let policies: Vec<Value> = tree
                .children(Kind::L7Policy, &l.id)
                .map(|p| {
                    let mut pol = in_tree(tree, p);
                    let rules: Vec<Value> = tree
                        .children(Kind::L7Rule, &p.id)
                        .map(|rule| Value::Object(in_tree(tree, rule)))
                        .collect();
                    pol.insert("rules".into(), Value::Array(rules));
                    Value::Object(pol)
                })
                .collect();
            obj.insert("l7policies".into(), Value::Array(policies));
            Value::Object(obj)
        })
        .collect();
    let pools: Vec<Value> = tree
        .children(Kind::Pool, &lb.id)
        .map(|p| {
            let mut obj = in_tree(tree, p);
            obj.remove("loadbalancers");
            obj.remove("healthmonitor_id");
            let members: Vec<Value> = tree
                .children(Kind::Member, &p.id)
                .map(|m| Value::Object(in_tree(tree, m)))
                .collect();
            obj.insert("members".into(), Value::Array(members));
            let hm = tree.pool_monitor(&p.id).map(|h| {
                let mut hm = in_tree(tree, h);
                hm.remove("pools");
                Value::Object(hm)
            });
            obj.insert("healthmonitor".into(), hm.unwrap_or(Value::Null));
            Value::Object(obj)
        })
        .collect();
    out.insert("listeners".into(), Value::Array(listeners));
    out.insert("pools".into(), Value::Array(pools));
    out
}

/// The `/status` tree (reference §4.1).
pub fn status_tree(tree: &Tree) -> Value {
    let lb = tree.lb();
    let name = |r: &Resource| json!(r.body.name());
    let listeners: Vec<Value> = tree
        .children(Kind::Listener, &lb.id)
        .map(|l| {
            let pools: Vec<Value> = tree
                .listener_pools(&l.id)
                .iter()
                .filter_map(|id| tree.get_kind(Kind::Pool, id))
                .map(|p| {
                    let members: Vec<Value> = tree
                        .children(Kind::Member, &p.id)
                        .map(|m| {
                            let member = m.get::<Member>();
                            json!({"id": m.id, "name": name(m), "operating_status": m.operating_status,
                                   "provisioning_status": m.provisioning_status,
                                   "address": member.map(|x| &x.address),
                                   "protocol_port": member.map(|x| x.protocol_port)})
                        })
                        .collect();
                    let mut pool = json!({"id": p.id, "name": name(p),
                        "provisioning_status": p.provisioning_status,
                        "operating_status": p.operating_status});
                    if let Some(h) = tree.pool_monitor(&p.id) {
                        let kind = h.get::<HealthMonitor>().map(|x| x.kind);
                        pool["health_monitor"] = json!({"id": h.id, "name": name(h), "type": kind,
                            "provisioning_status": h.provisioning_status,
                            "operating_status": h.operating_status});
                    }
                    pool["members"] = Value::Array(members);
                    pool
                })
                .collect();
            json!({"id": l.id, "name": name(l), "operating_status": l.operating_status,
                   "provisioning_status": l.provisioning_status, "pools": pools})
        })
        .collect();
    json!({"statuses": {"loadbalancer": {"id": lb.id, "name": name(lb),
        "operating_status": lb.operating_status, "provisioning_status": lb.provisioning_status,
        "listeners": listeners}}})
}
