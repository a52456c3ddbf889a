//! Objects of every kind, and load-balancer trees loaded and saved as a unit.

use crate::{Result, Store, StoreError, WriteTx};
use model::{Kind, Resource, Tree};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

const COLUMNS: &str = "id, kind, lb_id, parent_id, project_id, provisioning_status, \
                       operating_status, created_at, updated_at, attrs";

fn from_row(row: &SqliteRow) -> Result<Resource> {
    let kind: String = row.try_get("kind")?;
    let attrs: String = row.try_get("attrs")?;
    let attrs = match serde_json::from_str(&attrs) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(StoreError::Corrupt(format!("attrs of {kind}"))),
    };
    Ok(Resource {
        kind: Kind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("kind {kind}")))?,
        id: row.try_get("id")?,
        lb_id: row.try_get("lb_id")?,
        parent_id: row.try_get("parent_id")?,
        project_id: row.try_get("project_id")?,
        provisioning_status: row.try_get("provisioning_status")?,
        operating_status: row.try_get("operating_status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        attrs,
    })
}

fn from_rows(rows: Vec<SqliteRow>) -> Result<Vec<Resource>> {
    rows.iter().map(from_row).collect()
}

async fn upsert(conn: &mut SqliteConnection, r: &Resource) -> Result<()> {
    let attrs = serde_json::Value::Object(r.attrs.clone()).to_string();
    sqlx::query(
        "INSERT INTO resources (id, kind, lb_id, parent_id, project_id, provisioning_status, \
         operating_status, created_at, updated_at, seq, attrs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources), $10) \
         ON CONFLICT (id) DO UPDATE SET lb_id = excluded.lb_id, parent_id = excluded.parent_id, \
         project_id = excluded.project_id, provisioning_status = excluded.provisioning_status, \
         operating_status = excluded.operating_status, updated_at = excluded.updated_at, \
         attrs = excluded.attrs",
    )
    .bind(&r.id)
    .bind(r.kind.as_str())
    .bind(&r.lb_id)
    .bind(&r.parent_id)
    .bind(&r.project_id)
    .bind(&r.provisioning_status)
    .bind(&r.operating_status)
    .bind(&r.created_at)
    .bind(&r.updated_at)
    .bind(attrs)
    .execute(conn)
    .await?;
    Ok(())
}

async fn tree_rows(conn: &mut SqliteConnection, lb_id: &str) -> Result<Option<Tree>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM resources WHERE lb_id = $1 AND kind <> 'amphora' ORDER BY seq"
    ))
    .bind(lb_id)
    .fetch_all(conn)
    .await?;
    let rows = from_rows(rows)?;
    if !rows.iter().any(|r| r.kind == Kind::LoadBalancer) {
        return Ok(None);
    }
    Ok(Some(Tree::from_rows(rows)))
}

impl Store {
    pub async fn get(&self, kind: Kind, id: &str) -> Result<Option<Resource>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE id = $1 AND kind = $2"
        ))
        .bind(id)
        .bind(kind.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// All objects of a kind in creation order, optionally only the children of one parent.
    pub async fn list(&self, kind: Kind, parent: Option<&str>) -> Result<Vec<Resource>> {
        let rows = match parent {
            Some(parent) => {
                sqlx::query(&format!(
                "SELECT {COLUMNS} FROM resources WHERE kind = $1 AND parent_id = $2 ORDER BY seq"
            ))
                .bind(kind.as_str())
                .bind(parent)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM resources WHERE kind = $1 ORDER BY seq"
                ))
                .bind(kind.as_str())
                .fetch_all(&self.read)
                .await?
            }
        };
        from_rows(rows)
    }

    pub async fn tree(&self, lb_id: &str) -> Result<Option<Tree>> {
        let mut conn = self.read.acquire().await?;
        tree_rows(&mut conn, lb_id).await
    }

    /// The objects of `kind` (below `parent` when given) in creation order, each with the
    /// tree of its load balancer: what rendering a list of that kind needs, in one query.
    pub async fn trees_with(
        &self,
        kind: Kind,
        parent: Option<&str>,
    ) -> Result<(
        std::collections::HashMap<String, Tree>,
        Vec<(String, String)>,
    )> {
        let sql = format!(
            "SELECT {COLUMNS} FROM resources WHERE kind <> 'amphora' AND lb_id IN \
             (SELECT lb_id FROM resources WHERE kind = $1 AND ($2 IS NULL OR parent_id = $2)) \
             ORDER BY seq"
        );
        let rows = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(parent)
            .fetch_all(&self.read)
            .await?;
        let mut by_lb: indexmap_lite::Groups = Default::default();
        let mut order = Vec::new();
        for r in from_rows(rows)? {
            let lb = r.lb_id.clone().unwrap_or_default();
            if r.kind == kind && (parent.is_none() || r.parent_id.as_deref() == parent) {
                order.push((lb.clone(), r.id.clone()));
            }
            by_lb.push(lb, r);
        }
        let trees = by_lb
            .into_values()
            .filter(|rows| rows.iter().any(|r| r.kind == Kind::LoadBalancer))
            .map(|rows| {
                (
                    rows[0].lb_id.clone().unwrap_or_default(),
                    Tree::from_rows(rows),
                )
            })
            .collect();
        Ok((trees, order))
    }

    /// Load balancers kept as DELETED longer than `older_than` (an isoformat timestamp).
    pub async fn purge_deleted_lbs(&self, older_than: &str) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM resources WHERE kind = 'loadbalancer' AND provisioning_status = 'DELETED' \
             AND COALESCE(updated_at, created_at) < $1",
        )
        .bind(older_than)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}

impl WriteTx {
    pub async fn tree(&mut self, lb_id: &str) -> Result<Option<Tree>> {
        tree_rows(&mut self.tx, lb_id).await
    }

    pub async fn get(&mut self, kind: Kind, id: &str) -> Result<Option<Resource>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE id = $1 AND kind = $2"
        ))
        .bind(id)
        .bind(kind.as_str())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn list(&mut self, kind: Kind) -> Result<Vec<Resource>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE kind = $1 ORDER BY seq"
        ))
        .bind(kind.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        from_rows(rows)
    }

    /// Inserts or replaces one object.
    pub async fn put(&mut self, r: &Resource) -> Result<()> {
        upsert(&mut self.tx, r).await
    }

    pub async fn delete(&mut self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM resources WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Writes back what changed in a tree.
    pub async fn save_tree(&mut self, tree: &Tree) -> Result<()> {
        for id in tree.removed() {
            self.delete(id).await?;
        }
        for r in tree.dirty() {
            upsert(&mut self.tx, r).await?;
        }
        Ok(())
    }

    /// Counts objects of a kind owned by a project (quota use).
    pub async fn count(&mut self, kind: Kind, project_id: &str) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM resources WHERE kind = $1 AND project_id = $2 \
             AND provisioning_status <> 'DELETED'",
        )
        .bind(kind.as_str())
        .bind(project_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n)
    }
}

/// Grouping rows by load balancer while keeping first-seen order.
mod indexmap_lite {
    use model::Resource;
    use std::collections::HashMap;

    #[derive(Default)]
    pub struct Groups {
        order: Vec<String>,
        groups: HashMap<String, Vec<Resource>>,
    }

    impl Groups {
        pub fn push(&mut self, key: String, r: Resource) {
            self.groups
                .entry(key.clone())
                .or_insert_with(|| {
                    self.order.push(key);
                    Vec::new()
                })
                .push(r);
        }

        pub fn into_values(mut self) -> impl Iterator<Item = Vec<Resource>> {
            self.order
                .into_iter()
                .filter_map(move |k| self.groups.remove(&k))
        }
    }
}
