//! The key manager's secrets and containers. Payloads arrive sealed: this module never sees
//! one in clear.

use crate::row::DbRow;
use crate::{Result, Store, WriteTx};
use serde_json::{Map, Value};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub id: String,
    pub project_id: String,
    pub creator_id: String,
    pub name: Option<String>,
    pub secret_type: String,
    /// The payload's content type; None while the secret has no payload.
    pub content_type: Option<String>,
    pub sealed: Option<Vec<u8>>,
    pub created_at: String,
    pub updated_at: String,
    /// algorithm, bit_length, mode, expiration.
    pub attrs: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Container {
    pub id: String,
    pub project_id: String,
    pub creator_id: String,
    pub name: Option<String>,
    pub container_type: String,
    pub created_at: String,
    pub updated_at: String,
    /// secret_refs: [{name, secret_id}], consumers: [{name, URL}].
    pub attrs: Map<String, Value>,
}

fn secret_from(row: &DbRow) -> Result<Secret> {
    Ok(Secret {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        creator_id: row.try_get("creator_id")?,
        name: row.try_get("name")?,
        secret_type: row.try_get("secret_type")?,
        content_type: row.try_get("content_type")?,
        sealed: row.try_get("sealed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        attrs: crate::row::attrs_from(row)?,
    })
}

fn container_from(row: &DbRow) -> Result<Container> {
    Ok(Container {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        creator_id: row.try_get("creator_id")?,
        name: row.try_get("name")?,
        container_type: row.try_get("container_type")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        attrs: crate::row::attrs_from(row)?,
    })
}

/// The id at the end of a secret or container ref (or the id itself).
pub fn ref_id(reference: &str) -> &str {
    reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(reference)
}

impl Store {
    pub async fn secret(&self, id: &str) -> Result<Option<Secret>> {
        let row = sqlx::query("SELECT * FROM km_secrets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(secret_from).transpose()
    }

    /// Secrets in creation order.
    pub async fn secrets(&self) -> Result<Vec<Secret>> {
        let rows = sqlx::query("SELECT * FROM km_secrets ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(secret_from).collect()
    }

    pub async fn container(&self, id: &str) -> Result<Option<Container>> {
        let row = sqlx::query("SELECT * FROM km_containers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(container_from).transpose()
    }

    /// The sealed copy of a certificate another key manager holds (`WriteTx::put_copy`).
    pub async fn certificate_copy(&self, reference: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT sealed FROM km_copies WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("sealed")).transpose()?)
    }

    pub async fn containers(&self) -> Result<Vec<Container>> {
        let rows = sqlx::query("SELECT * FROM km_containers ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(container_from).collect()
    }
}

impl WriteTx {
    /// Inserts or replaces a secret.
    pub async fn put_secret(&mut self, s: &Secret) -> Result<()> {
        sqlx::query(
            "INSERT INTO km_secrets (id, project_id, creator_id, name, secret_type, content_type, \
             sealed, created_at, updated_at, attrs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (id) DO UPDATE SET content_type = excluded.content_type, \
             sealed = excluded.sealed, updated_at = excluded.updated_at, attrs = excluded.attrs",
        )
        .bind(&s.id)
        .bind(&s.project_id)
        .bind(&s.creator_id)
        .bind(&s.name)
        .bind(&s.secret_type)
        .bind(&s.content_type)
        .bind(&s.sealed)
        .bind(&s.created_at)
        .bind(&s.updated_at)
        .bind(Value::Object(s.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Keeps (or replaces) the sealed copy of a certificate another key manager holds, sealed
    /// with `reference` as its associated data.
    pub async fn put_certificate_copy(
        &mut self,
        reference: &str,
        project_id: &str,
        sealed: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO km_copies (reference, project_id, sealed, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (reference) DO UPDATE SET \
             project_id = excluded.project_id, sealed = excluded.sealed, updated_at = excluded.updated_at",
        )
        .bind(reference)
        .bind(project_id)
        .bind(sealed)
        .bind(model::now())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_secret(&mut self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM km_secrets WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Inserts or replaces a container.
    pub async fn put_container(&mut self, c: &Container) -> Result<()> {
        sqlx::query(
            "INSERT INTO km_containers (id, project_id, creator_id, name, container_type, \
             created_at, updated_at, attrs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, attrs = excluded.attrs",
        )
        .bind(&c.id)
        .bind(&c.project_id)
        .bind(&c.creator_id)
        .bind(&c.name)
        .bind(&c.container_type)
        .bind(&c.created_at)
        .bind(&c.updated_at)
        .bind(Value::Object(c.attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_container(&mut self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM km_containers WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
