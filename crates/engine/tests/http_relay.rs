//! The HTTP/1 relay as clients and members use it: bodies in both framings, HTTP/1.0,
//! pipelining, `Expect: 100-continue`, HEAD, upgrades, members that close kept connections,
//! PROXY headers to members, bad requests. Clients are raw sockets or hyper's client.

mod support;

use bytes::Bytes;
use engine::testing::{stream_body, Backend};
use engine::Engine;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(vip: &str, protocol: &str, members: Vec<SocketAddr>) -> (Engine, SocketAddr) {
    let members = members
        .iter()
        .enumerate()
        .map(|(i, a)| member(&format!("m{i}"), *a))
        .collect();
    let engine = start(config(
        vip,
        listener("HTTP", 8080),
        pool(protocol, "ROUND_ROBIN", members),
    ))
    .await;
    (engine, format!("{vip}:8080").parse().unwrap())
}

/// A member written by hand: each accepted connection goes to `handle`.
async fn raw_member<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

/// Reads up to the end of a head ("\r\n\r\n"); the bytes read, head and anything after.
async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a head in time")
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Everything until the proxy closes the connection.
async fn read_all(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the connection closed in time")
        .unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test]
async fn bodies_cross_both_ways_and_each_request_is_balanced() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::http("b", any("127.0.0.1")).await.unwrap();
    let (engine, vip) = serve("127.21.3.1", "HTTP", vec![a.addr, b.addr]).await;
    let stream = connect(vip).await;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let upload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for round in 0..4 {
        let request = hyper::Request::post("/echo")
            .header("host", "test")
            .body(Full::new(Bytes::from(upload.clone())))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let echoed = response.into_body().collect().await.unwrap().to_bytes();
        assert!(echoed == upload, "round {round}: echo differs");
        let request = hyper::Request::get("/stream?300")
            .header("host", "test")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.headers()["transfer-encoding"], "chunked");
        let streamed = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            streamed == stream_body(300),
            "round {round}: stream differs"
        );
    }
    // Eight requests on one client connection, alternating members.
    assert_eq!((a.hits(), b.hits()), (4, 4));
    let status = engine.status().await;
    // Round robin sent every upload to a and every download to b.
    let (ma, mb) = (&status.pools[0].members[0], &status.pools[0].members[1]);
    assert!(
        ma.bytes_in > 1_200_000 && ma.bytes_out > 1_200_000,
        "{ma:?}"
    );
    assert!(mb.bytes_in > 0 && mb.bytes_out > 1_200_000, "{mb:?}");
    let listener = &status.listeners[0].counters;
    assert!(listener.bytes_in > 1_200_000 && listener.bytes_out > 1_200_000);
    engine.shutdown().await;
}

#[tokio::test]
async fn chunked_uploads_arrive_whole() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let (engine, vip) = serve("127.21.3.2", "HTTP", vec![a.addr]).await;
    let mut c = connect(vip).await;
    let parts: [&[u8]; 4] = [
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhel",
        b"lo\r\n",
        b"7;note=x\r\n, world\r\n",
        b"0\r\n\r\n",
    ];
    for part in parts {
        c.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = read_all(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nhello, world"), "{answer}");
    engine.shutdown().await;
}

#[tokio::test]
async fn an_http10_client_gets_the_body_without_chunks_then_a_close() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let (engine, vip) = serve("127.21.3.3", "HTTP", vec![a.addr]).await;
    let mut c = connect(vip).await;
    c.write_all(b"GET /stream?3 HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut c).await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "{head}"
    );
    assert_eq!(body.as_bytes(), stream_body(3));
    // The member gets HTTP/1.1, so a Host: the listener's address.
    c = connect(vip).await;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    read_all(&mut c).await;
    let headers = a.seen.last_headers.lock().unwrap().clone();
    assert!(
        headers.contains(&("host".into(), "127.21.3.3:8080".into())),
        "{headers:?}"
    );
    // HTTP/1.0 with keep-alive keeps the connection when the length is known.
    let mut c = connect(vip).await;
    c.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let head = String::from_utf8(read_head(&mut c).await).unwrap();
    assert!(head.contains("connection: keep-alive"), "{head}");
    engine.shutdown().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let b = Backend::http("b", any("127.0.0.1")).await.unwrap();
    let (engine, vip) = serve("127.21.3.4", "HTTP", vec![a.addr, b.addr]).await;
    let mut c = connect(vip).await;
    c.write_all(
        b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let answer = read_all(&mut c).await;
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 3, "{answer}");
    // The HEAD answer keeps its length but has no body: "you hit: a" then "you hit: a".
    let bodies: Vec<&str> = answer.matches("you hit: ").collect();
    assert_eq!(bodies.len(), 2, "{answer}");
    assert!(answer.contains("content-length: 11\r\n"), "{answer}");
    assert!(answer.ends_with("you hit: a\n"), "{answer}");
    assert_eq!((a.hits(), b.hits()), (2, 1));
    engine.shutdown().await;
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let (engine, vip) = serve("127.21.3.5", "HTTP", vec![a.addr]).await;
    let mut c = connect(vip).await;
    c.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let interim = read_head(&mut c).await;
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.write_all(b"hello").await.unwrap();
    let head = read_head(&mut c).await;
    let text = String::from_utf8_lossy(&head);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.ends_with("hello") || c.read_u8().await.is_ok(),
        "{text}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_upgrade_becomes_a_tunnel() {
    let member = raw_member(|mut s| async move {
        let head = read_head(&mut s).await;
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if !(text.contains("upgrade: websocket") && text.contains("connection: upgrade")) {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            return;
        }
        let _ = s
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            .await;
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    })
    .await;
    let (engine, vip) = serve("127.21.3.6", "HTTP", vec![member]).await;
    let mut c = connect(vip).await;
    c.write_all(
        b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    )
    .await
    .unwrap();
    let head = String::from_utf8(read_head(&mut c).await).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("connection: upgrade"), "{head}");
    for word in ["ping", "pong", "a longer message"] {
        c.write_all(word.as_bytes()).await.unwrap();
        let mut back = vec![0u8; word.len()];
        tokio::time::timeout(Duration::from_secs(5), c.read_exact(&mut back))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, word.as_bytes());
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn a_member_closing_kept_connections_costs_no_request() {
    // Answers one request per connection and closes without saying so.
    let member = raw_member(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await;
    })
    .await;
    let (engine, vip) = serve("127.21.3.7", "HTTP", vec![member]).await;
    let mut c = connect(vip).await;
    for i in 0..5 {
        c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let head = read_head(&mut c).await;
        let text = String::from_utf8_lossy(&head);
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with("ok"),
            "request {i}: {text}"
        );
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn a_close_delimited_answer_reaches_the_client_and_closes() {
    let member = raw_member(|mut s| async move {
        read_head(&mut s).await;
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nall of it").await;
    })
    .await;
    let (engine, vip) = serve("127.21.3.8", "HTTP", vec![member]).await;
    let mut c = connect(vip).await;
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nall of it"), "{answer}");
    engine.shutdown().await;
}

#[tokio::test]
async fn an_http_listener_sends_the_proxy_header_to_proxy_pools() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let member = raw_member(move |mut s| {
        let record = record.clone();
        async move {
            let got = read_head(&mut s).await;
            *record.lock().unwrap() = got;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
        }
    })
    .await;
    let (engine, vip) = serve("127.21.3.9", "PROXY", vec![member]).await;
    let (status, body) = get_from("127.0.0.3", vip, "/p").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"));
    let got = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    let (proxy, http) = got.split_once("\r\n").unwrap();
    let words: Vec<&str> = proxy.split(' ').collect();
    assert_eq!(
        &words[..4],
        ["PROXY", "TCP4", "127.0.0.3", "127.21.3.9"],
        "{proxy}"
    );
    assert_eq!(words[5], "8080");
    assert!(http.starts_with("GET /p HTTP/1.1\r\n"), "{http}");
    engine.shutdown().await;
}

#[tokio::test]
async fn bad_requests_and_broken_answers_get_haproxy_pages() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let (engine, vip) = serve("127.21.3.10", "HTTP", vec![a.addr]).await;
    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "x".repeat(20_000));
    for bad in [
        "NOT HTTP AT ALL\r\n\r\n".to_string(),
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".into(),
        huge,
    ] {
        let mut c = connect(vip).await;
        c.write_all(bad.as_bytes()).await.unwrap();
        let answer = read_all(&mut c).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("Your browser sent an invalid request."));
    }
    assert_eq!(
        engine.status().await.listeners[0].counters.request_errors,
        3
    );
    assert_eq!(a.hits(), 0);
    engine.shutdown().await;

    let member = raw_member(|mut s| async move {
        read_head(&mut s).await;
        let _ = s.write_all(b"NONSENSE\r\n\r\n").await;
    })
    .await;
    let (engine, vip) = serve("127.21.3.11", "HTTP", vec![member]).await;
    let (status, body) = get(vip, "/").await;
    assert_eq!(status, 502);
    assert!(body.contains("invalid or incomplete response"), "{body}");
    engine.shutdown().await;
}

#[tokio::test]
async fn zero_timeouts_mean_octavias_defaults() {
    let a = Backend::http("a", any("127.0.0.1")).await.unwrap();
    let mut l = listener("HTTP", 8080);
    l.timeout_client_data = 0;
    l.timeout_member_connect = 0;
    l.timeout_member_data = 0;
    let engine = start(config(
        "127.21.3.12",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("a", a.addr)]),
    ))
    .await;
    let (status, body) = get("127.21.3.12:8080".parse().unwrap(), "/").await;
    assert_eq!((status, body.as_str()), (200, "you hit: a\n"));
    engine.shutdown().await;
}

#[tokio::test]
async fn a_member_refusing_an_upload_early_is_heard() {
    // Answers 413 as soon as it has the head, without reading the body, and closes.
    let refuser = raw_member(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
            .await;
    })
    .await;
    let engine = start(config(
        "127.21.3.13",
        listener("HTTP", 8080),
        pool("HTTP", "ROUND_ROBIN", vec![member("m", refuser)]),
    ))
    .await;
    let c = connect("127.21.3.13:8080".parse().unwrap()).await;
    let (mut rd, mut wr) = c.into_split();
    let upload = tokio::spawn(async move {
        let _ = wr
            .write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n")
            .await;
        let chunk = vec![b'x'; 64 * 1024];
        // Bounded: 100 MB at most, stopped by the first refused write.
        for _ in 0..1525 {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).ends_with("big") {
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read(&mut buf))
            .await
            .expect("the member's answer in time")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("connection: close") && answer.ends_with("big"),
        "{answer}"
    );
    upload.abort();
    engine.shutdown().await;
}

/// RFC 9112 §3.2: an HTTP/1.1 request with two Hosts gets 400; one without a Host is served
/// as HAProxy serves it (the L7 oracle checks that against HAProxy's binary), and so is
/// HTTP/1.0 without one. Two Transfer-Encoding lines are one list, refused like `x, chunked`.
#[tokio::test]
async fn host_and_transfer_encoding_lines_follow_rfc_9112() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (_engine, vip) = serve("127.21.3.14", "HTTP", vec![web.addr]).await;
    for (request, status) in [
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "200"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "400",
        ),
        ("GET / HTTP/1.0\r\n\r\n", "200"),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "200"),
    ] {
        let mut c = TcpStream::connect(vip).await.unwrap();
        c.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), c.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{request:?} → {answer}"
        );
    }
}

/// A head must arrive whole within timeout_client_data: one header line every 200 ms does
/// not keep a connection for ever (HAProxy's `timeout http-request`).
#[tokio::test]
async fn a_trickled_request_head_is_cut_off_at_the_client_timeout() {
    let web = Backend::http("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut l = listener("HTTP", 8080);
    l.timeout_client_data = 1000;
    let _engine = start(config(
        "127.21.3.15",
        l,
        pool("HTTP", "ROUND_ROBIN", vec![member("m", web.addr)]),
    ))
    .await;
    let mut c = TcpStream::connect("127.21.3.15:8080").await.unwrap();
    let started = std::time::Instant::now();
    c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n").await.unwrap();
    let trickle = async {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if c.write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), c.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
}
