//! Every load-balancer tree as of one committed generation, shared by list requests until
//! the next write. Clients poll lists (the CLI's `--wait`, Terraform, Kubernetes' cloud
//! provider), and reading and parsing every tree on each poll was most of a list's time.
//!
//! The generation is a row of the database, bumped in the transaction that changes
//! `resources`, which also records the generation at which each tree changed
//! (`tree_versions`): a newer snapshot reloads only the trees written since, and writers
//! in other processes are seen too.

use crate::generation::{Entry, Snapshot};
use crate::resources::{from_rows, COLUMNS};
use crate::{Result, Store};
use model::{Kind, Resource, Tree};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A read-only transaction whose statements all see one snapshot of the database.
const CONSISTENT_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

impl Store {
    /// The current snapshot: the cached one while the generation has not moved, else the
    /// cached one with the trees written since reloaded.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        // One read transaction, so the generation and the rows are of the same commit. On
        // PostgreSQL that takes REPEATABLE READ: under its default READ COMMITTED each
        // statement sees the commits made before it, and a tree written between the rows'
        // read and the read of what changed was dropped from the snapshot (the chaos test
        // saw a load balancer missing from a list).
        let mut tx = match self.dialect {
            crate::Dialect::Sqlite => self.read.begin().await?,
            crate::Dialect::Postgres => self.read.begin_with(CONSISTENT_READ).await?,
        };
        let generation: i64 = sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let cached = self.snapshot.load_full();
        let since = match &cached {
            Some(s) if s.generation == generation => return Ok(s.clone()),
            Some(s) if s.generation < generation => s.generation,
            _ => -1,
        };
        // A first load reads every tree: `tree_versions` only knows trees written since.
        let which = if since < 0 {
            "lb_id IS NOT NULL"
        } else {
            "lb_id IN (SELECT lb_id FROM tree_versions WHERE generation > $2)"
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, seq FROM resources WHERE kind <> $1 AND {which} ORDER BY seq"
        ))
        .bind(Kind::Amphora.as_str())
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        let reloaded: Vec<String> =
            sqlx::query_scalar("SELECT lb_id FROM tree_versions WHERE generation > $1")
                .bind(since)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let seqs: Vec<i64> = rows.iter().map(|r| r.get("seq")).collect();
        let (mut trees, mut order) = match cached.filter(|_| since >= 0) {
            Some(s) => (s.trees.clone(), s.order.clone()),
            None => Default::default(),
        };
        let reloaded: HashSet<String> = reloaded.into_iter().collect();
        trees.retain(|lb_id, _| !reloaded.contains(lb_id));
        order.retain(|e| !reloaded.contains(&e.lb_id));
        let mut groups: HashMap<String, Vec<Resource>> = HashMap::new();
        for (r, seq) in from_rows(rows)?.into_iter().zip(seqs) {
            let lb_id = r.lb_id.clone().unwrap_or_default();
            order.push(Entry {
                seq,
                kind: r.kind(),
                parent_id: r.parent_id.clone(),
                lb_id: lb_id.clone(),
                id: r.id.clone(),
            });
            groups.entry(lb_id).or_default().push(r);
        }
        order.sort_by_key(|e| e.seq);
        for (lb_id, rows) in groups {
            if rows.iter().any(|r| r.kind() == Kind::LoadBalancer) {
                trees.insert(lb_id, Arc::new(Tree::from_rows(rows)));
            }
        }
        let snapshot = Arc::new(Snapshot {
            generation,
            trees,
            order,
        });
        self.snapshot.store(Some(snapshot.clone()));
        Ok(snapshot)
    }
}
