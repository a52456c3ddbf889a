//! Networks and subnets on the network endpoint, as Neutron clients create and remove them:
//! external and provider attributes, IPv4 and IPv6 subnets, overlap and in-use refusals, and a
//! load balancer on a network the user made.

mod common;

use common::*;
use serde_json::{json, Value};

async fn net_req(env: &Env, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    env.req(method, &format!("{}{path}", env.net), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_and_subnets_are_created_checked_and_removed_as_neutron_does() {
    let env = start().await;
    // Out of the box: the VIP network and the external `provider` network.
    let (_, b) = net_req(&env, "GET", "/v2.0/networks?name=provider", None).await;
    assert_eq!(b["networks"][0]["router:external"], json!(true), "{b}");
    let (_, b) = net_req(&env, "GET", "/v2.0/subnets?name=provider-subnet", None).await;
    assert_eq!(b["subnets"][0]["cidr"], "127.20.0.0/16", "{b}");

    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/networks",
        Some(json!({"network": {
        "name": "public", "router:external": true, "provider:network_type": "flat",
        "provider:physical_network": "physnet1"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["network"]["router:external"], json!(true));
    assert_eq!(b["network"]["provider:physical_network"], "physnet1");
    let public = b["network"]["id"].as_str().unwrap().to_string();

    // IPv4 with Neutron's defaults: first address the gateway, the rest the pool.
    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/subnets",
        Some(json!({"subnet": {
        "network_id": public, "name": "public-v4", "cidr": "127.31.0.0/24", "ip_version": 4,
        "dns_nameservers": ["127.0.0.53"]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let v4 = &b["subnet"];
    assert_eq!(v4["gateway_ip"], "127.31.0.1");
    assert_eq!(
        v4["allocation_pools"],
        json!([{"start": "127.31.0.2", "end": "127.31.0.254"}])
    );
    assert_eq!(v4["dns_nameservers"], json!(["127.0.0.53"]));
    assert_eq!(v4["enable_dhcp"], json!(true));
    let v4_id = v4["id"].as_str().unwrap().to_string();

    // IPv6, with explicit pools; and the refusals.
    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/subnets",
        Some(json!({"subnet": {
        "network_id": public, "cidr": "fd00:31::/64", "ip_version": 6,
        "allocation_pools": [{"start": "fd00:31::10", "end": "fd00:31::20"}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["subnet"]["gateway_ip"], "fd00:31::1");
    assert_eq!(b["subnet"]["ip_version"], json!(6));
    for (body, status, kind) in [
        (
            json!({"network_id": public, "cidr": "127.31.0.128/25"}),
            400,
            "InvalidInput",
        ),
        (
            json!({"network_id": public, "cidr": "not-a-cidr"}),
            400,
            "BadRequest",
        ),
        (
            json!({"network_id": public, "cidr": "127.32.0.0/24", "ip_version": 6}),
            400,
            "InvalidInput",
        ),
        (
            json!({"network_id": public, "cidr": "127.33.0.0/24", "allocation_pools": [
            {"start": "127.33.0.1", "end": "127.33.0.9"}]}),
            400,
            "InvalidInput",
        ),
        (
            json!({"network_id": public, "cidr": "127.34.0.0/24", "gateway_ip": "127.99.0.1"}),
            400,
            "InvalidInput",
        ),
        (
            json!({"network_id": "6a4a1ad2-0000-4c47-9c5f-2b7c6c3f1e11", "cidr": "127.35.0.0/24"}),
            404,
            "NetworkNotFound",
        ),
    ] {
        let (s, b) = net_req(
            &env,
            "POST",
            "/v2.0/subnets",
            Some(json!({ "subnet": body })),
        )
        .await;
        assert_eq!(
            (s, b["NeutronError"]["type"].as_str()),
            (status, Some(kind)),
            "{body}: {b}"
        );
    }
    let (_, b) = net_req(&env, "GET", &format!("/v2.0/networks/{public}"), None).await;
    assert_eq!(
        b["network"]["subnets"].as_array().unwrap().len(),
        2,
        "nothing half-created: {b}"
    );

    // A load balancer on the user's network takes an address from its pool; the subnet and
    // network cannot go while it holds it.
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": v4_id}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["loadbalancer"]["vip_address"], "127.31.0.2");
    let lb = b["loadbalancer"]["id"].as_str().unwrap().to_string();
    env.wait_lb(&lb).await;
    let (s, b) = net_req(&env, "DELETE", &format!("/v2.0/subnets/{v4_id}"), None).await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("SubnetInUse")),
        "{b}"
    );
    let (s, b) = net_req(&env, "DELETE", &format!("/v2.0/networks/{public}"), None).await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("NetworkInUse")),
        "{b}"
    );

    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/networks/{public}"),
        Some(json!({"network": {"name": "public-renamed", "router:external": false}})),
    )
    .await;
    assert_eq!(
        (s, &b["network"]["router:external"]),
        (200, &json!(false)),
        "{b}"
    );

    // Once the load balancer is gone, the network goes with its subnets.
    let (s, _) = env.delete(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    assert_eq!(s, 204);
    let start = std::time::Instant::now();
    loop {
        let (s, _) = net_req(&env, "DELETE", &format!("/v2.0/networks/{public}"), None).await;
        if s == 204 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the VIP port stays"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, b) = net_req(&env, "GET", "/v2.0/subnets", None).await;
    let left: Vec<&Value> = b["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["network_id"] == json!(public))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        !b["subnets"].as_array().unwrap().is_empty(),
        "the built-in subnets stay"
    );
    env.stop().await;
}

async fn created(env: &Env, path: &str, body: Value, key: &str) -> Value {
    let (s, b) = net_req(env, "POST", path, Some(body)).await;
    assert_eq!(s, 201, "POST {path}: {b}");
    b[key].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_take_a_gateway_on_an_external_network_and_interfaces_on_subnets() {
    let env = start().await;
    let public = created(
        &env,
        "/v2.0/networks",
        json!({"network": {"name": "public", "router:external": true}}),
        "network",
    )
    .await;
    let public = public["id"].as_str().unwrap().to_string();
    created(
        &env,
        "/v2.0/subnets",
        json!({"subnet": {"network_id": public, "cidr": "127.41.0.0/24"}}),
        "subnet",
    )
    .await;
    let private = created(
        &env,
        "/v2.0/networks",
        json!({"network": {"name": "private"}}),
        "network",
    )
    .await;
    let private = private["id"].as_str().unwrap().to_string();
    let subnet = created(
        &env,
        "/v2.0/subnets",
        json!({"subnet": {"network_id": private, "cidr": "127.42.0.0/24"}}),
        "subnet",
    )
    .await;
    let subnet = subnet["id"].as_str().unwrap().to_string();

    // A gateway only on an external network.
    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/routers",
        Some(json!({"router": {
        "name": "r1", "external_gateway_info": {"network_id": private}}})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["NeutronError"]["message"]
            .as_str()
            .unwrap()
            .contains("is not an external network"),
        "{b}"
    );
    let router = created(
        &env,
        "/v2.0/routers",
        json!({"router": {"name": "r1"}}),
        "router",
    )
    .await;
    let id = router["id"].as_str().unwrap().to_string();
    assert_eq!(router["external_gateway_info"], Value::Null);
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}"),
        Some(json!({"router": {
        "external_gateway_info": {"network_id": public}}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let gw = &b["router"]["external_gateway_info"];
    assert_eq!(gw["network_id"], json!(public));
    assert_eq!(
        gw["external_fixed_ips"][0]["ip_address"], "127.41.0.2",
        "{b}"
    );

    // An interface holds the subnet's gateway address; the answer names its port.
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}/add_router_interface"),
        Some(json!({"subnet_id": subnet})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let port = b["port_id"].as_str().unwrap().to_string();
    assert_eq!(b["subnet_id"], json!(subnet));
    let (_, p) = net_req(&env, "GET", &format!("/v2.0/ports/{port}"), None).await;
    assert_eq!(p["port"]["fixed_ips"][0]["ip_address"], "127.42.0.1", "{p}");
    assert_eq!(p["port"]["device_owner"], "network:router_interface");
    let (s, _) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}/add_router_interface"),
        Some(json!({"subnet_id": subnet})),
    )
    .await;
    assert_eq!(s, 400, "a second interface on one subnet");
    // Nor on a subnet (of another network) that overlaps one the router is on.
    let other = created(
        &env,
        "/v2.0/networks",
        json!({"network": {"name": "other"}}),
        "network",
    )
    .await;
    let inner = created(
        &env,
        "/v2.0/subnets",
        json!({"subnet": {"network_id": other["id"], "cidr": "127.42.0.128/25"}}),
        "subnet",
    )
    .await;
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}/add_router_interface"),
        Some(json!({"subnet_id": inner["id"]})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["NeutronError"]["message"]
            .as_str()
            .unwrap()
            .contains("overlaps with cidr 127.42.0.0/24"),
        "{b}"
    );
    let (s, b) = net_req(&env, "DELETE", &format!("/v2.0/routers/{id}"), None).await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("RouterInUse")),
        "{b}"
    );
    let (s, b) = net_req(&env, "DELETE", &format!("/v2.0/networks/{private}"), None).await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("NetworkInUse")),
        "{b}"
    );

    let (_, b) = net_req(&env, "GET", "/v2.0/routers?name=r1", None).await;
    assert_eq!(b["routers"].as_array().unwrap().len(), 1, "{b}");

    // Removing: the interface, then a second time (404), then the gateway, then the router.
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}/remove_router_interface"),
        Some(json!({"subnet_id": subnet})),
    )
    .await;
    assert_eq!(
        (s, b["port_id"].as_str()),
        (200, Some(port.as_str())),
        "{b}"
    );
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}/remove_router_interface"),
        Some(json!({"subnet_id": subnet})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (404, Some("RouterInterfaceNotFoundForSubnet")),
        "{b}"
    );
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/routers/{id}"),
        Some(json!({"router": {"external_gateway_info": {}}})),
    )
    .await;
    assert_eq!(
        (s, &b["router"]["external_gateway_info"]),
        (200, &Value::Null),
        "{b}"
    );
    let (s, _) = net_req(&env, "DELETE", &format!("/v2.0/routers/{id}"), None).await;
    assert_eq!(s, 204);
    for net in [private, public] {
        let (s, b) = net_req(&env, "DELETE", &format!("/v2.0/networks/{net}"), None).await;
        assert_eq!(s, 204, "nothing left on {net}: {b}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floating_ips_follow_neutrons_reachability_and_association_rules() {
    let env = start().await;
    let provider = {
        let (_, b) = net_req(&env, "GET", "/v2.0/networks?name=provider", None).await;
        b["networks"][0]["id"].as_str().unwrap().to_string()
    };
    // On a fresh `ostia up` the VIP subnet reaches `provider` through `ostia-router`.
    let (_, b) = net_req(&env, "GET", "/v2.0/routers?name=ostia-router", None).await;
    let router = b["routers"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        b["routers"][0]["external_gateway_info"]["network_id"],
        json!(provider)
    );

    let lb = env.lb("fip-lb").await;
    let (_, b) = env.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    let vip_port = b["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_string();
    let vip = b["loadbalancer"]["vip_address"]
        .as_str()
        .unwrap()
        .to_string();

    let fip = created(
        &env,
        "/v2.0/floatingips",
        json!({"floatingip": {"floating_network_id": provider}}),
        "floatingip",
    )
    .await;
    let fip_id = fip["id"].as_str().unwrap().to_string();
    assert!(
        fip["floating_ip_address"]
            .as_str()
            .unwrap()
            .starts_with("127.20."),
        "{fip}"
    );
    assert_eq!(
        (fip["status"].as_str(), &fip["port_id"]),
        (Some("DOWN"), &Value::Null)
    );

    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/floatingips/{fip_id}"),
        Some(json!({"floatingip": {"port_id": vip_port}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["floatingip"]["fixed_ip_address"], json!(vip));
    assert_eq!(b["floatingip"]["router_id"], json!(router));
    assert_eq!(b["floatingip"]["status"], "ACTIVE");
    let (_, b) = net_req(
        &env,
        "GET",
        &format!("/v2.0/floatingips?port_id={vip_port}"),
        None,
    )
    .await;
    assert_eq!(b["floatingips"].as_array().unwrap().len(), 1, "{b}");

    // A second floating IP on the same fixed address: 409.
    let second = created(
        &env,
        "/v2.0/floatingips",
        json!({"floatingip": {"floating_network_id": provider}}),
        "floatingip",
    )
    .await;
    let second = second["id"].as_str().unwrap().to_string();
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/floatingips/{second}"),
        Some(json!({"floatingip": {"port_id": vip_port}})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("FloatingIPPortAlreadyAssociated")),
        "{b}"
    );

    // A port whose subnet no router connects to `provider`: 404, as Neutron answers.
    let net = created(
        &env,
        "/v2.0/networks",
        json!({"network": {"name": "island"}}),
        "network",
    )
    .await;
    let net = net["id"].as_str().unwrap().to_string();
    created(
        &env,
        "/v2.0/subnets",
        json!({"subnet": {"network_id": net, "cidr": "127.43.0.0/24"}}),
        "subnet",
    )
    .await;
    let port = created(
        &env,
        "/v2.0/ports",
        json!({"port": {"network_id": net}}),
        "port",
    )
    .await;
    let port = port["id"].as_str().unwrap().to_string();
    let (s, b) = net_req(
        &env,
        "PUT",
        &format!("/v2.0/floatingips/{second}"),
        Some(json!({"floatingip": {"port_id": port}})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (404, Some("ExternalGatewayForFloatingIPNotFound")),
        "{b}"
    );
    assert!(
        b["NeutronError"]["message"]
            .as_str()
            .unwrap()
            .contains("is not reachable from subnet"),
        "{b}"
    );
    // Not an external network; an address already taken.
    let (s, _) = net_req(
        &env,
        "POST",
        "/v2.0/floatingips",
        Some(json!({"floatingip": {"floating_network_id": net}})),
    )
    .await;
    assert_eq!(s, 400);
    let taken = fip["floating_ip_address"].clone();
    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/floatingips",
        Some(json!({"floatingip": {
        "floating_network_id": provider, "floating_ip_address": taken}})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("IpAddressAlreadyAllocated")),
        "{b}"
    );
    // A router's port cannot be deleted through the port API.
    let (_, b) = net_req(
        &env,
        "GET",
        &format!("/v2.0/ports?device_id={router}"),
        None,
    )
    .await;
    let router_port = b["ports"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = net_req(&env, "DELETE", &format!("/v2.0/ports/{router_port}"), None).await;
    assert_eq!(s, 409);

    // Deleting the load balancer releases its VIP port and disassociates the floating IP.
    let (s, _) = env.delete(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    assert_eq!(s, 204);
    let start = std::time::Instant::now();
    loop {
        let (_, b) = net_req(&env, "GET", &format!("/v2.0/floatingips/{fip_id}"), None).await;
        if b["floatingip"]["port_id"].is_null() {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{b}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for id in [&fip_id, &second] {
        let (s, _) = net_req(&env, "DELETE", &format!("/v2.0/floatingips/{id}"), None).await;
        assert_eq!(s, 204);
    }
    let (_, b) = net_req(&env, "GET", "/v2.0/floatingips", None).await;
    assert_eq!(b["floatingips"], json!([]));
    env.stop().await;
}

/// Seed 003's `neutron lbaas-*` requests, as the client sends them (numbers as strings), on
/// the network endpoint: the objects are the Octavia API's, in Neutron's dialect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lbaas_v2_on_the_network_endpoint_is_the_octavia_api_in_neutrons_dialect() {
    let env = start().await;
    let private = created(
        &env,
        "/v2.0/networks",
        json!({"network": {"name": "private"}}),
        "network",
    )
    .await;
    let subnet = created(&env, "/v2.0/subnets", json!({"subnet": {
        "network_id": private["id"], "ip_version": 4, "cidr": "127.45.0.0/24", "name": "private-subnet"}}), "subnet").await;
    let lb = created(
        &env,
        "/v2.0/lbaas/loadbalancers",
        json!({"loadbalancer": {
        "vip_subnet_id": subnet["id"], "admin_state_up": true, "name": "lb1"}}),
        "loadbalancer",
    )
    .await;
    let lb_id = lb["id"].as_str().unwrap().to_string();
    assert_eq!(lb["tenant_id"], lb["project_id"], "{lb}");
    assert!(
        lb["vip_address"].as_str().unwrap().starts_with("127.45.0."),
        "{lb}"
    );
    env.wait_lb(&lb_id).await;
    // The client's name lookup, and the same object on the Octavia API.
    let (_, b) = net_req(
        &env,
        "GET",
        "/v2.0/lbaas/loadbalancers?name=lb1&fields=id",
        None,
    )
    .await;
    assert_eq!(b["loadbalancers"], json!([{"id": lb_id}]));
    let (s, _) = env.get(&format!("/v2/lbaas/loadbalancers/{lb_id}")).await;
    assert_eq!(s, 200);

    let listener = created(&env, "/v2.0/lbaas/listeners", json!({"listener": {"protocol": "HTTP",
        "protocol_port": "80", "admin_state_up": true, "loadbalancer_id": lb_id, "name": "listener1"}}), "listener").await;
    assert_eq!(
        listener["protocol_port"],
        json!(80),
        "a string number is accepted: {listener}"
    );
    env.wait_lb(&lb_id).await;
    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/lbaas/listeners",
        Some(json!({"listener": {"protocol": "HTTP",
        "protocol_port": "80", "loadbalancer_id": lb_id}})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("Conflict")),
        "{b}"
    );
    assert!(
        b["NeutronError"]["message"]
            .as_str()
            .unwrap()
            .contains("80"),
        "{b}"
    );

    let pool = created(&env, "/v2.0/lbaas/pools", json!({"pool": {"lb_algorithm": "ROUND_ROBIN",
        "name": "pool1", "listener_id": listener["id"], "admin_state_up": true, "protocol": "HTTP"}}), "pool").await;
    let pool_id = pool["id"].as_str().unwrap().to_string();
    env.wait_lb(&lb_id).await;
    for address in ["127.45.0.6", "127.45.0.3"] {
        created(&env, &format!("/v2.0/lbaas/pools/{pool_id}/members"), json!({"member": {
            "subnet_id": subnet["id"], "admin_state_up": true, "protocol_port": "80", "address": address}}), "member").await;
        env.wait_lb(&lb_id).await;
    }
    let hm = created(&env, "/v2.0/lbaas/healthmonitors", json!({"healthmonitor": {"admin_state_up": true,
        "type": "HTTP", "pool_id": pool_id, "timeout": "10", "delay": "5", "max_retries": "4", "url_path": "/"}}), "healthmonitor").await;
    assert_eq!((&hm["delay"], &hm["max_retries"]), (&json!(5), &json!(4)));
    env.wait_lb(&lb_id).await;
    let (_, b) = net_req(&env, "GET", &format!("/v2.0/lbaas/pools/{pool_id}"), None).await;
    assert_eq!(b["pool"]["members"].as_array().unwrap().len(), 2, "{b}");
    assert!(
        b["pool"]["members"][0]["id"].is_string(),
        "members as [{{id}}]: {b}"
    );
    let (s, b) = net_req(
        &env,
        "GET",
        &format!("/v2.0/lbaas/loadbalancers/{lb_id}/statuses"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = net_req(
        &env,
        "GET",
        "/v2.0/lbaas/pools/6a4a1ad2-0000-4c47-9c5f-2b7c6c3f1e11",
        None,
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (404, Some("NotFound")),
        "{b}"
    );
    let (s, _) = net_req(
        &env,
        "DELETE",
        &format!("/v2.0/lbaas/loadbalancers/{lb_id}?cascade=true"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    env.stop().await;
}

/// Bad input on the network endpoint: clear NeutronError answers, nothing half-made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_neutron_errors_and_leaves_nothing_behind() {
    let env = start().await;
    let raw = |path: &str, body: &'static str| {
        let url = format!("{}{path}", env.net);
        let client = env.client.clone();
        async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for path in [
        "/v2.0/networks",
        "/v2.0/subnets",
        "/v2.0/routers",
        "/v2.0/floatingips",
        "/v2.0/lbaas/loadbalancers",
    ] {
        for body in ["not json", "{}", "[1]"] {
            let (s, b) = raw(path, body).await;
            assert_eq!(s, 400, "POST {path} {body}: {b}");
            assert!(
                b["NeutronError"]["message"].is_string(),
                "POST {path} {body}: {b}"
            );
        }
    }
    // An external network whose pool holds one address: the second floating IP finds none.
    let ext = created(
        &env,
        "/v2.0/networks",
        json!({"network": {"name": "tiny", "router:external": true}}),
        "network",
    )
    .await;
    created(
        &env,
        "/v2.0/subnets",
        json!({"subnet": {"network_id": ext["id"], "cidr": "127.46.0.0/29",
        "allocation_pools": [{"start": "127.46.0.5", "end": "127.46.0.5"}]}}),
        "subnet",
    )
    .await;
    created(
        &env,
        "/v2.0/floatingips",
        json!({"floatingip": {"floating_network_id": ext["id"]}}),
        "floatingip",
    )
    .await;
    let (s, b) = net_req(
        &env,
        "POST",
        "/v2.0/floatingips",
        Some(json!({"floatingip": {"floating_network_id": ext["id"]}})),
    )
    .await;
    assert_eq!(
        (s, b["NeutronError"]["type"].as_str()),
        (409, Some("IpAddressGenerationFailure")),
        "{b}"
    );
    let (_, b) = net_req(&env, "GET", "/v2.0/floatingips", None).await;
    assert_eq!(
        b["floatingips"].as_array().unwrap().len(),
        1,
        "the refused one left nothing: {b}"
    );
    env.stop().await;
}
