//! Per-project quota records (unset limits are null and fall back to defaults).

use crate::{Result, Store, StoreError, WriteTx};
use serde_json::{Map, Value};
use sqlx::Row;

fn parse(attrs: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str(attrs) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(StoreError::Corrupt("quota attrs".into())),
    }
}

impl Store {
    pub async fn quotas(&self) -> Result<Vec<(String, Map<String, Value>)>> {
        let rows = sqlx::query("SELECT project_id, attrs FROM quotas ORDER BY project_id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("project_id")?,
                    parse(&r.try_get::<String, _>("attrs")?)?,
                ))
            })
            .collect()
    }

    pub async fn quota(&self, project_id: &str) -> Result<Option<Map<String, Value>>> {
        let attrs: Option<String> =
            sqlx::query_scalar("SELECT attrs FROM quotas WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&self.read)
                .await?;
        attrs.as_deref().map(parse).transpose()
    }
}

impl WriteTx {
    pub async fn quota(&mut self, project_id: &str) -> Result<Option<Map<String, Value>>> {
        let attrs: Option<String> =
            sqlx::query_scalar("SELECT attrs FROM quotas WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        attrs.as_deref().map(parse).transpose()
    }

    pub async fn put_quota(&mut self, project_id: &str, attrs: &Map<String, Value>) -> Result<()> {
        sqlx::query(
            "INSERT INTO quotas (project_id, attrs) VALUES ($1, $2) \
             ON CONFLICT (project_id) DO UPDATE SET attrs = excluded.attrs",
        )
        .bind(project_id)
        .bind(Value::Object(attrs.clone()).to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_quota(&mut self, project_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM quotas WHERE project_id = $1")
            .bind(project_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
