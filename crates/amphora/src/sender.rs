//! The heartbeat sender: every `interval` it renders what the data plane reports and sends it,
//! signed, to the next health manager of the list (Octavia's `controller_ip_port_list`).

use crate::heartbeat::{self, Codec};
use crate::plane::Plane;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What an amphora needs to know to report: Octavia's `[health_manager]` agent settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatSettings {
    /// Health managers, used in turn.
    pub targets: Vec<SocketAddr>,
    pub interval_ms: u64,
    /// `heartbeat_key`: the HMAC key, as Octavia's string setting.
    pub key: String,
}

impl HeartbeatSettings {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.max(10))
    }
}

/// How often an amphora of a pair looks at its VRRP state between beats.
const VRRP_CHECK: Duration = Duration::from_millis(100);

thread_local! {
    /// One compressor per runtime thread, shared by the amphorae it runs (each is a few
    /// hundred kilobytes: one per amphora would cost gigabytes at ten thousand).
    static DEFLATER: std::cell::RefCell<heartbeat::Deflater> = Default::default();
}

fn encode(codec: &Codec, message: &heartbeat::Message) -> Vec<u8> {
    DEFLATER.with(|d| codec.encode_with(message, &mut d.borrow_mut()))
}

pub fn spawn(
    amphora_id: String,
    plane: Arc<Plane>,
    vrrp: Arc<crate::vrrp::Vrrp>,
    mut settings: watch::Receiver<HeartbeatSettings>,
    socket: Arc<UdpSocket>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut seq = 0u64;
        let mut previous = HashMap::new();
        let mut reported = None;
        loop {
            let current = settings.borrow_and_update().clone();
            let codec = Codec::new(current.key.as_bytes());
            // The first beat comes after a random part of the interval, so that amphorae
            // started together do not beat in step.
            let first = current.interval().mul_f64(crate::random_fraction());
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + first, current.interval());
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // One of a pair beats at once when its VRRP state changes, so its recorded role
            // follows a takeover within a fraction of the interval.
            // (In-process amphorae, thousands in one process, are never in a pair.)
            let mut watch_vrrp = tokio::time::interval(VRRP_CHECK);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = watch_vrrp.tick(), if vrrp.can_pair() => {
                        if vrrp.state() == reported {
                            continue;
                        }
                    }
                    changed = settings.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        break;
                    }
                }
                if current.targets.is_empty() {
                    continue;
                }
                let status = plane.status().await;
                let mut message = heartbeat::render(&amphora_id, seq, &status, &mut previous);
                message.vrrp = vrrp.state();
                reported = message.vrrp;
                let target = current.targets[(seq as usize) % current.targets.len()];
                if let Err(e) = socket.send_to(&encode(&codec, &message), target).await {
                    tracing::debug!(amphora = %amphora_id, %target, error = %e, "heartbeat not sent");
                }
                seq += 1;
            }
        }
    })
}
