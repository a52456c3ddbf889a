//! Octavia's heartbeat (reference §8.5), one codec for the sender and the health manager:
//! the v3 message as JSON, zlib-compressed, followed by the hex HMAC-SHA256 of the
//! compressed bytes under the shared `heartbeat_key`.

use crate::hex;
use aws_lc_rs::hmac;
use engine::Status;
use model::{HostReport, ListenerHealth, MemberHealth, PoolHealth};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Octavia's receiver reads datagrams of up to 64 KiB.
pub const MAX_DATAGRAM: usize = 65_536;
/// A message inflates to at most this much; more is refused (no zlib bombs).
const MAX_INFLATED: u64 = 4 << 20;
const HEX_DIGEST: usize = 64;
const RAW_DIGEST: usize = 32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The amphora's id.
    pub id: String,
    pub seq: u64,
    pub ver: u32,
    #[serde(default)]
    pub listeners: BTreeMap<String, ListenerReport>,
    /// Keyed `<pool_id>:<listener_id>` (LVS listeners report a bare `<pool_id>`).
    #[serde(default)]
    pub pools: BTreeMap<String, PoolReport>,
    /// Set by an `ostia agent` reporting on its host (then `id` is the host's name and the
    /// listeners and pools are empty); amphorae never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    /// An amphora of an ACTIVE_STANDBY pair: what its keepalived says it is (Octavia's
    /// heartbeat has no such field, so its recorded roles drift from the truth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp: Option<model::VrrpState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListenerReport {
    pub status: ListenerHealth,
    pub stats: StatsReport,
}

/// v3: `conns` is the current count, the others are deltas since the previous message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub tx: u64,
    pub rx: u64,
    pub conns: u64,
    pub totconns: u64,
    pub ereq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolReport {
    pub status: PoolHealth,
    #[serde(default)]
    pub members: BTreeMap<String, MemberHealth>,
}

impl Message {
    /// Pools as the health manager reads them: the key's part before the last `:`.
    pub fn pools_by_id(&self) -> HashMap<&str, &PoolReport> {
        self.pools
            .iter()
            .map(|(key, report)| {
                (
                    key.rsplit_once(':').map_or(key.as_str(), |(p, _)| p),
                    report,
                )
            })
            .collect()
    }
}

/// Renders an engine status as the next message, with stat deltas against the counters of
/// the previous one (`previous` is updated). A counter that went backwards (the engine
/// restarted) reports its absolute value, as Octavia's sender does.
pub fn render(
    amphora_id: &str,
    seq: u64,
    status: &Status,
    previous: &mut HashMap<String, engine::Counters>,
) -> Message {
    let mut listeners = BTreeMap::new();
    let mut pools = BTreeMap::new();
    let by_id: HashMap<&str, &engine::PoolStatus> =
        status.pools.iter().map(|p| (p.id.as_str(), p)).collect();
    for l in &status.listeners {
        let now = &l.counters;
        let before = previous.get(&l.id).cloned().unwrap_or_default();
        let delta = |now: u64, before: u64| now.checked_sub(before).unwrap_or(now);
        listeners.insert(
            l.id.clone(),
            ListenerReport {
                status: l.status,
                stats: StatsReport {
                    tx: delta(now.bytes_out, before.bytes_out),
                    rx: delta(now.bytes_in, before.bytes_in),
                    conns: now.active_connections,
                    totconns: delta(now.total_connections, before.total_connections),
                    ereq: delta(now.request_errors, before.request_errors),
                },
            },
        );
        previous.insert(l.id.clone(), now.clone());
        for pool_id in &l.pools {
            if let Some(pool) = by_id.get(pool_id.as_str()) {
                pools.insert(
                    format!("{pool_id}:{}", l.id),
                    PoolReport {
                        status: pool.status,
                        members: pool
                            .members
                            .iter()
                            .map(|m| (m.id.clone(), m.status))
                            .collect(),
                    },
                );
            }
        }
    }
    previous.retain(|id, _| listeners.contains_key(id));
    Message {
        id: amphora_id.to_string(),
        seq,
        ver: 3,
        listeners,
        pools,
        host: None,
        vrrp: None,
    }
}

/// Why a datagram was dropped.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("datagram too short to carry a signature")]
    Truncated,
    #[error("datagram larger than {MAX_DATAGRAM} bytes")]
    Oversized,
    #[error("signature does not match the heartbeat key")]
    BadSignature,
    #[error("payload is not a zlib stream of at most {MAX_INFLATED} bytes")]
    BadCompression,
    #[error("payload is not a heartbeat message: {0}")]
    BadMessage(String),
}

pub struct Codec {
    key: hmac::Key,
}

impl Codec {
    pub fn new(heartbeat_key: &[u8]) -> Codec {
        Codec {
            key: hmac::Key::new(hmac::HMAC_SHA256, heartbeat_key),
        }
    }

    pub fn encode(&self, message: &Message) -> Vec<u8> {
        self.encode_with(message, &mut Deflater::default())
    }

    /// `encode` with a compressor kept across messages (setting one up zeroes a few
    /// hundred kilobytes, more than compressing a heartbeat costs).
    pub fn encode_with(&self, message: &Message, deflater: &mut Deflater) -> Vec<u8> {
        let json = serde_json::to_vec(message).expect("a message always serialises");
        let mut out = deflater.deflate(&json);
        let tag = hmac::sign(&self.key, &out);
        out.extend_from_slice(hex(tag.as_ref()).as_bytes());
        out
    }

    /// Verifies first (a hex trailer, else a legacy raw digest), then inflates and parses.
    pub fn decode(&self, datagram: &[u8]) -> Result<Message, DecodeError> {
        self.decode_with(datagram, &mut Inflater::default())
    }

    /// `decode` with an inflater kept across datagrams (setting one up costs more than
    /// inflating a heartbeat).
    pub fn decode_with(
        &self,
        datagram: &[u8],
        inflater: &mut Inflater,
    ) -> Result<Message, DecodeError> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(DecodeError::Oversized);
        }
        let payload = self.verified_payload(datagram)?;
        let json = inflater.inflate(payload)?;
        serde_json::from_slice(json).map_err(|e| DecodeError::BadMessage(e.to_string()))
    }

    fn verified_payload<'a>(&self, datagram: &'a [u8]) -> Result<&'a [u8], DecodeError> {
        if datagram.len() <= HEX_DIGEST.min(RAW_DIGEST) {
            return Err(DecodeError::Truncated);
        }
        if datagram.len() > HEX_DIGEST {
            let (payload, trailer) = datagram.split_at(datagram.len() - HEX_DIGEST);
            if let Some(tag) = unhex(trailer) {
                if hmac::verify(&self.key, payload, &tag).is_ok() {
                    return Ok(payload);
                }
            }
        }
        let (payload, tag) = datagram.split_at(datagram.len() - RAW_DIGEST);
        hmac::verify(&self.key, payload, tag)
            .map(|_| payload)
            .map_err(|_| DecodeError::BadSignature)
    }
}

/// A zlib compressor at Octavia's level 9, reused from one message to the next.
pub struct Deflater(flate2::Compress);

impl Default for Deflater {
    fn default() -> Deflater {
        Deflater(flate2::Compress::new(flate2::Compression::best(), true))
    }
}

impl Deflater {
    fn deflate(&mut self, input: &[u8]) -> Vec<u8> {
        self.0.reset();
        let mut out = Vec::with_capacity(input.len() / 2 + 128);
        loop {
            let consumed = self.0.total_in() as usize;
            let status = self
                .0
                .compress_vec(&input[consumed..], &mut out, flate2::FlushCompress::Finish)
                .expect("compressing to memory");
            if status == flate2::Status::StreamEnd {
                return out;
            }
            out.reserve(out.capacity().max(256));
        }
    }
}

/// A zlib inflater and its output buffer, reused from one datagram to the next.
pub struct Inflater {
    state: flate2::Decompress,
    out: Vec<u8>,
}

impl Default for Inflater {
    fn default() -> Inflater {
        Inflater {
            state: flate2::Decompress::new(true),
            out: Vec::with_capacity(16 << 10),
        }
    }
}

impl Inflater {
    /// The whole stream inflated, at most `MAX_INFLATED` bytes.
    fn inflate(&mut self, payload: &[u8]) -> Result<&[u8], DecodeError> {
        self.state.reset(true);
        self.out.clear();
        loop {
            if self.out.len() == self.out.capacity() {
                if self.out.len() as u64 >= MAX_INFLATED {
                    return Err(DecodeError::BadCompression);
                }
                self.out.reserve(self.out.capacity().max(16 << 10));
            }
            let (consumed, produced) = (self.state.total_in() as usize, self.out.len());
            let status = self
                .state
                .decompress_vec(
                    &payload[consumed..],
                    &mut self.out,
                    flate2::FlushDecompress::Finish,
                )
                .map_err(|_| DecodeError::BadCompression)?;
            match status {
                flate2::Status::StreamEnd => break,
                // Out of input before the end of the stream: truncated.
                _ if self.state.total_in() as usize == payload.len()
                    && self.out.len() < self.out.capacity() =>
                {
                    return Err(DecodeError::BadCompression)
                }
                // Neither input taken nor output made: it never will be.
                _ if self.state.total_in() as usize == consumed && self.out.len() == produced => {
                    return Err(DecodeError::BadCompression)
                }
                _ => {}
            }
        }
        if self.out.len() as u64 > MAX_INFLATED {
            return Err(DecodeError::BadCompression);
        }
        Ok(&self.out)
    }
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{Counters, ListenerStatus, MemberStatus, PoolStatus};

    fn status(bytes_in: u64) -> Status {
        Status {
            generation: 7,
            listeners: vec![ListenerStatus {
                id: "l1".into(),
                status: ListenerHealth::Open,
                counters: Counters {
                    bytes_in,
                    bytes_out: 2 * bytes_in,
                    active_connections: 3,
                    total_connections: 10,
                    request_errors: 1,
                },
                pools: vec!["p1".into()],
            }],
            pools: vec![PoolStatus {
                id: "p1".into(),
                status: PoolHealth::Up,
                members: vec![MemberStatus {
                    id: "m1".into(),
                    status: MemberHealth::GoingDown { health: 1, fall: 3 },
                    active_connections: 0,
                    total_connections: 0,
                    bytes_in: 0,
                    bytes_out: 0,
                    connect_errors: 0,
                    checks: 0,
                    check_failures: 0,
                }],
            }],
        }
    }

    #[test]
    fn a_rendered_status_round_trips_with_deltas() {
        let codec = Codec::new(b"insecure");
        let mut previous = HashMap::new();
        let first = render("amp", 1, &status(100), &mut previous);
        assert_eq!(first.listeners["l1"].stats.rx, 100);
        let second = render("amp", 2, &status(150), &mut previous);
        assert_eq!(second.listeners["l1"].stats.rx, 50);
        assert_eq!(second.listeners["l1"].stats.tx, 100);
        assert_eq!(second.listeners["l1"].stats.conns, 3);
        assert_eq!(second.listeners["l1"].stats.totconns, 0);
        // The engine restarted: counters start over, the absolute value is reported.
        let third = render("amp", 3, &status(20), &mut previous);
        assert_eq!(third.listeners["l1"].stats.rx, 20);

        let wire = codec.encode(&second);
        let back = codec.decode(&wire).unwrap();
        assert_eq!(back, second);
        assert_eq!(back.pools_by_id()["p1"].members["m1"].to_string(), "UP 1/3");
        let json = serde_json::to_value(&second).unwrap();
        assert_eq!(json["pools"]["p1:l1"]["members"]["m1"], "UP 1/3");
        assert_eq!(json["ver"], 3);
    }

    #[test]
    fn forged_truncated_and_garbage_datagrams_are_refused() {
        let codec = Codec::new(b"right key");
        let message = render("amp", 1, &status(1), &mut HashMap::new());
        let good = codec.encode(&message);
        let forged = Codec::new(b"wrong key").encode(&message);
        assert_eq!(codec.decode(&forged), Err(DecodeError::BadSignature));
        assert_eq!(
            codec.decode(&good[..good.len() - 1]),
            Err(DecodeError::BadSignature)
        );
        assert_eq!(codec.decode(&good[..10]), Err(DecodeError::Truncated));
        assert_eq!(codec.decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(
            codec.decode(&vec![0u8; MAX_DATAGRAM + 1]),
            Err(DecodeError::Oversized)
        );
        let mut flipped = good.clone();
        flipped[3] ^= 0xff;
        assert_eq!(codec.decode(&flipped), Err(DecodeError::BadSignature));
        // Correctly signed garbage is still refused, by the inflater or the parser.
        let signed = |payload: &[u8]| {
            let mut d = payload.to_vec();
            let tag = hmac::sign(&codec.key, payload);
            d.extend_from_slice(hex(tag.as_ref()).as_bytes());
            d
        };
        assert_eq!(
            codec.decode(&signed(b"not zlib at all")),
            Err(DecodeError::BadCompression)
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, b"{\"id\": 5}").unwrap();
        assert!(matches!(
            codec.decode(&signed(&z.finish().unwrap())),
            Err(DecodeError::BadMessage(_))
        ));
    }

    #[test]
    fn a_zlib_bomb_is_refused() {
        let codec = Codec::new(b"k");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &vec![b' '; 8 << 20]).unwrap();
        let payload = z.finish().unwrap();
        assert!(payload.len() < MAX_DATAGRAM);
        let mut d = payload.clone();
        d.extend_from_slice(hex(hmac::sign(&codec.key, &payload).as_ref()).as_bytes());
        assert_eq!(codec.decode(&d), Err(DecodeError::BadCompression));
    }
}
