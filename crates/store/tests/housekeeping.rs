//! What housekeeping purges: rows kept as DELETED past their expiry age, and nothing else.

mod database;

use model::{Kind, Resource};
use store::{ListenerStats, StatsDelta, Store};

fn row(kind: Kind, id: &str, status: &str, updated: &str) -> Resource {
    let mut r = Resource::new(kind, id.to_string());
    r.lb_id = Some("lb".into());
    r.parent_id = Some("lb".into());
    r.provisioning_status = status.into();
    r.operating_status = "ONLINE".into();
    r.updated_at = Some(updated.into());
    r
}

#[tokio::test]
async fn deleted_amphorae_past_their_expiry_go_with_their_stats() {
    let db = database::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for r in [
        row(
            Kind::Amphora,
            "old-deleted",
            "DELETED",
            "2026-01-01T00:00:00",
        ),
        row(
            Kind::Amphora,
            "new-deleted",
            "DELETED",
            "2026-11-27T00:00:00",
        ),
        row(
            Kind::Amphora,
            "old-allocated",
            "ALLOCATED",
            "2026-01-01T00:00:00",
        ),
    ] {
        tx.put(&r).await.unwrap();
    }
    tx.commit().await.unwrap();
    let delta = |amphora: &str| StatsDelta {
        listener_id: "l".into(),
        amphora_id: amphora.into(),
        stats: ListenerStats {
            bytes_in: 10,
            ..ListenerStats::default()
        },
    };
    store
        .record_reports(&[], &[delta("old-deleted"), delta("old-allocated")])
        .await
        .unwrap();
    let purged = store
        .purge_deleted(Kind::Amphora, "2026-11-20T00:00:00")
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let left: Vec<String> = store
        .list(Kind::Amphora, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, ["new-deleted", "old-allocated"]);
    assert!(store.amphora_stats("old-deleted").await.unwrap().is_empty());
    assert_eq!(
        store.amphora_stats("old-allocated").await.unwrap()[0]
            .1
            .bytes_in,
        10
    );
}
