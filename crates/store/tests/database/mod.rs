//! The database a test runs on: a new SQLite file, or, when `OSTIA_TEST_POSTGRES` names a
//! PostgreSQL server (`scripts/test` starts a throwaway cluster), a new database on it.
//! The store's tests use it, and the API suites of `ostia` (by path) too.

#![allow(dead_code)]

use sqlx::Executor;

/// Keeps the SQLite file's directory for as long as the test runs.
pub struct Database {
    pub url: String,
    _dir: tempfile::TempDir,
}

pub async fn fresh() -> Database {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("ostia_test_{}", uuid::Uuid::new_v4().simple());
    let url = match postgres(&name).await {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("ostia.db").display()),
    };
    Database { url, _dir: dir }
}

/// The PostgreSQL database `name` on `OSTIA_TEST_POSTGRES`, made if it does not exist (a
/// test that restarts Ostia finds its data again); None without that server.
pub async fn postgres(name: &str) -> Option<String> {
    let server = std::env::var("OSTIA_TEST_POSTGRES").ok()?;
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&server)
        .await
        .expect("OSTIA_TEST_POSTGRES answers");
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&admin)
        .await
        .unwrap();
    if exists == 0 {
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
    }
    admin.close().await;
    // The server URL with the new database in place of its own.
    let (base, query) = server.split_once('?').unwrap_or((&server, ""));
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    Some(format!("{base}/{name}?{query}"))
}
