//! The one flow every change of a load balancer's tree takes: find the tree in a write
//! transaction → authorize → quota (creates) → change (validation, the lock rule, statuses) →
//! commit with its job → render. Handlers give the change; the order is kept here, once.

use super::*;
use front::Rule;

/// What a request changes, and where its tree is found.
pub struct Change<'a> {
    pub kind: Kind,
    pub action: JobAction,
    /// The object whose tree is loaded: the parent of a new object, otherwise the object.
    pub at: (Kind, &'a str),
    /// The rule checked instead of read/write by method (failover is admin-only).
    pub rule: Option<Rule>,
}

impl<'a> Change<'a> {
    pub fn create(kind: Kind, parent: Kind, parent_id: &'a str) -> Change<'a> {
        Change {
            kind,
            action: JobAction::Create,
            at: (parent, parent_id),
            rule: None,
        }
    }

    pub fn update(kind: Kind, id: &'a str) -> Change<'a> {
        Change {
            kind,
            action: JobAction::Update,
            at: (kind, id),
            rule: None,
        }
    }

    /// An object whose path names its parent (members, rules): its tree is found through
    /// the parent.
    pub fn through(self, parent: Kind, parent_id: &'a str) -> Change<'a> {
        Change {
            at: (parent, parent_id),
            ..self
        }
    }

    pub fn delete(kind: Kind, id: &'a str) -> Change<'a> {
        Change {
            action: JobAction::Delete,
            ..Change::update(kind, id)
        }
    }
}

/// Runs `apply` on the tree under the flow's checks and commits what it did with the job.
/// `apply` returns the changed object as it should be rendered.
pub async fn change(
    state: &AppState,
    req: &Req,
    c: Change<'_>,
    apply: impl FnOnce(&mut Tree) -> ApiResult<Resource>,
) -> ApiResult<(Tree, Resource)> {
    open(state, req, c).await?.finish(state, apply).await
}

/// A change whose tree is found and whose caller is authorized; checks that need the
/// transaction (a member's subnet) go here, before `finish`.
pub struct Open<'a> {
    pub tx: WriteTx,
    pub tree: Tree,
    c: Change<'a>,
}

pub async fn open<'a>(state: &AppState, req: &Req, c: Change<'a>) -> ApiResult<Open<'a>> {
    let mut tx = state.core.store.begin().await?;
    let tree = find_tx(&mut tx, c.at.0, c.at.1).await?;
    match c.rule {
        Some(rule) => authorize_rule(req, &tree, rule)?,
        None => authorize(req, &tree)?,
    }
    Ok(Open { tx, tree, c })
}

impl Open<'_> {
    pub async fn finish(
        mut self,
        state: &AppState,
        apply: impl FnOnce(&mut Tree) -> ApiResult<Resource>,
    ) -> ApiResult<(Tree, Resource)> {
        if self.c.action == JobAction::Create {
            let project = self.tree.lb().project_id.clone().unwrap_or_default();
            check_quota(state, &mut self.tx, self.c.kind, &project, 1).await?;
        }
        let object = apply(&mut self.tree)?;
        let (action, kind) = (self.c.action, self.c.kind);
        commit_job(state, self.tx, &self.tree, action, kind, &object.id).await?;
        Ok((self.tree, object))
    }
}

/// The answer to a change: the object (201 created, 200 updated), or 204 for a delete.
pub fn answer(req: &Req, action: JobAction, tree: &Tree, object: &Resource) -> Response {
    match action {
        JobAction::Create => one(
            object.kind(),
            render::in_tree(tree, object),
            &req.query,
            StatusCode::CREATED,
        ),
        JobAction::Delete => no_content(),
        _ => one(
            object.kind(),
            render::in_tree(tree, object),
            &req.query,
            StatusCode::OK,
        ),
    }
}

/// Adds a new object to the tree (it is PENDING_CREATE from `new_child`).
pub fn insert(tree: &mut Tree, object: Resource) -> Resource {
    tree.insert(object.clone());
    object
}

/// Puts the updated object back, PENDING_UPDATE.
pub fn replace(tree: &mut Tree, mut object: Resource) -> Resource {
    object.set_status(ProvisioningStatus::PendingUpdate);
    *tree.get_mut(&object.id).expect("found with its tree") = object.clone();
    object
}

/// Marks an object PENDING_DELETE.
pub fn remove(tree: &mut Tree, id: &str) -> Resource {
    let object = tree.get_mut(id).expect("found with its tree");
    object.set_status(ProvisioningStatus::PendingDelete);
    object.clone()
}
