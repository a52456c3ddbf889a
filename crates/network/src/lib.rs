//! The network API on :9696: the part of Neutron's v2.0 API that load-balancer clients and
//! the walkthroughs use (networks, subnets, ports, routers and floating IPs), in Neutron's
//! wire format and with its refusals, backed by the built-in network service in the store.
//!
//! Must not know the load-balancer API: Neutron-LBaaS is the load-balancer crate's, and
//! `ostia` mounts its routes beside these. A load balancer whose VIP gains or loses a floating
//! address is only asked to reconfigure (a job).

mod access;
mod floating_ips;
mod networks;
mod ports;
mod routers;
mod routes;

pub use routes::routes;
