//! Objects of every kind, and load-balancer trees loaded and saved as a unit.

use crate::row::{DbConnection, DbRow};
use crate::{Result, Store, StoreError, WriteTx};
use model::{Kind, Resource, Tree};
use sqlx::Row;

pub(crate) const COLUMNS: &str = "id, kind, lb_id, parent_id, project_id, provisioning_status, \
                       operating_status, created_at, updated_at, attrs";

fn from_row(row: &DbRow) -> Result<Resource> {
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

pub(crate) fn from_rows(rows: Vec<DbRow>) -> Result<Vec<Resource>> {
    rows.iter().map(from_row).collect()
}

async fn upsert(conn: &mut DbConnection, r: &Resource) -> Result<()> {
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

async fn tree_rows(conn: &mut DbConnection, lb_id: &str) -> Result<Option<Tree>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM resources WHERE lb_id = $1 AND kind <> $2 ORDER BY seq"
    ))
    .bind(lb_id)
    .bind(Kind::Amphora.as_str())
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

    /// Rows of `kind` kept as DELETED longer than `older_than` (an isoformat timestamp):
    /// load balancers past `load_balancer_expiry_age`, amphorae past `amphora_expiry_age`
    /// (with the statistics they reported).
    pub async fn purge_deleted(&self, kind: Kind, older_than: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let purged: Vec<(String, Option<String>)> = sqlx::query_as(
            "DELETE FROM resources WHERE kind = $1 AND provisioning_status = $2 \
             AND COALESCE(updated_at, created_at) < $3 RETURNING id, lb_id",
        )
        .bind(kind.as_str())
        .bind(model::status::DELETED)
        .bind(older_than)
        .fetch_all(&mut *tx.tx)
        .await?;
        for (id, lb_id) in &purged {
            if kind == Kind::Amphora {
                sqlx::query("DELETE FROM listener_stats WHERE amphora_id = $1")
                    .bind(id)
                    .execute(&mut *tx.tx)
                    .await?;
            }
            tx.touched.extend(lb_id.clone());
        }
        tx.commit().await?;
        Ok(purged.len() as u64)
    }
}

impl WriteTx {
    pub async fn tree(&mut self, lb_id: &str) -> Result<Option<Tree>> {
        self.lock_tree(lb_id).await?;
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
        if let Some(lb_id) = &r.lb_id {
            self.lock_tree(lb_id).await?;
            self.touched.insert(lb_id.clone());
        }
        upsert(&mut self.tx, r).await
    }

    pub async fn delete(&mut self, id: &str) -> Result<()> {
        let lb_id: Option<Option<String>> =
            sqlx::query_scalar("DELETE FROM resources WHERE id = $1 RETURNING lb_id")
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?;
        if let Some(Some(lb_id)) = lb_id {
            self.touched.insert(lb_id);
        }
        Ok(())
    }

    /// Writes back what changed in a tree.
    pub async fn save_tree(&mut self, tree: &Tree) -> Result<()> {
        for id in tree.removed() {
            self.delete(id).await?;
        }
        for r in tree.dirty() {
            self.put(r).await?;
        }
        Ok(())
    }

    /// Counts objects of a kind owned by a project (quota use).
    pub async fn count(&mut self, kind: Kind, project_id: &str) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM resources WHERE kind = $1 AND project_id = $2 \
             AND provisioning_status <> $3",
        )
        .bind(kind.as_str())
        .bind(project_id)
        .bind(model::status::DELETED)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n)
    }
}
