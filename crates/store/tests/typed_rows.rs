//! Rows are read into their typed attributes: a stored value that does not fit its type
//! (an algorithm Octavia does not have, a negative delay, a port past 65535) is an error
//! naming the row's kind, never a guess and never a panic.

mod database;

use model::{Body, Kind, LoadBalancer, OperatingStatus, Pool, ProvisioningStatus, Resource, Tree};
use serde_json::json;
use store::{Store, StoreError};

fn object(kind: Kind, id: &str, parent: Option<&str>, attrs: serde_json::Value) -> Resource {
    Resource {
        id: id.into(),
        lb_id: Some("lb".into()),
        parent_id: parent.map(str::to_string),
        project_id: None,
        provisioning_status: ProvisioningStatus::Active,
        operating_status: OperatingStatus::Online,
        created_at: model::now(),
        updated_at: None,
        body: Body::from_json(kind, attrs).expect("test attributes"),
    }
}

async fn rewrite(url: &str, id: &str, attrs: serde_json::Value) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE resources SET attrs = $1 WHERE id = $2")
        .bind(attrs.to_string())
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_stored_value_that_does_not_fit_its_type_is_an_error_not_a_guess() {
    let db = database::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let lb = json!({"vip_address": "127.10.0.5", "vip_port_id": "p", "vip_subnet_id": "s",
                    "vip_network_id": "n"});
    tx.put(&object(Kind::LoadBalancer, "lb", None, lb))
        .await
        .unwrap();
    let pool = json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"});
    tx.put(&object(Kind::Pool, "p", Some("lb"), pool))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tree: Tree = store.tree("lb").await.unwrap().expect("the tree");
    let typed: &Pool = tree.typed("p").expect("a pool");
    assert_eq!(typed.lb_algorithm, model::LbAlgorithm::RoundRobin);
    let _: &LoadBalancer = tree.load_balancer();

    for (id, attrs, kind) in [
        (
            "p",
            json!({"protocol": "HTTP", "lb_algorithm": "RANDOM"}),
            "pool",
        ),
        ("p", json!({"protocol": "HTTP"}), "pool"),
        (
            "lb",
            json!({"vip_address": "not-an-address", "vip_port_id": "p",
                      "vip_subnet_id": "s", "vip_network_id": "n"}),
            "loadbalancer",
        ),
    ] {
        rewrite(&db.url, id, attrs.clone()).await;
        match store.tree("lb").await {
            Err(StoreError::Corrupt(why)) => {
                assert!(why.contains(&format!("attrs of {kind}")), "{why}")
            }
            other => panic!("{attrs} read as {other:?}"),
        }
    }
    store.close().await;
}
