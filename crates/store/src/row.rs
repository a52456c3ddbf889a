//! The database every query runs on, through sqlx's `Any` driver: one code path for the
//! databases Ostia supports, and the row and connection types queries take.

use crate::Result;
use serde_json::{Map, Value};
use sqlx::Row;

pub(crate) type Db = sqlx::Any;
pub(crate) type DbPool = sqlx::AnyPool;
pub(crate) type DbRow = sqlx::any::AnyRow;
pub(crate) type DbConnection = sqlx::AnyConnection;

/// The JSON object of a row's `attrs` column.
pub(crate) fn attrs_from(row: &DbRow) -> Result<Map<String, Value>> {
    match serde_json::from_str(&row.try_get::<String, _>("attrs")?) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(crate::StoreError::Corrupt("attrs".into())),
    }
}
