//! Octavia's default policy (reference §7): the keystone default roles (admin, member, reader
//! with a project match), and with `--policy advanced` also the `load-balancer_*` roles, OR-ed
//! in as Octavia does with `enforce_new_defaults = False`. One check per API action.

use crate::error::{ApiError, ApiResult};
use crate::RequestContext;

/// The rule an action is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `load-balancer:read`: observer or member of the owning project, global observer, admin.
    Read,
    /// `load-balancer:read-global`: listing every project.
    ReadGlobal,
    /// `load-balancer:write`: member of the owning project, or admin.
    Write,
    /// `load-balancer:admin`.
    Admin,
    /// Member listing also admits the `service` role (Aodh).
    ReadOrService,
    ReadQuota,
    ReadQuotaGlobal,
    WriteQuota,
}

impl RequestContext {
    fn has(&self, role: &str) -> bool {
        if role.starts_with("load-balancer_") && !self.advanced_roles {
            return false;
        }
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }

    fn owns(&self, target: Option<&str>) -> bool {
        matches!((&self.project_id, target), (Some(mine), Some(t)) if mine == t)
    }

    fn admin(&self) -> bool {
        self.is_admin || self.has("admin") || self.has("load-balancer_admin")
    }

    fn global_observer(&self) -> bool {
        self.has("admin") || self.has("load-balancer_global_observer")
    }

    fn member_and_owner(&self, target: Option<&str>) -> bool {
        (self.has("member") || self.has("load-balancer_member")) && self.owns(target)
    }

    fn observer_and_owner(&self, target: Option<&str>) -> bool {
        (self.has("reader") || self.has("load-balancer_observer")) && self.owns(target)
    }

    fn quota_admin(&self) -> bool {
        self.has("admin") || self.has("load-balancer_quota_admin")
    }

    /// Does `rule` pass for an object owned by `target`?
    pub fn allows(&self, rule: Rule, target: Option<&str>) -> bool {
        let read = || {
            self.observer_and_owner(target)
                || self.global_observer()
                || self.member_and_owner(target)
                || self.admin()
        };
        match rule {
            Rule::Read => read(),
            Rule::ReadGlobal => self.global_observer() || self.admin(),
            Rule::Write => self.member_and_owner(target) || self.admin(),
            Rule::Admin => self.admin(),
            Rule::ReadOrService => read() || self.has("service"),
            Rule::ReadQuota => read() || self.quota_admin(),
            Rule::ReadQuotaGlobal => self.global_observer() || self.quota_admin() || self.admin(),
            Rule::WriteQuota => self.quota_admin() || self.admin(),
        }
    }

    /// The same, as Octavia's 403 PolicyForbidden.
    pub fn authorize(&self, rule: Rule, target: Option<&str>) -> ApiResult<()> {
        if self.allows(rule, target) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Which projects a list may show (Octavia's `_auth_get_all`): every project (or the one
    /// asked for) when `global` passes; otherwise the one asked for or the caller's own, if
    /// `rule` passes for it. `Ok(None)` means all projects.
    pub fn list_scope(
        &self,
        rule: Rule,
        global: Rule,
        asked: Option<&str>,
    ) -> ApiResult<Option<String>> {
        if self.allows(global, None) {
            return Ok(asked.map(str::to_string));
        }
        let project = asked
            .map(str::to_string)
            .or_else(|| self.project_id.clone())
            .ok_or_else(ApiError::forbidden)?;
        self.authorize(rule, Some(&project))?;
        Ok(Some(project))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(project: &str, roles: &[&str]) -> RequestContext {
        RequestContext {
            project_id: Some(project.into()),
            user_id: Some("u".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            is_admin: false,
            advanced_roles: true,
            token: None,
        }
    }

    #[test]
    fn octavia_default_rules() {
        let member = ctx("a", &["member", "reader"]);
        assert!(member.allows(Rule::Write, Some("a")));
        assert!(!member.allows(Rule::Write, Some("b")));
        assert!(!member.allows(Rule::Read, Some("b")));
        assert!(!member.allows(Rule::Admin, Some("a")));
        assert!(!member.allows(Rule::ReadGlobal, None));

        let reader = ctx("a", &["reader"]);
        assert!(reader.allows(Rule::Read, Some("a")));
        assert!(!reader.allows(Rule::Write, Some("a")));
        assert!(reader.allows(Rule::ReadQuota, Some("a")));
        assert!(!reader.allows(Rule::WriteQuota, Some("a")));

        let admin = ctx("x", &["admin"]);
        for rule in [
            Rule::Read,
            Rule::ReadGlobal,
            Rule::Write,
            Rule::Admin,
            Rule::WriteQuota,
        ] {
            assert!(admin.allows(rule, Some("b")), "{rule:?}");
        }
        let advanced = ctx("a", &["load-balancer_member"]);
        assert!(advanced.allows(Rule::Write, Some("a")));
        let observer = ctx("z", &["load-balancer_global_observer"]);
        assert!(observer.allows(Rule::Read, Some("b")) && !observer.allows(Rule::Write, Some("b")));
        let strict = RequestContext {
            advanced_roles: false,
            ..ctx("a", &["load-balancer_admin", "load-balancer_member"])
        };
        assert!(!strict.allows(Rule::Write, Some("a")) && !strict.allows(Rule::Admin, None));
        let nobody = ctx("a", &["some-role"]);
        assert!(!nobody.allows(Rule::Read, Some("a")));
        assert!(nobody
            .list_scope(Rule::Read, Rule::ReadGlobal, None)
            .is_err());
        assert!(ctx("a", &["service"]).allows(Rule::ReadOrService, Some("b")));
    }

    #[test]
    fn list_scope_follows_get_all_global() {
        let member = ctx("a", &["member"]);
        assert_eq!(
            member
                .list_scope(Rule::Read, Rule::ReadGlobal, None)
                .unwrap(),
            Some("a".into())
        );
        assert!(member
            .list_scope(Rule::Read, Rule::ReadGlobal, Some("b"))
            .is_err());
        let admin = ctx("a", &["admin"]);
        assert_eq!(
            admin
                .list_scope(Rule::Read, Rule::ReadGlobal, None)
                .unwrap(),
            None
        );
        assert_eq!(
            admin
                .list_scope(Rule::Read, Rule::ReadGlobal, Some("b"))
                .unwrap(),
            Some("b".into())
        );
    }
}
