//! Session persistence of a pool, as Octavia renders it for HAProxy (reference §9.3) and for
//! LVS (§9.4):
//! - SOURCE_IP: a stick table keyed by the client's address (`stick on src`, 10k entries, the
//!   oldest leaving first); for UDP with `persistence_timeout` (default 360 s) and
//!   `persistence_granularity` as LVS applies them;
//! - HTTP_COOKIE: `cookie SRV insert indirect nocache`: the member's id in a cookie the
//!   engine sets when the client did not name the member that served it;
//! - APP_COOKIE: the member learnt from the application's own cookie in answers
//!   (`stick store-response res.cook(<name>)`), matched in requests (`stick match
//!   req.cook(<name>)`), values cut at 64 bytes as `type string len 64`.
//!
//! A stuck member that no longer serves is passed over; the client is stuck to the member
//! that serves it instead. Tables live as long as the pool keeps its persistence type, across
//! configuration changes. New and moved entries go to the engine's journal, which the other
//! amphora of an ACTIVE_STANDBY pair learns from (HAProxy's `peers` section in Octavia).

use crate::h1;
use model::{PersistenceType, PoolConfig, PoolProtocol};
use std::collections::HashMap;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// HAProxy's `stick-table … size` as Octavia renders it (`haproxy_stick_size`).
const TABLE_SIZE: usize = 10_000;
/// `type string len 64`.
const KEY_LEN: usize = 64;
/// LVS `persistence_timeout` when the pool gives none.
const UDP_TIMEOUT: Duration = Duration::from_secs(360);

/// HAProxy's insert cookie.
pub const SRV: &str = "SRV";

/// A stick-table entry as the amphorae of a pair exchange it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StickEntry {
    pub pool_id: String,
    pub key: String,
    pub member_id: String,
}

pub struct Sticky {
    pub kind: PersistenceType,
    pool_id: String,
    /// Where new and moved entries are told (set once by the engine).
    journal: std::sync::OnceLock<tokio::sync::broadcast::Sender<StickEntry>>,
    /// APP_COOKIE: the application's cookie.
    pub cookie: Option<String>,
    expire: Option<Duration>,
    /// UDP's `persistence_granularity`: the mask applied to a client's address.
    mask: Option<IpAddr>,
    table: Mutex<HashMap<String, (String, Instant)>>,
}

impl Sticky {
    /// The persistence of `pool`, keeping `previous`'s table when its kind is unchanged.
    pub fn for_pool(
        pool: &PoolConfig,
        previous: Option<&std::sync::Arc<Sticky>>,
    ) -> Option<std::sync::Arc<Sticky>> {
        let sp = pool.session_persistence.as_ref()?;
        let udp = matches!(pool.protocol, PoolProtocol::Udp | PoolProtocol::Sctp);
        let expire = udp.then(|| {
            sp.persistence_timeout
                .map(Duration::from_secs)
                .unwrap_or(UDP_TIMEOUT)
        });
        let mask = if udp {
            sp.persistence_granularity
                .as_deref()
                .and_then(|m| m.parse().ok())
        } else {
            None
        };
        if let Some(p) = previous {
            if p.kind == sp.kind
                && p.cookie == sp.cookie_name
                && p.expire == expire
                && p.mask == mask
            {
                return Some(p.clone());
            }
        }
        Some(std::sync::Arc::new(Sticky {
            kind: sp.kind,
            pool_id: pool.id.clone(),
            journal: std::sync::OnceLock::new(),
            cookie: sp.cookie_name.clone(),
            expire,
            mask,
            table: Mutex::new(HashMap::new()),
        }))
    }

    /// The table key of a client address (masked by the granularity).
    pub fn source_key(&self, ip: IpAddr) -> String {
        let ip = ip.to_canonical();
        match (ip, self.mask) {
            (IpAddr::V4(a), Some(IpAddr::V4(m))) => {
                IpAddr::V4((u32::from(a) & u32::from(m)).into()).to_string()
            }
            (IpAddr::V6(a), Some(IpAddr::V6(m))) => {
                IpAddr::V6((u128::from(a) & u128::from(m)).into()).to_string()
            }
            _ => ip.to_string(),
        }
    }

    fn cut(key: &str) -> &str {
        let mut end = key.len().min(KEY_LEN);
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        &key[..end]
    }

    /// The member id stored for `key`, unless it expired.
    pub fn lookup(&self, key: &str) -> Option<String> {
        let mut table = self.table.lock().ok()?;
        let key = Self::cut(key);
        let (member, at) = table.get(key)?;
        if self.expire.is_some_and(|e| at.elapsed() > e) {
            table.remove(key);
            return None;
        }
        Some(member.clone())
    }

    /// Tells new and moved entries to `journal` from now on.
    pub fn journal_to(&self, journal: &tokio::sync::broadcast::Sender<StickEntry>) {
        let _ = self.journal.set(journal.clone());
    }

    /// Sticks `key` to `member` (an existing entry moves with it), refreshing its time; a new
    /// or moved entry is journaled.
    pub fn store(&self, key: &str, member: &str) {
        let key = Self::cut(key);
        let moved = self.insert(key, member);
        if let (true, Some(journal)) = (moved, self.journal.get()) {
            // No receiver (no pair): nothing to tell.
            let _ = journal.send(StickEntry {
                pool_id: self.pool_id.clone(),
                key: key.to_string(),
                member_id: member.to_string(),
            });
        }
    }

    /// An entry the other amphora of the pair stored: kept, not journaled again.
    pub fn learn(&self, key: &str, member: &str) {
        self.insert(Self::cut(key), member);
    }

    /// Every entry (a peer that starts gets the whole table).
    pub fn entries(&self) -> Vec<StickEntry> {
        let Ok(table) = self.table.lock() else {
            return Vec::new();
        };
        table
            .iter()
            .map(|(key, (member, _))| StickEntry {
                pool_id: self.pool_id.clone(),
                key: key.clone(),
                member_id: member.clone(),
            })
            .collect()
    }

    /// Whether the entry is new or moved.
    fn insert(&self, key: &str, member: &str) -> bool {
        let Ok(mut table) = self.table.lock() else {
            return false;
        };
        if !table.contains_key(key) && table.len() >= TABLE_SIZE {
            if let Some(oldest) = table
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                table.remove(&oldest);
            }
        }
        let before = table.insert(key.to_string(), (member.to_string(), Instant::now()));
        before.is_none_or(|(was, _)| was != member)
    }
}

/// Every value of cookie `name` in `Cookie` header values.
pub fn cookie_values<'a>(
    headers: impl Iterator<Item = &'a [u8]>,
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    headers
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim())
        })
}

/// The value `Set-Cookie` values give cookie `name`.
pub fn set_cookie_value<'a>(
    headers: impl Iterator<Item = &'a [u8]>,
    name: &str,
) -> Option<&'a str> {
    headers
        .filter_map(|v| std::str::from_utf8(v).ok())
        .filter_map(|v| {
            let first = v.split(';').next()?;
            let (k, value) = first.split_once('=')?;
            (k.trim() == name).then(|| value.trim())
        })
        .last()
}

/// What a pool's session persistence asks of one exchange.
pub struct Persist {
    sticky: Arc<Sticky>,
    /// The member the request names (SRV cookie) or its stick entry points to.
    pub stuck: Option<String>,
    /// SOURCE_IP's table key.
    key: Option<String>,
    /// The member being tried.
    pub member: String,
    /// The request's method lets its answer be cached (GET, HEAD, OPTIONS, TRACE).
    cacheable_request: bool,
}

impl Persist {
    /// What a pool's table (`None` without session persistence) asks of the exchange whose
    /// request head is `head`.
    pub fn of(sticky: Option<&Arc<Sticky>>, peer: SocketAddr, head: &[u8]) -> Option<Persist> {
        let sticky = sticky?.clone();
        let cookie = |name: &str| -> Option<String> {
            let mut headers = [httparse::EMPTY_HEADER; h1::MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            parsed.parse(head).ok()?;
            let values = parsed
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
                .map(|h| h.value);
            let value = cookie_values(values, name).next().map(str::to_string);
            value
        };
        let (stuck, key) = match sticky.kind {
            PersistenceType::SourceIp => {
                let key = sticky.source_key(peer.ip());
                (sticky.lookup(&key), Some(key))
            }
            PersistenceType::HttpCookie => (cookie(SRV), None),
            PersistenceType::AppCookie => {
                let name = sticky.cookie.clone().unwrap_or_default();
                (cookie(&name).and_then(|v| sticky.lookup(&v)), None)
            }
        };
        let method = head.split(|b| *b == b' ').next().unwrap_or_default();
        Some(Persist {
            sticky,
            stuck,
            key,
            member: String::new(),
            cacheable_request: [&b"GET"[..], b"HEAD", b"OPTIONS", b"TRACE"].contains(&method),
        })
    }

    /// The cookie `indirect` keeps from the member (HTTP_COOKIE's `SRV`), if any.
    pub fn indirect_cookie(&self) -> Option<&'static str> {
        (self.sticky.kind == PersistenceType::HttpCookie).then_some(SRV)
    }

    /// HTTP_COOKIE: the fields `cookie SRV insert indirect nocache` adds to the answer whose
    /// head (HTTP/1 text) is `head`: the `Set-Cookie` naming the member when the client did not
    /// name it, and `Cache-Control: private` when the answer could otherwise be cached.
    pub fn cookie_fields(&self, head: &[u8]) -> Vec<(&'static str, String)> {
        if self.sticky.kind != PersistenceType::HttpCookie
            || self.stuck.as_deref() == Some(&self.member)
        {
            return Vec::new();
        }
        let mut fields = vec![("set-cookie", format!("{SRV}={}; path=/", self.member))];
        if self.cacheable_request && cacheable_answer(head) {
            fields.push(("cache-control", "private".into()));
        }
        fields
    }

    /// The member answered: remember it, and tell the client its cookie when it needs one.
    /// `head` (HTTP/1 text) ends with its blank line.
    pub fn answered(&self, head: &mut Vec<u8>) {
        match self.sticky.kind {
            PersistenceType::SourceIp => {
                if let Some(key) = &self.key {
                    self.sticky.store(key, &self.member);
                }
            }
            PersistenceType::HttpCookie => {
                let lines: String = self
                    .cookie_fields(head)
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}\r\n"))
                    .collect();
                let at = head.len().saturating_sub(2);
                head.splice(at..at, lines.into_bytes());
            }
            PersistenceType::AppCookie => {
                let name = self.sticky.cookie.as_deref().unwrap_or_default();
                let mut headers = [httparse::EMPTY_HEADER; h1::MAX_HEADERS];
                let mut parsed = httparse::Response::new(&mut headers);
                if parsed.parse(head).is_err() {
                    return;
                }
                let values = parsed
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
                    .map(|h| h.value);
                if let Some(value) = set_cookie_value(values, name) {
                    self.sticky.store(value, &self.member);
                }
            }
        }
    }
}

/// Would HAProxy take this answer (HTTP/1 head) for cacheable, as it decides before
/// `nocache` adds `Cache-Control: private`: a status cacheable by default, no `Pragma:
/// no-cache`, no `Cache-Control` forbidding it (`public` allows it again), and a freshness
/// (`max-age`, `s-maxage`, `Expires`) or a validator (`ETag`, `Last-Modified`).
fn cacheable_answer(head: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; h1::MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    if parsed.parse(head).is_err() {
        return false;
    }
    let status = parsed.code.unwrap_or(0);
    if ![200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501].contains(&status) {
        return false;
    }
    let named = |name: &'static str| {
        parsed
            .headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    if named("pragma").next().as_deref() == Some("no-cache") {
        return false;
    }
    let (mut cacheable, mut fresh) = (true, false);
    for value in named("cache-control") {
        for directive in value.split(',').map(str::trim) {
            match directive {
                "public" => cacheable = true,
                "private" | "no-cache" | "no-store" | "max-age=0" | "s-maxage=0" => {
                    cacheable = false
                }
                d if d.starts_with("no-cache=\"set-cookie") => {}
                d if d.starts_with("max-age") || d.starts_with("s-maxage") => fresh = true,
                _ => {}
            }
        }
    }
    fresh = fresh || named("expires").next().is_some();
    let validator = named("etag").next().is_some() || named("last-modified").next().is_some();
    cacheable && (fresh || validator)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What HAProxy 2.6.12 answered with `cookie SRV insert indirect nocache` (measured): when
    /// it adds `Cache-Control: private` next to the cookie.
    #[test]
    fn cacheable_answers_are_the_ones_haproxy_marks_private() {
        let answer = |status: u16, fields: &str| {
            super::cacheable_answer(format!("HTTP/1.1 {status} X\r\n{fields}\r\n").as_bytes())
        };
        let lm = "Last-Modified: Thu, 01 Dec 2020 16:00:00 GMT\r\n";
        assert!(!answer(200, ""), "no freshness, no validator");
        assert!(answer(200, "Cache-Control: max-age=60\r\n"));
        assert!(!answer(200, "Cache-Control: public\r\n"));
        assert!(answer(200, "Expires: Thu, 01 Dec 2030 16:00:00 GMT\r\n"));
        assert!(answer(200, lm) && answer(200, "ETag: \"x\"\r\n"));
        assert!(!answer(200, &format!("Cache-Control: private\r\n{lm}")));
        assert!(!answer(200, "Cache-Control: max-age=0\r\n"));
        assert!(answer(200, "Cache-Control: public, max-age=60\r\n"));
        assert!(answer(
            200,
            &format!("Cache-Control: no-cache=\"set-cookie\"\r\n{lm}")
        ));
        assert!(!answer(
            200,
            "Pragma: no-cache\r\nExpires: Thu, 01 Dec 2030 16:00:00 GMT\r\n"
        ));
        for status in [203, 204, 206, 300, 301, 404, 405, 410, 414, 501] {
            assert!(answer(status, lm), "{status}");
        }
        for status in [302, 304, 500, 503] {
            assert!(!answer(status, lm), "{status}");
        }
    }
    use model::{LbAlgorithm, SessionPersistence};

    fn pool(kind: PersistenceType, protocol: PoolProtocol) -> PoolConfig {
        let mut p = PoolConfig::new("p", protocol, LbAlgorithm::RoundRobin);
        p.session_persistence = Some(SessionPersistence {
            kind,
            cookie_name: None,
            persistence_timeout: Some(1),
            persistence_granularity: Some("255.255.255.0".into()),
        });
        p
    }

    #[test]
    fn udp_source_ip_masks_and_expires_tcp_does_neither() {
        let udp =
            Sticky::for_pool(&pool(PersistenceType::SourceIp, PoolProtocol::Udp), None).unwrap();
        assert_eq!(udp.source_key("10.1.2.3".parse().unwrap()), "10.1.2.0");
        let tcp =
            Sticky::for_pool(&pool(PersistenceType::SourceIp, PoolProtocol::Tcp), None).unwrap();
        assert_eq!(tcp.source_key("10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(tcp.expire, None);
        assert_eq!(udp.expire, Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_full_table_forgets_its_oldest_entry() {
        let s =
            Sticky::for_pool(&pool(PersistenceType::SourceIp, PoolProtocol::Tcp), None).unwrap();
        for i in 0..TABLE_SIZE + 1 {
            s.store(&format!("k{i}"), "m");
        }
        assert_eq!(s.lookup("k0"), None);
        assert_eq!(s.lookup(&format!("k{TABLE_SIZE}")).as_deref(), Some("m"));
    }

    #[test]
    fn cookies_are_read_from_requests_and_answers() {
        let req: Vec<&[u8]> = vec![b"a=1; SRV=m2", b"b=2"];
        assert_eq!(
            cookie_values(req.into_iter(), "SRV").collect::<Vec<_>>(),
            ["m2"]
        );
        let res: Vec<&[u8]> = vec![b"JSESSIONID=xyz; Path=/; HttpOnly", b"other=1"];
        assert_eq!(set_cookie_value(res.into_iter(), "JSESSIONID"), Some("xyz"));
    }
}
