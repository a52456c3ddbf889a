//! Assembles Ostia's services into one process (`ostia up`): store, load-balancer API,
//! network API, worker and housekeeping. Holds no logic of its own.

pub mod bench;
pub mod bench_engine;

use api::{ApiConfig, AppState, NetworkDriver};
use controller::housekeeping::Housekeeping;
use controller::Worker;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct Options {
    pub data_dir: PathBuf,
    pub api_bind: SocketAddr,
    pub network_bind: SocketAddr,
    pub network_driver: NetworkDriver,
    pub default_project: String,
    /// Run the worker in this process (`false` leaves jobs to an `ostia worker`).
    pub worker: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            data_dir: PathBuf::from("ostia-data"),
            api_bind: "127.0.0.1:9876".parse().expect("literal"),
            network_bind: "127.0.0.1:9696".parse().expect("literal"),
            network_driver: NetworkDriver::Local,
            default_project: "admin".into(),
            worker: true,
        }
    }
}

/// A running Ostia.
pub struct Running {
    pub api_addr: SocketAddr,
    pub network_addr: SocketAddr,
    pub store: Store,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

pub async fn open_store(data_dir: &std::path::Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)?;
    Ok(Store::open(&data_dir.join("ostia.db")).await?)
}

pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let store = open_store(&opts.data_dir).await?;
    let api_listener = TcpListener::bind(opts.api_bind).await?;
    let net_listener = TcpListener::bind(opts.network_bind).await?;
    let wake = Arc::new(Notify::new());
    let state = AppState {
        store: store.clone(),
        config: Arc::new(ApiConfig {
            default_project: opts.default_project.clone(),
            network_driver: opts.network_driver,
            ..ApiConfig::default()
        }),
        jobs: wake.clone(),
    };
    let (stop, stopped) = watch::channel(false);
    let shutdown = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let api_addr = api_listener.local_addr()?;
    let network_addr = net_listener.local_addr()?;
    let mut tasks = Vec::new();
    let s = state.clone();
    let rx = stopped.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = api::serve(api_listener, s, shutdown(rx)).await {
            tracing::error!(error = %e, "load-balancer API stopped");
        }
    }));
    let s = state.clone();
    let rx = stopped.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = api::network_api::serve(net_listener, s, shutdown(rx)).await {
            tracing::error!(error = %e, "network API stopped");
        }
    }));
    if opts.worker {
        let worker = Worker::new(store.clone(), wake);
        tasks.push(tokio::spawn(worker.run(stopped.clone())));
    }
    let hk = Housekeeping {
        store: store.clone(),
        lb_expiry: Duration::from_secs(7 * 86_400),
        interval: Duration::from_secs(30),
    };
    tasks.push(tokio::spawn(hk.run(stopped)));
    Ok(Running {
        api_addr,
        network_addr,
        store,
        stop,
        tasks,
    })
}

impl Running {
    /// Stops every service and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
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
