//! The built-in identity and Octavia's policy, as users of two projects meet them: tokens from
//! the password in clouds.yaml, projects that cannot see each other, readers that cannot
//! write, quotas, refused tokens, bad logins, and users and tokens that survive a restart.

mod cloud;
mod common;

use cloud::*;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LBS: &str = "/v2/lbaas/loadbalancers";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_cannot_see_or_touch_each_other_and_readers_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(builtin(dir.path()), dir).await;
    let password = admin_password(cloud.env.dir.path());
    let admin = cloud.token("admin", &password, "admin").await;
    let (project_a, _) = cloud.user(&admin, "alice", "team-a", &["member"]).await;
    let (project_b, _) = cloud.user(&admin, "bob", "team-b", &["member"]).await;
    cloud.user(&admin, "rita", "team-a", &["reader"]).await;
    let alice = cloud.token("alice", "alice-pw", "team-a").await;
    let bob = cloud.token("bob", "bob-pw", "team-b").await;
    let rita = cloud.token("rita", "rita-pw", "team-a").await;
    let subnet = cloud.subnet(&alice).await;

    // A member creates in their project; the LB belongs to it.
    let (s, b) = cloud
        .call(
            &alice,
            "POST",
            LBS,
            Some(json!({"loadbalancer": {"name": "a1", "vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["loadbalancer"]["project_id"], json!(project_a));
    let lb = b["loadbalancer"]["id"].as_str().unwrap().to_string();
    cloud.wait_active(&alice, &lb).await;

    // A reader of the same project sees it but cannot create, change or delete.
    let (s, _) = cloud.call(&rita, "GET", &format!("{LBS}/{lb}"), None).await;
    assert_eq!(s, 200);
    let (s, b) = cloud
        .call(
            &rita,
            "POST",
            LBS,
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(
        (s, fault(&b)),
        (403, "Policy does not allow this request to be performed.")
    );
    let (s, _) = cloud
        .call(
            &rita,
            "PUT",
            &format!("{LBS}/{lb}"),
            Some(json!({"loadbalancer": {"name": "x"}})),
        )
        .await;
    assert_eq!(s, 403);

    // Another project's member: not in lists, and every action on it refused, as Octavia
    // refuses it (403 PolicyForbidden, which its conformance suite asserts).
    let (s, b) = cloud.call(&bob, "GET", LBS, None).await;
    assert_eq!(s, 200);
    assert_eq!(b["loadbalancers"], json!([]), "bob sees nothing of team-a");
    let (s, _) = cloud
        .call(&bob, "GET", &format!("{LBS}?project_id={project_a}"), None)
        .await;
    assert_eq!(s, 403, "asking for another project's list");
    for (method, path, body) in [
        ("GET", format!("{LBS}/{lb}"), None),
        ("GET", format!("{LBS}/{lb}/status"), None),
        (
            "PUT",
            format!("{LBS}/{lb}"),
            Some(json!({"loadbalancer": {"name": "stolen"}})),
        ),
        ("DELETE", format!("{LBS}/{lb}?cascade=true"), None),
        ("PUT", format!("{LBS}/{lb}/failover"), None),
        (
            "POST",
            "/v2/lbaas/listeners".to_string(),
            Some(
                json!({"listener": {"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}}),
            ),
        ),
    ] {
        let (s, b) = cloud.call(&bob, method, &path, body).await;
        assert_eq!(s, 403, "{method} {path}: {b}");
    }
    // Nor can a member create into another project by naming it.
    let (s, _) = cloud
        .call(
            &bob,
            "POST",
            LBS,
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet, "project_id": project_a}})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = cloud
        .call(&alice, "GET", &format!("{LBS}/{lb}"), None)
        .await;
    assert_eq!(
        (s, &b["loadbalancer"]["name"]),
        (200, &json!("a1")),
        "unchanged"
    );
    // The network endpoint takes the same tokens and Neutron's policy: a member may make a
    // private network, not an external one, and other projects do not see it.
    let nets = format!("{}/v2.0/networks", cloud.env.net);
    let (s, b) = cloud
        .call(
            &alice,
            "POST",
            &nets,
            Some(json!({"network": {"name": "x", "router:external": true}})),
        )
        .await;
    assert_eq!(
        (s, &b["NeutronError"]["type"]),
        (403, &json!("PolicyNotAuthorized")),
        "{b}"
    );
    let (s, b) = cloud
        .call(
            &alice,
            "POST",
            &nets,
            Some(json!({"network": {"name": "alice-net"}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let net_id = b["network"]["id"].as_str().unwrap().to_string();
    let (_, b) = cloud.call(&bob, "GET", &nets, None).await;
    assert!(
        !b.to_string().contains(&net_id),
        "bob sees alice's network: {b}"
    );
    let (s, _) = cloud
        .call(&bob, "DELETE", &format!("{nets}/{net_id}"), None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = cloud
        .call(&alice, "DELETE", &format!("{nets}/{net_id}"), None)
        .await;
    assert_eq!(s, 204);

    // Quotas: a member may read their own, not set them; the admin can.
    let (s, _) = cloud
        .call(&bob, "GET", &format!("/v2/lbaas/quotas/{project_b}"), None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = cloud
        .call(
            &bob,
            "PUT",
            &format!("/v2/lbaas/quotas/{project_b}"),
            Some(json!({"quota": {"load_balancer": 5}})),
        )
        .await;
    assert_eq!(s, 403);
    // The administrator sees every project and may fail over.
    let (s, b) = cloud.call(&admin, "GET", LBS, None).await;
    assert_eq!((s, b["loadbalancers"].as_array().unwrap().len()), (200, 1));
    let (s, _) = cloud
        .call(&admin, "GET", "/v2/octavia/amphorae", None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = cloud
        .call(&alice, "GET", "/v2/octavia/amphorae", None)
        .await;
    assert_eq!(s, 403, "amphorae are admin-only");

    // A quota of one load balancer refuses the second, with Octavia's text.
    let (s, b) = cloud
        .call(
            &admin,
            "PUT",
            &format!("/v2/lbaas/quotas/{project_a}"),
            Some(json!({"quota": {"load_balancer": 1}})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = cloud
        .call(
            &alice,
            "POST",
            LBS,
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(
        (s, fault(&b)),
        (403, "Quota has been met for resources: Load Balancer")
    );

    // The quota list pages, sorts and filters like every other list; a member sees only
    // their own project's.
    let (s, _) = cloud
        .call(
            &admin,
            "PUT",
            &format!("/v2/lbaas/quotas/{project_b}"),
            Some(json!({"quota": {"pool": 7}})),
        )
        .await;
    assert_eq!(s, 202);
    let (_, b) = cloud
        .call(
            &admin,
            "GET",
            "/v2/lbaas/quotas?sort=project_id:desc&limit=1",
            None,
        )
        .await;
    let mut ids = [project_a.clone(), project_b.clone()];
    ids.sort();
    assert_eq!(b["quotas"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["quotas"][0]["project_id"], json!(ids[1]), "{b}");
    assert_eq!(b["quotas_links"][0]["rel"], "next", "{b}");
    let (_, b) = cloud
        .call(&admin, "GET", "/v2/lbaas/quotas?pool=7", None)
        .await;
    assert_eq!(b["quotas"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["quotas"][0]["project_id"], json!(project_b));
    let (_, b) = cloud.call(&bob, "GET", "/v2/lbaas/quotas", None).await;
    let listed: Vec<&Value> = b["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| &q["project_id"])
        .collect();
    assert_eq!(listed, vec![&json!(project_b)], "{b}");
    cloud.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_forged_revoked_expired_and_disabled_tokens_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ostia::Options {
        token_ttl: Duration::from_secs(2),
        ..builtin(dir.path())
    };
    let cloud = Cloud::start(opts, dir).await;
    let admin = cloud
        .token("admin", &admin_password(cloud.env.dir.path()), "admin")
        .await;
    let (_, carol_id) = cloud.user(&admin, "carol", "team-c", &["member"]).await;

    let r = cloud
        .env
        .client
        .get(format!("{}{LBS}", cloud.env.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Keystone uri=\"http://127.0.0.1:"),
        "{challenge}"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "The request you have made requires authentication."
    );

    let carol = cloud.token("carol", "carol-pw", "team-c").await;
    let (s, _) = cloud.call(&carol, "GET", LBS, None).await;
    assert_eq!(s, 200);
    // One character changed in the claims: the signature no longer matches.
    let mut forged = carol.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (s, _) = cloud.call(&forged, "GET", LBS, None).await;
    assert_eq!(s, 401);
    let (s, _) = cloud.call(&"x".repeat(3000), "GET", LBS, None).await;
    assert_eq!(s, 401, "an oversized token");

    // Revoked: refused at once, on the LB API and the network API alike.
    let second = cloud.token("carol", "carol-pw", "team-c").await;
    let r = cloud
        .env
        .client
        .delete(format!("{}/auth/tokens", cloud.identity))
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (s, _) = cloud.call(&second, "GET", LBS, None).await;
    assert_eq!(s, 401);
    let (s, _) = cloud
        .call(
            &second,
            "GET",
            &format!("{}/v2.0/subnets", cloud.env.net),
            None,
        )
        .await;
    assert_eq!(s, 401);
    let (s, _) = cloud.call(&carol, "GET", LBS, None).await;
    assert_eq!(s, 200, "revoking one token leaves the others");

    // Expired: the two-second lifetime runs out.
    let start = Instant::now();
    loop {
        let (s, _) = cloud.call(&carol, "GET", LBS, None).await;
        if s == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the token outlives its expiry"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A disabled user's fresh token stops working at once.
    let admin = cloud
        .token("admin", &admin_password(cloud.env.dir.path()), "admin")
        .await;
    let carol = cloud.token("carol", "carol-pw", "team-c").await;
    // Validated once (and remembered), so the change below must reach a cached validation.
    let (s, _) = cloud.call(&carol, "GET", LBS, None).await;
    assert_eq!(s, 200);
    let (s, _) = cloud
        .call(
            &admin,
            "PATCH",
            &format!("{}/users/{carol_id}", cloud.identity),
            Some(json!({"user": {"enabled": false}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = cloud.call(&carol, "GET", LBS, None).await;
    assert_eq!(s, 401);
    let (s, _, _) = cloud.login("carol", "carol-pw", Some("team-c")).await;
    assert_eq!(s, 401);
    cloud.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_logins_are_clear_4xx_and_do_not_tell_which_part_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(builtin(dir.path()), dir).await;
    let password = admin_password(cloud.env.dir.path());
    let url = format!("{}/auth/tokens", cloud.identity);
    for body in [
        "not json",
        "{}",
        r#"{"auth": 1}"#,
        r#"{"auth": {"identity": {"methods": ["password"]}}}"#,
        r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}}"#,
        r#"{"auth": {"identity": {"methods": ["totp"]}}}"#,
        r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": 5}}}}}"#,
    ] {
        let r = cloud
            .env
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body}");
    }
    let (wrong, _, wrong_body) = cloud.login("admin", "wrong", None).await;
    let (unknown, _, unknown_body) = cloud.login("nobody", "wrong", None).await;
    assert_eq!((wrong, unknown), (401, 401));
    assert_eq!(
        wrong_body, unknown_body,
        "the same answer for a wrong password and an unknown user"
    );

    // 10,000 failed logins in a row for one name: after a few the name is locked (429, with
    // when to retry); the service keeps answering everyone else quickly.
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..10_000 {
        let (s, _, _) = cloud.login("victim", "guess", None).await;
        *statuses.entry(s).or_insert(0) += 1;
    }
    let spent = started.elapsed();
    assert_eq!(statuses.get(&401), Some(&5), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&9_995), "{statuses:?}");
    let (s, _, b) = cloud.login("victim", "guess", None).await;
    assert_eq!(s, 429);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again in"),
        "{b}"
    );
    let t = Instant::now();
    let (s, _, _) = cloud.login("admin", &password, Some("admin")).await;
    assert_eq!(s, 201, "another user still logs in");
    println!(
        "10000 failed logins took {:.1} s; a good login right after {:.0} ms",
        spent.as_secs_f64(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    cloud.env.stop().await;
}

/// A real `ostia up` process: the password never reaches the database or the log, and users
/// and tokens outlive a restart.
#[test]
fn a_restart_keeps_users_and_tokens_and_no_password_is_stored_in_clear() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = |kind: &str| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        format!("127.0.0.1:{p}{kind}")
    };
    let (api, net, idp) = (port(""), port(""), port(""));
    let log = dir.path().join("ostia.log");
    let up = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ostia"))
            .args(["up", "--amphora", "noop", "--health-bind", "127.0.0.1:0"])
            .args(["--key-manager-bind", "127.0.0.1:0"])
            .args([
                "--api-bind",
                &api,
                "--network-bind",
                &net,
                "--identity-bind",
                &idp,
            ])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let start = Instant::now();
        let clouds = dir.path().join("data").join("clouds.yaml");
        while std::net::TcpStream::connect(&idp).is_err() || !clouds.exists() {
            assert!(child.try_wait().unwrap().is_none(), "ostia up exited");
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "identity never answered"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let login = |user: &str, password: &str| {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}});
        rt.block_on(async {
            let r = client
                .post(format!("http://{idp}/v3/auth/tokens"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
            r.headers()["x-subject-token"].to_str().unwrap().to_string()
        })
    };
    let lbs = |token: &str| {
        rt.block_on(async {
            client
                .get(format!("http://{api}{LBS}"))
                .header("X-Auth-Token", token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };

    let mut first = up();
    let password = admin_password(&dir.path().join("data"));
    let token = login("admin", &password);
    assert_eq!(lbs(&token), 200);
    let _ = Command::new("kill").arg(first.id().to_string()).status();
    first.wait().unwrap();

    let mut second = up();
    assert_eq!(
        lbs(&token),
        200,
        "a token issued before the restart still works"
    );
    assert_eq!(
        admin_password(&dir.path().join("data")),
        password,
        "the bootstrap ran once"
    );
    login("admin", &password);
    let _ = Command::new("kill").arg(second.id().to_string()).status();
    second.wait().unwrap();

    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "clouds.yaml" || path.is_dir() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let found = bytes
            .windows(password.len())
            .any(|w| w == password.as_bytes());
        assert!(!found, "the password is in {} in clear", path.display());
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("identity request"),
        "the log has the identity requests"
    );
    assert!(!logged.contains(&password), "the password is in the log");
    assert!(!logged.contains(&token), "a token is in the log");
}

/// `--auth keystone`: tokens validated by another identity service (here a second Ostia's
/// built-in one, which speaks Keystone v3), cached, and refused with where to authenticate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_mode_validates_tokens_against_keystone_and_caches_them() {
    let dir = tempfile::tempdir().unwrap();
    let keystone = Cloud::start(builtin(dir.path()), dir).await;
    let admin = keystone
        .token("admin", &admin_password(keystone.env.dir.path()), "admin")
        .await;
    let (project, _) = keystone.user(&admin, "dave", "team-d", &["member"]).await;
    let dave = keystone.token("dave", "dave-pw", "team-d").await;

    let dir = tempfile::tempdir().unwrap();
    let opts = ostia::Options {
        auth: ostia::AuthMode::Keystone {
            url: keystone.identity.clone(),
        },
        network_driver: lb_api::NetworkDriver::Noop,
        ..options(dir.path())
    };
    let running = ostia::start(opts).await.unwrap();
    assert!(running.identity_addr.is_none(), "no identity of its own");
    let api = format!("http://{}", running.api_addr);
    let client = reqwest::Client::new();
    let call = |token: Option<&str>| {
        let mut r = client.get(format!("{api}{LBS}"));
        if let Some(t) = token {
            r = r.header("X-Auth-Token", t);
        }
        r.send()
    };
    let r = call(None).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let base = keystone.identity.trim_end_matches("/v3");
    assert_eq!(challenge, format!("Keystone uri=\"{base}\""));
    assert_eq!(call(Some("forged")).await.unwrap().status().as_u16(), 401);

    let (s, b) = keystone
        .call(
            &dave,
            "POST",
            &format!("{api}{LBS}"),
            Some(
                json!({"loadbalancer": {"vip_subnet_id": "6a4a1ad2-6a4b-4c47-9c5f-2b7c6c3f1e11"}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["loadbalancer"]["project_id"],
        json!(project),
        "the token's project"
    );

    // Validations are cached: with Keystone gone the known token still works, an unknown one
    // cannot be checked (503, not a silent pass).
    let other = keystone
        .token("admin", &admin_password(keystone.env.dir.path()), "admin")
        .await;
    keystone.env.stop().await;
    assert_eq!(call(Some(&dave)).await.unwrap().status().as_u16(), 200);
    assert_eq!(call(Some(&other)).await.unwrap().status().as_u16(), 503);
    running.shutdown().await;
}
