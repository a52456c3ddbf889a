//! The database a store test runs on: a new SQLite file, or, when `OSTIA_TEST_POSTGRES` names
//! a PostgreSQL server (`scripts/test` starts a throwaway cluster), a new database on it.

use sqlx::Executor;

/// Keeps the SQLite file's directory for as long as the test runs.
pub struct Database {
    pub url: String,
    _dir: tempfile::TempDir,
}

pub async fn fresh() -> Database {
    let dir = tempfile::tempdir().unwrap();
    let Ok(server) = std::env::var("OSTIA_TEST_POSTGRES") else {
        let url = format!("sqlite://{}", dir.path().join("ostia.db").display());
        return Database { url, _dir: dir };
    };
    sqlx::any::install_default_drivers();
    let name = format!("ostia_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&server)
        .await
        .expect("OSTIA_TEST_POSTGRES answers");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    admin.close().await;
    // The server URL with the new database in place of its own.
    let (base, query) = server.split_once('?').unwrap_or((&server, ""));
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    let url = format!("{base}/{name}?{query}");
    Database { url, _dir: dir }
}
