//! The `ostia` command.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

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

#[derive(Subcommand)]
enum Command {
    /// Start Ostia: API, network API, worker, housekeeping, on a local SQLite store.
    Up {
        #[arg(long, default_value = "ostia-data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:9876")]
        api_bind: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:9696")]
        network_bind: SocketAddr,
        #[arg(long, value_enum, default_value = "local")]
        network_driver: NetDriver,
        /// Project of requests that carry no X-Project-Id.
        #[arg(long, default_value = "admin")]
        default_project: String,
        /// Do not run the worker here (run `ostia worker` instead).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run only the worker against a data dir.
    Worker {
        #[arg(long, default_value = "ostia-data")]
        data_dir: PathBuf,
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
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Create→ACTIVE latency and list latency over many load balancers (noop provider).
    Api {
        #[arg(long, default_value_t = 1000)]
        count: usize,
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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Engine { threads, .. } | Command::Backend { threads, .. } => *threads,
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
    runtime.enable_all().build()?.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Up {
            data_dir,
            api_bind,
            network_bind,
            network_driver,
            default_project,
            no_worker,
        } => {
            let opts = ostia::Options {
                data_dir,
                api_bind,
                network_bind,
                network_driver: match network_driver {
                    NetDriver::Local => api::NetworkDriver::Local,
                    NetDriver::Noop => api::NetworkDriver::Noop,
                },
                default_project,
                worker: !no_worker,
            };
            let running = ostia::start(opts.clone()).await?;
            println!("Ostia is up.");
            println!("  load-balancer API: http://{}", running.api_addr);
            println!("  network API:       http://{}", running.network_addr);
            println!(
                "  data:              {}",
                opts.data_dir.join("ostia.db").display()
            );
            println!("\nclouds.yaml (use with: OS_CLOUD=ostia openstack loadbalancer list):\n");
            println!("{}", running.clouds_yaml());
            tokio::signal::ctrl_c().await?;
            println!("stopping");
            running.shutdown().await;
        }
        Command::Worker { data_dir } => {
            let store = ostia::open_store(&data_dir).await?;
            let (stop, rx) = tokio::sync::watch::channel(false);
            let worker = controller::Worker::new(store, Default::default());
            let task = tokio::spawn(worker.run(rx));
            tokio::signal::ctrl_c().await?;
            let _ = stop.send(true);
            let _ = task.await;
        }
        Command::Engine { config, .. } => {
            let config: model::AmphoraConfig = serde_json::from_slice(&std::fs::read(&config)?)?;
            let engine = engine::Engine::default();
            engine.apply(config).await?;
            println!("engine running");
            tokio::signal::ctrl_c().await?;
            engine.shutdown().await;
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
            tokio::signal::ctrl_c().await?;
        }
        Command::Bench {
            what: BenchCommand::Api { count },
        } => ostia::bench::api(count).await?,
        Command::Bench {
            what:
                BenchCommand::Engine {
                    rounds,
                    seconds,
                    threads,
                },
        } => ostia::bench_engine::run(rounds, seconds, threads).await?,
    }
    Ok(())
}
