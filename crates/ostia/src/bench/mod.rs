//! `ostia bench …`: benchmarks that print figures and ratios against HAProxy and direct
//! access, run from the binary (they are no part of the `ostia` library).

pub mod amphora;
pub mod api;
pub mod engine;
mod handshake;
mod process;
mod scale;
