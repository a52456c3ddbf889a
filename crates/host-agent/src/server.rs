//! The host agent's routes under `/1.0`, for workers (client certificates of the control
//! plane's CA): `GET /info`; `GET /amphorae`, `POST /amphorae/{id}?lb={lb_id}`,
//! `PUT /amphorae/{id}/loadbalancer` (an `AmphoraConfig` with its plumbing),
//! `PUT /amphorae/{id}/attach`, `PUT /amphorae/{id}/config`,
//! `DELETE /amphorae/{id}?stop=graceful|kill`; `PUT /networks/{id}` (new VXLAN peers);
//! `GET /routers`, `PUT /routers/{id}`, `DELETE /routers/{id}`; `GET /probes`,
//! `POST /probes`, `DELETE /probes/{port id}`.

use crate::amphorae::Amphorae;
use crate::networks::Networks;
use crate::probes::{self, ProbeRequest};
use crate::report::{start_reports, Reports};
use crate::routers::Routers;
use amphora::mtls::{self, invalid, reply, Call, Reply};
use amphora::pki::Authority;
use controller::compute::{ComputeError, Process, ProcessOptions, Stop};
use hyper::{Method, StatusCode};
use model::{AmphoraConfig, NetworkPlumbing, RouterPlumbing};
use serde_json::json;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug)]
pub struct HostOptions {
    /// Holds `heartbeat.key` and `pki/` (copied from the control plane's data dir); the
    /// agent keeps its amphorae below `host/`.
    pub data_dir: PathBuf,
    /// `--host`: unique among hosts.
    pub host: String,
    /// The underlay address: VXLAN's endpoint, and where reports leave from.
    pub local_ip: IpAddr,
    /// Where workers reach the agent.
    pub bind: SocketAddr,
    /// Health managers, in turn (reports, and the amphorae's heartbeats).
    pub controllers: Vec<SocketAddr>,
    pub report_interval: Duration,
    /// The `ostia` binary to run amphorae with.
    pub exe: PathBuf,
    /// How long open connections may finish when an amphora stops.
    pub drain: Duration,
}

/// A running host agent; dropping it stops the agent (its amphorae keep serving).
pub struct HostAgent {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    _reports: Reports,
}

impl Drop for HostAgent {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct Routes {
    amphorae: Amphorae,
    networks: Arc<Networks>,
    routers: Routers,
    report: tokio::sync::watch::Sender<model::HostReport>,
}

/// Starts the agent: takes back the amphorae and networks its data dir names, serves
/// workers, reports the host.
pub async fn start(opts: HostOptions) -> anyhow::Result<HostAgent> {
    anyhow::ensure!(
        !opts.host.trim().is_empty() && opts.host.len() <= 253,
        "--host must name the host (its agent's name in `neutron agent-list`)"
    );
    let key = shared_file(&opts, "heartbeat.key")?;
    anyhow::ensure!(!key.trim().is_empty(), "heartbeat.key is empty");
    shared_file(&opts, "pki/ca.key")?;
    let pki = opts.data_dir.join("pki");
    let authority = Authority::load_or_create(&pki)?;
    let server = authority.issue(&opts.host, true)?;
    let tls = amphora::pki::server_config(authority.ca_pem(), &server.cert_pem, &server.key_pem)?;
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on --bind {}: {e}", opts.bind))?;
    let addr = listener.local_addr()?;
    let root = opts.data_dir.join("host");
    let dir = root.join("amphorae");
    std::fs::create_dir_all(&dir)?;
    let settings = amphora::HeartbeatSettings {
        targets: opts.controllers.clone(),
        interval_ms: opts.report_interval.as_millis() as u64,
        key: key.trim().to_string(),
    };
    let (exits, mut exited) = tokio::sync::mpsc::unbounded_channel();
    let driver = Process::new(
        ProcessOptions {
            exe: opts.exe.clone(),
            dir: dir.clone(),
            settings: settings.clone(),
            drain: opts.drain,
            host_addresses: amphora::Management::Off,
            exits,
            namespaces: true,
        },
        &pki,
    )?;
    let networks = Arc::new(Networks::open(root.join("networks.json"), opts.local_ip));
    networks.restore().await;
    let reports = start_reports(
        &opts.host,
        opts.local_ip,
        Some(addr),
        opts.controllers.clone(),
        opts.report_interval,
        settings.key.clone(),
    )
    .await?;
    let routes = Arc::new(Routes {
        amphorae: Amphorae::new(driver, dir, networks.clone()),
        networks,
        routers: Routers::open(root.join("routers.json")),
        report: reports.report.clone(),
    });
    routes.amphorae.restore().await;
    routes.routers.restore(&routes.networks).await;
    routes.refresh_report().await;
    let shutdown = CancellationToken::new();
    tokio::spawn(mtls::serve(listener, tls, routes.clone(), shutdown.clone()));
    // Housekeeping: unused networks go; an amphora process that died is only logged (its
    // load balancer is failed over when its heartbeats stop).
    let (routes_bg, stop) = (routes.clone(), shutdown.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    routes_bg.networks.prune().await;
                    routes_bg.refresh_report().await;
                }
                Some(id) = exited.recv() => {
                    tracing::warn!(amphora = %id, "amphora process exited on its own");
                }
            }
        }
    });
    Ok(HostAgent {
        addr,
        shutdown,
        _reports: reports,
    })
}

/// A file the control plane shares with its hosts; missing means the operator has not
/// copied it yet.
fn shared_file(opts: &HostOptions, name: &str) -> anyhow::Result<String> {
    let path = opts.data_dir.join(name);
    std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {} ({e}): copy heartbeat.key and pki/ from the control plane's data dir",
            path.display()
        )
    })
}

impl mtls::Routes for Routes {
    fn who(&self) -> &'static str {
        "an Ostia host agent"
    }

    fn route(&self, call: Call) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
        Box::pin(async move {
            let answer = self.answer(&call).await;
            if call.method != Method::GET {
                self.refresh_report().await;
            }
            answer
        })
    }
}

impl Routes {
    async fn refresh_report(&self) {
        let amphorae = self.amphorae.ids().await;
        let networks = self.networks.ids().await;
        self.report.send_if_modified(|r| {
            let changed = r.amphorae != amphorae || r.networks != networks;
            r.amphorae = amphorae;
            r.networks = networks;
            changed
        });
    }

    async fn answer(&self, call: &Call) -> Reply {
        let path = call.path.trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let query = |key: &str| -> Option<String> {
            call.query.as_deref()?.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == key).then(|| v.to_string())
            })
        };
        match (&call.method, segments.as_slice()) {
            (&Method::GET, ["1.0", "info"]) => reply(
                StatusCode::OK,
                json!({"api_version": "1.0", "amphorae": self.amphorae.ids().await,
                       "networks": self.networks.ids().await, "probes": probes::list()}),
            ),
            (&Method::GET, ["1.0", "amphorae"]) => reply(
                StatusCode::OK,
                json!({"amphorae": self.amphorae.ids().await}),
            ),
            (&Method::POST, ["1.0", "amphorae", id]) => {
                let lb = query("lb").unwrap_or_default();
                done(self.amphorae.create(id, &lb).await, StatusCode::CREATED)
            }
            (&Method::PUT, ["1.0", "amphorae", id, what @ ("loadbalancer" | "attach")]) => {
                let config: AmphoraConfig = match serde_json::from_slice(&call.body) {
                    Ok(c) => c,
                    Err(e) => return invalid(format!("not an AmphoraConfig: {e}")),
                };
                if *what == "attach" {
                    return done(self.amphorae.attach(id, config).await, StatusCode::OK);
                }
                match self.amphorae.apply(id, config).await {
                    Ok(applied) => reply(
                        StatusCode::OK,
                        serde_json::to_value(applied).expect("serialisable"),
                    ),
                    Err(e) => compute_error(e),
                }
            }
            (&Method::PUT, ["1.0", "amphorae", id, "config"]) => {
                done(self.amphorae.configure(id).await, StatusCode::ACCEPTED)
            }
            (&Method::DELETE, ["1.0", "amphorae", id]) => {
                let how = match query("stop").as_deref() {
                    Some("kill") => Stop::Kill,
                    _ => Stop::Graceful,
                };
                self.amphorae.delete(id, how).await;
                reply(StatusCode::OK, json!({}))
            }
            (&Method::PUT, ["1.0", "networks", id]) => {
                let net: NetworkPlumbing = match serde_json::from_slice(&call.body) {
                    Ok(n) => n,
                    Err(e) => return invalid(format!("not a network: {e}")),
                };
                if net.network_id != *id {
                    return invalid("the body names another network");
                }
                match self.networks.set_peers(&net).await {
                    Ok(carried) => reply(StatusCode::OK, json!({"carried": carried})),
                    Err(e) => plumbing_error(e),
                }
            }
            (&Method::GET, ["1.0", "routers"]) => {
                reply(StatusCode::OK, json!({"routers": self.routers.ids().await}))
            }
            (&Method::PUT, ["1.0", "routers", id]) => {
                let router: RouterPlumbing = match serde_json::from_slice(&call.body) {
                    Ok(r) => r,
                    Err(e) => return invalid(format!("not a router: {e}")),
                };
                if router.router_id != *id {
                    return invalid("the body names another router");
                }
                match self.routers.apply(&self.networks, &router).await {
                    Ok(()) => reply(StatusCode::OK, json!({})),
                    Err(e) => plumbing_error(e),
                }
            }
            (&Method::DELETE, ["1.0", "routers", id]) => match self.routers.delete(id).await {
                Ok(()) => reply(StatusCode::OK, json!({})),
                Err(e) => plumbing_error(e),
            },
            (&Method::GET, ["1.0", "probes"]) => {
                reply(StatusCode::OK, json!({"probes": probes::list()}))
            }
            (&Method::POST, ["1.0", "probes"]) => {
                let probe: ProbeRequest = match serde_json::from_slice(&call.body) {
                    Ok(p) => p,
                    Err(e) => return invalid(format!("not a probe: {e}")),
                };
                match probes::create(&self.networks, &probe).await {
                    Ok(ns) => reply(StatusCode::CREATED, json!({"namespace": ns})),
                    Err(e) => plumbing_error(e),
                }
            }
            (&Method::DELETE, ["1.0", "probes", port]) => match probes::delete(port).await {
                Ok(()) => reply(StatusCode::OK, json!({})),
                Err(e) => plumbing_error(e),
            },
            (_, ["1.0", "info" | "amphorae" | "probes" | "routers"])
            | (_, ["1.0", "amphorae" | "networks" | "probes" | "routers", _])
            | (_, ["1.0", "amphorae", _, _]) => mtls::method_not_allowed(call),
            _ => mtls::not_found(&call.path),
        }
    }
}

fn done(r: Result<(), ComputeError>, ok: StatusCode) -> Reply {
    match r {
        Ok(()) => reply(ok, json!({})),
        Err(e) => compute_error(e),
    }
}

/// A refusal is the worker's to report (400); anything else is this host failing (500).
fn compute_error(e: ComputeError) -> Reply {
    match e {
        ComputeError::Refused(reason) => invalid(reason),
        other => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Failed", "details": other.to_string()}),
        ),
    }
}

fn plumbing_error(e: host_net::PlumbingError) -> Reply {
    match e {
        host_net::PlumbingError::Invalid(reason) => invalid(reason),
        other => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Failed", "details": other.to_string()}),
        ),
    }
}
