//! A project's quota: a limit per kind of object, None where the deployment's default
//! applies, -1 for unlimited; and what a quota PUT takes (Octavia also takes
//! `load_balancer` and `health_monitor` for two of the limits).

use crate::patch::Patch;
use crate::Kind;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    #[serde(default)]
    pub loadbalancer: Option<i64>,
    #[serde(default)]
    pub listener: Option<i64>,
    #[serde(default)]
    pub member: Option<i64>,
    #[serde(default)]
    pub pool: Option<i64>,
    #[serde(default)]
    pub healthmonitor: Option<i64>,
    #[serde(default)]
    pub l7policy: Option<i64>,
    #[serde(default)]
    pub l7rule: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuotaPatch {
    pub loadbalancer: Patch<i64>,
    pub load_balancer: Patch<i64>,
    pub listener: Patch<i64>,
    pub member: Patch<i64>,
    pub pool: Patch<i64>,
    pub healthmonitor: Patch<i64>,
    pub health_monitor: Patch<i64>,
    pub l7policy: Patch<i64>,
    pub l7rule: Patch<i64>,
}

impl Quota {
    /// The limit on objects of `kind` (kinds outside trees count as L7 rules: none is
    /// limited).
    pub fn limit(&self, kind: Kind) -> Option<i64> {
        match kind {
            Kind::LoadBalancer => self.loadbalancer,
            Kind::Listener => self.listener,
            Kind::Pool => self.pool,
            Kind::Member => self.member,
            Kind::HealthMonitor => self.healthmonitor,
            Kind::L7Policy => self.l7policy,
            _ => self.l7rule,
        }
    }

    /// A PUT: a limit given replaces, null returns to the default; the aliases apply after
    /// the names they stand for, as Octavia reads them.
    pub fn update(&mut self, patch: QuotaPatch) {
        patch.loadbalancer.update_option(&mut self.loadbalancer);
        patch.load_balancer.update_option(&mut self.loadbalancer);
        patch.listener.update_option(&mut self.listener);
        patch.member.update_option(&mut self.member);
        patch.pool.update_option(&mut self.pool);
        patch.healthmonitor.update_option(&mut self.healthmonitor);
        patch.health_monitor.update_option(&mut self.healthmonitor);
        patch.l7policy.update_option(&mut self.l7policy);
        patch.l7rule.update_option(&mut self.l7rule);
    }

    /// The quota on the wire, in Octavia's order, aliases included.
    pub fn wire(&self) -> [(&'static str, Option<i64>); 9] {
        [
            ("loadbalancer", self.loadbalancer),
            ("load_balancer", self.loadbalancer),
            ("listener", self.listener),
            ("member", self.member),
            ("pool", self.pool),
            ("healthmonitor", self.healthmonitor),
            ("health_monitor", self.healthmonitor),
            ("l7policy", self.l7policy),
            ("l7rule", self.l7rule),
        ]
    }

    /// Every unset limit taken from `defaults`.
    pub fn or(self, defaults: &Quota) -> Quota {
        Quota {
            loadbalancer: self.loadbalancer.or(defaults.loadbalancer),
            listener: self.listener.or(defaults.listener),
            member: self.member.or(defaults.member),
            pool: self.pool.or(defaults.pool),
            healthmonitor: self.healthmonitor.or(defaults.healthmonitor),
            l7policy: self.l7policy.or(defaults.l7policy),
            l7rule: self.l7rule.or(defaults.l7rule),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_defaults_and_resets() {
        let mut q = Quota::default();
        let patch: QuotaPatch =
            serde_json::from_str(r#"{"loadbalancer": 5, "load_balancer": 7, "pool": 2}"#).unwrap();
        q.update(patch);
        assert_eq!(
            q.limit(Kind::LoadBalancer),
            Some(7),
            "the alias is read last"
        );
        assert_eq!(q.limit(Kind::Pool), Some(2));
        let defaults = Quota {
            listener: Some(-1),
            pool: Some(9),
            ..Quota::default()
        };
        let shown = q.or(&defaults);
        assert_eq!((shown.pool, shown.listener), (Some(2), Some(-1)));
        q.update(serde_json::from_str(r#"{"pool": null}"#).unwrap());
        assert_eq!(q.limit(Kind::Pool), None, "null returns to the default");
        assert_eq!(q.wire()[1], ("load_balancer", Some(7)));
    }
}
