//! A listener's addresses change (a floating IP associated with the VIP, then taken away)
//! without touching what its other addresses serve.

mod support;
use engine::testing::Backend;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One keep-alive request on an open connection; the answer's body.
async fn ask(stream: &mut tokio::net::TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    // The backend's answer is small and length-delimited: read until its body arrived.
    while !String::from_utf8_lossy(&got).contains("you hit:") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "the connection closed: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn an_added_address_serves_a_removed_one_stops_and_the_rest_is_untouched() {
    let web = Backend::http("web", any("127.0.0.1")).await.unwrap();
    let mut cfg = config(
        "127.22.0.1",
        listener("HTTP", 8080),
        pool("HTTP", "ROUND_ROBIN", vec![member("m1", web.addr)]),
    );
    let engine = start(cfg.clone()).await;
    let vip = "127.22.0.1:8080".parse().unwrap();
    let floating = "127.22.0.2:8080".parse().unwrap();
    let mut open = connect(vip).await;
    assert!(ask(&mut open).await.contains("you hit: web"));
    assert!(
        get_from("127.0.0.1", floating, "/").await.is_err(),
        "not served yet"
    );

    cfg.generation = 2;
    cfg.vips.push(ip("127.22.0.2"));
    let applied = engine.apply(cfg.clone()).await.unwrap();
    assert!(applied.failed_listeners.is_empty());
    assert_eq!(get(floating, "/").await.1, "you hit: web\n");
    assert!(
        ask(&mut open).await.contains("you hit: web"),
        "a connection on the VIP is untouched"
    );

    cfg.generation = 3;
    cfg.vips = vec![ip("127.22.0.2")];
    engine.apply(cfg.clone()).await.unwrap();
    assert!(
        get_from("127.0.0.1", vip, "/").await.is_err(),
        "the VIP left"
    );
    assert_eq!(get(floating, "/").await.1, "you hit: web\n");
    engine.shutdown().await;
}
