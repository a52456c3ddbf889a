//! The key manager (Barbican subset on :9311) as the LB API and python-barbicanclient use it:
//! secrets with payloads given at once or later, sealed at rest, paged lists, certificate
//! containers and their consumers, Barbican's errors; and the LB API refusing certificate
//! refs it cannot load with Octavia's 400.

mod common;

use common::*;
use serde_json::{json, Value};

const MARKER: &str = "OSTIA-SECRET-MARKER-6d1f0e";

async fn km(env: &Env, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    env.req(method, &format!("{}{path}", env.km), body).await
}

async fn secret(env: &Env, name: &str, payload: &str) -> String {
    let (s, b) = km(
        env,
        "POST",
        "/v1/secrets",
        Some(
            json!({"name": name, "payload": payload, "payload_content_type": "text/plain",
                    "secret_type": "certificate"}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["secret_ref"].as_str().unwrap().to_string()
}

fn id(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_containers_as_barbican_serves_them() {
    let env = start().await;
    // Version discovery as keystoneauth reads it.
    let r = env.client.get(&env.km).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 300);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["versions"]["values"][0]["id"], "v1", "{v}");

    let pem = format!("-----BEGIN CERTIFICATE-----\n{MARKER}\n-----END CERTIFICATE-----\n");
    let cert = secret(&env, "cert", &pem).await;
    assert!(
        cert.starts_with(&format!("{}/v1/secrets/", env.km)),
        "{cert}"
    );
    let (_, meta) = km(&env, "GET", &format!("/v1/secrets/{}", id(&cert)), None).await;
    assert_eq!(meta["content_types"]["default"], "text/plain", "{meta}");
    assert_eq!(meta["status"], "ACTIVE");
    let payload = env
        .client
        .get(format!("{cert}/payload"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(payload, pem);

    // A payload later, once; binary payloads in base64.
    let (s, b) = km(&env, "POST", "/v1/secrets", Some(json!({"name": "later"}))).await;
    assert_eq!(s, 201, "{b}");
    let later = b["secret_ref"].as_str().unwrap().to_string();
    let put = |body: &'static str| {
        env.client
            .put(&later)
            .header("content-type", "text/plain")
            .body(body)
            .send()
    };
    assert_eq!(put("now").await.unwrap().status().as_u16(), 204);
    assert_eq!(put("again").await.unwrap().status().as_u16(), 409);
    let (s, b) = km(
        &env,
        "POST",
        "/v1/secrets",
        Some(
            json!({"payload": "AAEC", "payload_content_type": "application/octet-stream",
                    "payload_content_encoding": "base64"}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let bin = env
        .client
        .get(format!("{}/payload", b["secret_ref"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bin[..], &[0u8, 1, 2]);

    // Refusals with Barbican's body.
    let (s, b) = km(&env, "POST", "/v1/secrets", Some(json!({"payload": "x"}))).await;
    assert_eq!((s, b["code"].as_i64()), (400, Some(400)), "{b}");
    let (s, _) = km(
        &env,
        "GET",
        "/v1/secrets/6f1b1b6e-0c9e-4a43-9a4c-2f1f0b3c1a10",
        None,
    )
    .await;
    assert_eq!(s, 404);

    // Paging.
    let (_, page) = km(&env, "GET", "/v1/secrets?limit=2", None).await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(page["secrets"].as_array().unwrap().len(), 2);
    assert!(
        page["next"].as_str().unwrap().contains("offset=2"),
        "{page}"
    );

    // Containers.
    let key = secret(
        &env,
        "key",
        "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n",
    )
    .await;
    let (s, b) = km(
        &env,
        "POST",
        "/v1/containers",
        Some(json!({"name": "tls", "type": "certificate", "secret_refs": [
            {"name": "certificate", "secret_ref": cert}, {"name": "private_key", "secret_ref": key}]})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let container = b["container_ref"].as_str().unwrap().to_string();
    let (s, b) = km(
        &env,
        "POST",
        "/v1/containers",
        Some(json!({"type": "certificate", "secret_refs": [
            {"name": "certificate", "secret_ref": format!("{}/v1/secrets/6f1b1b6e-0c9e-4a43-9a4c-2f1f0b3c1a10", env.km)}]})),
    )
    .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = km(
        &env,
        "POST",
        "/v1/containers",
        Some(json!({"type": "certificate", "secret_refs": [{"name": "nonsense", "secret_ref": cert}]})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let consumers = format!("/v1/containers/{}/consumers", id(&container));
    let lbaas = json!({"name": "lbaas", "URL": "lb://6f1b1b6e"});
    let (s, b) = km(&env, "POST", &consumers, Some(lbaas.clone())).await;
    assert_eq!((s, b["consumers"].clone()), (200, json!([lbaas])), "{b}");
    let (s, b) = km(&env, "DELETE", &consumers, Some(lbaas.clone())).await;
    assert_eq!((s, b["consumers"].clone()), (200, json!([])), "{b}");

    // Nothing of a payload is in clear in the data dir (database and its WAL).
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
                "{} holds a payload in clear",
                path.display()
            );
        }
    }

    // The LB API loads the refs it is given.
    let lb = env.lb("lb").await;
    let listener = |reference: &str, port: u16| {
        json!({"listener": {"loadbalancer_id": lb, "protocol": "TERMINATED_HTTPS", "protocol_port": port,
                            "default_tls_container_ref": reference}})
    };
    let missing = format!(
        "{}/v1/containers/6f1b1b6e-0c9e-4a43-9a4c-2f1f0b3c1a10",
        env.km
    );
    let (s, b) = env
        .post("/v2/lbaas/listeners", listener(&missing, 443))
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["faultstring"],
        json!(format!("Could not retrieve certificate: ['{missing}']"))
    );
    let (s, b) = env
        .post("/v2/lbaas/listeners", listener(&container, 443))
        .await;
    assert_eq!(s, 201, "a container with a certificate: {b}");
    env.wait_lb(&lb).await;
    let (s, b) = env
        .post(
            "/v2/lbaas/pools",
            json!({"pool": {"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                            "tls_enabled": true, "ca_tls_container_ref": missing}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["faultstring"],
        json!(format!("Could not retrieve certificate: {missing}"))
    );
    env.stop().await;
}
