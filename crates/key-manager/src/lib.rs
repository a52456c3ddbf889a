//! The key manager on :9311: the part of Barbican's v1 API that `openstack secret …`
//! (python-barbicanclient) and Octavia use for TLS certificates: secrets (payload at create
//! time or later, metadata, `/payload`, delete, paged lists), containers (`certificate`,
//! `generic`, `rsa`) and their consumers. Project-scoped with the LB API's policy; payloads
//! are sealed before they reach the store (`store::Sealer`).
//!
//! Must not know the load-balancer API: what it asks of certificates it reads through the
//! store.

mod call;
mod containers;
mod routes;
mod secrets;

pub use routes::routes;
