//! Compute drivers: where amphorae run. One trait, four implementations: `inprocess` (an
//! engine per amphora inside this process), `process` (an `ostia amphora` process per
//! amphora, reached over mutual TLS), `hosts` (`--amphora netns`: amphorae placed on hosts'
//! agents, each in a network namespace) and `noop` (records only, as Octavia's noop drivers).

pub mod hosts;
mod inprocess;
mod noop;
mod process;

pub use hosts::Hosts;
pub use inprocess::InProcess;
pub use noop::Noop;
pub use process::{Process, ProcessOptions};

use engine::Applied;
use model::{Amphora, AmphoraConfig};
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where an amphora runs, as its record keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    pub compute_id: String,
    /// Where its agent is reached (Octavia's management address).
    pub lb_network_ip: String,
    pub agent_port: Option<u16>,
    pub pid: Option<u32>,
    pub cert_expiration: Option<String>,
}

impl Placement {
    pub fn of(record: &Amphora) -> Placement {
        let d = &record.details;
        Placement {
            compute_id: d.compute_id.clone().unwrap_or_default(),
            lb_network_ip: d.lb_network_ip.clone().unwrap_or_default(),
            agent_port: d.agent_port,
            pid: d.pid,
            cert_expiration: d.cert_expiration.clone(),
        }
    }

    pub fn write_to(&self, record: &mut Amphora) {
        let d = &mut record.details;
        d.compute_id = Some(self.compute_id.clone());
        d.lb_network_ip = Some(self.lb_network_ip.clone());
        d.agent_port = self.agent_port;
        d.pid = self.pid;
        if let Some(expiry) = &self.cert_expiration {
            d.cert_expiration = Some(expiry.clone());
        }
    }
}

/// An amphora as a driver sees it.
#[derive(Clone, Debug)]
pub struct Placed {
    pub id: String,
    pub placement: Placement,
}

impl Placed {
    pub fn of(record: &Amphora) -> Placed {
        Placed {
            id: record.id.clone(),
            placement: Placement::of(record),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// The amphora answered and refuses the configuration, for this reason.
    #[error("{0}")]
    Refused(String),
    /// The amphora could not be reached within the bounded retry.
    #[error("{0}")]
    Unreachable(String),
    /// It could not be built.
    #[error("{0}")]
    Failed(String),
}

/// How an amphora is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Its listeners close now and open connections finish (load balancer deleted).
    Graceful,
    /// At once, whatever state it is in (failover: it may be hung).
    Kill,
}

pub trait ComputeDriver: Send + Sync {
    /// Whether its amphorae send heartbeats (a noop amphora never does).
    fn heartbeats(&self) -> bool;

    /// Whether it can build ACTIVE_STANDBY pairs: amphorae that each run keepalived in a
    /// network of their own (or noop records).
    fn pairs(&self) -> bool {
        false
    }

    /// Builds an amphora of load balancer `lb_id` and returns once its agent answers.
    fn create<'a>(
        &'a self,
        amphora_id: &'a str,
        lb_id: &'a str,
    ) -> BoxFuture<'a, Result<Placement, ComputeError>>;

    /// Hands the amphora a configuration; Ok once it serves that generation.
    fn apply<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<Applied, ComputeError>>;

    fn delete<'a>(&'a self, amphora: &'a Placed, how: Stop) -> BoxFuture<'a, ()>;

    /// At start: takes back an amphora recorded in the store, which should serve `config`.
    /// A running one that serves that generation is kept as it is; Err when it cannot be
    /// had (the caller fails it over).
    fn attach<'a>(
        &'a self,
        amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<(), ComputeError>>;

    /// Pushes the agent settings (heartbeat targets, interval, key) again.
    fn configure<'a>(&'a self, amphora: &'a Placed) -> BoxFuture<'a, Result<(), ComputeError>>;
}
