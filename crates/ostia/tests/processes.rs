//! The `ostia` binary as operators run it: a data plane drains on SIGTERM, a taken port
//! is named with the flag that moves it, benchmarks print figures rather than logs.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OSTIA: &str = env!("CARGO_BIN_EXE_ostia");

/// `ostia engine` given SIGTERM stops listening but finishes the request in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_process_drains_in_flight_requests_on_sigterm() {
    // A member that takes a second to answer.
    let member = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let member_addr = member.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = member.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = c
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nslow\n")
                    .await;
            });
        }
    });
    let config = serde_json::json!({"lb_id": "lb", "generation": 1, "vips": ["127.39.0.1"],
        "listeners": [{"id": "l", "protocol": "HTTP", "protocol_port": 8080, "default_pool_id": "p"}],
        "pools": [{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [{"id": "m", "address": "127.0.0.1", "protocol_port": member_addr.port()}],
            "healthmonitor": null}]});
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(config.to_string().as_bytes()).unwrap();
    let mut engine = Command::new(OSTIA)
        .args(["engine", "--config"])
        .arg(file.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut client = loop {
        if let Ok(c) = tokio::net::TcpStream::connect("127.39.0.1:8080").await {
            break c;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "engine did not listen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    unsafe {
        libc::kill(engine.id() as i32, libc::SIGTERM);
    }
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow\n"),
        "{answer}"
    );
    // It stopped listening at once, and exits once the request is done.
    assert!(tokio::net::TcpStream::connect("127.39.0.1:8080")
        .await
        .is_err());
    let status = engine.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_taken_port_is_named_with_the_flag_that_moves_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(OSTIA)
        .args([
            "up",
            "--auth",
            "noauth",
            "--amphora",
            "noop",
            "--health-bind",
            "127.0.0.1:0",
            "--network-bind",
            "127.0.0.1:0",
            "--key-manager-bind",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--api-bind", &addr.to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen for the load-balancer API on {addr} (--api-bind moves it)"
        )),
        "{stderr}"
    );
}

#[test]
fn benchmarks_print_figures_not_logs() {
    let out = Command::new(OSTIA)
        .args(["bench", "api", "--count", "3"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("ostia bench api: 3 load balancers"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("INFO") && !stderr.contains("INFO"),
        "{stdout}\n{stderr}"
    );
}
