//! The host agent's reports: every interval, a signed heartbeat that names the host instead
//! of an amphora, sent to the next health manager of the list, as amphorae send theirs. Its
//! first report registers the host; silence marks it dead.

use crate::heartbeat::{Codec, Deflater, Message};
use crate::sender::HeartbeatSettings;
use model::HostReport;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The heartbeat that carries `report`: the host's name as its id, no listeners or pools.
pub fn message(report: &HostReport, seq: u64) -> Message {
    Message {
        id: report.name.clone(),
        seq,
        ver: 3,
        listeners: BTreeMap::new(),
        pools: BTreeMap::new(),
        host: Some(report.clone()),
        vrrp: None,
    }
}

/// Reports `report` (as it changes) every interval until the task is aborted or the report
/// channel closes.
pub fn spawn(
    mut report: watch::Receiver<HostReport>,
    settings: HeartbeatSettings,
    socket: Arc<UdpSocket>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let codec = Codec::new(settings.key.as_bytes());
        let mut deflater = Deflater::default();
        let mut ticker = tokio::time::interval(settings.interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq = 0u64;
        loop {
            ticker.tick().await;
            if report.has_changed().is_err() {
                return;
            }
            if settings.targets.is_empty() {
                continue;
            }
            let message = message(&report.borrow_and_update(), seq);
            let target = settings.targets[(seq as usize) % settings.targets.len()];
            let datagram = codec.encode_with(&message, &mut deflater);
            if let Err(e) = socket.send_to(&datagram, target).await {
                tracing::debug!(host = %message.id, %target, error = %e, "host report not sent");
            }
            seq += 1;
        }
    })
}
