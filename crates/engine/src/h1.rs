//! HTTP/1 messages as the L7 listener relays them: heads parsed with httparse and rewritten
//! on the way (hop-by-hop headers dropped, X-Forwarded-* added, the connection decided),
//! bodies delimited by their framing without being buffered. Nothing here does I/O.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

/// HAProxy's `tune.http.maxhdr` default.
pub const MAX_HEADERS: usize = 101;

/// How a message's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// Until the sender closes (responses only).
    Close,
}

/// The head could not be parsed or its framing is ambiguous.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid;

/// What the relay needs to know of a parsed request; its rewritten head is in `out`.
#[derive(Debug)]
pub struct Request {
    pub head_len: usize,
    pub http10: bool,
    pub framing: Framing,
    /// The client wants the connection kept open after the answer.
    pub keep_alive: bool,
    /// `Expect: 100-continue`, which the relay answers itself.
    pub expect_continue: bool,
    pub upgrade: bool,
    pub head: bool,
    pub idempotent: bool,
}

impl Request {
    /// Only an idempotent request without a body may be sent again on another connection
    /// (RFC 9110 §9.2.2).
    pub fn replayable(&self) -> bool {
        self.idempotent && self.framing == Framing::Empty
    }
}

/// The X-Forwarded-* headers a listener inserts.
pub struct Forwarded {
    /// The listener's address: the Host of a request that has none.
    pub local: SocketAddr,
    pub for_client: Option<IpAddr>,
    pub port: Option<u16>,
    pub proto: Option<&'static str>,
    /// `http-request set-header` lines (the X-SSL-* headers): the client's own lines of
    /// these names are dropped.
    pub set: Vec<(&'static str, String)>,
}

/// What the relay needs to know of a parsed response; its rewritten head is in `out`.
#[derive(Debug)]
pub struct Response {
    pub head_len: usize,
    pub code: u16,
    pub framing: Framing,
    /// The member's connection can carry another request after this answer.
    pub reusable: bool,
    /// The client's connection stays open after this answer.
    pub keep_client: bool,
    /// Chunked body for an HTTP/1.0 client: sent without its chunk framing.
    pub dechunk: bool,
}

#[derive(Default)]
struct ConnectionTokens {
    close: bool,
    keep_alive: bool,
    upgrade: bool,
}

impl ConnectionTokens {
    fn add(&mut self, value: &[u8]) {
        for token in value.split(|b| *b == b',') {
            let token = token.trim_ascii();
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if token.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            }
        }
    }
}

/// The headers that describe one hop or frame the body: never forwarded as they came, the
/// relay writes its own.
#[derive(Default)]
struct HopHeaders<'a> {
    connection: ConnectionTokens,
    body: BodyHeaders<'a>,
    upgrade: Option<&'a [u8]>,
}

impl<'a> HopHeaders<'a> {
    /// Takes `h` in if it is one of them.
    fn absorb(&mut self, h: &httparse::Header<'a>) -> Result<bool, Invalid> {
        let is = |n: &str| h.name.eq_ignore_ascii_case(n);
        if is("connection") || is("proxy-connection") {
            self.connection.add(h.value);
        } else if is("upgrade") {
            self.upgrade = Some(h.value);
        } else if is("content-length") {
            self.body.content_length(h.value)?;
        } else if is("transfer-encoding") {
            self.body.transfer_encoding(h.value)?;
        } else if !(is("keep-alive") || is("te") || is("trailer")) {
            return Ok(false);
        }
        Ok(true)
    }
}

/// Content-Length / Transfer-Encoding, checked as RFC 9112 §6.3 asks of a proxy.
#[derive(Default)]
struct BodyHeaders<'a> {
    length: Option<u64>,
    /// Whether the final coding is chunked.
    chunked: Option<bool>,
    /// The Transfer-Encoding lines as sent, forwarded as they are. Several lines are one
    /// list (RFC 9110 §5.3): `x` then `chunked` means `x, chunked`.
    codings: [&'a [u8]; 2],
    lines: usize,
}

impl<'a> BodyHeaders<'a> {
    fn content_length(&mut self, value: &[u8]) -> Result<(), Invalid> {
        let v = value.trim_ascii();
        if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
            return Err(Invalid);
        }
        let n = v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        match self.length {
            Some(m) if m != n => Err(Invalid),
            _ => {
                self.length = Some(n);
                Ok(())
            }
        }
    }

    fn transfer_encoding(&mut self, value: &'a [u8]) -> Result<(), Invalid> {
        if self.lines == self.codings.len() {
            return Err(Invalid);
        }
        self.codings[self.lines] = value;
        self.lines += 1;
        let last = value
            .rsplit(|b| *b == b',')
            .next()
            .unwrap_or(b"")
            .trim_ascii();
        self.chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        Ok(())
    }

    /// Exactly `chunked`, on one line: the only coding a request may arrive in.
    fn only_chunked(&self) -> bool {
        self.lines == 1
            && self.codings[0]
                .trim_ascii()
                .eq_ignore_ascii_case(b"chunked")
    }

    fn write_codings(&self, out: &mut Vec<u8>) {
        for codings in &self.codings[..self.lines] {
            header(out, b"transfer-encoding", codings);
        }
    }
}

/// Parses a request head at the start of `buf` and writes the head to send the member into
/// `out`. `Ok(None)`: the head is not complete yet.
pub fn request(buf: &[u8], fwd: &Forwarded, out: &mut Vec<u8>) -> Result<Option<Request>, Invalid> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Invalid),
    };
    let (Some(method), Some(path), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(Invalid);
    };
    out.clear();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    // Members always get HTTP/1.1, so their connections can be kept open.
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut hop = HopHeaders::default();
    let mut expect_continue = false;
    let mut hosts = 0;
    for h in parsed.headers.iter() {
        let name = h.name;
        if hop.absorb(h)? {
            continue;
        }
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        }
        if name.eq_ignore_ascii_case("expect") && h.value.eq_ignore_ascii_case(b"100-continue") {
            expect_continue = true;
            continue;
        }
        if (fwd.port.is_some() && name.eq_ignore_ascii_case("x-forwarded-port"))
            || (fwd.proto.is_some() && name.eq_ignore_ascii_case("x-forwarded-proto"))
            || fwd.set.iter().any(|(n, _)| name.eq_ignore_ascii_case(n))
        {
            continue;
        }
        header(out, name.as_bytes(), h.value);
    }
    let (conn, body) = (&hop.connection, &hop.body);
    let http10 = minor == 0;
    // Two Host lines cannot both be right (RFC 9112 §3.2). None at all is served, as HAProxy
    // serves it (checked against its binary by the L7 oracle), with the listener's address.
    if hosts > 1 {
        return Err(Invalid);
    }
    let framing = match (body.chunked, body.length) {
        // Only `chunked` itself: a request in another coding is refused (RFC 9112 §6.1).
        (Some(true), _) if body.only_chunked() => Framing::Chunked,
        // A request whose length cannot be known is refused, as RFC 9112 §6.3 says.
        (Some(_), _) => return Err(Invalid),
        (None, Some(0)) | (None, None) => Framing::Empty,
        (None, Some(n)) => Framing::Length(n),
    };
    match framing {
        Framing::Chunked => header(out, b"transfer-encoding", b"chunked"),
        Framing::Length(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        _ if body.length == Some(0) => header(out, b"content-length", b"0"),
        _ => {}
    }
    // The HTTP/1.1 request the member gets must have one.
    if hosts == 0 {
        let _ = write!(out, "host: {}\r\n", fwd.local);
    }
    // `option forwardfor` adds its own line after any the client sent.
    if let Some(ip) = fwd.for_client {
        let _ = write!(out, "x-forwarded-for: {}\r\n", ip.to_canonical());
    }
    if let Some(port) = fwd.port {
        let _ = write!(out, "x-forwarded-port: {port}\r\n");
    }
    if let Some(proto) = fwd.proto {
        header(out, b"x-forwarded-proto", proto.as_bytes());
    }
    for (name, value) in &fwd.set {
        header(out, name.as_bytes(), value.as_bytes());
    }
    let upgrade = conn.upgrade && hop.upgrade.is_some();
    if let (true, Some(to)) = (upgrade, hop.upgrade) {
        header(out, b"upgrade", to);
        header(out, b"connection", b"upgrade");
    }
    out.extend_from_slice(b"\r\n");
    // Framing a front proxy may have read otherwise: answer, then close (RFC 9112 §6.1).
    let ambiguous = body.chunked.is_some() && (body.length.is_some() || http10);
    Ok(Some(Request {
        head_len,
        http10,
        framing,
        keep_alive: !ambiguous && if http10 { conn.keep_alive } else { !conn.close },
        // HTTP/1.0 clients get no 1xx (RFC 9110 §15.2).
        expect_continue: expect_continue && !http10,
        upgrade,
        head: method == "HEAD",
        idempotent: matches!(
            method,
            "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
        ),
    }))
}

/// Parses a member's response head at the start of `buf` and writes the head to send the
/// client into `out`. `closing`: the client's connection is to be closed after this answer.
pub fn response(
    buf: &[u8],
    req: &Request,
    closing: bool,
    out: &mut Vec<u8>,
) -> Result<Option<Response>, Invalid> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Invalid),
    };
    let (Some(code), Some(minor)) = (parsed.code, parsed.version) else {
        return Err(Invalid);
    };
    out.clear();
    let _ = write!(out, "HTTP/1.1 {code} {}\r\n", parsed.reason.unwrap_or(""));
    let mut hop = HopHeaders::default();
    let switching = code == 101 && req.upgrade;
    for h in parsed.headers.iter() {
        if !hop.absorb(h)? {
            header(out, h.name.as_bytes(), h.value);
        }
    }
    if let (true, Some(to)) = (switching, hop.upgrade) {
        header(out, b"upgrade", to);
    }
    let (conn, body) = (&hop.connection, &hop.body);
    let bodiless = req.head || (100..200).contains(&code) || code == 204 || code == 304;
    let framing = match (body.chunked, body.length) {
        _ if bodiless => Framing::Empty,
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) => Framing::Close,
        (None, Some(n)) => Framing::Length(n),
        (None, None) => Framing::Close,
    };
    // A HEAD answer and a 304 keep the length the member announced.
    if let (true, Some(n)) = (bodiless && code >= 200, body.length) {
        let _ = write!(out, "content-length: {n}\r\n");
    }
    let dechunk = framing == Framing::Chunked && req.http10;
    match framing {
        Framing::Chunked if dechunk => {}
        Framing::Chunked | Framing::Close => body.write_codings(out),
        Framing::Length(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        _ => {}
    }
    let keep_client =
        !closing && req.keep_alive && !dechunk && framing != Framing::Close && !switching;
    if switching {
        header(out, b"connection", b"upgrade");
    } else if (100..200).contains(&code) {
        // Interim answers say nothing of the connection.
    } else if !keep_client {
        header(out, b"connection", b"close");
    } else if req.http10 {
        header(out, b"connection", b"keep-alive");
    }
    out.extend_from_slice(b"\r\n");
    let member_keeps = if minor == 0 {
        conn.keep_alive
    } else {
        !conn.close
    };
    Ok(Some(Response {
        head_len,
        code,
        framing,
        reusable: member_keeps && framing != Framing::Close && !switching,
        keep_client,
        dechunk,
    }))
}

fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Finds where a chunked body ends, byte by byte across reads, and can strip the framing.
#[derive(Debug, Default)]
pub struct Chunks {
    state: ChunkState,
    size: u64,
    digits: u8,
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
enum ChunkState {
    #[default]
    Size,
    SizeBlank,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

impl Chunks {
    pub fn done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Scans `bytes`: how many of them belong to the body (all of them unless it ends
    /// inside). With `data`, the chunks' payload is appended to it.
    pub fn scan(&mut self, bytes: &[u8], mut data: Option<&mut Vec<u8>>) -> Result<usize, Invalid> {
        use ChunkState::*;
        let mut i = 0;
        while i < bytes.len() && self.state != Done {
            if self.state == Data {
                let take = (self.size.min((bytes.len() - i) as u64)) as usize;
                if let Some(d) = data.as_deref_mut() {
                    d.extend_from_slice(&bytes[i..i + take]);
                }
                i += take;
                self.size -= take as u64;
                if self.size == 0 {
                    self.state = DataCr;
                }
                continue;
            }
            let b = bytes[i];
            i += 1;
            self.state = match (self.state, b) {
                (Size, b) if b.is_ascii_hexdigit() => {
                    // 15 hex digits: far beyond any body, and no overflow.
                    if self.digits >= 15 {
                        return Err(Invalid);
                    }
                    self.digits += 1;
                    self.size = self.size * 16 + u64::from(hex(b));
                    Size
                }
                // Strict CRLF everywhere, and only `;` after blanks: a member must not be
                // able to read the framing differently (request smuggling).
                (Size | SizeBlank, b' ' | b'\t') if self.digits > 0 => SizeBlank,
                (Size | SizeBlank, b';') if self.digits > 0 => Extension,
                (Size | SizeBlank | Extension, b'\r') if self.digits > 0 => SizeLf,
                (SizeLf, b'\n') => self.size_line_done(),
                (Extension, b) if b != b'\n' => Extension,
                (DataCr, b'\r') => DataLf,
                (DataLf, b'\n') => Size,
                (TrailerStart, b'\r') => EndLf,
                (EndLf, b'\n') => Done,
                (Trailer, b'\r') => TrailerLf,
                (TrailerLf, b'\n') => TrailerStart,
                (TrailerStart | Trailer, b) if b != b'\n' => Trailer,
                _ => return Err(Invalid),
            };
        }
        Ok(i)
    }

    fn size_line_done(&mut self) -> ChunkState {
        self.digits = 0;
        if self.size == 0 {
            ChunkState::TrailerStart
        } else {
            ChunkState::Data
        }
    }
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// `http-response set-header`: the answer's lines named `name` are replaced by one with
/// `value`. `head` ends with its blank line.
pub fn set_header(head: &mut Vec<u8>, name: &str, value: &str) {
    let mut kept = Vec::with_capacity(head.len() + name.len() + value.len() + 4);
    let mut lines = head.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() {
            break;
        }
        let named = line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && line[name.len()] == b':';
        if !named {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        }
    }
    // `kept` ends with the blank line's "\r\n": the new line goes before it.
    let at = kept.len().saturating_sub(2);
    let line = format!("{name}: {value}\r\n");
    kept.splice(at..at, line.into_bytes());
    *head = kept;
}

/// `cookie … indirect`: the cookie `name` is taken out of the request's Cookie lines (a line
/// left empty goes), so the member never sees it. `head` ends with its blank line.
pub fn strip_cookie(head: &mut Vec<u8>, name: &str) {
    let mut kept = Vec::with_capacity(head.len());
    for line in head.split_inclusive(|b| *b == b'\n') {
        let Some(value) = line
            .get(..7)
            .filter(|n| n.eq_ignore_ascii_case(b"cookie:"))
            .map(|_| String::from_utf8_lossy(&line[7..]))
        else {
            kept.extend_from_slice(line);
            continue;
        };
        let others: Vec<&str> = value
            .trim()
            .split(';')
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.split('=').next() != Some(name))
            .collect();
        if !others.is_empty() {
            kept.extend_from_slice(format!("cookie: {}\r\n", others.join("; ")).as_bytes());
        }
    }
    *head = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect_cookies_are_taken_out_of_the_request() {
        let mut head = b"GET / HTTP/1.1\r\nCookie: SRV=m1; theme=dark\r\nhost: x\r\n\
                         cookie: SRV=m2\r\n\r\n"
            .to_vec();
        strip_cookie(&mut head, "SRV");
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET / HTTP/1.1\r\ncookie: theme=dark\r\nhost: x\r\n\r\n"
        );
    }

    fn req(raw: &str) -> (Request, String) {
        let mut out = Vec::new();
        let fwd = Forwarded {
            local: "10.0.0.1:80".parse().unwrap(),
            for_client: Some("10.0.0.9".parse().unwrap()),
            set: Vec::new(),
            port: Some(80),
            proto: None,
        };
        let r = request(raw.as_bytes(), &fwd, &mut out).unwrap().unwrap();
        assert!(out.ends_with(b"\r\n\r\n"));
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn request_heads_lose_hop_by_hop_headers_and_gain_forwarded_ones() {
        let (r, out) = req(
            "GET /a?b HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTE: trailers\r\n\
             X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Port: 1\r\n\r\n",
        );
        assert_eq!(
            out,
            "GET /a?b HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\n\
             x-forwarded-for: 10.0.0.9\r\nx-forwarded-port: 80\r\n\r\n"
        );
        assert!(r.http10 && r.keep_alive && r.framing == Framing::Empty);
        assert!(r.replayable());
        let (post, _) = req("POST /run HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(!post.replayable(), "a POST is never sent twice");
        let (_, out) = req("GET / HTTP/1.0\r\n\r\n");
        assert!(out.contains("host: 10.0.0.1:80\r\n"), "{out}");
    }

    #[test]
    fn request_framing_follows_rfc_9112() {
        let (r, out) = req(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert_eq!(r.framing, Framing::Chunked);
        assert!(!out.contains("content-length"));
        let (r, _) =
            req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n");
        assert_eq!(r.framing, Framing::Length(7));
        let mut out = Vec::new();
        let fwd = Forwarded {
            local: "10.0.0.1:80".parse().unwrap(),
            for_client: None,
            set: Vec::new(),
            port: None,
            proto: None,
        };
        for bad in [
            "POST / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            // Two lines are one list: the same as `x, chunked` on one line.
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            // Two hosts.
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        ] {
            assert_eq!(
                request(bad.as_bytes(), &fwd, &mut out).unwrap_err(),
                Invalid,
                "{bad}"
            );
        }
        assert!(request(b"GET / HTTP/1.1\r\nHost: x\r\n", &fwd, &mut out)
            .unwrap()
            .is_none());
    }

    #[test]
    fn responses_keep_or_close_the_client_connection() {
        let (r11, _) = req("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let (r10, _) = req("GET / HTTP/1.0\r\n\r\n");
        let mut out = Vec::new();
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let a = response(chunked, &r11, false, &mut out).unwrap().unwrap();
        assert!(a.keep_client && a.reusable && !a.dechunk);
        let a = response(chunked, &r10, false, &mut out).unwrap().unwrap();
        assert!(!a.keep_client && a.reusable && a.dechunk);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        let a = response(b"HTTP/1.0 200 OK\r\n\r\nbody", &r11, false, &mut out)
            .unwrap()
            .unwrap();
        assert!(a.framing == Framing::Close && !a.keep_client && !a.reusable);
        let a = response(
            b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
            &r11,
            true,
            &mut out,
        )
        .unwrap()
        .unwrap();
        assert!(a.framing == Framing::Empty && !a.keep_client && a.reusable);
    }

    #[test]
    fn chunk_scanner_finds_the_end_across_reads_and_strips_framing() {
        let body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let end = body.len() - "NEXT".len();
        for split in 0..=end {
            let mut c = Chunks::default();
            let mut data = Vec::new();
            let a = c.scan(&body[..split], Some(&mut data)).unwrap();
            assert_eq!(a, split);
            let b = c.scan(&body[split..], Some(&mut data)).unwrap();
            assert!(c.done());
            assert_eq!(&body[split + b..], b"NEXT");
            assert_eq!(data, b"Wikipedia");
        }
        let mut c = Chunks::default();
        assert_eq!(c.scan(b"zz\r\n", None), Err(Invalid));
        // Bare LFs and blanks not followed by `;` are refused.
        for bad in [
            &b"3\r\nabcX"[..],
            b"2;\nxx\r\n0\r\n\r\n",
            b"2\nxx\r\n",
            b"2\r\nxx\n0\r\n\r\n",
            b"5 junk\r\n",
            b"0\r\nX: 1\n\r\n",
        ] {
            let mut c = Chunks::default();
            assert_eq!(
                c.scan(bad, None),
                Err(Invalid),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut c = Chunks::default();
        assert_eq!(c.scan(b"2 ; a=b\r\nxx\r\n0\r\n\r\n", None), Ok(18));
        assert!(c.done());
    }
}
