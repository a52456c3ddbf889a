//! The `ostia` command: its flags, read into the library's options, and the benchmarks
//! (`ostia bench …`), which are the binary's alone.

mod bench;

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// The API builds and drops many small JSON values per request and the engine many
// small buffers; mimalloc's thread-local free lists beat glibc's arenas at both.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ostia",
    version,
    about = "Load Balancer as a Service in one binary (OpenStack Octavia v2 API)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum NetDriver {
    /// Built-in network service: VIPs are real loopback addresses.
    Local,
    /// Octavia's noop network driver: echo requested ids, invent the rest.
    Noop,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthKind {
    /// Ostia's own Keystone-compatible identity (tokens, users, projects, roles) on
    /// --identity-bind; writes <data-dir>/clouds.yaml with the admin password at first start.
    Builtin,
    /// Validate tokens against a real Keystone (--keystone-url).
    Keystone,
    /// No tokens: project from X-Project-Id, every caller an administrator.
    Noauth,
}

/// Octavia's `[auth] / [quotas]` settings of `ostia up`.
#[derive(clap::Args, Clone)]
struct AuthArgs {
    /// Who callers are.
    #[arg(long, value_enum, default_value = "builtin")]
    auth: AuthKind,
    /// Keystone's endpoint, for --auth keystone (e.g. http://127.0.0.1:5000/v3).
    #[arg(long, required_if_eq("auth", "keystone"))]
    keystone_url: Option<String>,
    /// Where the built-in identity API listens.
    #[arg(long, default_value = "127.0.0.1:5000")]
    identity_bind: SocketAddr,
    /// Octavia's policy: `default` (Keystone's admin/member/reader roles) or `advanced` (also
    /// the load-balancer_* roles).
    #[arg(long, value_enum, default_value = "default")]
    policy: PolicyKind,
    /// Lifetime of tokens of the built-in identity, in seconds.
    #[arg(long, default_value = "3600", value_parser = seconds)]
    token_ttl: Duration,
    /// Default quotas of projects without their own (-1: unlimited).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_load_balancer_quota: i64,
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_listener_quota: i64,
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_pool_quota: i64,
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_member_quota: i64,
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_health_monitor_quota: i64,
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_l7policy_quota: i64,
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    default_l7rule_quota: i64,
}

#[derive(Clone, Copy, ValueEnum)]
enum PolicyKind {
    Default,
    Advanced,
}

/// Octavia's `[controller_worker] loadbalancer_topology`, for load balancers whose flavor
/// does not name one.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum TopologyKind {
    /// One amphora per load balancer.
    #[value(name = "SINGLE")]
    Single,
    /// Two amphorae per load balancer, MASTER and BACKUP, the VIP moved by VRRP.
    #[value(name = "ACTIVE_STANDBY")]
    ActiveStandby,
}

impl From<TopologyKind> for model::Topology {
    fn from(t: TopologyKind) -> model::Topology {
        match t {
            TopologyKind::Single => model::Topology::Single,
            TopologyKind::ActiveStandby => model::Topology::ActiveStandby,
        }
    }
}

/// What serves the traffic of load balancers whose flavor does not name an engine.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum EngineArg {
    /// Ostia's own engine.
    Native,
    /// Debian's haproxy, one master per load balancer, configured as Octavia configures it.
    Haproxy,
}

impl From<EngineArg> for model::EngineKind {
    fn from(e: EngineArg) -> model::EngineKind {
        match e {
            EngineArg::Native => model::EngineKind::Native,
            EngineArg::Haproxy => model::EngineKind::Haproxy,
        }
    }
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum AmphoraKind {
    /// One engine per amphora inside the Ostia process (fast start).
    Inprocess,
    /// One `ostia amphora` process per amphora, reached over mutual TLS; they outlive the
    /// control plane.
    Process,
    /// Amphora records only, no data plane (Octavia's noop drivers).
    Noop,
    /// Amphorae on hosts' agents (`ostia agent`; with --host, this host's too), each in a
    /// network namespace `amphora-<id>` (needs root).
    Netns,
}

impl From<AmphoraKind> for ostia::AmphoraDriver {
    fn from(k: AmphoraKind) -> Self {
        match k {
            AmphoraKind::Inprocess => ostia::AmphoraDriver::InProcess,
            AmphoraKind::Process => ostia::AmphoraDriver::Process,
            AmphoraKind::Noop => ostia::AmphoraDriver::Noop,
            AmphoraKind::Netns => ostia::AmphoraDriver::Netns,
        }
    }
}

fn seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("'{s}' is not a positive number of seconds"))
}

#[derive(clap::Args, Clone)]
struct HealthArgs {
    /// Where the health manager receives heartbeats.
    #[arg(long, default_value = "127.0.0.1:5555")]
    health_bind: SocketAddr,
    /// Seconds between an amphora's heartbeats (Octavia's default is 10).
    #[arg(long, default_value = "1", value_parser = seconds)]
    heartbeat_interval: Duration,
    /// Seconds of silence after which an amphora is failed over (Octavia's default is 60).
    #[arg(long, default_value = "3", value_parser = seconds)]
    heartbeat_timeout: Duration,
    /// Stop failing over when this many amphorae are silent at once (FAILOVER_STOPPED).
    #[arg(long)]
    failover_threshold: Option<usize>,
    /// Seconds of silence after which a host's agent is dead (Neutron's `agent_down_time`,
    /// 75 there).
    #[arg(long, default_value = "3", value_parser = seconds)]
    host_down_time: Duration,
    /// Health managers amphorae send heartbeats to, in turn (Octavia's
    /// `controller_ip_port_list`), comma-separated; default: the one at --health-bind.
    #[arg(long, value_delimiter = ',')]
    controller_ip_port_list: Vec<SocketAddr>,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Start Ostia: API, network API, worker, health manager, housekeeping, on a local SQLite
    /// store, with amphorae that carry traffic.
    Up(UpArgs),
    /// Only the APIs (load balancer, network, key manager, identity) against a shared
    /// database: `up --no-worker --no-health-manager --no-housekeeping`. Any number of them
    /// may serve one database, with `ostia worker`, `ostia health-manager` and
    /// `ostia housekeeping` processes beside them.
    Api(UpArgs),
    /// Only housekeeping (purging expired DELETED rows) against a data dir or database.
    Housekeeping {
        #[arg(long, default_value = "ostia-data")]
        data_dir: PathBuf,
        #[arg(long)]
        database: Option<String>,
    },
    /// Run only the worker against a data dir.
    Worker {
        #[arg(long, default_value = "ostia-data")]
        data_dir: PathBuf,
        /// The store: sqlite://PATH (default: <data-dir>/ostia.db) or postgres://… (one
        /// database any number of Ostia processes share; keys stay in the data dir).
        #[arg(long)]
        database: Option<String>,
        #[arg(long, value_enum, default_value = "inprocess")]
        amphora: AmphoraKind,
        /// Amphorae per load balancer whose flavor does not say (ACTIVE_STANDBY needs
        /// --amphora netns or noop).
        #[arg(long, value_enum, default_value = "SINGLE")]
        loadbalancer_topology: TopologyKind,
        /// The engine of load balancers whose flavor does not name one.
        #[arg(long, value_enum, default_value = "native")]
        default_engine: EngineArg,
        #[command(flatten)]
        health: HealthArgs,
    },
    /// Run only the health manager against a data dir.
    HealthManager {
        #[arg(long, default_value = "ostia-data")]
        data_dir: PathBuf,
        /// The store: sqlite://PATH (default: <data-dir>/ostia.db) or postgres://… (one
        /// database any number of Ostia processes share; keys stay in the data dir).
        #[arg(long)]
        database: Option<String>,
        #[command(flatten)]
        health: HealthArgs,
    },
    /// The agent of one amphora host: builds the amphorae workers place on it (each in a
    /// network namespace) and reports the host to the health managers. Its data dir holds
    /// heartbeat.key and pki/, copied from the control plane's. Needs root.
    Agent {
        #[command(flatten)]
        host: HostArgs,
        /// Health managers to report to, in turn, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        controller_ip_port_list: Vec<SocketAddr>,
        #[arg(long, default_value = "ostia-data")]
        data_dir: PathBuf,
        /// Seconds between reports (and between its amphorae's heartbeats).
        #[arg(long, default_value = "1", value_parser = seconds)]
        report_interval: Duration,
    },
    /// Put a "machine" on a network, as `neutron-debug probe-create`: a port of NETWORK (id or
    /// name) and a namespace `qprobe-<port id>` holding it on a host; prints
    /// {"port_id", "namespace", "ip_address", …} as JSON.
    ProbeCreate {
        network: String,
        /// The host (default: the only live one).
        #[arg(long)]
        host: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The probes, as JSON.
    ProbeList {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a probe: its namespace and its port.
    ProbeDelete {
        port: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Run one amphora (started by the `process` compute driver with its directory).
    Amphora {
        #[arg(long)]
        dir: PathBuf,
        /// Worker threads of the data plane.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Run the native engine on one AmphoraConfig document (JSON) until interrupted.
    Engine {
        #[arg(long)]
        config: PathBuf,
        /// Worker threads of the data plane.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// A test backend answering `you hit: <name>` (HTTP) or greeting and sinking (TCP).
    Backend {
        #[arg(long)]
        name: String,
        #[arg(long)]
        bind: SocketAddr,
        #[arg(long, default_value = "http")]
        kind: String,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

/// What `ostia up` (and `ostia api`) take.
#[derive(clap::Args)]
struct UpArgs {
    #[arg(long, default_value = "ostia-data")]
    data_dir: PathBuf,
    /// The store: sqlite://PATH (default: <data-dir>/ostia.db) or postgres://… (one
    /// database any number of Ostia processes share; keys stay in the data dir).
    #[arg(long)]
    database: Option<String>,
    #[arg(long, default_value = "127.0.0.1:9876")]
    api_bind: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:9696")]
    network_bind: SocketAddr,
    /// Where the key manager (Barbican subset) listens.
    #[arg(long, default_value = "127.0.0.1:9311")]
    key_manager_bind: SocketAddr,
    #[arg(long, value_enum, default_value = "local")]
    network_driver: NetDriver,
    /// Where amphorae run.
    #[arg(long, value_enum, default_value = "inprocess")]
    amphora: AmphoraKind,
    /// Amphorae per load balancer whose flavor does not say (ACTIVE_STANDBY needs
    /// --amphora netns or noop).
    #[arg(long, value_enum, default_value = "SINGLE")]
    loadbalancer_topology: TopologyKind,
    /// The engine of load balancers whose flavor does not name one: native, or haproxy
    /// (Debian's package).
    #[arg(long, value_enum, default_value = "native")]
    default_engine: EngineArg,
    /// The built-in subnet VIPs come from (fixed at the first start of a data dir).
    #[arg(long, default_value = "127.10.0.0/16")]
    vip_cidr: ipnet::Ipv4Net,
    /// Project of requests that carry no X-Project-Id.
    #[arg(long, default_value = "admin")]
    default_project: String,
    /// Do not run the worker here (run `ostia worker` instead).
    #[arg(long)]
    no_worker: bool,
    /// Do not run the health manager here (run `ostia health-manager` instead).
    #[arg(long)]
    no_health_manager: bool,
    /// Do not run housekeeping here (run `ostia housekeeping` instead).
    #[arg(long)]
    no_housekeeping: bool,
    /// Never put VIPs or floating IPs outside 127.0.0.0/8 on the `ostia0` interface (by
    /// default they go there when Ostia has CAP_NET_ADMIN); they bind with IP_FREEBIND.
    #[arg(long)]
    no_vip_interface: bool,
    #[command(flatten)]
    health: HealthArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// With --amphora netns: this host's agent runs here too, so one machine works alone.
    #[command(flatten)]
    local_host: HostArgs,
}

/// The data dir and store a command works on.
#[derive(clap::Args, Clone)]
struct StoreArgs {
    #[arg(long, default_value = "ostia-data")]
    data_dir: PathBuf,
    /// sqlite://PATH (default: <data-dir>/ostia.db) or postgres://….
    #[arg(long)]
    database: Option<String>,
    /// Seconds of silence after which a host is dead.
    #[arg(long, default_value = "3", value_parser = seconds)]
    host_down_time: Duration,
}

impl StoreArgs {
    fn options(self) -> ostia::Options {
        ostia::Options {
            data_dir: self.data_dir,
            database: self.database,
            host_down_time: self.host_down_time,
            ..ostia::Options::default()
        }
    }
}

/// Which host an agent serves.
#[derive(clap::Args, Clone)]
struct HostArgs {
    /// The host's name, unique among hosts.
    #[arg(long)]
    host: Option<String>,
    /// The host's underlay address: VXLAN's endpoint; reports leave from it.
    #[arg(long)]
    local_ip: Option<std::net::IpAddr>,
    /// Where workers reach the host's agent (default: <local-ip>:9443).
    #[arg(long)]
    bind: Option<SocketAddr>,
}

impl HostArgs {
    fn local(&self) -> anyhow::Result<Option<ostia::LocalHost>> {
        match (&self.host, self.local_ip) {
            (None, None) => Ok(None),
            (Some(name), Some(local_ip)) => Ok(Some(ostia::LocalHost {
                name: name.clone(),
                local_ip,
                bind: self.bind.unwrap_or(SocketAddr::new(local_ip, 9443)),
            })),
            _ => anyhow::bail!("--host and --local-ip go together"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Every listener of every in-process amphora holds a descriptor.
    ostia::raise_fd_limit();
    let threads = match &cli.command {
        Command::Engine { threads, .. }
        | Command::Backend { threads, .. }
        | Command::Amphora { threads, .. } => *threads,
        _ => 0,
    };
    // One proxy thread: a current-thread runtime, which has no work-stealing machinery to pay
    // for on every wake-up.
    let mut runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    if threads > 1 {
        runtime.worker_threads(threads);
    }
    // An amphora opens its host-side sockets and enters its namespace while this is the only
    // thread: the runtime's threads inherit the namespace.
    let prepared = match &cli.command {
        Command::Amphora { dir, .. } => Some(amphora::agent::prepare(dir)?),
        _ => None,
    };
    runtime.enable_all().build()?.block_on(run(cli, prepared))
}

async fn run(cli: Cli, prepared: Option<amphora::agent::Prepared>) -> anyhow::Result<()> {
    // Benchmarks print their figures; their logs stay quiet unless RUST_LOG asks.
    let default = match cli.command {
        Command::Bench { .. } => "warn",
        _ => "info,sqlx::postgres::notice=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        command @ (Command::Up(_) | Command::Api(_)) => {
            let (mut up, api_only) = match command {
                Command::Api(up) => (up, true),
                Command::Up(up) => (up, false),
                _ => unreachable!("matched Up or Api"),
            };
            if api_only {
                (up.no_worker, up.no_health_manager, up.no_housekeeping) = (true, true, true);
            }
            let UpArgs {
                data_dir,
                database,
                api_bind,
                network_bind,
                key_manager_bind,
                network_driver,
                amphora,
                loadbalancer_topology,
                default_engine,
                vip_cidr,
                default_project,
                no_worker,
                no_health_manager,
                no_housekeeping,
                no_vip_interface,
                health,
                auth,
                local_host,
            } = up;
            let local_host = local_host.local()?;
            if local_host.is_some() && amphora != AmphoraKind::Netns {
                anyhow::bail!("--host runs a host agent, which only --amphora netns uses");
            }
            let opts = ostia::Options {
                data_dir,
                database,
                api_bind,
                network_bind,
                key_manager_bind,
                network_driver: match network_driver {
                    NetDriver::Local => lb_api::NetworkDriver::Local,
                    NetDriver::Noop => lb_api::NetworkDriver::Noop,
                },
                default_project,
                worker: !no_worker,
                amphora: amphora.into(),
                loadbalancer_topology: loadbalancer_topology.into(),
                default_engine: default_engine.into(),
                health_manager: !no_health_manager,
                housekeeping: !no_housekeeping,
                local_cidr: vip_cidr,
                vip_interface: !no_vip_interface,
                local_host,
                auth: match auth.auth {
                    AuthKind::Builtin => ostia::AuthMode::Builtin,
                    AuthKind::Keystone => ostia::AuthMode::Keystone {
                        url: auth.keystone_url.clone().unwrap_or_default(),
                    },
                    AuthKind::Noauth => ostia::AuthMode::NoAuth,
                },
                identity_bind: auth.identity_bind,
                token_ttl: auth.token_ttl,
                policy: match auth.policy {
                    PolicyKind::Default => front::PolicyModel::KeystoneDefaultRoles,
                    PolicyKind::Advanced => front::PolicyModel::Advanced,
                },
                quota_defaults: model::Quota {
                    loadbalancer: Some(auth.default_load_balancer_quota),
                    listener: Some(auth.default_listener_quota),
                    pool: Some(auth.default_pool_quota),
                    member: Some(auth.default_member_quota),
                    healthmonitor: Some(auth.default_health_monitor_quota),
                    l7policy: Some(auth.default_l7policy_quota),
                    l7rule: Some(auth.default_l7rule_quota),
                },
                ..health_options(&health)
            };
            let running = ostia::start(opts.clone()).await?;
            println!("Ostia is up.");
            println!("  load-balancer API: http://{}", running.api_addr);
            println!("  network API:       http://{}", running.network_addr);
            println!(
                "  key manager:       http://{}/v1",
                running.key_manager_addr
            );
            if let Some(addr) = running.identity_addr {
                println!("  identity API:      http://{addr}/v3");
            }
            if let Some(addr) = running.health_addr {
                println!("  heartbeats:        udp://{addr}");
            }
            match &opts.database {
                Some(url) => println!("  database:          {}", redacted(url)),
                None => println!(
                    "  data:              {}",
                    opts.data_dir.join("ostia.db").display()
                ),
            }
            match (&opts.auth, &running.clouds_yaml_path) {
                (ostia::AuthMode::Builtin, Some(path)) => println!(
                    "  clouds.yaml:       {} (admin's password; mode 0600)\n\n\
                     Try: OS_CLIENT_CONFIG_FILE={} OS_CLOUD=ostia openstack loadbalancer list",
                    path.display(),
                    path.display()
                ),
                (ostia::AuthMode::Builtin, None) => println!(
                    "  clouds.yaml:       missing from the data dir; the admin password was \
                     only ever written there"
                ),
                (ostia::AuthMode::Keystone { url }, _) => {
                    println!("  tokens:            validated by Keystone at {url}")
                }
                (ostia::AuthMode::NoAuth, _) => {
                    println!(
                        "\nclouds.yaml (use with: OS_CLOUD=ostia openstack loadbalancer list):\n"
                    );
                    println!("{}", running.clouds_yaml());
                }
            }
            stopped().await?;
            println!("stopping");
            running.shutdown().await;
        }
        Command::Worker {
            data_dir,
            database,
            amphora,
            loadbalancer_topology,
            default_engine,
            health,
        } => {
            let opts = ostia::Options {
                data_dir,
                database,
                amphora: amphora.into(),
                loadbalancer_topology: loadbalancer_topology.into(),
                default_engine: default_engine.into(),
                ..health_options(&health)
            };
            ostia::run_worker(opts, stopped()).await?;
        }
        Command::HealthManager {
            data_dir,
            database,
            health,
        } => {
            let opts = ostia::Options {
                data_dir,
                database,
                ..health_options(&health)
            };
            ostia::run_health_manager(opts, stopped()).await?;
        }
        Command::Housekeeping { data_dir, database } => {
            let opts = ostia::Options {
                data_dir,
                database,
                ..ostia::Options::default()
            };
            ostia::run_housekeeping(opts, stopped()).await?;
        }
        Command::Agent {
            host,
            controller_ip_port_list,
            data_dir,
            report_interval,
        } => {
            let Some(local) = host.local()? else {
                anyhow::bail!("--host and --local-ip name the host this agent serves");
            };
            ostia::check_netns_privileges()?;
            let agent = host_agent::start(host_agent::HostOptions {
                data_dir,
                host: local.name.clone(),
                local_ip: local.local_ip,
                bind: local.bind,
                controllers: controller_ip_port_list.clone(),
                report_interval,
                exe: std::env::current_exe()?,
                drain: Duration::from_secs(30),
            })
            .await?;
            let list: Vec<String> = controller_ip_port_list
                .iter()
                .map(|c| c.to_string())
                .collect();
            println!(
                "agent of host {} on {} reporting to {}",
                local.name,
                agent.addr,
                list.join(",")
            );
            stopped().await?;
        }
        Command::ProbeCreate {
            network,
            host,
            store,
        } => {
            let hosts = ostia::hosts(&store.options()).await?;
            let probe = hosts.create_probe(&network, host.as_deref()).await?;
            println!("{}", serde_json::to_string(&probe)?);
        }
        Command::ProbeList { store } => {
            let hosts = ostia::hosts(&store.options()).await?;
            println!("{}", serde_json::to_string(&hosts.probes().await?)?);
        }
        Command::ProbeDelete { port, store } => {
            let hosts = ostia::hosts(&store.options()).await?;
            hosts.delete_probe(&port).await?;
        }
        Command::Amphora { .. } => {
            let Some(prepared) = prepared else {
                anyhow::bail!("the amphora was not opened before the runtime started");
            };
            let stop = async {
                let _ = stopped().await;
            };
            let announce = |addr| {
                // The driver reads this one line; nothing else goes to stdout, which the
                // driver stops reading (and may close by exiting).
                println!("agent listening on {addr}");
                silence_stdout();
            };
            amphora::agent::run(prepared, announce, stop).await?;
        }
        Command::Engine { config, .. } => {
            let config: model::AmphoraConfig = serde_json::from_slice(&std::fs::read(&config)?)?;
            let engine = engine::Engine::default();
            let applied = engine.apply(config).await?;
            for failed in &applied.failed_listeners {
                eprintln!("listener {} not serving: {}", failed.id, failed.reason);
            }
            println!("engine running");
            stopped().await?;
            // Listeners close now; in-flight requests finish first (at most the drain timeout).
            engine.shutdown().await.wait().await;
        }
        Command::Backend {
            name, bind, kind, ..
        } => {
            let backend = match kind.as_str() {
                "tcp" => engine::testing::Backend::tcp(&name, bind).await?,
                "udp" => engine::testing::Backend::udp(&name, bind).await?,
                _ => engine::testing::Backend::http(&name, bind).await?,
            };
            println!("backend {name} on {}", backend.addr);
            stopped().await?;
        }
        Command::Bench { what } => bench::run(what).await?,
    }
    Ok(())
}

/// Resolves at SIGINT or SIGTERM.
async fn stopped() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = (
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    );
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// A database URL without its password.
fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(at)) if rest.contains(':') && at > scheme.len() => {
            let user = rest.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***{}", &url[at..])
        }
        _ => url.to_string(),
    }
}

fn health_options(h: &HealthArgs) -> ostia::Options {
    ostia::Options {
        health_bind: h.health_bind,
        heartbeat_interval: h.heartbeat_interval,
        heartbeat_timeout: h.heartbeat_timeout,
        failover_threshold: h.failover_threshold,
        host_down_time: h.host_down_time,
        heartbeat_targets: h.controller_ip_port_list.clone(),
        ..ostia::Options::default()
    }
}

/// Points stdout at /dev/null.
fn silence_stdout() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        unsafe {
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}
