//! `ostia bench …`: benchmarks that print figures and ratios against HAProxy and direct
//! access, run from the binary (they are no part of the `ostia` library).

mod amphora;
mod api;
mod engine;
mod handshake;
mod hosts;
mod lab;
mod pair;
mod process;
mod scale;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Create→ACTIVE latency and list latency over many load balancers (noop provider).
    Api {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// The store to measure (default: SQLite in a temp dir); postgres://… for PostgreSQL,
        /// which also measures separate API and worker processes (1-3 and 1-2), each
        /// configuration on a database of its own made on that server (needs CREATEDB).
        #[arg(long)]
        database: Option<String>,
        /// Creates per process configuration (PostgreSQL; 0 skips them).
        #[arg(long, default_value_t = 1000)]
        scale_count: usize,
        /// Clients creating at once in the process configurations.
        #[arg(long, default_value_t = 24)]
        concurrency: usize,
    },
    /// POST of a full load balancer graph → ACTIVE → first 200 through the VIP.
    Provision {
        #[arg(long, default_value_t = 100)]
        count: usize,
        #[arg(long, value_enum, default_value = "inprocess")]
        amphora: crate::AmphoraKind,
        /// What serves the load balancers (haproxy: one haproxy master each).
        #[arg(long, value_enum, default_value = "native")]
        engine: crate::EngineArg,
    },
    /// The outage a looping client sees when an amphora dies: SINGLE kills the amphora
    /// process (process driver); ACTIVE_STANDBY kills the MASTER's namespace in a lab of
    /// network namespaces (netns amphorae on 3 hosts, keepalived; needs root).
    Failover {
        #[arg(long, default_value_t = 10)]
        kills: usize,
        #[arg(long, value_enum, default_value = "SINGLE")]
        topology: crate::TopologyKind,
    },
    /// Many load balancers in one `ostia up`: creation time, RSS, health manager CPU, VIPs.
    Density {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Creates in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// VIPs tried at the end.
        #[arg(long, default_value_t = 200)]
        sample: usize,
    },
    /// The outage each load balancer's clients see when a host holding `--per-host` of them
    /// dies (`--amphora netns` in a lab of network namespaces; needs root).
    Reschedule {
        /// Hosts in the lab (the first runs the control plane; the last dies).
        #[arg(long, default_value_t = 3)]
        hosts: usize,
        /// Load balancers per host.
        #[arg(long, default_value_t = 50)]
        per_host: usize,
        /// Creates in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Direct vs HAProxy vs the engine: HTTP keep-alive, HTTP close, TCP bulk (needs wrk, haproxy).
    Engine {
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, default_value_t = 4)]
        seconds: u64,
        /// Proxy threads (the engine's workers, HAProxy's nbthread).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

pub async fn run(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Api {
            count,
            database,
            scale_count,
            concurrency,
        } => api::run(count, database, scale_count, concurrency).await,
        BenchCommand::Provision {
            count,
            amphora,
            engine,
        } => match (amphora.into(), engine.into()) {
            // Amphorae on hosts need a lab of namespaces around them.
            (ostia::AmphoraDriver::Netns, model::EngineKind::Native) => {
                hosts::provision(count).await
            }
            (ostia::AmphoraDriver::Netns, _) => {
                anyhow::bail!("bench provision --amphora netns measures the native engine only")
            }
            (driver, engine) => amphora::provision(count, driver, engine).await,
        },
        BenchCommand::Failover {
            kills,
            topology: crate::TopologyKind::Single,
        } => amphora::failover(kills).await,
        BenchCommand::Failover {
            kills,
            topology: crate::TopologyKind::ActiveStandby,
        } => pair::failover(kills).await,
        BenchCommand::Density {
            count,
            concurrency,
            sample,
        } => amphora::density(count, concurrency, sample).await,
        BenchCommand::Reschedule {
            hosts,
            per_host,
            concurrency,
        } => hosts::reschedule(hosts, per_host, concurrency).await,
        BenchCommand::Engine {
            rounds,
            seconds,
            threads,
        } => engine::run(rounds, seconds, threads).await,
    }
}
