//! The list snapshot follows every committed write, including writes made through another
//! handle on the same database file (another process, such as `ostia worker`).

mod database;

use model::{Body, Kind, OperatingStatus, ProvisioningStatus, Resource};
use serde_json::json;
use store::Store;

fn object(kind: Kind, id: &str, lb_id: &str, parent: &str, name: &str) -> Resource {
    let attrs = match kind {
        Kind::LoadBalancer => json!({"name": name, "vip_address": "127.10.0.5",
            "vip_port_id": "p", "vip_subnet_id": "s", "vip_network_id": "n"}),
        _ => json!({"name": name, "protocol": "HTTP", "protocol_port": 80}),
    };
    Resource {
        id: id.into(),
        lb_id: Some(lb_id.to_string()),
        parent_id: (!parent.is_empty()).then(|| parent.to_string()),
        project_id: None,
        provisioning_status: ProvisioningStatus::Active,
        operating_status: OperatingStatus::Online,
        created_at: model::now(),
        updated_at: None,
        body: Body::from_json(kind, attrs).expect("test attributes"),
    }
}

fn name(r: &Resource) -> String {
    match &r.body {
        Body::LoadBalancer(lb) => lb.name.clone(),
        Body::Listener(l) => l.name.clone(),
        other => panic!("no name in this test for {:?}", other.kind()),
    }
}

fn names(store_snapshot: &store::Snapshot, kind: Kind, parent: Option<&str>) -> Vec<String> {
    store_snapshot
        .objects(kind, parent)
        .map(|(_, r)| name(r))
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
