//! What housekeeping purges: rows kept as DELETED past their expiry age, and nothing else.

mod database;

use model::{Amphora, AmphoraStatus, Kind};
use store::{ListenerStats, StatsDelta, Store};

fn amphora(id: &str, status: AmphoraStatus, updated: &str) -> Amphora {
    Amphora {
        id: id.into(),
        lb_id: "lb".into(),
        project_id: None,
        status,
        created_at: model::now(),
        updated_at: Some(updated.into()),
        details: Default::default(),
    }
}

#[tokio::test]
async fn deleted_amphorae_past_their_expiry_go_with_their_stats() {
    let db = database::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for a in [
        amphora("old-deleted", AmphoraStatus::Deleted, "2026-01-01T00:00:00"),
        amphora("new-deleted", AmphoraStatus::Deleted, "2026-11-27T00:00:00"),
        amphora(
            "old-allocated",
            AmphoraStatus::Allocated,
            "2026-01-01T00:00:00",
        ),
    ] {
        tx.put_amphora(&a).await.unwrap();
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
        .amphorae(None)
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
