//! Ostia's control loops: the worker that turns accepted jobs into running load balancers
//! (the amphora provider, through a compute driver) and settles their status, the health
//! manager that turns heartbeats into operating statuses and failovers, and housekeeping.
//!
//! Owns job execution and every status transition after the API. Must not parse HTTP
//! requests.

pub mod amphora_config;
pub mod amphorae;
pub mod certificates;
pub mod compute;
pub mod failover;
pub mod health;
pub mod housekeeping;
mod pair;
pub mod worker;

pub use amphorae::Amphorae;
pub use health::{HealthConfig, HealthManager};
pub use worker::Worker;
