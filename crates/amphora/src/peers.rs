//! Stick tables shared by the two amphorae of an ACTIVE_STANDBY pair, as HAProxy's `peers`
//! section shares them in Octavia's amphorae (on port 1025): each amphora sends the entries its
//! engine journals (new or moved) to the other over UDP between their VRRP addresses, and one
//! that starts asks for the whole table, so a client stays with its member across a takeover.
//! Datagrams are JSON signed with HMAC-SHA256 under the heartbeat key; one that is not signed
//! so, or comes from an address that is not a peer's, is dropped.

use aws_lc_rs::hmac;
use engine::{Engine, StickEntry};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Octavia's HAProxy peers port.
pub const PORT: u16 = 1025;
/// Entries per datagram: well under a datagram's 64 KiB.
const BATCH: usize = 200;
const TAG: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
enum Message {
    /// A peer that starts: answered with the whole table.
    Hello,
    Entries(Vec<StickEntry>),
}

/// Where the sharing runs, and with whom.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub own: SocketAddr,
    pub peers: Vec<SocketAddr>,
    /// The heartbeat key.
    pub key: String,
}

#[derive(Default)]
pub struct Peers {
    running: Mutex<Option<(Link, JoinHandle<()>)>>,
}

impl Peers {
    /// Shares `engine`'s tables over `link` (restarting when it changed); None stops.
    pub fn share(&self, engine: &Arc<Engine>, link: Option<Link>) {
        let mut running = self.running.lock().expect("not poisoned");
        if let (Some((have, task)), Some(want)) = (running.as_ref(), link.as_ref()) {
            if have == want && !task.is_finished() {
                return;
            }
        }
        if let Some((_, task)) = running.take() {
            task.abort();
        }
        if let Some(link) = link {
            let task = tokio::spawn(run(engine.clone(), link.clone()));
            *running = Some((link, task));
        }
    }

    pub fn stop(&self) {
        if let Some((_, task)) = self.running.lock().expect("not poisoned").take() {
            task.abort();
        }
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn run(engine: Arc<Engine>, link: Link) {
    let socket = match UdpSocket::bind(link.own).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(address = %link.own, error = %e, "stick tables not shared: no socket");
            return;
        }
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, link.key.as_bytes());
    let mut journal = engine.stick_journal();
    for peer in &link.peers {
        send(&socket, &key, *peer, &Message::Hello).await;
    }
    let mut buf = vec![0u8; crate::heartbeat::MAX_DATAGRAM];
    loop {
        tokio::select! {
            told = journal.recv() => {
                let mut batch = match told {
                    Ok(entry) => vec![entry],
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                while batch.len() < BATCH {
                    match journal.try_recv() {
                        Ok(entry) => batch.push(entry),
                        Err(_) => break,
                    }
                }
                let message = Message::Entries(batch);
                for peer in &link.peers {
                    send(&socket, &key, *peer, &message).await;
                }
            }
            got = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                if !link.peers.iter().any(|p| p.ip() == from.ip()) {
                    continue;
                }
                match open(&key, &buf[..n]) {
                    Some(Message::Hello) => {
                        let all = engine.stick_entries().await;
                        for chunk in all.chunks(BATCH) {
                            send(&socket, &key, from, &Message::Entries(chunk.to_vec())).await;
                        }
                    }
                    Some(Message::Entries(entries)) => engine.learn(&entries).await,
                    None => tracing::debug!(%from, "stick-table datagram dropped: not signed by the key"),
                }
            }
        }
    }
}

async fn send(socket: &UdpSocket, key: &hmac::Key, to: SocketAddr, message: &Message) {
    let mut datagram = serde_json::to_vec(message).expect("serialisable");
    let tag = hmac::sign(key, &datagram);
    datagram.extend_from_slice(tag.as_ref());
    if let Err(e) = socket.send_to(&datagram, to).await {
        tracing::debug!(%to, error = %e, "stick-table datagram not sent");
    }
}

fn open(key: &hmac::Key, datagram: &[u8]) -> Option<Message> {
    let split = datagram.len().checked_sub(TAG)?;
    let (payload, tag) = datagram.split_at(split);
    hmac::verify(key, payload, tag).ok()?;
    serde_json::from_slice(payload).ok()
}
