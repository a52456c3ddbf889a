//! A load balancer and everything below it, loaded as one unit so that a mutation can check
//! and change the whole tree in one transaction (Octavia's lock rule, reference §6), and
//! the rules that end a job on it (`settle_success`, `settle_failure`). `check_invariants`
//! says what every committed tree satisfies; it runs after each change in debug builds.

use crate::resource::{HealthMonitor, L7Policy, Listener, Member, Object, Pool};
use crate::status::{OperatingStatus, ProvisioningStatus};
use crate::{Kind, Resource};
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// Every object of the tree (the load balancer included) in creation order.
    items: Vec<Resource>,
    index: HashMap<String, usize>,
    /// Ids changed since loading (to write back).
    dirty: BTreeSet<String>,
    /// Ids removed since loading (to delete).
    removed: BTreeSet<String>,
}

impl Tree {
    pub fn from_rows(rows: Vec<Resource>) -> Tree {
        let mut tree = Tree::default();
        for row in rows {
            tree.index.insert(row.id.clone(), tree.items.len());
            tree.items.push(row);
        }
        tree
    }

    pub fn lb(&self) -> &Resource {
        self.items
            .iter()
            .find(|r| r.kind() == Kind::LoadBalancer)
            .expect("a tree always holds its load balancer")
    }

    pub fn lb_mut(&mut self) -> &mut Resource {
        let id = self.lb().id.clone();
        self.get_mut(&id).expect("load balancer present")
    }

    /// The load balancer's attributes.
    pub fn load_balancer(&self) -> &crate::LoadBalancer {
        self.lb().get().expect("the load balancer's body")
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    pub fn get_kind(&self, kind: Kind, id: &str) -> Option<&Resource> {
        self.get(id).filter(|r| r.kind() == kind)
    }

    /// The attributes of object `id` when it is a `T`.
    pub fn typed<T: Object>(&self, id: &str) -> Option<&T> {
        self.get(id).and_then(Resource::get::<T>)
    }

    /// Mutable access marks the object for writing back.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Resource> {
        let &i = self.index.get(id)?;
        self.dirty.insert(id.to_string());
        Some(&mut self.items[i])
    }

    pub fn insert(&mut self, resource: Resource) {
        self.dirty.insert(resource.id.clone());
        self.removed.remove(&resource.id);
        self.index.insert(resource.id.clone(), self.items.len());
        self.items.push(resource);
    }

    /// Removes an object and, recursively, its children.
    pub fn remove(&mut self, id: &str) {
        let children: Vec<String> = self
            .items
            .iter()
            .filter(|r| r.parent_id.as_deref() == Some(id) && r.kind() != Kind::LoadBalancer)
            .map(|r| r.id.clone())
            .collect();
        for child in children {
            self.remove(&child);
        }
        if self.index.remove(id).is_some() {
            self.items.retain(|r| r.id != id);
            self.index = self
                .items
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect();
            self.dirty.remove(id);
            self.removed.insert(id.to_string());
        }
    }

    pub fn items(&self) -> impl Iterator<Item = &Resource> {
        self.items.iter()
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.items.iter().filter(move |r| r.kind() == kind)
    }

    /// Every object of kind `T` with its attributes.
    pub fn all<'a, T: Object + 'a>(&'a self) -> impl Iterator<Item = (&'a Resource, &'a T)> + 'a {
        self.items.iter().filter_map(|r| Some((r, r.get::<T>()?)))
    }

    pub fn children(&self, kind: Kind, parent: &str) -> impl Iterator<Item = &Resource> + '_ {
        let parent = parent.to_string();
        self.items
            .iter()
            .filter(move |r| r.kind() == kind && r.parent_id.as_deref() == Some(parent.as_str()))
    }

    /// The children of kind `T` of `parent`, with their attributes.
    pub fn children_of<'a, T: Object + 'a>(
        &'a self,
        parent: &'a str,
    ) -> impl Iterator<Item = (&'a Resource, &'a T)> + 'a {
        self.items
            .iter()
            .filter(move |r| r.parent_id.as_deref() == Some(parent))
            .filter_map(|r| Some((r, r.get::<T>()?)))
    }

    pub fn child_ids(&self, kind: Kind, parent: &str) -> Vec<String> {
        self.children(kind, parent).map(|r| r.id.clone()).collect()
    }

    pub fn dirty(&self) -> impl Iterator<Item = &Resource> {
        self.dirty.iter().filter_map(|id| self.get(id))
    }

    pub fn removed(&self) -> impl Iterator<Item = &String> {
        self.removed.iter()
    }

    pub fn is_changed(&self) -> bool {
        !self.dirty.is_empty() || !self.removed.is_empty()
    }

    /// The monitor of a pool, if any.
    pub fn pool_monitor(&self, pool_id: &str) -> Option<&Resource> {
        self.children(Kind::HealthMonitor, pool_id).next()
    }

    fn has_rules(&self, policy_id: &str) -> bool {
        self.children(Kind::L7Rule, policy_id).next().is_some()
    }

    /// Listeners that use a pool: as default pool, or through an enabled L7 policy with at
    /// least one rule that redirects to it (`Pool.listeners` in Octavia's models).
    pub fn pool_listeners(&self, pool_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for (listener, l) in self.all::<Listener>() {
            let default = l.default_pool_id.as_deref() == Some(pool_id);
            let redirect = || {
                self.children_of::<L7Policy>(&listener.id)
                    .any(|(p, policy)| {
                        p.enabled()
                            && policy.redirect_pool_id.as_deref() == Some(pool_id)
                            && self.has_rules(&p.id)
                    })
            };
            if default || redirect() {
                ids.push(listener.id.clone());
            }
        }
        ids
    }

    /// Pools reachable from a listener: its default pool and redirect pools of enabled
    /// policies with rules (the status tree's `pools`).
    pub fn listener_pools(&self, listener_id: &str) -> Vec<String> {
        let mut ids = Vec::new();
        if let Some(default) = self
            .typed::<Listener>(listener_id)
            .and_then(|l| l.default_pool_id.clone())
        {
            ids.push(default);
        }
        for (p, policy) in self.children_of::<L7Policy>(listener_id) {
            if let Some(pool) = &policy.redirect_pool_id {
                if p.enabled() && self.has_rules(&p.id) && !ids.contains(pool) {
                    ids.push(pool.clone());
                }
            }
        }
        ids
    }

    /// Is any object of the tree in a PENDING_* state? (A job is running on it.)
    pub fn is_busy(&self) -> bool {
        self.items
            .iter()
            .any(|r| r.provisioning_status.is_pending())
    }

    /// Ends a job successfully, as Octavia's worker flows do: created and updated objects
    /// become ACTIVE (with `updated_at`), deleted ones disappear (a listener's remaining
    /// policies are renumbered), the load balancer itself is kept as DELETED. Returns true
    /// when the load balancer was deleted.
    pub fn settle_success(&mut self) -> bool {
        use ProvisioningStatus::*;
        let stamp = crate::now();
        let lb_deleted = self.lb().provisioning_status == PendingDelete;
        let doomed: Vec<String> = self
            .items
            .iter()
            .filter(|r| r.kind() != Kind::LoadBalancer)
            .filter(|r| lb_deleted || r.provisioning_status == PendingDelete)
            .map(|r| r.id.clone())
            .collect();
        let mut renumber = Vec::new();
        for id in &doomed {
            let Some(r) = self.get(id) else { continue };
            let parent = r.parent_id.clone().unwrap_or_default();
            match r.kind() {
                Kind::HealthMonitor => {
                    self.set_members_operating(&parent, OperatingStatus::NoMonitor)
                }
                Kind::Pool => self.detach_pool(id),
                Kind::L7Policy => renumber.push(parent),
                _ => {}
            }
        }
        for id in doomed {
            self.remove(&id);
        }
        for listener in renumber {
            self.renumber_policies(&listener);
        }
        let pending: Vec<String> = self
            .items
            .iter()
            .filter(|r| r.provisioning_status.is_pending())
            .map(|r| r.id.clone())
            .collect();
        for id in pending {
            let r = self.get_mut(&id).expect("listed above");
            if r.kind() == Kind::LoadBalancer && lb_deleted {
                r.set_status(Deleted);
            } else {
                r.set_status(Active);
                if matches!(
                    r.kind(),
                    Kind::HealthMonitor | Kind::L7Policy | Kind::L7Rule
                ) {
                    r.operating_status = if r.enabled() {
                        OperatingStatus::Online
                    } else {
                        OperatingStatus::Offline
                    };
                }
            }
            r.updated_at = Some(stamp.clone());
        }
        self.debug_check("settling a job that succeeded");
        lb_deleted
    }

    /// Ends a job that failed: the target object goes to ERROR, the other pending objects
    /// back to ACTIVE; a failed load-balancer operation leaves the load balancer in ERROR.
    pub fn settle_failure(&mut self, target: &str) {
        let stamp = crate::now();
        let pending: Vec<String> = self
            .items
            .iter()
            .filter(|r| r.provisioning_status.is_pending())
            .map(|r| r.id.clone())
            .collect();
        for id in pending {
            let r = self.get_mut(&id).expect("listed above");
            r.set_status(if id == target {
                ProvisioningStatus::Error
            } else {
                ProvisioningStatus::Active
            });
            r.updated_at = Some(stamp.clone());
        }
        self.debug_check("settling a job that failed");
    }

    /// Listeners whose default pool goes away keep no dangling reference.
    fn detach_pool(&mut self, pool_id: &str) {
        let users: Vec<String> = self
            .all::<Listener>()
            .filter(|(_, l)| l.default_pool_id.as_deref() == Some(pool_id))
            .map(|(r, _)| r.id.clone())
            .collect();
        for id in users {
            if let Some(l) = self.get_mut(&id).and_then(Resource::get_mut::<Listener>) {
                l.default_pool_id = None;
            }
        }
    }

    pub fn set_members_operating(&mut self, pool_id: &str, status: OperatingStatus) {
        for id in self.child_ids(Kind::Member, pool_id) {
            if let Some(m) = self.get_mut(&id) {
                m.operating_status = status;
            }
        }
    }

    /// A listener's policies in their order.
    pub fn policies_in_order(&self, listener_id: &str) -> Vec<String> {
        let mut policies: Vec<(u32, String)> = self
            .children_of::<L7Policy>(listener_id)
            .map(|(r, p)| (p.position, r.id.clone()))
            .collect();
        policies.sort();
        policies.into_iter().map(|(_, id)| id).collect()
    }

    /// Numbers a listener's policies 1..n in `order`, writing back only those that move.
    pub fn number_policies(&mut self, order: &[String]) {
        for (i, id) in order.iter().enumerate() {
            let position = i as u32 + 1;
            if self.typed::<L7Policy>(id).map(|p| p.position) != Some(position) {
                if let Some(p) = self.get_mut(id).and_then(Resource::get_mut::<L7Policy>) {
                    p.position = position;
                }
            }
        }
    }

    fn renumber_policies(&mut self, listener_id: &str) {
        let order = self.policies_in_order(listener_id);
        self.number_policies(&order);
    }

    /// Panics, in debug builds, when the tree breaks an invariant: where it breaks.
    pub fn debug_check(&self, after: &str) {
        if cfg!(debug_assertions) {
            if let Err(broken) = self.check_invariants() {
                panic!("after {after}, the tree of {}: {broken}", self.lb().id);
            }
        }
    }

    /// What every committed tree satisfies:
    /// - one load balancer, every object's `lb_id` is it, every other object's parent is in
    ///   the tree and of the kind its own kind hangs from;
    /// - references point into the tree: default and redirect pools are pools of this load
    ///   balancer; a pool has at most one monitor;
    /// - a listener's L7 policy positions are 1..n;
    /// - no two listeners share a port of one transport, no two members of a pool an
    ///   address and port;
    /// - statuses are consistent: a pending object means the load balancer is pending (the
    ///   lock rule), nothing is created or updated below an object being deleted, and a
    ///   DELETED load balancer has nothing below it.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_shape()?;
        self.check_references()?;
        self.check_statuses()
    }

    fn check_shape(&self) -> Result<(), String> {
        let lbs: Vec<&Resource> = self.of_kind(Kind::LoadBalancer).collect();
        let [lb] = lbs.as_slice() else {
            return Err(format!("{} load balancers in one tree", lbs.len()));
        };
        if lb.lb_id.as_deref() != Some(&lb.id) {
            return Err(format!("load balancer {} names another lb_id", lb.id));
        }
        for r in &self.items {
            if r.lb_id.as_deref() != Some(&lb.id) {
                return Err(format!("{} {} has lb_id {:?}", r.kind(), r.id, r.lb_id));
            }
            let Some(wanted) = parent_kind(r.kind()) else {
                continue;
            };
            let parent = r.parent_id.as_deref().and_then(|p| self.get(p));
            match parent {
                Some(p) if p.kind() == wanted => {}
                Some(p) => {
                    return Err(format!(
                        "{} {} hangs from {} {}, not from a {wanted}",
                        r.kind(),
                        r.id,
                        p.kind(),
                        p.id
                    ))
                }
                None => {
                    return Err(format!(
                        "{} {} has no parent {:?} in the tree",
                        r.kind(),
                        r.id,
                        r.parent_id
                    ))
                }
            }
        }
        Ok(())
    }

    fn check_references(&self) -> Result<(), String> {
        let is_pool = |id: &str| self.typed::<Pool>(id).is_some();
        let mut ports = BTreeSet::new();
        for (r, l) in self.all::<Listener>() {
            if let Some(pool) = l.default_pool_id.as_deref().filter(|p| !is_pool(p)) {
                return Err(format!("listener {} names default pool {pool}", r.id));
            }
            let transport = format!("{:?}", l.protocol.transport());
            if !ports.insert((transport, l.protocol_port)) {
                return Err(format!("listener {} shares port {}", r.id, l.protocol_port));
            }
            let policies = self.policies_in_order(&r.id);
            for (i, id) in policies.iter().enumerate() {
                let position = self.typed::<L7Policy>(id).map(|p| p.position);
                if position != Some(i as u32 + 1) {
                    return Err(format!(
                        "listener {}'s policy {id} is at {position:?}, not {}",
                        r.id,
                        i + 1
                    ));
                }
            }
        }
        for (r, p) in self.all::<L7Policy>() {
            if let Some(pool) = p.redirect_pool_id.as_deref().filter(|p| !is_pool(p)) {
                return Err(format!("policy {} redirects to {pool}", r.id));
            }
        }
        for (pool, _) in self.all::<Pool>() {
            let monitors = self.children_of::<HealthMonitor>(&pool.id).count();
            if monitors > 1 {
                return Err(format!("pool {} has {monitors} monitors", pool.id));
            }
            let mut seen = Vec::new();
            for (m, member) in self.children_of::<Member>(&pool.id) {
                let at = (member.address.ip(), member.protocol_port);
                if seen.contains(&at) {
                    return Err(format!("member {} repeats {:?} in its pool", m.id, at));
                }
                seen.push(at);
            }
        }
        Ok(())
    }

    fn check_statuses(&self) -> Result<(), String> {
        use ProvisioningStatus::*;
        let lb = self.lb();
        if lb.provisioning_status == Deleted && self.items.len() > 1 {
            return Err("a DELETED load balancer still has objects".into());
        }
        for r in &self.items {
            let s = r.provisioning_status;
            if s.is_pending() && !lb.provisioning_status.is_pending() {
                return Err(format!(
                    "{} {} is {s} while its load balancer is {}",
                    r.kind(),
                    r.id,
                    lb.provisioning_status
                ));
            }
            if matches!(s, PendingCreate | PendingUpdate) {
                if let Some(doomed) = self
                    .ancestors(r)
                    .find(|a| a.provisioning_status == PendingDelete)
                {
                    return Err(format!(
                        "{} {} is {s} below {} {}, which is being deleted",
                        r.kind(),
                        r.id,
                        doomed.kind(),
                        doomed.id
                    ));
                }
            }
        }
        Ok(())
    }

    fn ancestors<'a>(&'a self, r: &'a Resource) -> impl Iterator<Item = &'a Resource> + 'a {
        let mut at = r;
        std::iter::from_fn(move || {
            let parent = at
                .parent_id
                .as_deref()
                .filter(|_| at.kind() != Kind::LoadBalancer)
                .and_then(|p| self.get(p))?;
            at = parent;
            Some(parent)
        })
    }
}

/// The kind an object of `kind` hangs from.
fn parent_kind(kind: Kind) -> Option<Kind> {
    Some(match kind {
        Kind::Listener | Kind::Pool => Kind::LoadBalancer,
        Kind::Member | Kind::HealthMonitor => Kind::Pool,
        Kind::L7Policy => Kind::Listener,
        Kind::L7Rule => Kind::L7Policy,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::LoadBalancer;
    use serde_json::{json, Value};
    use OperatingStatus::{NoMonitor, Offline};
    use ProvisioningStatus::*;

    fn obj<T: Object + serde::de::DeserializeOwned>(
        id: &str,
        parent: Option<&str>,
        status: ProvisioningStatus,
        attrs: Value,
    ) -> Resource {
        let body: T = serde_json::from_value(attrs).expect("test attributes");
        let mut r = Resource::new(id.into(), body, status, Offline);
        r.lb_id = Some("lb".into());
        r.parent_id = parent.map(str::to_string);
        r
    }

    fn lb(status: ProvisioningStatus) -> Resource {
        obj::<LoadBalancer>(
            "lb",
            None,
            status,
            json!({"vip_address": "127.10.0.5", "vip_port_id": "p", "vip_subnet_id": "s",
                   "vip_network_id": "n"}),
        )
    }

    fn listener(id: &str, port: u16, pool: Option<&str>) -> Resource {
        obj::<Listener>(
            id,
            Some("lb"),
            Active,
            json!({"protocol": "HTTP", "protocol_port": port, "default_pool_id": pool}),
        )
    }

    fn pool(id: &str, status: ProvisioningStatus) -> Resource {
        obj::<Pool>(
            id,
            Some("lb"),
            status,
            json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
    }

    fn member(id: &str, pool: &str, address: &str) -> Resource {
        obj::<Member>(
            id,
            Some(pool),
            Active,
            json!({"address": address, "protocol_port": 80}),
        )
    }

    fn monitor(id: &str, pool: &str) -> Resource {
        obj::<HealthMonitor>(
            id,
            Some(pool),
            Active,
            json!({"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2}),
        )
    }

    fn policy(id: &str, listener: &str, position: u32, status: ProvisioningStatus) -> Resource {
        obj::<L7Policy>(
            id,
            Some(listener),
            status,
            json!({"action": "REJECT", "position": position}),
        )
    }

    fn tree() -> Tree {
        let mut m = member("m", "p", "127.0.0.11");
        m.operating_status = NoMonitor;
        Tree::from_rows(vec![
            lb(PendingUpdate),
            listener("l", 80, Some("p")),
            pool("p", PendingDelete),
            m,
            monitor("h", "p"),
        ])
    }

    #[test]
    fn success_deletes_pending_deletes_with_children_and_activates_the_rest() {
        let mut t = tree();
        assert!(!t.settle_success());
        assert!(t.get("p").is_none() && t.get("m").is_none() && t.get("h").is_none());
        assert_eq!(t.lb().provisioning_status, Active);
        assert!(t.lb().updated_at.is_some());
        assert_eq!(t.typed::<Listener>("l").unwrap().default_pool_id, None);
        assert_eq!(t.removed().count(), 3);
        assert!(!t.is_busy());
    }

    #[test]
    fn a_deleted_load_balancer_is_kept_as_deleted_without_children() {
        let mut t = tree();
        t.lb_mut().set_status(PendingDelete);
        assert!(t.settle_success());
        assert_eq!(t.items().count(), 1);
        assert_eq!(t.lb().provisioning_status, Deleted);
    }

    #[test]
    fn failure_marks_the_target_error_and_parents_active() {
        let mut t = tree();
        t.get_mut("l").unwrap().set_status(PendingUpdate);
        t.settle_failure("p");
        assert_eq!(t.get("p").unwrap().provisioning_status, Error);
        assert_eq!(t.get("l").unwrap().provisioning_status, Active);
        assert_eq!(t.lb().provisioning_status, Active);
        assert!(t.get("m").is_some(), "nothing is deleted on failure");
    }

    #[test]
    fn a_deleted_policy_leaves_the_others_numbered_one_to_n() {
        let mut t = Tree::from_rows(vec![
            lb(PendingUpdate),
            listener("l", 80, None),
            policy("a", "l", 1, Active),
            policy("b", "l", 2, PendingDelete),
            policy("c", "l", 3, Active),
        ]);
        t.settle_success();
        assert_eq!(t.typed::<L7Policy>("c").unwrap().position, 2);
        assert_eq!(t.policies_in_order("l"), ["a", "c"]);
    }

    fn broken(rows: Vec<Resource>) -> String {
        Tree::from_rows(rows)
            .check_invariants()
            .expect_err("the tree is broken")
    }

    #[test]
    fn a_broken_tree_fails_its_invariants_and_says_where() {
        let sound = vec![
            lb(Active),
            listener("l", 80, Some("p")),
            pool("p", Active),
            member("m", "p", "127.0.0.11"),
            policy("a", "l", 1, Active),
        ];
        assert_eq!(Tree::from_rows(sound.clone()).check_invariants(), Ok(()));

        let mut orphan = sound.clone();
        orphan.push(member("m2", "gone", "127.0.0.12"));
        assert!(broken(orphan).contains("no parent"));

        let mut misplaced = sound.clone();
        misplaced.push(monitor("h", "l"));
        assert!(broken(misplaced).contains("not from a pool"));

        let mut dangling = sound.clone();
        dangling[1] = listener("l", 80, Some("nowhere"));
        assert!(broken(dangling).contains("names default pool nowhere"));

        let mut same_port = sound.clone();
        same_port.push(listener("l2", 80, None));
        assert!(broken(same_port).contains("shares port 80"));

        let mut same_member = sound.clone();
        same_member.push(member("m2", "p", "127.0.0.11"));
        assert!(broken(same_member).contains("repeats"));

        let mut two_monitors = sound.clone();
        two_monitors.extend([monitor("h1", "p"), monitor("h2", "p")]);
        assert!(broken(two_monitors).contains("2 monitors"));

        let mut gap = sound.clone();
        gap.push(policy("b", "l", 3, Active));
        assert!(broken(gap).contains("is at Some(3), not 2"));

        let mut unlocked = sound.clone();
        unlocked[2].set_status(PendingUpdate);
        assert!(broken(unlocked).contains("while its load balancer is ACTIVE"));

        let mut under_delete = sound.clone();
        under_delete[0].set_status(PendingUpdate);
        under_delete[2].set_status(PendingDelete);
        under_delete[3].set_status(PendingCreate);
        assert!(broken(under_delete).contains("which is being deleted"));

        let mut foreign = sound;
        foreign[3].lb_id = Some("other".into());
        assert!(broken(foreign).contains("has lb_id"));
    }

    #[test]
    #[should_panic(expected = "is at Some(5), not 2")]
    fn a_settle_that_leaves_a_broken_tree_panics_in_debug_builds() {
        let mut t = Tree::from_rows(vec![
            lb(PendingUpdate),
            listener("l", 80, None),
            policy("a", "l", 1, Active),
            policy("b", "l", 5, PendingCreate),
        ]);
        t.settle_failure("b");
    }
}
