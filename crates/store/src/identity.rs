//! The built-in identity service's records: projects, users, roles, role assignments and
//! revoked tokens. Passwords arrive here already hashed.

use crate::row::DbRow;
use crate::{Result, Store, StoreError};
use serde_json::{Map, Value};
use sqlx::Row;

/// The three identity tables share one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Projects,
    Users,
    Roles,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Projects => "id_projects",
            Table::Users => "id_users",
            Table::Roles => "id_roles",
        }
    }
}

/// A project, user or role.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub extra: Map<String, Value>,
    /// Users only.
    pub password_hash: Option<String>,
    pub default_project_id: Option<String>,
}

impl Entity {
    pub fn new(id: String, name: String, domain_id: &str) -> Entity {
        Entity {
            id,
            name,
            domain_id: domain_id.to_string(),
            enabled: true,
            extra: Map::new(),
            password_hash: None,
            default_project_id: None,
        }
    }
}

const COLUMNS: &str = "id, name, domain_id, enabled, extra, password_hash, default_project_id";

fn columns(table: Table) -> String {
    match table {
        Table::Users => COLUMNS.to_string(),
        _ => {
            "id, name, domain_id, enabled, extra, NULL AS password_hash, NULL AS default_project_id"
                .to_string()
        }
    }
}

fn entity(row: &DbRow) -> Result<Entity> {
    let extra: String = row.try_get("extra")?;
    let extra = match serde_json::from_str(&extra) {
        Ok(Value::Object(map)) => map,
        _ => return Err(StoreError::Corrupt("identity extra".into())),
    };
    Ok(Entity {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        domain_id: row.try_get("domain_id")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        extra,
        password_hash: row.try_get("password_hash")?,
        default_project_id: row.try_get("default_project_id")?,
    })
}

/// A role assignment: `user` has `role` on `project`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub project_id: String,
    pub user_id: String,
    pub role_id: String,
}

const BUMP: &str = "UPDATE id_generation SET value = value + 1 WHERE id = 1";

impl Store {
    /// Moves with every identity change and revocation.
    pub async fn identity_generation(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM id_generation WHERE id = 1")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Runs one identity write and bumps the generation in the same transaction.
    async fn identity_write(&self, sql: &str, binds: &[Option<&str>]) -> Result<u64> {
        let mut tx = self.writer().await?;
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        let done = q.execute(&mut *tx).await?;
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub async fn identity_get(&self, table: Table, id: &str) -> Result<Option<Entity>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1",
            columns(table),
            table.name()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(entity).transpose()
    }

    /// By name; roles ignore the domain.
    pub async fn identity_by_name(
        &self,
        table: Table,
        domain_id: &str,
        name: &str,
    ) -> Result<Option<Entity>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE name = $1 AND (domain_id = $2 OR $3 = 1)",
            columns(table),
            table.name()
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(domain_id)
            .bind(i64::from(table == Table::Roles))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(entity).transpose()
    }

    /// Every row, in name order.
    pub async fn identity_list(&self, table: Table) -> Result<Vec<Entity>> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY name, id",
            columns(table),
            table.name()
        );
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        rows.iter().map(entity).collect()
    }

    pub async fn identity_count(&self, table: Table) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        Ok(sqlx::query_scalar(&sql).fetch_one(&self.read).await?)
    }

    /// Inserts or replaces a row. `Ok(false)`: another row already has this name.
    pub async fn identity_put(&self, table: Table, e: &Entity) -> Result<bool> {
        let sql = match table {
            Table::Users => format!(
                "INSERT INTO id_users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled, \
                 extra = excluded.extra, password_hash = excluded.password_hash, \
                 default_project_id = excluded.default_project_id"
            ),
            _ => format!(
                "INSERT INTO {} (id, name, domain_id, enabled, extra) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled, \
                 extra = excluded.extra",
                table.name()
            ),
        };
        let mut q = sqlx::query(&sql)
            .bind(&e.id)
            .bind(&e.name)
            .bind(&e.domain_id)
            .bind(i64::from(e.enabled))
            .bind(Value::Object(e.extra.clone()).to_string());
        if table == Table::Users {
            q = q.bind(&e.password_hash).bind(&e.default_project_id);
        }
        let mut tx = self.writer().await?;
        match q.execute(&mut *tx).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a row and every assignment that names it.
    pub async fn identity_delete(&self, table: Table, id: &str) -> Result<bool> {
        let mut tx = self.writer().await?;
        let column = match table {
            Table::Projects => "project_id",
            Table::Users => "user_id",
            Table::Roles => "role_id",
        };
        sqlx::query(&format!("DELETE FROM id_assignments WHERE {column} = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", table.name()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn assign_role(&self, a: &Assignment) -> Result<()> {
        self.identity_write(
            "INSERT INTO id_assignments (project_id, user_id, role_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[Some(&a.project_id), Some(&a.user_id), Some(&a.role_id)],
        )
        .await?;
        Ok(())
    }

    pub async fn unassign_role(&self, a: &Assignment) -> Result<bool> {
        let done = self
            .identity_write(
                "DELETE FROM id_assignments \
                 WHERE project_id = $1 AND user_id = $2 AND role_id = $3",
                &[Some(&a.project_id), Some(&a.user_id), Some(&a.role_id)],
            )
            .await?;
        Ok(done == 1)
    }

    /// Assignments, optionally only of one user and/or on one project.
    pub async fn assignments(
        &self,
        user_id: Option<&str>,
        project_id: Option<&str>,
    ) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(
            "SELECT project_id, user_id, role_id FROM id_assignments \
             WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR project_id = $2) \
             ORDER BY user_id, project_id, role_id",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Assignment {
                    project_id: r.try_get("project_id")?,
                    user_id: r.try_get("user_id")?,
                    role_id: r.try_get("role_id")?,
                })
            })
            .collect()
    }

    /// The names of the roles `user_id` holds on `project_id`.
    pub async fn role_names(&self, user_id: &str, project_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT r.name FROM id_assignments a JOIN id_roles r ON r.id = a.role_id \
             WHERE a.user_id = $1 AND a.project_id = $2 ORDER BY r.name",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Records a revoked token until `expires_at` (unix seconds), and forgets expired ones.
    pub async fn revoke_token(&self, audit_id: &str, expires_at: i64, now: i64) -> Result<()> {
        let mut tx = self.writer().await?;
        sqlx::query("DELETE FROM id_revocations WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO id_revocations (audit_id, expires_at) VALUES ($1, $2) \
             ON CONFLICT (audit_id) DO NOTHING",
        )
        .bind(audit_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn is_revoked(&self, audit_id: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM id_revocations WHERE audit_id = $1")
                .bind(audit_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(found.is_some())
    }
}
