//! Objects of every kind, load-balancer trees loaded and saved as a unit, and amphora
//! records. Each row keeps its typed attributes as one JSON column (`attrs`), written and
//! read through serde.

use crate::row::{DbConnection, DbRow};
use crate::{Result, Store, StoreError, WriteTx};
use model::{
    Amphora, AmphoraStatus, Body, Kind, OperatingStatus, ProvisioningStatus, Resource, Tree,
};
use sqlx::Row;

pub(crate) const COLUMNS: &str = "id, kind, lb_id, parent_id, project_id, provisioning_status, \
                       operating_status, created_at, updated_at, attrs";

fn parsed<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} '{text}'")))
}

fn attrs(row: &DbRow, kind: Kind) -> Result<serde_json::Value> {
    let text: String = row.try_get("attrs")?;
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("attrs of {kind}")))
}

fn kind_of(row: &DbRow) -> Result<Kind> {
    let kind: String = row.try_get("kind")?;
    Kind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("kind {kind}")))
}

fn from_row(row: &DbRow) -> Result<Resource> {
    let kind = kind_of(row)?;
    let body = Body::from_json(kind, attrs(row, kind)?)
        .map_err(|e| StoreError::Corrupt(format!("attrs of {kind}: {e}")))?;
    Ok(Resource {
        id: row.try_get("id")?,
        lb_id: row.try_get("lb_id")?,
        parent_id: row.try_get("parent_id")?,
        project_id: row.try_get("project_id")?,
        provisioning_status: parsed::<ProvisioningStatus>(row, "provisioning_status")?,
        operating_status: parsed::<OperatingStatus>(row, "operating_status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        body,
    })
}

fn amphora_from(row: &DbRow) -> Result<Amphora> {
    let details = serde_json::from_value(attrs(row, Kind::Amphora)?)
        .map_err(|e| StoreError::Corrupt(format!("attrs of amphora: {e}")))?;
    let lb_id: Option<String> = row.try_get("lb_id")?;
    Ok(Amphora {
        id: row.try_get("id")?,
        lb_id: lb_id.unwrap_or_default(),
        project_id: row.try_get("project_id")?,
        status: parsed::<AmphoraStatus>(row, "provisioning_status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        details,
    })
}

pub(crate) fn from_rows(rows: Vec<DbRow>) -> Result<Vec<Resource>> {
    rows.iter().map(from_row).collect()
}

/// The columns of one row, whatever it records.
struct Columns<'a> {
    id: &'a str,
    kind: Kind,
    lb_id: Option<&'a str>,
    parent_id: Option<&'a str>,
    project_id: Option<&'a str>,
    provisioning_status: &'static str,
    operating_status: &'static str,
    created_at: &'a str,
    updated_at: Option<&'a str>,
    attrs: String,
}

impl<'a> Columns<'a> {
    fn of(r: &'a Resource) -> Columns<'a> {
        Columns {
            id: &r.id,
            kind: r.kind(),
            lb_id: r.lb_id.as_deref(),
            parent_id: r.parent_id.as_deref(),
            project_id: r.project_id.as_deref(),
            provisioning_status: r.provisioning_status.as_str(),
            operating_status: r.operating_status.as_str(),
            created_at: &r.created_at,
            updated_at: r.updated_at.as_deref(),
            attrs: r.body.to_json().to_string(),
        }
    }

    /// An amphora record: its status in the provisioning column, as Octavia keeps it, and
    /// its load balancer as its parent.
    fn of_amphora(a: &'a Amphora) -> Columns<'a> {
        Columns {
            id: &a.id,
            kind: Kind::Amphora,
            lb_id: Some(&a.lb_id),
            parent_id: Some(&a.lb_id),
            project_id: a.project_id.as_deref(),
            provisioning_status: a.status.as_str(),
            operating_status: OperatingStatus::Online.as_str(),
            created_at: &a.created_at,
            updated_at: a.updated_at.as_deref(),
            attrs: serde_json::to_string(&a.details).expect("amphora details serialise"),
        }
    }
}

async fn upsert(conn: &mut DbConnection, c: Columns<'_>) -> Result<()> {
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
    .bind(c.id)
    .bind(c.kind.as_str())
    .bind(c.lb_id)
    .bind(c.parent_id)
    .bind(c.project_id)
    .bind(c.provisioning_status)
    .bind(c.operating_status)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.attrs)
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
    if !rows.iter().any(|r| r.kind() == Kind::LoadBalancer) {
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

    pub async fn amphora(&self, id: &str) -> Result<Option<Amphora>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE id = $1 AND kind = $2"
        ))
        .bind(id)
        .bind(Kind::Amphora.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(amphora_from).transpose()
    }

    /// Amphora records in creation order: every one, or those of one load balancer.
    pub async fn amphorae(&self, lb_id: Option<&str>) -> Result<Vec<Amphora>> {
        let rows = match lb_id {
            Some(lb) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM resources WHERE kind = $1 AND lb_id = $2 ORDER BY seq"
                ))
                .bind(Kind::Amphora.as_str())
                .bind(lb)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM resources WHERE kind = $1 ORDER BY seq"
                ))
                .bind(Kind::Amphora.as_str())
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.iter().map(amphora_from).collect()
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
        .bind(ProvisioningStatus::Deleted.as_str())
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
        upsert(&mut self.tx, Columns::of(r)).await
    }

    /// Inserts or replaces an amphora record (under its load balancer's tree lock).
    pub async fn put_amphora(&mut self, a: &Amphora) -> Result<()> {
        self.lock_tree(&a.lb_id).await?;
        self.touched.insert(a.lb_id.clone());
        upsert(&mut self.tx, Columns::of_amphora(a)).await
    }

    /// The amphora records of a load balancer, in creation order.
    pub async fn amphorae(&mut self, lb_id: &str) -> Result<Vec<Amphora>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE kind = $1 AND lb_id = $2 ORDER BY seq"
        ))
        .bind(Kind::Amphora.as_str())
        .bind(lb_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(amphora_from).collect()
    }

    pub async fn amphora(&mut self, id: &str) -> Result<Option<Amphora>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE id = $1 AND kind = $2"
        ))
        .bind(id)
        .bind(Kind::Amphora.as_str())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(amphora_from).transpose()
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
        .bind(ProvisioningStatus::Deleted.as_str())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n)
    }
}
