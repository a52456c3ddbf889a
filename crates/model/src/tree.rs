//! A load balancer and everything below it, loaded as one unit so that a mutation can check
//! and change the whole tree in one transaction (Octavia's lock rule, reference §6).

use crate::status::*;
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
            .find(|r| r.kind == Kind::LoadBalancer)
            .expect("a tree always holds its load balancer")
    }

    pub fn lb_mut(&mut self) -> &mut Resource {
        let id = self.lb().id.clone();
        self.get_mut(&id).expect("load balancer present")
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    pub fn get_kind(&self, kind: Kind, id: &str) -> Option<&Resource> {
        self.get(id).filter(|r| r.kind == kind)
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
            .filter(|r| r.parent_id.as_deref() == Some(id) && r.kind != Kind::LoadBalancer)
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
        self.items.iter().filter(move |r| r.kind == kind)
    }

    pub fn children(&self, kind: Kind, parent: &str) -> impl Iterator<Item = &Resource> + '_ {
        let parent = parent.to_string();
        self.items
            .iter()
            .filter(move |r| r.kind == kind && r.parent_id.as_deref() == Some(parent.as_str()))
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

    /// Listeners that use a pool: as default pool, or through an enabled L7 policy with at
    /// least one rule that redirects to it (`Pool.listeners` in Octavia's models).
    pub fn pool_listeners(&self, pool_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for listener in self.of_kind(Kind::Listener) {
            let default = listener.str("default_pool_id") == Some(pool_id);
            let redirect = || {
                self.children(Kind::L7Policy, &listener.id).any(|p| {
                    p.enabled()
                        && p.str("redirect_pool_id") == Some(pool_id)
                        && self.children(Kind::L7Rule, &p.id).next().is_some()
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
        if let Some(default) = self.get(listener_id).and_then(|l| l.str("default_pool_id")) {
            ids.push(default.to_string());
        }
        for policy in self.children(Kind::L7Policy, listener_id) {
            if let Some(pool) = policy.str("redirect_pool_id") {
                let has_rules = self.children(Kind::L7Rule, &policy.id).next().is_some();
                if policy.enabled() && has_rules && !ids.iter().any(|i| i == pool) {
                    ids.push(pool.to_string());
                }
            }
        }
        ids
    }

    /// Is any object of the tree in a PENDING_* state? (A job is running on it.)
    pub fn is_busy(&self) -> bool {
        self.items
            .iter()
            .any(|r| is_pending(&r.provisioning_status))
    }

    /// Ends a job successfully, as Octavia's worker flows do: created and updated objects
    /// become ACTIVE (with `updated_at`), deleted ones disappear, the load balancer itself is
    /// kept as DELETED. Returns true when the load balancer was deleted.
    pub fn settle_success(&mut self) -> bool {
        let stamp = crate::now();
        let lb_deleted = self.lb().provisioning_status == PENDING_DELETE;
        let doomed: Vec<String> = self
            .items
            .iter()
            .filter(|r| r.kind != Kind::LoadBalancer)
            .filter(|r| lb_deleted || r.provisioning_status == PENDING_DELETE)
            .map(|r| r.id.clone())
            .collect();
        for id in &doomed {
            match self.get(id).map(|r| (r.kind, r.parent_id.clone())) {
                Some((Kind::HealthMonitor, pool)) => {
                    self.set_members_operating(&pool.unwrap_or_default(), NO_MONITOR);
                }
                Some((Kind::Pool, _)) => self.detach_pool(id),
                _ => {}
            }
        }
        for id in doomed {
            self.remove(&id);
        }
        let pending: Vec<String> = self
            .items
            .iter()
            .filter(|r| is_pending(&r.provisioning_status))
            .map(|r| r.id.clone())
            .collect();
        for id in pending {
            let r = self.get_mut(&id).expect("listed above");
            if r.kind == Kind::LoadBalancer && lb_deleted {
                r.set_status(DELETED);
            } else {
                r.set_status(ACTIVE);
                match r.kind {
                    Kind::HealthMonitor | Kind::L7Policy | Kind::L7Rule => {
                        r.operating_status = if r.enabled() { ONLINE } else { OFFLINE }.into();
                    }
                    _ => {}
                }
            }
            r.updated_at = Some(stamp.clone());
        }
        lb_deleted
    }

    /// Ends a job that failed: the target object goes to ERROR, the other pending objects
    /// back to ACTIVE; a failed load-balancer operation leaves the load balancer in ERROR.
    pub fn settle_failure(&mut self, target: &str) {
        let stamp = crate::now();
        let pending: Vec<String> = self
            .items
            .iter()
            .filter(|r| is_pending(&r.provisioning_status))
            .map(|r| r.id.clone())
            .collect();
        for id in pending {
            let r = self.get_mut(&id).expect("listed above");
            r.set_status(if id == target { ERROR } else { ACTIVE });
            r.updated_at = Some(stamp.clone());
        }
    }

    /// Listeners whose default pool goes away keep no dangling reference.
    fn detach_pool(&mut self, pool_id: &str) {
        let users: Vec<String> = self
            .of_kind(Kind::Listener)
            .filter(|l| l.str("default_pool_id") == Some(pool_id))
            .map(|l| l.id.clone())
            .collect();
        for id in users {
            if let Some(l) = self.get_mut(&id) {
                l.set("default_pool_id", serde_json::Value::Null);
            }
        }
    }

    pub fn set_members_operating(&mut self, pool_id: &str, status: &str) {
        for id in self.child_ids(Kind::Member, pool_id) {
            if let Some(m) = self.get_mut(&id) {
                m.operating_status = status.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: Kind, id: &str, parent: Option<&str>, status: &str) -> Resource {
        let mut r = Resource::new(kind, id.to_string());
        r.lb_id = Some("lb".into());
        r.parent_id = parent.map(str::to_string);
        r.provisioning_status = status.into();
        r.operating_status = OFFLINE.into();
        r
    }

    fn tree() -> Tree {
        let mut listener = obj(Kind::Listener, "l", Some("lb"), ACTIVE);
        listener.set("default_pool_id", json!("p"));
        Tree::from_rows(vec![
            obj(Kind::LoadBalancer, "lb", None, PENDING_UPDATE),
            listener,
            obj(Kind::Pool, "p", Some("lb"), PENDING_DELETE),
            obj(Kind::Member, "m", Some("p"), NO_MONITOR),
            obj(Kind::HealthMonitor, "h", Some("p"), ACTIVE),
        ])
    }

    #[test]
    fn success_deletes_pending_deletes_with_children_and_activates_the_rest() {
        let mut t = tree();
        assert!(!t.settle_success());
        assert!(t.get("p").is_none() && t.get("m").is_none() && t.get("h").is_none());
        assert_eq!(t.lb().provisioning_status, ACTIVE);
        assert!(t.lb().updated_at.is_some());
        assert_eq!(
            t.get("l").unwrap().get("default_pool_id"),
            &serde_json::Value::Null
        );
        let removed: Vec<&String> = t.removed().collect();
        assert_eq!(removed.len(), 3);
        assert!(!t.is_busy());
    }

    #[test]
    fn a_deleted_load_balancer_is_kept_as_deleted_without_children() {
        let mut t = tree();
        t.lb_mut().set_status(PENDING_DELETE);
        assert!(t.settle_success());
        assert_eq!(t.items().count(), 1);
        assert_eq!(t.lb().provisioning_status, DELETED);
    }

    #[test]
    fn failure_marks_the_target_error_and_parents_active() {
        let mut t = tree();
        t.get_mut("l").unwrap().set_status(PENDING_UPDATE);
        t.settle_failure("p");
        assert_eq!(t.get("p").unwrap().provisioning_status, ERROR);
        assert_eq!(t.get("l").unwrap().provisioning_status, ACTIVE);
        assert_eq!(t.lb().provisioning_status, ACTIVE);
        assert!(t.get("m").is_some(), "nothing is deleted on failure");
    }
}
