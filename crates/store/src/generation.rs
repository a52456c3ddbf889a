//! One committed generation of every load-balancer tree, shared by list requests until the
//! next write, and the bump a write transaction makes when it commits a tree change.

use crate::row::DbConnection;
use crate::Result;
use model::{Kind, Resource, Tree};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

pub struct Snapshot {
    pub(crate) generation: i64,
    pub(crate) trees: HashMap<String, Arc<Tree>>,
    /// Every object of every tree in creation order.
    pub(crate) order: Vec<Entry>,
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) seq: i64,
    pub(crate) kind: Kind,
    pub(crate) parent_id: Option<String>,
    pub(crate) lb_id: String,
    pub(crate) id: String,
}

impl Snapshot {
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// One load balancer's tree as of this snapshot.
    pub fn tree(&self, lb_id: &str) -> Option<&Arc<Tree>> {
        self.trees.get(lb_id)
    }

    /// The objects of `kind` (below `parent` when given) in creation order, each with the
    /// tree of its load balancer.
    pub fn objects<'a>(
        &'a self,
        kind: Kind,
        parent: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Tree, &'a Resource)> + 'a {
        self.order
            .iter()
            .filter(move |e| {
                e.kind == kind && (parent.is_none() || e.parent_id.as_deref() == parent)
            })
            .filter_map(|e| {
                let tree = self.trees.get(&e.lb_id)?;
                Some((&**tree, tree.get(&e.id)?))
            })
    }
}

pub(crate) async fn bump(conn: &mut DbConnection, lb_ids: &BTreeSet<String>) -> Result<()> {
    let generation: i64 =
        sqlx::query_scalar("UPDATE generation SET value = value + 1 WHERE id = 1 RETURNING value")
            .fetch_one(&mut *conn)
            .await?;
    for lb_id in lb_ids {
        sqlx::query(
            "INSERT INTO tree_versions (lb_id, generation) VALUES ($1, $2) \
             ON CONFLICT (lb_id) DO UPDATE SET generation = excluded.generation",
        )
        .bind(lb_id)
        .bind(generation)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
