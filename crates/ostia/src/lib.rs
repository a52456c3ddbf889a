//! Assembles Ostia's services into processes (`ostia up`, and `api`, `worker`,
//! `health-manager`, `housekeeping` alone, and `agent` on each amphora host): the store, the load-balancer API, the network API
//! with Neutron-LBaaS mounted beside it, the key manager, the built-in identity, the worker
//! with its compute driver, the health manager and housekeeping.
//!
//! Must not hold logic of its own: what a service does is its crate's; this crate only opens,
//! binds, wires and stops them.

pub mod auth;

pub use auth::AuthMode;
use controller::compute::{ComputeDriver, Hosts, InProcess, Noop, Process, ProcessOptions};
use controller::health::Counters;
use controller::housekeeping::Housekeeping;
use controller::{Amphorae, HealthConfig, HealthManager, Worker};
use front::{Core, PolicyModel};
use lb_api::{ApiConfig, AppState, NetworkDriver};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Where amphorae run (`--amphora`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmphoraDriver {
    /// An engine per amphora inside this process.
    InProcess,
    /// An `ostia amphora` process per amphora, reached over mutual TLS.
    Process,
    /// Records only, no data plane (Octavia's noop drivers).
    Noop,
    /// Amphorae placed on hosts' agents (`ostia agent`), each in a network namespace.
    Netns,
}

/// The agent of this process's own host, run beside the control plane (`ostia up --amphora
/// netns --host NAME --local-ip IP`), so that one machine works alone.
#[derive(Clone, Debug)]
pub struct LocalHost {
    pub name: String,
    pub local_ip: std::net::IpAddr,
    /// Where workers reach it.
    pub bind: SocketAddr,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; None: `<data_dir>/ostia.db`.
    pub database: Option<String>,
    pub api_bind: SocketAddr,
    pub network_bind: SocketAddr,
    pub network_driver: NetworkDriver,
    pub default_project: String,
    /// Run the worker in this process (`false` leaves jobs to an `ostia worker`).
    pub worker: bool,
    pub amphora: AmphoraDriver,
    /// Octavia's `loadbalancer_topology`: for load balancers whose flavor does not say.
    pub loadbalancer_topology: model::Topology,
    /// The engine of load balancers whose flavor does not name one.
    pub default_engine: model::EngineKind,
    /// Run the health manager in this process, listening here.
    pub health_manager: bool,
    /// Run housekeeping in this process (`false` leaves it to an `ostia housekeeping`).
    pub housekeeping: bool,
    pub health_bind: SocketAddr,
    /// Where amphorae send heartbeats, in turn (Octavia's `controller_ip_port_list`); empty:
    /// this process's health manager, or `health_bind`.
    pub heartbeat_targets: Vec<SocketAddr>,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    pub failover_threshold: Option<usize>,
    /// A host whose agent is silent this long is dead.
    pub host_down_time: Duration,
    /// The built-in subnet VIPs come from (set on first start of a data dir).
    pub local_cidr: ipnet::Ipv4Net,
    /// The `ostia` binary amphora processes run (default: this one).
    pub amphora_exe: Option<PathBuf>,
    /// How long connections of a stopped listener or amphora may finish.
    pub drain_timeout: Duration,
    pub auth: AuthMode,
    /// The built-in identity service (with `AuthMode::Builtin`).
    pub identity_bind: SocketAddr,
    /// The key manager (Barbican subset).
    pub key_manager_bind: SocketAddr,
    pub token_ttl: Duration,
    /// Limits of projects without their own (-1: unlimited).
    pub quota_defaults: model::Quota,
    pub policy: PolicyModel,
    /// Put VIPs and floating IPs outside 127.0.0.0/8 on the `ostia0` interface of this network
    /// namespace (needs CAP_NET_ADMIN; without it, or when false, they bind with IP_FREEBIND).
    pub vip_interface: bool,
    /// With `AmphoraDriver::Netns`: run this host's agent here too.
    pub local_host: Option<LocalHost>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            data_dir: PathBuf::from("ostia-data"),
            database: None,
            api_bind: "127.0.0.1:9876".parse().expect("literal"),
            network_bind: "127.0.0.1:9696".parse().expect("literal"),
            network_driver: NetworkDriver::Local,
            default_project: "admin".into(),
            worker: true,
            amphora: AmphoraDriver::InProcess,
            loadbalancer_topology: model::Topology::Single,
            default_engine: model::EngineKind::Native,
            health_manager: true,
            housekeeping: true,
            health_bind: "127.0.0.1:5555".parse().expect("literal"),
            heartbeat_targets: Vec::new(),
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(3),
            failover_threshold: None,
            host_down_time: Duration::from_secs(3),
            local_cidr: store::network::LOCAL_CIDR.parse().expect("literal"),
            amphora_exe: None,
            drain_timeout: Duration::from_secs(30),
            auth: AuthMode::Builtin,
            identity_bind: "127.0.0.1:5000".parse().expect("literal"),
            key_manager_bind: "127.0.0.1:9311".parse().expect("literal"),
            token_ttl: Duration::from_secs(3600),
            quota_defaults: lb_api::unlimited(),
            policy: PolicyModel::default(),
            vip_interface: true,
            local_host: None,
        }
    }
}

/// A running Ostia.
pub struct Running {
    pub api_addr: SocketAddr,
    pub network_addr: SocketAddr,
    pub key_manager_addr: SocketAddr,
    /// The built-in identity service, when it runs.
    pub identity_addr: Option<SocketAddr>,
    /// `<data-dir>/clouds.yaml` with the bootstrap admin's password (built-in identity).
    pub clouds_yaml_path: Option<PathBuf>,
    pub health_addr: Option<SocketAddr>,
    pub store: Store,
    /// The health manager's datagram counters, when it runs here.
    pub heartbeats: Option<Arc<Counters>>,
    inprocess: Option<Arc<InProcess>>,
    /// This host's agent (`--amphora netns` with `--host`); its amphorae outlive it.
    pub local_host: Option<host_agent::HostAgent>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The store the options name; the data dir (keys, certificates) is made either way.
pub async fn open_store(opts: &Options) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&opts.data_dir)?;
    Ok(match &opts.database {
        Some(url) => Store::connect(url).await?,
        None => Store::open(&opts.data_dir.join("ostia.db")).await?,
    })
}

/// Engines this deployment's amphorae cannot run, with the reason: haproxy where the
/// amphorae run on this machine and its package is missing. (Amphorae on hosts' agents find
/// out on their host; noop amphorae serve nothing.)
fn unavailable_engines(opts: &Options) -> Vec<(model::EngineKind, String)> {
    let here = matches!(
        opts.amphora,
        AmphoraDriver::InProcess | AmphoraDriver::Process
    );
    match amphora::haproxy::process::installed() {
        Err(e) if here => vec![(model::EngineKind::Haproxy, e.to_string())],
        _ => Vec::new(),
    }
}

/// The shared `heartbeat_key` of a data dir, created on first use. Processes starting
/// together (`ostia up` and `ostia health-manager`) agree on one: the first to create the
/// file wins, the others read it.
pub fn heartbeat_key(data_dir: &Path) -> anyhow::Result<String> {
    auth::secret_file(data_dir, "heartbeat.key", 32)
}

/// Binds a TCP service, saying which one and how to move it when the address is taken.
async fn bind(addr: SocketAddr, service: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen for the {service} on {addr} ({flag} moves it): {e}")
    })
}

/// The compute driver `opts` asks for; `exits` hears of amphora processes that end.
pub async fn compute_driver(
    opts: &Options,
    store: &Store,
    heartbeat: amphora::HeartbeatSettings,
    exits: tokio::sync::mpsc::UnboundedSender<String>,
) -> anyhow::Result<Compute> {
    let only = |driver: Arc<dyn ComputeDriver>| Compute {
        driver,
        inprocess: None,
        hosts: None,
    };
    Ok(match opts.amphora {
        AmphoraDriver::Noop => only(Arc::new(Noop)),
        AmphoraDriver::InProcess => {
            let driver = Arc::new(
                InProcess::new(
                    heartbeat,
                    opts.drain_timeout,
                    opts.vip_interface,
                    opts.data_dir.join("amphorae"),
                )
                .await?,
            );
            Compute {
                driver: driver.clone(),
                inprocess: Some(driver),
                hosts: None,
            }
        }
        AmphoraDriver::Netns => {
            let hosts = Arc::new(Hosts::new(
                store.clone(),
                &opts.data_dir.join("pki"),
                opts.host_down_time,
                opts.local_host.as_ref().map(|h| h.name.clone()),
            )?);
            Compute {
                driver: hosts.clone(),
                inprocess: None,
                hosts: Some(hosts),
            }
        }
        AmphoraDriver::Process => {
            let exe = match &opts.amphora_exe {
                Some(exe) => exe.clone(),
                None => std::env::current_exe()?,
            };
            let driver = Process::new(
                ProcessOptions {
                    exe,
                    dir: opts.data_dir.join("amphorae"),
                    settings: heartbeat,
                    drain: opts.drain_timeout,
                    host_addresses: if opts.vip_interface {
                        amphora::Management::Shared
                    } else {
                        amphora::Management::Off
                    },
                    exits,
                    namespaces: false,
                },
                &opts.data_dir.join("pki"),
            )?;
            only(Arc::new(driver))
        }
    })
}

/// A compute driver, with its in-process amphorae or its hosts when it has them.
pub struct Compute {
    pub driver: Arc<dyn ComputeDriver>,
    pub inprocess: Option<Arc<InProcess>>,
    pub hosts: Option<Arc<Hosts>>,
}

/// The worker with its compute driver: amphorae recorded in the store come back first
/// (those that cannot are failed over), then jobs are taken, and amphora processes that
/// exit are failed over at once.
async fn spawn_worker(
    opts: &Options,
    store: &Store,
    wake: &Arc<Notify>,
    heartbeat: amphora::HeartbeatSettings,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<(Vec<JoinHandle<()>>, Option<Arc<InProcess>>)> {
    let (exits_tx, mut exits) = tokio::sync::mpsc::unbounded_channel();
    let Compute {
        driver,
        inprocess,
        hosts,
    } = compute_driver(opts, store, heartbeat, exits_tx).await?;
    let sealer = Arc::new(store::Sealer::load_or_create(&opts.data_dir)?);
    if opts.loadbalancer_topology == model::Topology::ActiveStandby && !driver.pairs() {
        anyhow::bail!(
            "--loadbalancer-topology ACTIVE_STANDBY needs amphorae that run VRRP each in a \
             network namespace of its own: --amphora netns (or noop)"
        );
    }
    if opts.default_engine == model::EngineKind::Haproxy {
        if let Some((_, reason)) = unavailable_engines(opts).first() {
            anyhow::bail!("--default-engine haproxy: {reason}");
        }
    }
    let amphorae = Arc::new(
        Amphorae::new(store.clone(), driver, sealer)
            .with_topology(opts.loadbalancer_topology)
            .with_engine(opts.default_engine),
    );
    let lost = amphorae
        .restore()
        .await
        .map_err(|e| anyhow::anyhow!("restoring amphorae: {e}"))?;
    store.refresh_watched(store::jobs::now_millis()).await?;
    let worker = Worker::new(store.clone(), wake.clone(), amphorae);
    let mut tasks = vec![tokio::spawn(worker.run(stopped.clone()))];
    if let Some(hosts) = hosts {
        tasks.push(tokio::spawn(sync_hosts(hosts, stopped.clone())));
    }
    tasks.extend(store.forward_new_jobs(wake.clone(), stopped.clone()));
    let (s, w, mut stop) = (store.clone(), wake.clone(), stopped.clone());
    tasks.push(tokio::spawn(async move {
        let mut pending: Vec<(String, &str)> = lost
            .into_iter()
            .map(|id| (id, "not restored at start"))
            .collect();
        loop {
            for (id, reason) in pending.drain(..) {
                if let Err(e) = controller::failover::request(&s, &w, &id, None, reason).await {
                    tracing::warn!(amphora = %id, error = %e, "failover not requested");
                }
            }
            tokio::select! {
                exited = exits.recv() => match exited {
                    Some(id) => pending.push((id, "its process exited")),
                    None => return,
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }));
    Ok((tasks, inprocess))
}

fn health_config(opts: &Options, key: String) -> HealthConfig {
    HealthConfig {
        bind: opts.health_bind,
        key,
        heartbeat_timeout: opts.heartbeat_timeout,
        check_interval: (opts.heartbeat_timeout / 6).max(Duration::from_millis(100)),
        failover_threshold: opts.failover_threshold,
    }
}

async fn bind_health(
    opts: &Options,
    store: &Store,
    key: String,
    wake: &Arc<Notify>,
) -> anyhow::Result<HealthManager> {
    HealthManager::bind(store.clone(), health_config(opts, key), wake.clone())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot receive heartbeats on {} (--health-bind moves it): {e}",
                opts.health_bind
            )
        })
}

/// The health managers amphorae report to: the list given, else the one running here (its
/// bound address), else `health_bind`.
fn heartbeat_targets(opts: &Options, running_here: Option<SocketAddr>) -> Vec<SocketAddr> {
    if opts.heartbeat_targets.is_empty() {
        vec![running_here.unwrap_or(opts.health_bind)]
    } else {
        opts.heartbeat_targets.clone()
    }
}

/// `ostia worker`: the worker alone, until `stop` resolves.
pub async fn run_worker(opts: Options, stop: impl std::future::Future) -> anyhow::Result<()> {
    let store = open_store(&opts).await?;
    let heartbeat = amphora::HeartbeatSettings {
        targets: heartbeat_targets(&opts, None),
        interval_ms: opts.heartbeat_interval.as_millis() as u64,
        key: heartbeat_key(&opts.data_dir)?,
    };
    let (tx, rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let (tasks, inprocess) = spawn_worker(&opts, &store, &wake, heartbeat, &rx).await?;
    stop.await;
    let _ = tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    if let Some(inprocess) = inprocess {
        inprocess.stop_all().await;
    }
    Ok(())
}

/// Keeps hosts' agents in step with the store every second (VXLAN peers, amphorae they no
/// longer own).
async fn sync_hosts(hosts: Arc<Hosts>, mut stopped: watch::Receiver<bool>) {
    let mut pushed = controller::compute::hosts::Pushed::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => {}
        }
        if *stopped.borrow() {
            return;
        }
        if let Err(e) = hosts.sync(&mut pushed).await {
            tracing::warn!(error = %e, "hosts not synced");
        }
    }
}

/// The agent of this process's host, reporting to the health managers amphorae report to.
pub async fn start_local_host(
    opts: &Options,
    controllers: Vec<SocketAddr>,
) -> anyhow::Result<Option<host_agent::HostAgent>> {
    let Some(local) = &opts.local_host else {
        return Ok(None);
    };
    let exe = match &opts.amphora_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe()?,
    };
    let agent = host_agent::start(host_agent::HostOptions {
        data_dir: opts.data_dir.clone(),
        host: local.name.clone(),
        local_ip: local.local_ip,
        bind: local.bind,
        controllers,
        report_interval: opts.heartbeat_interval,
        exe,
        drain: opts.drain_timeout,
    })
    .await?;
    Ok(Some(agent))
}

/// The hosts of the options' store, for `ostia probe-*`.
pub async fn hosts(opts: &Options) -> anyhow::Result<Hosts> {
    let store = open_store(opts).await?;
    Ok(Hosts::new(
        store,
        &opts.data_dir.join("pki"),
        opts.host_down_time,
        None,
    )?)
}

/// `--amphora netns` makes network namespaces: without root it fails at start, saying so.
pub fn check_netns_privileges() -> anyhow::Result<()> {
    // Safety: geteuid has no preconditions.
    anyhow::ensure!(
        unsafe { libc::geteuid() } == 0,
        "--amphora netns and `ostia agent` need root (CAP_SYS_ADMIN and CAP_NET_ADMIN): they \
         make network namespaces, bridges and VXLAN devices"
    );
    Ok(())
}

/// Octavia's defaults: DELETED load balancers kept a week, looked at every 30 s.
fn housekeeping(store: &Store) -> Housekeeping {
    Housekeeping {
        store: store.clone(),
        lb_expiry: Duration::from_secs(7 * 86_400),
        interval: Duration::from_secs(30),
    }
}

/// `ostia housekeeping`: housekeeping alone, until `stop` resolves.
pub async fn run_housekeeping(opts: Options, stop: impl std::future::Future) -> anyhow::Result<()> {
    let store = open_store(&opts).await?;
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(housekeeping(&store).run(rx));
    println!("housekeeping running");
    stop.await;
    let _ = tx.send(true);
    let _ = task.await;
    Ok(())
}

/// `ostia health-manager`: the health manager alone, until `stop` resolves.
pub async fn run_health_manager(
    opts: Options,
    stop: impl std::future::Future,
) -> anyhow::Result<()> {
    let store = open_store(&opts).await?;
    let key = heartbeat_key(&opts.data_dir)?;
    let hm = bind_health(&opts, &store, key, &Arc::new(Notify::new())).await?;
    println!("health manager on udp://{}", hm.local_addr());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(hm.run(rx));
    stop.await;
    let _ = tx.send(true);
    let _ = task.await;
    Ok(())
}

/// Serves one service's routes until `stopped` turns true.
fn serve(
    name: &'static str,
    listener: TcpListener,
    routes: axum::Router,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = front::serve(listener, routes, shutdown).await {
            tracing::error!(error = %e, "{name} stopped");
        }
    })
}

pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let store = open_store(&opts).await?;
    store.seed_network(opts.local_cidr).await?;
    let key = heartbeat_key(&opts.data_dir)?;
    // The CA that workers and `ostia agent`s share: made on a new data dir whatever the
    // amphora driver, so hosts can join by copying heartbeat.key and pki/.
    amphora::pki::Authority::load_or_create(&opts.data_dir.join("pki"))?;
    let api_listener = bind(opts.api_bind, "load-balancer API", "--api-bind").await?;
    let net_listener = bind(opts.network_bind, "network API", "--network-bind").await?;
    let km_listener = bind(opts.key_manager_bind, "key manager", "--key-manager-bind").await?;
    let builtin = match &opts.auth {
        AuthMode::Builtin => {
            let listener = bind(opts.identity_bind, "identity API", "--identity-bind").await?;
            let endpoints = auth::Endpoints {
                identity: listener.local_addr()?,
                api: api_listener.local_addr()?,
                network: net_listener.local_addr()?,
                key_manager: km_listener.local_addr()?,
            };
            Some(auth::builtin(&store, &opts.data_dir, listener, endpoints, opts.token_ttl).await?)
        }
        _ => None,
    };
    let authenticator = match (&opts.auth, &builtin) {
        (AuthMode::Builtin, Some(b)) => identity::Authenticator::Builtin(b.identity.clone()),
        (AuthMode::Keystone { url }, _) => auth::keystone(url),
        _ => identity::Authenticator::NoAuth,
    };
    let wake = Arc::new(Notify::new());
    let health = if opts.health_manager {
        Some(bind_health(&opts, &store, key.clone(), &wake).await?)
    } else {
        None
    };
    let health_addr = health.as_ref().map(HealthManager::local_addr);
    let heartbeat = amphora::HeartbeatSettings {
        targets: heartbeat_targets(&opts, health_addr),
        interval_ms: opts.heartbeat_interval.as_millis() as u64,
        key,
    };
    if opts.amphora == AmphoraDriver::Netns {
        check_netns_privileges()?;
    }
    let local_host = start_local_host(&opts, heartbeat.targets.clone()).await?;
    let (stop, stopped) = watch::channel(false);
    let (mut tasks, inprocess) = if opts.worker {
        spawn_worker(&opts, &store, &wake, heartbeat, &stopped).await?
    } else {
        (Vec::new(), None)
    };
    let heartbeats = health.as_ref().map(HealthManager::counters);
    if let Some(hm) = health {
        tasks.push(tokio::spawn(hm.run(stopped.clone())));
    }

    let core = Core {
        store: store.clone(),
        auth: authenticator,
        secrets: Arc::new(store::Sealer::load_or_create(&opts.data_dir)?),
        default_project: opts.default_project.clone(),
        policy: opts.policy,
        jobs: wake.clone(),
    };
    let lb = AppState {
        core: core.clone(),
        config: Arc::new(ApiConfig {
            network_driver: opts.network_driver,
            quota_defaults: opts.quota_defaults,
            host_down_time: opts.host_down_time,
            unavailable_engines: unavailable_engines(&opts),
            ..ApiConfig::default()
        }),
    };
    let api_addr = api_listener.local_addr()?;
    let network_addr = net_listener.local_addr()?;
    let key_manager_addr = km_listener.local_addr()?;
    // The network port serves the network API with Neutron-LBaaS beside it.
    let network_routes = network::routes(core.clone()).merge(lb_api::lbaas_routes(lb.clone()));
    for (name, listener, routes) in [
        ("load-balancer API", api_listener, lb_api::routes(lb)),
        ("network API", net_listener, network_routes),
        ("key manager", km_listener, key_manager::routes(core)),
    ] {
        tasks.push(serve(name, listener, routes, stopped.clone()));
    }
    let (identity_addr, clouds_yaml_path) = match builtin {
        Some(b) => {
            let addr = b.listener.local_addr()?;
            let routes = identity::http::routes(b.identity);
            tasks.push(serve("identity API", b.listener, routes, stopped.clone()));
            (Some(addr), b.clouds_yaml)
        }
        None => (None, None),
    };
    if opts.housekeeping {
        tasks.push(tokio::spawn(housekeeping(&store).run(stopped)));
    }
    Ok(Running {
        api_addr,
        network_addr,
        key_manager_addr,
        identity_addr,
        clouds_yaml_path,
        health_addr,
        store,
        heartbeats,
        inprocess,
        local_host,
        stop,
        tasks,
    })
}

impl Running {
    /// Stops every service and waits for them. In-process amphorae stop with it; amphora
    /// processes keep serving (the next start re-attaches to them).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Some(inprocess) = &self.inprocess {
            inprocess.stop_all().await;
        }
        self.store.close().await;
    }

    /// A `clouds.yaml` that points the openstack CLI and SDK at this instance.
    pub fn clouds_yaml(&self) -> String {
        format!(
            "clouds:\n  ostia:\n    auth_type: none\n    load_balancer_endpoint_override: http://{}\n    network_endpoint_override: http://{}\n",
            self.api_addr, self.network_addr
        )
    }
}

/// Many listeners and connections: the soft descriptor limit up to the hard one.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
