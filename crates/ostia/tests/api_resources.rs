//! Create/show/list/update/delete and defaults per resource, against a real server.

mod common;
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn root_versions_routes_and_errors() {
    let env = start().await;
    let (s, b) = env.get("/").await;
    assert_eq!(s, 200);
    let versions = b["versions"].as_array().unwrap();
    assert_eq!(versions.last().unwrap()["id"], "v2.30");
    assert_eq!(versions.last().unwrap()["status"], "CURRENT");
    assert!(versions[..versions.len() - 1]
        .iter()
        .all(|v| v["status"] == "SUPPORTED"));
    assert_eq!(versions[0]["links"][0]["href"], format!("{}/v2", env.api));

    let resp = env
        .client
        .get(format!("{}/v2.0/lbaas/loadbalancers", env.api))
        .send()
        .await
        .unwrap();
    let rid = resp.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(rid.starts_with("req-"), "{rid}");

    // A name that is not a UUID is a 404, as the SDK's find_* needs.
    let (s, b) = env.get("/v2/lbaas/loadbalancers/foo").await;
    assert_eq!((s, fault(&b)), (404, "Load Balancer foo not found."));
    let (s, b) = env.get("/v2/lbaas/nothing").await;
    assert_eq!(s, 404);
    assert_eq!(b["title"], "Not Found");
    let (s, _) = env.req("PATCH", "/v2/lbaas/loadbalancers/foo", None).await;
    assert_eq!(s, 405);

    // Every prefix and the .json suffix reach the same collection.
    for path in [
        "/v2/lbaas/loadbalancers",
        "/v2.0/lbaas/loadbalancers",
        "/v2/loadbalancers",
        "/v2/lbaas/loadbalancers.json",
    ] {
        let (s, b) = env.get(path).await;
        assert_eq!(s, 200, "{path}");
        assert!(b["loadbalancers"].is_array(), "{path}: {b}");
    }

    // Body limit.
    let big = json!({"loadbalancer": {"name": "x".repeat(120_000)}});
    let (s, _) = env.post("/v2/lbaas/loadbalancers", big).await;
    assert_eq!(s, 413);
    env.stop().await;
}

#[tokio::test]
async fn loadbalancer_lifecycle_and_vip_port() {
    let env = start().await;
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"name": "lb1", "vip_subnet_id": env.subnet, "tags": ["t1"]}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let lb = &b["loadbalancer"];
    assert_eq!(lb["provisioning_status"], "PENDING_CREATE");
    assert_eq!(lb["operating_status"], "OFFLINE");
    assert_eq!(lb["admin_state_up"], true);
    assert_eq!(lb["description"], "");
    assert_eq!(lb["provider"], "amphora");
    assert_eq!(lb["updated_at"], Value::Null);
    assert_eq!(lb["listeners"], json!([]));
    assert_eq!(lb["tenant_id"], lb["project_id"]);
    assert_eq!(lb["vip_address"], "127.10.0.2");
    assert_eq!(lb["tags"], json!(["t1"]));
    let id = lb["id"].as_str().unwrap().to_string();
    let port = lb["vip_port_id"].as_str().unwrap().to_string();

    let active = env.wait_lb(&id).await;
    assert_eq!(active["provisioning_status"], "ACTIVE");
    assert!(active["updated_at"].is_string());
    // The VIP port exists in the network API.
    let (s, p) = env.get(&format!("{}/v2.0/ports/{port}", env.net)).await;
    assert_eq!(s, 200);
    assert_eq!(p["port"]["fixed_ips"][0]["ip_address"], "127.10.0.2");
    // The same address cannot be taken twice.
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": env.subnet, "vip_address": "127.10.0.2"}}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": env.subnet, "vip_address": "10.1.1.1"}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": "a0a0a0a0-0000-4000-8000-000000000000"}}),
        )
        .await;
    assert_eq!(
        (s, fault(&b)),
        (
            400,
            "Subnet a0a0a0a0-0000-4000-8000-000000000000 not found."
        )
    );

    let (s, b) = env
        .put(
            &format!("/v2/lbaas/loadbalancers/{id}"),
            json!({"loadbalancer": {"description": "hello"}}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["loadbalancer"]["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(env.wait_lb(&id).await["description"], "hello");

    let (s, b) = env
        .get(&format!("/v2/lbaas/loadbalancers/{id}/stats"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b["stats"],
        json!({"bytes_in": 0, "bytes_out": 0, "active_connections": 0, "total_connections": 0, "request_errors": 0})
    );
    let (s, b) = env
        .get(&format!("/v2/lbaas/loadbalancers/{id}/status"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["statuses"]["loadbalancer"].as_object().unwrap().len(), 5);

    let (s, _) = env
        .put(&format!("/v2/lbaas/loadbalancers/{id}/failover"), json!({}))
        .await;
    assert_eq!(s, 202);
    env.wait_lb(&id).await;
    let (s, b) = env
        .get(&format!("/v2/octavia/amphorae?loadbalancer_id={id}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["amphorae"].as_array().unwrap().len(), 1);
    assert_eq!(b["amphorae"][0]["role"], "STANDALONE");

    let (s, _) = env.delete(&format!("/v2/lbaas/loadbalancers/{id}")).await;
    assert_eq!(s, 204);
    for _ in 0..200 {
        if env.get(&format!("/v2/lbaas/loadbalancers/{id}")).await.0 == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        env.get(&format!("/v2/lbaas/loadbalancers/{id}")).await.0,
        404
    );
    assert_eq!(
        env.get(&format!("{}/v2.0/ports/{port}", env.net)).await.0,
        404,
        "VIP port freed"
    );
    let (_, b) = env.get("/v2/lbaas/loadbalancers").await;
    assert!(b["loadbalancers"].as_array().unwrap().is_empty());
    env.stop().await;
}

#[tokio::test]
async fn children_create_update_delete_with_defaults() {
    let env = start().await;
    let lb = env.lb("lb").await;
    let l = env
        .create("/v2/lbaas/listeners", json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80, "name": "l1"}}), &lb)
        .await;
    let l = &l["listener"];
    assert_eq!(l["connection_limit"], -1);
    assert_eq!(l["timeout_client_data"], 50000);
    assert_eq!(l["timeout_member_connect"], 5000);
    assert_eq!(l["timeout_member_data"], 50000);
    assert_eq!(l["timeout_tcp_inspect"], 0);
    assert_eq!(l["insert_headers"], json!({}));
    assert_eq!(l["client_authentication"], "NONE");
    assert_eq!(l["allowed_cidrs"], Value::Null);
    assert_eq!(l["loadbalancers"], json!([{"id": lb}]));
    let lid = l["id"].as_str().unwrap().to_string();

    let p = env
        .create("/v2/lbaas/pools", json!({"pool": {"listener_id": lid, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "name": "p1"}}), &lb)
        .await;
    let pid = p["pool"]["id"].as_str().unwrap().to_string();
    assert_eq!(p["pool"]["listeners"], json!([{"id": lid}]));
    assert!(
        p["pool"].get("healthmonitor_id").is_none(),
        "no healthmonitor_id without monitor"
    );
    let (_, l) = env.get(&format!("/v2/lbaas/listeners/{lid}")).await;
    assert_eq!(l["listener"]["default_pool_id"], pid.as_str());

    let m = env
        .create(
            &format!("/v2/lbaas/pools/{pid}/members"),
            json!({"member": {"address": "127.0.0.11", "protocol_port": 80}}),
            &lb,
        )
        .await;
    assert_eq!(m["member"]["operating_status"], "NO_MONITOR");
    assert_eq!(m["member"]["weight"], 1);
    assert_eq!(m["member"]["backup"], false);
    let mid = m["member"]["id"].as_str().unwrap().to_string();

    let h = env
        .create("/v2/lbaas/healthmonitors", json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 10, "max_retries": 2}}), &lb)
        .await;
    let h = &h["healthmonitor"];
    assert_eq!(
        (
            h["http_method"].as_str(),
            h["url_path"].as_str(),
            h["expected_codes"].as_str()
        ),
        (Some("GET"), Some("/"), Some("200"))
    );
    assert_eq!(h["max_retries_down"], 3);
    let hid = h["id"].as_str().unwrap().to_string();
    let (_, h) = env.get(&format!("/v2/lbaas/healthmonitors/{hid}")).await;
    assert_eq!(h["healthmonitor"]["operating_status"], "ONLINE");
    let (_, p) = env.get(&format!("/v2/lbaas/pools/{pid}")).await;
    assert_eq!(p["pool"]["healthmonitor_id"], hid.as_str());
    assert_eq!(p["pool"]["members"], json!([{"id": mid}]));

    // Updates, with null resetting to defaults.
    let (s, b) = env
        .put(
            &format!("/v2/lbaas/listeners/{lid}"),
            json!({"listener": {"timeout_client_data": 14400000}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    env.wait_lb(&lb).await;
    let (s, _) = env
        .put(
            &format!("/v2/lbaas/listeners/{lid}"),
            json!({"listener": {"timeout_member_data": 14400000, "timeout_client_data": null}}),
        )
        .await;
    assert_eq!(s, 200);
    env.wait_lb(&lb).await;
    let (_, l) = env.get(&format!("/v2/lbaas/listeners/{lid}")).await;
    assert_eq!(
        (
            l["listener"]["timeout_client_data"].as_i64(),
            l["listener"]["timeout_member_data"].as_i64()
        ),
        (Some(50000), Some(14400000))
    );
    let (s, _) = env
        .put(
            &format!("/v2/lbaas/pools/{pid}/members/{mid}"),
            json!({"member": {"weight": 5}}),
        )
        .await;
    assert_eq!(s, 200);
    env.wait_lb(&lb).await;
    let (_, m) = env
        .get(&format!("/v2/lbaas/pools/{pid}/members/{mid}"))
        .await;
    assert_eq!(m["member"]["weight"], 5);

    // Status tree.
    let (_, st) = env
        .get(&format!("/v2/lbaas/loadbalancers/{lb}/status"))
        .await;
    let pool = &st["statuses"]["loadbalancer"]["listeners"][0]["pools"][0];
    assert_eq!(pool["id"], pid.as_str());
    assert_eq!(pool["health_monitor"]["type"], "HTTP");
    assert_eq!(pool["members"][0]["address"], "127.0.0.11");

    // Bottom-up delete; the monitor's removal puts members back to NO_MONITOR.
    let (s, _) = env.delete(&format!("/v2/lbaas/healthmonitors/{hid}")).await;
    assert_eq!(s, 204);
    env.wait_lb(&lb).await;
    let (_, m) = env
        .get(&format!("/v2/lbaas/pools/{pid}/members/{mid}"))
        .await;
    assert_eq!(m["member"]["operating_status"], "NO_MONITOR");
    assert_eq!(
        env.get(&format!("/v2/lbaas/healthmonitors/{hid}")).await.0,
        404
    );
    assert_eq!(
        env.delete(&format!("/v2/lbaas/pools/{pid}/members/{mid}"))
            .await
            .0,
        204
    );
    env.wait_lb(&lb).await;
    assert_eq!(env.delete(&format!("/v2/lbaas/pools/{pid}")).await.0, 204);
    env.wait_lb(&lb).await;
    let (_, l) = env.get(&format!("/v2/lbaas/listeners/{lid}")).await;
    assert_eq!(l["listener"]["default_pool_id"], Value::Null);
    assert_eq!(
        env.delete(&format!("/v2/lbaas/listeners/{lid}")).await.0,
        204
    );
    env.wait_lb(&lb).await;
    assert_eq!(
        env.delete(&format!("/v2/lbaas/loadbalancers/{lb}")).await.0,
        204
    );
    env.stop().await;
}

#[tokio::test]
async fn cascade_delete_and_refused_parent_delete() {
    let env = start().await;
    let lb = env.lb("lb").await;
    let l = env
        .create(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 22}}),
            &lb,
        )
        .await;
    let lid = l["listener"]["id"].as_str().unwrap().to_string();
    let p = env
        .create("/v2/lbaas/pools", json!({"pool": {"loadbalancer_id": lb, "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}}), &lb)
        .await;
    let pid = p["pool"]["id"].as_str().unwrap().to_string();
    let (s, b) = env.delete(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    assert_eq!(
        (s, fault(&b).to_string()),
        (
            400,
            format!("Validation failure: Cannot delete Load Balancer {lb} - it has children")
        )
    );
    let (s, _) = env
        .delete(&format!("/v2/lbaas/loadbalancers/{lb}?cascade=True"))
        .await;
    assert_eq!(s, 204);
    for _ in 0..200 {
        if env.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await.0 == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(env.get(&format!("/v2/lbaas/listeners/{lid}")).await.0, 404);
    assert_eq!(env.get(&format!("/v2/lbaas/pools/{pid}")).await.0, 404);
    env.stop().await;
}

#[tokio::test]
async fn fully_populated_create_returns_the_graph() {
    let env = start().await;
    let body = json!({"loadbalancer": {"name": "graph", "vip_subnet_id": env.subnet,
        "listeners": [{"name": "http", "protocol": "HTTP", "protocol_port": 80,
            "default_pool": {"name": "web"},
            "l7policies": [{"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "api"},
                "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}]}]}],
        "pools": [
            {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
             "members": [{"address": "127.0.0.21", "protocol_port": 8080}, {"address": "127.0.0.22", "protocol_port": 8080}],
             "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1}},
            {"name": "api", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS"}]}});
    let (s, b) = env.post("/v2/lbaas/loadbalancers", body).await;
    assert_eq!(s, 201, "{b}");
    let lb = &b["loadbalancer"];
    assert_eq!(lb["listeners"][0]["name"], "http");
    assert_eq!(
        lb["listeners"][0]["l7policies"][0]["rules"][0]["value"],
        "/api"
    );
    assert!(lb["listeners"][0].get("loadbalancers").is_none());
    let web = lb["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "web")
        .unwrap();
    assert_eq!(web["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        web["members"][0]["operating_status"], "OFFLINE",
        "members of a monitored pool start OFFLINE"
    );
    assert_eq!(web["healthmonitor"]["type"], "HTTP");
    assert_eq!(lb["listeners"][0]["default_pool_id"], web["id"]);
    let id = lb["id"].as_str().unwrap().to_string();
    env.wait_lb(&id).await;
    let (_, pools) = env
        .get(&format!("/v2/lbaas/pools?loadbalancer_id={id}"))
        .await;
    let pools = pools["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    assert!(pools.iter().all(|p| p["provisioning_status"] == "ACTIVE"));

    // A reference to an undefined pool is refused and nothing is created.
    let bad = json!({"loadbalancer": {"vip_subnet_id": env.subnet,
        "listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "ghost"}}]}});
    let (s, b) = env.post("/v2/lbaas/loadbalancers", bad).await;
    assert_eq!(
        (s, fault(&b)),
        (
            400,
            "Validation failure: Pool 'ghost' was referenced but no full definition was found."
        )
    );
    let (_, all) = env.get("/v2/lbaas/loadbalancers").await;
    assert_eq!(all["loadbalancers"].as_array().unwrap().len(), 1);
    env.stop().await;
}

#[tokio::test]
async fn member_batch_update_and_l7_positions() {
    let env = start().await;
    let lb = env.lb("lb").await;
    let p = env
        .create("/v2/lbaas/pools", json!({"pool": {"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}), &lb)
        .await;
    let pid = p["pool"]["id"].as_str().unwrap().to_string();
    let members = |list: &[(&str, i64)]| json!({"members": list.iter().map(|(a, w)| json!({"address": a, "protocol_port": 80, "weight": w})).collect::<Vec<_>>()});
    let path = format!("/v2/lbaas/pools/{pid}/members");
    assert_eq!(
        env.put(&path, members(&[("127.0.0.1", 1), ("127.0.0.2", 1)]))
            .await
            .0,
        202
    );
    env.wait_lb(&lb).await;
    assert_eq!(
        env.put(&path, members(&[("127.0.0.2", 3), ("127.0.0.3", 1)]))
            .await
            .0,
        202
    );
    env.wait_lb(&lb).await;
    let (_, b) = env.get(&path).await;
    let mut got: Vec<(String, i64)> = b["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["address"].as_str().unwrap().to_string(),
                m["weight"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![("127.0.0.2".to_string(), 3), ("127.0.0.3".to_string(), 1)]
    );
    assert_eq!(
        env.put(
            &format!("{path}?additive_only=true"),
            members(&[("127.0.0.4", 1)])
        )
        .await
        .0,
        202
    );
    env.wait_lb(&lb).await;
    assert_eq!(
        env.get(&path).await.1["members"].as_array().unwrap().len(),
        3
    );
    let (s, b) = env
        .put(&path, members(&[("127.0.0.2", 1), ("127.0.0.2", 2)]))
        .await;
    assert_eq!(
        (s, fault(&b)),
        (
            400,
            "Validation failure: Member must be updated only once in the same request."
        )
    );

    let l = env
        .create(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}}),
            &lb,
        )
        .await;
    let lid = l["listener"]["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let b = env
            .create(
                "/v2/lbaas/l7policies",
                json!({"l7policy": {"listener_id": lid, "action": "REJECT", "name": name}}),
                &lb,
            )
            .await;
        ids.push(b["l7policy"]["id"].as_str().unwrap().to_string());
    }
    let c = env.create("/v2/lbaas/l7policies", json!({"l7policy": {"listener_id": lid, "action": "REJECT", "name": "c", "position": 1}}), &lb).await;
    assert_eq!(c["l7policy"]["position"], 1);
    let (_, a) = env.get(&format!("/v2/lbaas/l7policies/{}", ids[0])).await;
    assert_eq!(a["l7policy"]["position"], 2);
    let (_, b) = env.get(&format!("/v2/lbaas/l7policies/{}", ids[1])).await;
    assert_eq!(b["l7policy"]["position"], 3);
    let r = env
        .create(&format!("/v2/lbaas/l7policies/{}/rules", ids[0]), json!({"rule": {"type": "HOST_NAME", "compare_type": "EQUAL_TO", "value": "www.example.com"}}), &lb)
        .await;
    assert_eq!(r["rule"]["invert"], false);
    let (s, b) = env
        .get(&format!("/v2/lbaas/l7policies/{}/rules", ids[0]))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["rules"].as_array().unwrap().len(), 1);
    assert!(b["rules_links"].is_array());
    env.stop().await;
}

#[tokio::test]
async fn quotas_providers_flavors_zones() {
    let env = start().await;
    let (s, b) = env
        .put("/v2/lbaas/quotas/p1", json!({"quota": {"loadbalancer": 1}}))
        .await;
    assert_eq!(s, 202);
    assert_eq!(b["quota"]["loadbalancer"], 1);
    assert_eq!(b["quota"]["listener"], -1);
    let (_, b) = env.get("/v2/lbaas/quotas/p1/default").await;
    assert_eq!(b["quota"]["loadbalancer"], -1);
    let create = |env: &Env| {
        let body = json!({"loadbalancer": {"vip_subnet_id": env.subnet, "project_id": "p1"}});
        let client = env.client.clone();
        let url = format!("{}/v2/lbaas/loadbalancers", env.api);
        async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(create(&env).await, 201);
    assert_eq!(create(&env).await, 403);
    let (_, b) = env.get("/v2/lbaas/quotas").await;
    assert_eq!(b["quotas"][0]["project_id"], "p1");
    assert_eq!(env.delete("/v2/lbaas/quotas/p1").await.0, 202);
    assert_eq!(env.delete("/v2/lbaas/quotas/p1").await.0, 404);

    let (_, b) = env.get("/v2/lbaas/providers").await;
    let names: Vec<&str> = b["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["amphora", "octavia", "noop_driver"]);
    let (s, b) = env
        .get("/v2/lbaas/providers/amphora/flavor_capabilities?name=loadbalancer_topology")
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["flavor_capabilities"].as_array().unwrap().len(), 1);

    let (s, fp) = env.post("/v2/lbaas/flavorprofiles", json!({"flavorprofile": {"name": "fp", "provider_name": "amphora", "flavor_data": "{\"loadbalancer_topology\": \"SINGLE\"}"}})).await;
    assert_eq!(s, 201, "{fp}");
    let fpid = fp["flavorprofile"]["id"].as_str().unwrap().to_string();
    let (s, b) = env.post("/v2/lbaas/flavorprofiles", json!({"flavorprofile": {"name": "bad", "provider_name": "amphora", "flavor_data": "not json"}})).await;
    assert_eq!(
        (s, fault(&b)),
        (400, "not json is not a valid option for flavor_data")
    );
    // The amphora driver's JSON schema, with jsonschema's messages (Python reprs).
    let refused = [
        (
            r#"{"loadbalancer_topology": "ACTIVE_PASSIVE"}"#,
            "loadbalancer_topology 'ACTIVE_PASSIVE' is not one of ['ACTIVE_STANDBY', 'SINGLE']",
        ),
        (
            r#"{"loadbalancer_topology": 1}"#,
            "loadbalancer_topology 1 is not of type 'string'",
        ),
        (
            r#"{"engine": "nginx"}"#,
            "engine 'nginx' is not one of ['native', 'haproxy']",
        ),
        (
            r#"{"sriov_vip": "yes"}"#,
            "sriov_vip 'yes' is not of type 'boolean'",
        ),
        (
            r#"{"topology": "SINGLE", "size": null}"#,
            "Additional properties are not allowed ('topology', 'size' were unexpected)",
        ),
    ];
    for (data, message) in refused {
        let body = json!({"flavorprofile": {"name": "bad", "provider_name": "amphora", "flavor_data": data}});
        let (s, b) = env.post("/v2/lbaas/flavorprofiles", body).await;
        let want = format!("Provider 'amphora' does not support a requested option: {message}");
        assert_eq!((s, fault(&b)), (501, want.as_str()), "{data}");
    }
    let zone = json!({"availability_zone_profile": {"name": "z", "provider_name": "amphora",
        "availability_zone_data": r#"{"valid_vip_networks": "net-1"}"#}});
    let (s, b) = env.post("/v2/lbaas/availabilityzoneprofiles", zone).await;
    assert_eq!(
        (s, fault(&b)),
        (501, "Provider 'amphora' does not support a requested option: valid_vip_networks 'net-1' is not of type 'array'")
    );
    let (s, f) = env
        .post(
            "/v2/lbaas/flavors",
            json!({"flavor": {"name": "small", "flavor_profile_id": fpid}}),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["flavor"]["enabled"], true);
    let fid = f["flavor"]["id"].as_str().unwrap().to_string();
    let (s, b) = env
        .post(
            "/v2/lbaas/flavors",
            json!({"flavor": {"name": "small", "flavor_profile_id": fpid}}),
        )
        .await;
    assert_eq!((s, fault(&b)), (409, "A flavor of small already exists."));
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": env.subnet, "flavor_id": fid}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["loadbalancer"]["flavor_id"], fid.as_str());
    let (s, b) = env.delete(&format!("/v2/lbaas/flavors/{fid}")).await;
    assert_eq!(
        (s, fault(&b).to_string()),
        (
            409,
            format!("Flavor {fid} is in use and cannot be modified.")
        )
    );
    let (_, b) = env.get("/v2/lbaas/flavorprofiles").await;
    assert!(b["flavorprofile_links"].is_array(), "singular links key");

    let (s, azp) = env.post("/v2/lbaas/availabilityzoneprofiles", json!({"availability_zone_profile": {"name": "azp", "provider_name": "amphora", "availability_zone_data": "{\"compute_zone\": \"az1\"}"}})).await;
    assert_eq!(s, 201, "{azp}");
    let azpid = azp["availability_zone_profile"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, az) = env
        .post(
            "/v2/lbaas/availabilityzones",
            json!({"availability_zone": {"name": "az1", "availability_zone_profile_id": azpid}}),
        )
        .await;
    assert_eq!(s, 201, "{az}");
    assert!(az["availability_zone"].get("id").is_none());
    let (s, b) = env.get("/v2/lbaas/availabilityzones/az1").await;
    assert_eq!(
        (s, b["availability_zone"]["name"].as_str()),
        (200, Some("az1"))
    );
    assert_eq!(env.delete("/v2/lbaas/availabilityzones/az1").await.0, 204);
    assert_eq!(env.get("/v2/lbaas/availabilityzones/az1").await.0, 404);
    env.stop().await;
}

#[tokio::test]
async fn restart_keeps_every_object() {
    let env = start().await;
    let lb = env.lb("keep").await;
    let l = env
        .create(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 443}}),
            &lb,
        )
        .await;
    let before = env.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await.1;
    let dir = env.stop().await;
    let env = start_in(dir, true).await;
    let after = env.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await.1;
    assert_eq!(before, after);
    let (s, _) = env
        .get(&format!(
            "/v2/lbaas/listeners/{}",
            l["listener"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    env.stop().await;
}

#[tokio::test]
async fn a_haproxy_flavor_refuses_udp_listeners_with_the_reason() {
    let env = start().await;
    let data = r#"{"engine": "haproxy"}"#;
    let (s, fp) = env
        .post(
            "/v2/lbaas/flavorprofiles",
            json!({"flavorprofile": {"name": "h", "provider_name": "amphora", "flavor_data": data}}),
        )
        .await;
    assert_eq!(s, 201, "{fp}");
    let (s, f) = env
        .post(
            "/v2/lbaas/flavors",
            json!({"flavor": {"name": "haproxy", "flavor_profile_id": fp["flavorprofile"]["id"]}}),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    let lb = json!({"loadbalancer": {"vip_subnet_id": env.subnet, "flavor_id": f["flavor"]["id"],
        "listeners": [{"protocol": "UDP", "protocol_port": 53}]}});
    let (s, b) = env.post("/v2/lbaas/loadbalancers", lb).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        fault(&b).starts_with(
            "The haproxy engine of this load balancer's flavor does not serve UDP listeners"
        ),
        "{b}"
    );
    let lb = json!({"loadbalancer": {"vip_subnet_id": env.subnet, "flavor_id": f["flavor"]["id"],
        "listeners": [{"protocol": "TCP", "protocol_port": 53}]}});
    let (s, b) = env.post("/v2/lbaas/loadbalancers", lb).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["loadbalancer"]["flavor_id"], f["flavor"]["id"]);
}
