//! Ostia's control loops: the worker that turns accepted jobs into running load balancers
//! (through a provider) and settles their status, and housekeeping.
//!
//! Owns job execution and status transitions after the API. Must not parse HTTP requests.

pub mod housekeeping;
pub mod provider;
pub mod worker;

pub use worker::Worker;
