//! Versioned migrations. `fixtures/stop15` is a data dir written by the release before
//! versions were recorded (`ostia up`, a load balancer with listener, pool, member, health
//! monitor and HTTP_COOKIE persistence, and a secret): it opens, migrates, keeps everything,
//! and serves what the new versions added. A new database gets every version.

use model::Kind;
use store::{Sealer, Store};

/// The recorded schema versions.
async fn versions(path: &std::path::Path) -> Vec<i64> {
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let v = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&db)
        .await
        .unwrap();
    db.close().await;
    v
}

/// Every table's columns, in order.
async fn schema(path: &std::path::Path) -> Vec<(String, String)> {
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let s = sqlx::query_as(
        "SELECT m.name, p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || \
         coalesce(p.dflt_value, '') FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' ORDER BY m.name, p.cid",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    db.close().await;
    s
}

fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stop15");
    for file in ["ostia.db", "secrets.key"] {
        std::fs::copy(from.join(file), dir.path().join(file)).unwrap();
    }
    let path = dir.path().join("ostia.db");
    (dir, path)
}

#[tokio::test]
async fn a_data_dir_of_the_previous_release_opens_migrates_and_keeps_everything() {
    let (dir, path) = fixture();
    let store = Store::open(&path).await.expect("the old data dir opens");
    let lbs = store.list(Kind::LoadBalancer, None).await.unwrap();
    assert_eq!(lbs.len(), 1);
    let lb: &model::LoadBalancer = lbs[0].get().expect("a load balancer");
    assert_eq!(lb.name, "fixture-lb");
    assert_eq!(
        lbs[0].provisioning_status,
        model::ProvisioningStatus::Active
    );
    let tree = store.tree(&lbs[0].id).await.unwrap().expect("its tree");
    for kind in [
        Kind::Listener,
        Kind::Pool,
        Kind::Member,
        Kind::HealthMonitor,
    ] {
        assert_eq!(tree.of_kind(kind).count(), 1, "{kind:?}");
    }
    let (_, pool) = tree.all::<model::Pool>().next().unwrap();
    assert_eq!(
        pool.session_persistence.as_ref().map(|p| p.kind),
        Some(model::PersistenceType::HttpCookie),
        "{pool:?}"
    );
    // The amphora record reads as one, with its status and generation.
    let amphorae = store.amphorae(Some(&lbs[0].id)).await.unwrap();
    assert_eq!(amphorae.len(), 1);
    assert_eq!(amphorae[0].status, model::AmphoraStatus::Allocated);
    assert_eq!(amphorae[0].details.generation, 1);

    // The secret still opens with the data dir's key.
    let sealer = Sealer::load_or_create(dir.path()).unwrap();
    let secrets = store.secrets().await.unwrap();
    assert_eq!(secrets.len(), 1);
    let payload = sealer
        .open(&secrets[0].id, secrets[0].sealed.as_ref().unwrap())
        .unwrap();
    assert_eq!(payload, b"hello");

    // What version 2 added works on the old data dir.
    let mut tx = store.begin().await.unwrap();
    tx.put_certificate_copy("http://barbican/v1/containers/x", "p", b"sealed")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(store
        .certificate_copy("http://barbican/v1/containers/x")
        .await
        .unwrap()
        .is_some());
    store.close().await;
    assert_eq!(versions(&path).await, vec![1, 2, 3, 4]);

    // The same schema as a new database's.
    let fresh = tempfile::tempdir().unwrap();
    Store::open(&fresh.path().join("ostia.db"))
        .await
        .unwrap()
        .close()
        .await;
    assert_eq!(
        schema(&path).await,
        schema(&fresh.path().join("ostia.db")).await
    );

    // Opening again is a no-op.
    let store = Store::open(&path).await.expect("reopens");
    assert_eq!(store.list(Kind::LoadBalancer, None).await.unwrap().len(), 1);
    store.close().await;
    assert_eq!(versions(&path).await, vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn a_new_database_gets_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ostia.db");
    let store = Store::open(&path).await.unwrap();
    assert!(store
        .list(Kind::LoadBalancer, None)
        .await
        .unwrap()
        .is_empty());
    store.close().await;
    assert_eq!(versions(&path).await, vec![1, 2, 3, 4]);
}
