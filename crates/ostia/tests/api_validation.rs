//! Validation rules (reference §5) with Octavia's status codes and texts, and listing.

mod common;
use common::*;
use serde_json::{json, Value};

async fn expect(env: &Env, method: &str, path: &str, body: Value, status: u16, text: &str) {
    let (s, b) = env.req(method, path, Some(body.clone())).await;
    assert_eq!((s, fault(&b)), (status, text), "{method} {path} {body}");
}

#[tokio::test]
async fn body_decoding_follows_wsme() {
    let env = start().await;
    let lbs = "/v2/lbaas/loadbalancers";
    expect(
        &env,
        "POST",
        lbs,
        json!({"loadbalancer": {"bogus": 1}}),
        400,
        "Unknown attribute for argument load_balancer.loadbalancer: bogus",
    )
    .await;
    expect(
        &env,
        "POST",
        lbs,
        json!({"zzz": {}}),
        400,
        "Unknown attribute for argument load_balancer: zzz",
    )
    .await;
    expect(
        &env,
        "POST",
        lbs,
        json!({"loadbalancer": {"name": "x"}}),
        400,
        "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
    )
    .await;
    expect(&env, "POST", lbs, json!({"loadbalancer": {"vip_subnet_id": "nope"}}), 400, "Invalid input for field/attribute vip_subnet_id. Value: 'nope'. Value should be UUID format").await;
    expect(
        &env,
        "POST",
        lbs,
        json!({"loadbalancer": {"vip_subnet_id": env.subnet, "name": 5}}),
        400,
        "Invalid input for field/attribute name. Value: '5'. Value should be string",
    )
    .await;
    expect(&env, "POST", lbs, json!({"loadbalancer": {"vip_subnet_id": env.subnet, "name": "n".repeat(256)}}), 400,
        &format!("Invalid input for field/attribute name. Value: '{}'. Value should have a maximum character requirement of 255", "n".repeat(256))).await;
    expect(&env, "POST", lbs, json!({"loadbalancer": {"vip_subnet_id": env.subnet, "admin_state_up": "True"}}), 400,
        &format!("Invalid input for field/attribute load_balancer. Value: '{{'loadbalancer': {{'vip_subnet_id': '{}', 'admin_state_up': 'True'}}}}'. Value not an unambiguous boolean: True", env.subnet)).await;
    expect(&env, "POST", lbs, json!({"loadbalancer": {"vip_subnet_id": env.subnet, "vip_address": "1.2.3"}}), 400,
        "Invalid input for field/attribute vip_address. Value: '1.2.3'. Value should be IPv4 or IPv6 format").await;
    expect(
        &env,
        "POST",
        lbs,
        json!({"loadbalancer": {"vip_subnet_id": env.subnet, "provider": "f5"}}),
        400,
        "Provider 'f5' is not enabled.",
    )
    .await;
    let (s, b) = env
        .client
        .post(format!("{}{lbs}", env.api))
        .body("{nope")
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map(|s| (s, ()))
        .unwrap();
    assert_eq!(s, 400, "{b:?}");
    // "yes" is an unambiguous boolean for WSME.
    let (s, b) = env
        .post(
            lbs,
            json!({"loadbalancer": {"vip_subnet_id": env.subnet, "admin_state_up": "yes"}}),
        )
        .await;
    assert_eq!(
        (s, &b["loadbalancer"]["admin_state_up"]),
        (201, &json!(true))
    );
    env.stop().await;
}

#[tokio::test]
async fn child_validation_rules() {
    let env = start().await;
    let lb = env.lb("lb").await;
    let listeners = "/v2/lbaas/listeners";
    expect(
        &env,
        "POST",
        listeners,
        json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP"}}),
        400,
        "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing.",
    )
    .await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 0}}), 400,
        "Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1").await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 65536}}), 400,
        "Invalid input for field/attribute protocol_port. Value: '65536'. Value should be lower or equal to 65535").await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "QUIC", "protocol_port": 80}}), 400,
        "Invalid input for field/attribute protocol. Value: 'QUIC'. Value should be one of: TCP, HTTPS, HTTP, TERMINATED_HTTPS, UDP, SCTP, PROMETHEUS").await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 80, "insert_headers": {"X-Forwarded-For": "true"}}}), 400,
        "insert-headers is not a valid option for a TCP protocol listener.").await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80, "insert_headers": {"X-Bogus": "true"}}}), 400,
        "X-Bogus is not a valid option for insert_headers").await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "TERMINATED_HTTPS", "protocol_port": 443}}), 400,
        "Validation failure: An SNI or default certificate container reference must be provided for TERMINATED_HTTPS protocol listeners.").await;
    expect(&env, "POST", listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80, "allowed_cidrs": ["2001:db8::/64"]}}), 400,
        "Validation failure: CIDR 2001:db8::/64 IP version incompatible with all VIPs ['127.10.0.2'] IP version.").await;
    let missing = "00000000-0000-4000-8000-000000000001";
    expect(
        &env,
        "POST",
        listeners,
        json!({"listener": {"loadbalancer_id": missing, "protocol": "HTTP", "protocol_port": 80}}),
        404,
        &format!("Load Balancer {missing} not found."),
    )
    .await;
    let l = env.create(listeners, json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80, "allowed_cidrs": ["10.0.0.1/8"]}}), &lb).await;
    assert_eq!(
        l["listener"]["allowed_cidrs"],
        json!(["10.0.0.0/8"]),
        "CIDRs are normalised"
    );
    let lid = l["listener"]["id"].as_str().unwrap().to_string();
    expect(
        &env,
        "POST",
        listeners,
        json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 80}}),
        409,
        "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 80",
    )
    .await;
    // TCP:80 and UDP:80 may coexist.
    env.create(
        listeners,
        json!({"listener": {"loadbalancer_id": lb, "protocol": "UDP", "protocol_port": 80}}),
        &lb,
    )
    .await;

    let pools = "/v2/lbaas/pools";
    expect(
        &env,
        "POST",
        pools,
        json!({"pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
        400,
        "Validation failure: Must provide at least one of: loadbalancer_id, listener_id",
    )
    .await;
    expect(&env, "POST", pools, json!({"pool": {"listener_id": lid, "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}}), 400,
        "Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'.").await;
    expect(&env, "POST", pools, json!({"pool": {"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "APP_COOKIE"}}}), 400,
        "Validation failure: Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type.").await;
    expect(&env, "POST", pools, json!({"pool": {"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "SOURCE_IP", "persistence_timeout": 5}}}), 400,
        "Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.").await;
    let p = env.create(pools, json!({"pool": {"listener_id": lid, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}), &lb).await;
    let pid = p["pool"]["id"].as_str().unwrap().to_string();
    expect(
        &env,
        "POST",
        pools,
        json!({"pool": {"listener_id": lid, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
        409,
        "This listener already has a default pool",
    )
    .await;

    let members = format!("/v2/lbaas/pools/{pid}/members");
    expect(
        &env,
        "POST",
        &members,
        json!({"member": {"address": "169.254.169.254", "protocol_port": 80}}),
        400,
        "169.254.169.254 is not a valid option for member address",
    )
    .await;
    expect(&env, "POST", &members, json!({"member": {"address": "127.0.0.1", "protocol_port": 80, "weight": 257}}), 400,
        "Invalid input for field/attribute weight. Value: '257'. Value should be lower or equal to 256").await;
    env.create(
        &members,
        json!({"member": {"address": "127.0.0.1", "protocol_port": 80}}),
        &lb,
    )
    .await;
    expect(
        &env,
        "POST",
        &members,
        json!({"member": {"address": "127.0.0.1", "protocol_port": 80}}),
        409,
        "Another member on this pool is already using ip 127.0.0.1 on protocol_port 80",
    )
    .await;
    let (s, b) = env
        .get(&format!("/v2/lbaas/pools/{pid}/members/{missing}"))
        .await;
    assert_eq!(
        (s, fault(&b).to_string()),
        (404, format!("Member {missing} not found."))
    );

    let hms = "/v2/lbaas/healthmonitors";
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "UDP-CONNECT", "delay": 5, "timeout": 1, "max_retries": 1}}), 400,
        "Validation failure: The UDP-CONNECT type is only supported for pools of type UDP/SCTP.").await;
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "TCP", "delay": 5, "timeout": 1, "max_retries": 1, "url_path": "/"}}), 400,
        "url_path is not a valid option for health monitors of type TCP").await;
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 1, "max_retries": 11}}), 400,
        "Invalid input for field/attribute max_retries. Value: '11'. Value should be lower or equal to 10").await;
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 1, "max_retries": 1, "expected_codes": "20x"}}), 400,
        r"Invalid input for field/attribute expected_codes. Value: '20x'. Value should match the pattern ^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$").await;
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 1, "max_retries": 1, "domain_name": "example.com"}}), 400,
        "Validation failure: 'http_version' must be specified when 'domain_name' is provided.").await;
    // 2^63 and beyond are out of range, not clamped to i64::MAX (nor panics in the engine).
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 9223372036854775808u64, "timeout": 1, "max_retries": 1}}), 400,
        "Invalid input for field/attribute delay. Value: '9223372036854775808'. Value should be lower or equal to 9223372036854775807").await;
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 18446744073709551615u64, "max_retries": 1}}), 400,
        "Invalid input for field/attribute timeout. Value: '18446744073709551615'. Value should be lower or equal to 9223372036854775807").await;
    let (s, b) = env
        .post(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP",
            "protocol_port": 7777, "connection_limit": 1e19}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        fault(&b).ends_with("Value should be lower or equal to 9223372036854775807"),
        "{b}"
    );
    env.create(hms, json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 1, "max_retries": 1, "expected_codes": "200-204"}}), &lb).await;
    expect(&env, "POST", hms, json!({"healthmonitor": {"pool_id": pid, "type": "TCP", "delay": 5, "timeout": 1, "max_retries": 1}}), 409,
        "This pool already has a health monitor").await;

    let policies = "/v2/lbaas/l7policies";
    expect(
        &env,
        "POST",
        policies,
        json!({"l7policy": {"listener_id": lid, "action": "REDIRECT_TO_URL"}}),
        400,
        "Invalid L7 Policy arguments: redirect_url must not be None",
    )
    .await;
    expect(&env, "POST", policies, json!({"l7policy": {"listener_id": lid, "action": "REDIRECT_TO_URL", "redirect_url": "ftp//x"}}), 400,
        "Invalid input for field/attribute redirect_url. Value: 'ftp//x'. Value must be a valid URL string").await;
    let pol = env.create(policies, json!({"l7policy": {"listener_id": lid, "action": "REDIRECT_TO_URL", "redirect_url": "http://example.com"}}), &lb).await;
    assert_eq!(pol["l7policy"]["redirect_http_code"], 302);
    let rules = format!(
        "/v2/lbaas/l7policies/{}/rules",
        pol["l7policy"]["id"].as_str().unwrap()
    );
    expect(
        &env,
        "POST",
        &rules,
        json!({"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"}}),
        400,
        "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key",
    )
    .await;
    expect(&env, "POST", &rules, json!({"rule": {"type": "PATH", "compare_type": "REGEX", "value": "(unclosed"}}), 400,
        "Error parsing L7Rule: Unable to parse regular expression: regex parse error:\n    (unclosed\n    ^\nerror: unclosed group").await;
    expect(
        &env,
        "POST",
        &rules,
        json!({"rule": {"type": "PATH", "compare_type": "EQUAL_TO", "value": "/x", "bogus": 1}}),
        400,
        "Unknown attribute for argument rule_.rule: bogus",
    )
    .await;
    env.stop().await;
}

#[tokio::test]
async fn the_lock_rule_gives_409_until_the_job_ends() {
    // No worker: jobs stay pending, as while a slow amphora is being configured.
    let env = start_in(tempfile::tempdir().unwrap(), false).await;
    let (s, b) = env
        .post(
            "/v2/lbaas/loadbalancers",
            json!({"loadbalancer": {"vip_subnet_id": env.subnet}}),
        )
        .await;
    assert_eq!(s, 201);
    let lb = b["loadbalancer"]["id"].as_str().unwrap().to_string();
    expect(
        &env,
        "POST",
        "/v2/lbaas/listeners",
        json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}}),
        409,
        &format!("Load Balancer {lb} is immutable and cannot be updated."),
    )
    .await;
    expect(
        &env,
        "PUT",
        &format!("/v2/lbaas/loadbalancers/{lb}"),
        json!({"loadbalancer": {"name": "x"}}),
        409,
        &format!("Invalid state PENDING_CREATE of loadbalancer resource {lb}"),
    )
    .await;
    let (s, b) = env.delete(&format!("/v2/lbaas/loadbalancers/{lb}")).await;
    assert_eq!(
        (s, fault(&b).to_string()),
        (
            409,
            format!("Invalid state PENDING_CREATE of loadbalancer resource {lb}")
        )
    );
    // A failed request leaves nothing locked or half-written.
    let (_, all) = env.get("/v2/lbaas/listeners").await;
    assert!(all["listeners"].as_array().unwrap().is_empty());

    // A worker that claimed the job and died: its lease runs out and a live worker takes over.
    let running = env.running.as_ref().unwrap();
    let claimed = running
        .store
        .claim_job("dead-worker", 1500)
        .await
        .unwrap()
        .expect("the LB create job");
    assert_eq!(claimed.lb_id, lb);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let amphorae = controller::Amphorae::new(
        running.store.clone(),
        std::sync::Arc::new(controller::compute::Noop),
        std::sync::Arc::new(store::Sealer::new(&[0u8; 32])),
    );
    let worker = controller::Worker::new(
        running.store.clone(),
        Default::default(),
        std::sync::Arc::new(amphorae),
    );
    let task = tokio::spawn(worker.run(rx));
    let settled = env.wait_lb(&lb).await;
    assert_eq!(settled["provisioning_status"], "ACTIVE");
    let l = env
        .create(
            "/v2/lbaas/listeners",
            json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}}),
            &lb,
        )
        .await;
    assert_eq!(l["listener"]["provisioning_status"], "PENDING_CREATE");
    let _ = stop.send(true);
    let _ = task.await;
    env.stop().await;
}

#[tokio::test]
async fn listing_pages_sorts_filters_and_selects_fields() {
    let env = start().await;
    let tags = [vec!["a", "b"], vec!["a"], vec!["b"], vec!["c"], vec![]];
    let mut ids = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let (s, b) = env
            .post("/v2/lbaas/loadbalancers", json!({"loadbalancer": {"name": format!("lb{i}"), "vip_subnet_id": env.subnet, "tags": t}}))
            .await;
        assert_eq!(s, 201);
        ids.push(b["loadbalancer"]["id"].as_str().unwrap().to_string());
    }
    let names = |b: &Value| -> Vec<String> {
        b["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, b) = env.get("/v2/lbaas/loadbalancers").await;
    assert_eq!(
        names(&b),
        ["lb0", "lb1", "lb2", "lb3", "lb4"],
        "creation order by default"
    );

    let (_, page1) = env.get("/v2/lbaas/loadbalancers?limit=2").await;
    assert_eq!(names(&page1), ["lb0", "lb1"]);
    let next = page1["loadbalancers_links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.contains(&format!("marker={}", ids[1])), "{next}");
    let (_, page2) = env.get(&next).await;
    assert_eq!(names(&page2), ["lb2", "lb3"]);
    let prev = page2["loadbalancers_links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "previous")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prev.contains("page_reverse=True"), "{prev}");
    let (_, back) = env.get(&prev).await;
    assert_eq!(names(&back), ["lb1", "lb0"]);

    let (_, b) = env.get("/v2/lbaas/loadbalancers?sort=name:desc").await;
    assert_eq!(names(&b), ["lb4", "lb3", "lb2", "lb1", "lb0"]);
    let (_, b) = env
        .get("/v2/lbaas/loadbalancers?sort_key=name&sort_dir=desc&limit=1")
        .await;
    assert_eq!(names(&b), ["lb4"]);
    let (s, b) = env.get("/v2/lbaas/loadbalancers?sort=bogus:asc").await;
    assert_eq!(
        (s, fault(&b)),
        (400, "Supplied sort key 'bogus' is not valid.")
    );
    let (s, b) = env.get("/v2/lbaas/loadbalancers?sort=name:sideways").await;
    assert_eq!(
        (s, fault(&b)),
        (400, "Supplied sort direction 'sideways' is not valid.")
    );
    let (s, b) = env.get("/v2/lbaas/loadbalancers?limit=x").await;
    assert_eq!(
        (s, fault(&b)),
        (400, "Supplied pagination limit 'x' is not valid.")
    );
    let (s, b) = env
        .get("/v2/lbaas/loadbalancers?marker=00000000-0000-4000-8000-000000000009")
        .await;
    assert_eq!(
        (s, fault(&b)),
        (
            400,
            "Supplied pagination marker '00000000-0000-4000-8000-000000000009' is not valid."
        )
    );
    let (s, b) = env.get("/v2/lbaas/loadbalancers?colour=red").await;
    assert_eq!(
        (s, fault(&b)),
        (400, "One or more arguments are either duplicate or invalid")
    );

    let (_, b) = env
        .get("/v2/lbaas/loadbalancers?fields=id&fields=name")
        .await;
    let first = b["loadbalancers"][0].as_object().unwrap();
    assert_eq!(first.keys().collect::<Vec<_>>(), ["id", "name"]);
    let (_, b) = env
        .get(&format!("/v2/lbaas/loadbalancers/{}?fields=name", ids[0]))
        .await;
    assert_eq!(b, json!({"loadbalancer": {"name": "lb0"}}));

    let (_, b) = env.get("/v2/lbaas/loadbalancers?name=lb3").await;
    assert_eq!(names(&b), ["lb3"]);
    let (_, b) = env
        .get(&format!("/v2/lbaas/loadbalancers?id={}", ids[2]))
        .await;
    assert_eq!(names(&b), ["lb2"]);
    for q in ["tags=a,b", "tags=a&tags=b"] {
        let (_, b) = env.get(&format!("/v2/lbaas/loadbalancers?{q}")).await;
        assert_eq!(names(&b), ["lb0"], "{q}");
    }
    for q in ["tags-any=a,c", "tags-any=a&tags-any=c"] {
        let (_, b) = env.get(&format!("/v2/lbaas/loadbalancers?{q}")).await;
        assert_eq!(names(&b), ["lb0", "lb1", "lb3"], "{q}");
    }
    let (_, b) = env.get("/v2/lbaas/loadbalancers?not-tags=a,b").await;
    assert_eq!(names(&b), ["lb1", "lb2", "lb3", "lb4"]);
    let (_, b) = env
        .get("/v2/lbaas/loadbalancers?not-tags-any=a&not-tags-any=b")
        .await;
    assert_eq!(names(&b), ["lb3", "lb4"]);
    let (_, b) = env
        .get("/v2/lbaas/loadbalancers?project_id=someone-else")
        .await;
    assert!(names(&b).is_empty());
    env.stop().await;
}
