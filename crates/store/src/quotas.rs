//! Per-project quota records (unset limits are null and fall back to defaults).

use crate::{Result, Store, StoreError, WriteTx};
use model::Quota;
use sqlx::Row;

fn parse(attrs: &str) -> Result<Quota> {
    serde_json::from_str(attrs).map_err(|_| StoreError::Corrupt("quota attrs".into()))
}

impl Store {
    pub async fn quotas(&self) -> Result<Vec<(String, Quota)>> {
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

    pub async fn quota(&self, project_id: &str) -> Result<Option<Quota>> {
        let attrs: Option<String> =
            sqlx::query_scalar("SELECT attrs FROM quotas WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&self.read)
                .await?;
        attrs.as_deref().map(parse).transpose()
    }
}

impl WriteTx {
    pub async fn quota(&mut self, project_id: &str) -> Result<Option<Quota>> {
        let attrs: Option<String> =
            sqlx::query_scalar("SELECT attrs FROM quotas WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        attrs.as_deref().map(parse).transpose()
    }

    pub async fn put_quota(&mut self, project_id: &str, quota: &Quota) -> Result<()> {
        sqlx::query(
            "INSERT INTO quotas (project_id, attrs) VALUES ($1, $2) \
             ON CONFLICT (project_id) DO UPDATE SET attrs = excluded.attrs",
        )
        .bind(project_id)
        .bind(serde_json::to_string(quota).expect("a quota serialises"))
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
