//! Octavia's operating-status roll-up from one heartbeat (reference §6, `UpdateHealthDb`):
//! listeners from their OPEN/FULL report, pools from UP/DOWN, members from HAProxy's status
//! strings, and the load balancer from all of them, written last. Pure: it returns only
//! the statuses that differ from the tree's.

use amphora::heartbeat::Message;
use model::{Kind, ListenerHealth, OperatingStatus, PoolHealth, ProvisioningStatus, Tree};

/// (object id, new operating status) for every object whose status changes.
pub fn rollup(tree: &Tree, message: &Message) -> Vec<(String, OperatingStatus)> {
    use OperatingStatus::*;
    let lb = tree.lb();
    let mut changes = Vec::new();
    let mut set = |id: &str, current: OperatingStatus, new: OperatingStatus| {
        if current != new {
            changes.push((id.to_string(), new));
        }
    };
    let mut lb_status = if lb.enabled() { Online } else { Offline };
    for l in tree.children(Kind::Listener, &lb.id) {
        let status = match message.listeners.get(&l.id).map(|r| r.status) {
            None if l.enabled() && lb.provisioning_status == ProvisioningStatus::Active => Error,
            None => Offline,
            Some(ListenerHealth::Open) => Online,
            Some(ListenerHealth::Full) => {
                if lb_status == Online {
                    lb_status = Degraded;
                }
                Degraded
            }
        };
        set(&l.id, l.operating_status, status);
    }
    let reported = message.pools_by_id();
    for p in tree.children(Kind::Pool, &lb.id) {
        let Some(report) = reported.get(p.id.as_str()) else {
            set(&p.id, p.operating_status, Offline);
            continue;
        };
        let mut pool_status = match report.status {
            PoolHealth::Up => Online,
            PoolHealth::Down => {
                lb_status = Error;
                Error
            }
        };
        for m in tree.children(Kind::Member, &p.id) {
            let status = match report.members.get(&m.id) {
                None if m.operating_status == NoMonitor => None,
                None => Some(Offline),
                Some(health) => health.operating_status(),
            };
            if status == Some(Error) && pool_status == Online {
                pool_status = Degraded;
                if lb_status == Online {
                    lb_status = Degraded;
                }
            }
            if let Some(status) = status {
                set(&m.id, m.operating_status, status);
            }
        }
        set(&p.id, p.operating_status, pool_status);
    }
    set(&lb.id, lb.operating_status, lb_status);
    changes
}

/// Listeners an amphora of this load balancer should report: Octavia refreshes an
/// amphora's health only when it reports all of them (or the load balancer is changing or
/// disabled). Listeners in ERROR are not served, so not expected.
pub fn expects_listeners(tree: &Tree) -> Option<usize> {
    let lb = tree.lb();
    if lb.provisioning_status.is_pending() || !lb.enabled() {
        return None;
    }
    Some(
        tree.children(Kind::Listener, &lb.id)
            .filter(|l| l.enabled() && l.provisioning_status != ProvisioningStatus::Error)
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use amphora::heartbeat::{ListenerReport, PoolReport, StatsReport};
    use model::{Body, MemberHealth, Resource};
    use serde_json::json;
    use std::collections::BTreeMap;
    use OperatingStatus::{NoMonitor, Offline, Online};
    use ProvisioningStatus::{Active, PendingUpdate};

    fn obj(kind: Kind, id: &str, parent: Option<&str>, operating: OperatingStatus) -> Resource {
        let attrs = match kind {
            Kind::LoadBalancer => json!({"vip_address": "127.10.0.5", "vip_port_id": "port",
                "vip_subnet_id": "s", "vip_network_id": "n"}),
            Kind::Listener => json!({"protocol": "HTTP", "protocol_port": 80}),
            Kind::Pool => json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
            _ => json!({"address": format!("127.0.0.{}", id.len()), "protocol_port": 80}),
        };
        Resource {
            id: id.into(),
            lb_id: Some("lb".into()),
            parent_id: parent.map(Into::into),
            project_id: None,
            provisioning_status: Active,
            operating_status: operating,
            created_at: model::now(),
            updated_at: None,
            body: Body::from_json(kind, attrs).expect("test attributes"),
        }
    }

    fn tree() -> Tree {
        let mut m2 = obj(Kind::Member, "m2", Some("p"), NoMonitor);
        if let Body::Member(m) = &mut m2.body {
            m.address = "127.0.0.9".parse().unwrap();
        }
        Tree::from_rows(vec![
            obj(Kind::LoadBalancer, "lb", None, Offline),
            obj(Kind::Listener, "l", Some("lb"), Offline),
            obj(Kind::Pool, "p", Some("lb"), Offline),
            obj(Kind::Member, "m1", Some("p"), NoMonitor),
            m2,
        ])
    }

    fn message(
        listener: Option<ListenerHealth>,
        pool: PoolHealth,
        members: &[(&str, &str)],
    ) -> Message {
        let mut listeners = BTreeMap::new();
        if let Some(status) = listener {
            listeners.insert(
                "l".to_string(),
                ListenerReport {
                    status,
                    stats: StatsReport::default(),
                },
            );
        }
        let mut pools = BTreeMap::new();
        pools.insert(
            "p:l".to_string(),
            PoolReport {
                status: pool,
                members: members
                    .iter()
                    .map(|(id, s)| (id.to_string(), MemberHealth::parse(s).unwrap()))
                    .collect(),
            },
        );
        Message {
            id: "amp".into(),
            seq: 1,
            ver: 3,
            listeners,
            pools,
            host: None,
            vrrp: None,
        }
    }

    fn as_map(changes: Vec<(String, OperatingStatus)>) -> BTreeMap<String, &'static str> {
        changes
            .into_iter()
            .map(|(id, s)| (id, s.as_str()))
            .collect()
    }

    #[test]
    fn without_a_monitor_members_stay_no_monitor_and_the_rest_goes_online() {
        let m = message(
            Some(ListenerHealth::Open),
            PoolHealth::Up,
            &[("m1", "no check"), ("m2", "no check")],
        );
        let c = as_map(rollup(&tree(), &m));
        assert_eq!(c.get("lb"), Some(&"ONLINE"));
        assert_eq!(c.get("l"), Some(&"ONLINE"));
        assert_eq!(c.get("p"), Some(&"ONLINE"));
        assert!(
            !c.contains_key("m1") && !c.contains_key("m2"),
            "unchanged NO_MONITOR"
        );
    }

    #[test]
    fn a_down_member_degrades_pool_and_load_balancer() {
        let m = message(
            Some(ListenerHealth::Open),
            PoolHealth::Up,
            &[("m1", "UP"), ("m2", "DOWN")],
        );
        let c = as_map(rollup(&tree(), &m));
        assert_eq!(c["m1"], "ONLINE");
        assert_eq!(c["m2"], "ERROR");
        assert_eq!(c["p"], "DEGRADED");
        assert_eq!(c["lb"], "DEGRADED");
        // Transitional states count as what they still are.
        let m = message(
            Some(ListenerHealth::Open),
            PoolHealth::Up,
            &[("m1", "UP 1/3"), ("m2", "DOWN 1/2")],
        );
        let c = as_map(rollup(&tree(), &m));
        assert_eq!((c["m1"], c["m2"]), ("ONLINE", "ERROR"));
    }

    #[test]
    fn a_down_pool_is_an_error_and_so_is_the_load_balancer() {
        let m = message(
            Some(ListenerHealth::Open),
            PoolHealth::Down,
            &[("m1", "DOWN"), ("m2", "DOWN")],
        );
        let c = as_map(rollup(&tree(), &m));
        assert_eq!((c["p"], c["lb"]), ("ERROR", "ERROR"));
    }

    #[test]
    fn listener_reports_and_their_absence() {
        let full = message(Some(ListenerHealth::Full), PoolHealth::Up, &[]);
        let c = as_map(rollup(&tree(), &full));
        assert_eq!((c["l"], c["lb"]), ("DEGRADED", "DEGRADED"));
        // Absent from the report: ERROR while the load balancer is ACTIVE, else OFFLINE.
        let absent = message(None, PoolHealth::Up, &[]);
        assert_eq!(as_map(rollup(&tree(), &absent))["l"], "ERROR");
        let mut t = tree();
        t.lb_mut().set_status(PendingUpdate);
        assert!(
            !as_map(rollup(&t, &absent)).contains_key("l"),
            "stays OFFLINE"
        );
        // Members absent from a reported pool go OFFLINE, unless NO_MONITOR.
        let mut t = tree();
        t.get_mut("m1").unwrap().operating_status = Online;
        let c = as_map(rollup(&t, &absent));
        assert_eq!(c.get("m1"), Some(&"OFFLINE"));
        assert!(!c.contains_key("m2"));
    }

    #[test]
    fn unreported_pools_go_offline_and_unchanged_rows_are_not_rewritten() {
        let mut m = message(Some(ListenerHealth::Open), PoolHealth::Up, &[]);
        m.pools.clear();
        let mut t = tree();
        t.get_mut("p").unwrap().operating_status = Online;
        t.get_mut("l").unwrap().operating_status = Online;
        t.lb_mut().operating_status = Online;
        let c = as_map(rollup(&t, &m));
        assert_eq!(c, BTreeMap::from([("p".to_string(), "OFFLINE")]));
    }

    #[test]
    fn expected_listener_count() {
        let mut t = tree();
        assert_eq!(expects_listeners(&t), Some(1));
        t.get_mut("l")
            .unwrap()
            .set_status(ProvisioningStatus::Error);
        assert_eq!(expects_listeners(&t), Some(0));
        t.lb_mut().set_status(PendingUpdate);
        assert_eq!(expects_listeners(&t), None);
    }
}
