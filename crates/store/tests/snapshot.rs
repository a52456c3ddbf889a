//! The list snapshot follows every committed write, including writes made through another
//! handle on the same database file (another process, such as `ostia worker`).

mod database;

use model::{Kind, Resource};
use store::Store;

fn object(kind: Kind, id: &str, lb_id: &str, parent: &str, name: &str) -> Resource {
    let mut r = Resource::new(kind, id.to_string());
    r.lb_id = Some(lb_id.to_string());
    r.parent_id = (!parent.is_empty()).then(|| parent.to_string());
    r.provisioning_status = "ACTIVE".into();
    r.operating_status = "ONLINE".into();
    r.set("name", name.into());
    r
}

fn names(store_snapshot: &store::Snapshot, kind: Kind, parent: Option<&str>) -> Vec<String> {
    store_snapshot
        .objects(kind, parent)
        .map(|(_, r)| r.str("name").unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn snapshot_sees_writes_of_other_handles_and_reloads_only_what_changed() {
    let db = database::fresh().await;
    let reader = Store::connect(&db.url).await.unwrap();
    let writer = Store::connect(&db.url).await.unwrap();

    let mut tx = writer.begin().await.unwrap();
    for lb in ["lb-a", "lb-b"] {
        tx.put(&object(Kind::LoadBalancer, lb, lb, "", lb))
            .await
            .unwrap();
    }
    tx.put(&object(Kind::Listener, "l-1", "lb-a", "lb-a", "one"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let first = reader.snapshot().await.unwrap();
    assert_eq!(names(&first, Kind::LoadBalancer, None), ["lb-a", "lb-b"]);
    assert_eq!(names(&first, Kind::Listener, Some("lb-a")), ["one"]);
    let again = reader.snapshot().await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "no write: the same snapshot is reused"
    );

    // Another handle adds a listener to lb-b, renames lb-a and deletes lb-a's listener.
    let mut tx = writer.begin().await.unwrap();
    tx.put(&object(Kind::Listener, "l-2", "lb-b", "lb-b", "two"))
        .await
        .unwrap();
    tx.put(&object(Kind::LoadBalancer, "lb-a", "lb-a", "", "renamed"))
        .await
        .unwrap();
    tx.delete("l-1").await.unwrap();
    tx.commit().await.unwrap();

    let next = reader.snapshot().await.unwrap();
    assert_eq!(names(&next, Kind::LoadBalancer, None), ["renamed", "lb-b"]);
    assert_eq!(names(&next, Kind::Listener, None), ["two"]);
    assert!(names(&next, Kind::Listener, Some("lb-a")).is_empty());

    // A rolled-back transaction changes nothing.
    let mut tx = writer.begin().await.unwrap();
    tx.delete("lb-b").await.unwrap();
    drop(tx);
    let after_rollback = reader.snapshot().await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&next, &after_rollback));
    assert_eq!(
        names(&after_rollback, Kind::LoadBalancer, None),
        ["renamed", "lb-b"]
    );
}
