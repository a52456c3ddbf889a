//! `--amphora noop`, as Octavia's noop compute and amphora drivers: amphora records with
//! ids, addresses and statuses, failover that replaces them, and no data plane at all.

use super::{BoxFuture, ComputeDriver, ComputeError, Placed, Placement, Stop};
use engine::Applied;
use model::AmphoraConfig;

pub struct Noop;

impl ComputeDriver for Noop {
    fn heartbeats(&self) -> bool {
        false
    }

    fn pairs(&self) -> bool {
        true
    }

    fn create<'a>(
        &'a self,
        _amphora_id: &'a str,
        _lb_id: &'a str,
    ) -> BoxFuture<'a, Result<Placement, ComputeError>> {
        Box::pin(async move {
            Ok(Placement {
                compute_id: uuid::Uuid::new_v4().to_string(),
                // Octavia's noop network driver hands out TEST-NET addresses.
                lb_network_ip: "192.0.2.1".into(),
                ..Placement::default()
            })
        })
    }

    fn apply<'a>(
        &'a self,
        _amphora: &'a Placed,
        config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<Applied, ComputeError>> {
        Box::pin(async move {
            Ok(Applied {
                generation: config.generation,
                failed_listeners: Vec::new(),
            })
        })
    }

    fn delete<'a>(&'a self, _amphora: &'a Placed, _how: Stop) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn attach<'a>(
        &'a self,
        _amphora: &'a Placed,
        _config: &'a AmphoraConfig,
    ) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async { Ok(()) })
    }

    fn configure<'a>(&'a self, _amphora: &'a Placed) -> BoxFuture<'a, Result<(), ComputeError>> {
        Box::pin(async { Ok(()) })
    }
}
