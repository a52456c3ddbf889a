//! A running Ostia with the built-in identity, for suites that act as several users.

#![allow(dead_code)]

use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A running Ostia with the built-in identity, and a client that carries a token.
pub struct Cloud {
    pub env: Env,
    pub identity: String,
}

pub fn builtin(dir: &std::path::Path) -> ostia::Options {
    ostia::Options {
        auth: ostia::AuthMode::Builtin,
        ..options(dir)
    }
}

impl Cloud {
    pub async fn start(opts: ostia::Options, dir: tempfile::TempDir) -> Cloud {
        let running = ostia::start(opts).await.expect("ostia starts");
        let identity = format!("http://{}/v3", running.identity_addr.unwrap());
        let api = format!("http://{}", running.api_addr);
        let net = format!("http://{}", running.network_addr);
        let km = format!("http://{}", running.key_manager_addr);
        let env = Env {
            running: Some(running),
            api,
            net,
            km,
            client: reqwest::Client::new(),
            subnet: String::new(),
            _reaper: Reaper(dir.path().to_path_buf()),
            dir,
        };
        Cloud { env, identity }
    }

    /// `(status, X-Subject-Token, body)` of a password login.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        project: Option<&str>,
    ) -> (u16, String, Value) {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}}});
        if let Some(p) = project {
            auth["scope"] = json!({"project": {"name": p, "domain": {"id": "default"}}});
        }
        let r = self
            .env
            .client
            .post(format!("{}/auth/tokens", self.identity))
            .json(&json!({ "auth": auth }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let token = r
            .headers()
            .get("x-subject-token")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, token, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn token(&self, user: &str, password: &str, project: &str) -> String {
        let (s, token, b) = self.login(user, password, Some(project)).await;
        assert_eq!(s, 201, "{user} logs in: {b}");
        token
    }

    pub async fn call(
        &self,
        token: &str,
        method: &str,
        url: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.env.api)
        };
        let mut r = self
            .env
            .client
            .request(method.parse().unwrap(), url)
            .header("X-Auth-Token", token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates project, user and role assignment through the identity admin API.
    pub async fn user(
        &self,
        admin: &str,
        name: &str,
        project: &str,
        roles: &[&str],
    ) -> (String, String) {
        let base = &self.identity;
        let (_, found) = self
            .call(
                admin,
                "GET",
                &format!("{base}/projects?name={project}"),
                None,
            )
            .await;
        let project_id = match found["projects"][0]["id"].as_str() {
            Some(id) => id.to_string(),
            None => {
                let (s, b) = self
                    .call(
                        admin,
                        "POST",
                        &format!("{base}/projects"),
                        Some(json!({"project": {"name": project}})),
                    )
                    .await;
                assert_eq!(s, 201, "{b}");
                b["project"]["id"].as_str().unwrap().to_string()
            }
        };
        let (s, b) = self
            .call(
                admin,
                "POST",
                &format!("{base}/users"),
                Some(json!({"user": {"name": name, "password": format!("{name}-pw")}})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let user_id = b["user"]["id"].as_str().unwrap().to_string();
        for role in roles {
            let (_, b) = self
                .call(admin, "GET", &format!("{base}/roles?name={role}"), None)
                .await;
            let role_id = b["roles"][0]["id"].as_str().expect("role exists");
            let (s, b) = self
                .call(
                    admin,
                    "PUT",
                    &format!("{base}/projects/{project_id}/users/{user_id}/roles/{role_id}"),
                    None,
                )
                .await;
            assert_eq!(s, 204, "{b}");
        }
        (project_id, user_id)
    }

    pub async fn subnet(&self, token: &str) -> String {
        let (s, b) = self
            .call(
                token,
                "GET",
                &format!("{}/v2.0/subnets?name=ostia-local-subnet", self.env.net),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["subnets"][0]["id"].as_str().unwrap().to_string()
    }

    pub async fn wait_active(&self, token: &str, lb: &str) {
        let start = Instant::now();
        loop {
            let (s, b) = self
                .call(token, "GET", &format!("/v2/lbaas/loadbalancers/{lb}"), None)
                .await;
            assert_eq!(s, 200, "{b}");
            if b["loadbalancer"]["provisioning_status"] == "ACTIVE" {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "{b}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The admin password `ostia up` wrote, from clouds.yaml (which only its owner may read).
pub fn admin_password(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("clouds.yaml");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "clouds.yaml is private");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains("auth_url: http://127.0.0.1:") && !text.contains("override"),
        "{text}"
    );
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap();
    line.trim_matches('"').to_string()
}
