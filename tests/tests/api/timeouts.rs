//! Slow and broken clients: a request head or body that does not arrive in time gets 408
//! and its connection is closed (signed in or not); malformed requests do not write one
//! ERROR line each to the log.

use integration_tests::gateway_process::GatewayProcess;
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::test_db::fresh_database;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest the gateway may take beyond a 1 s deadline to answer and close.
const SLACK: Duration = Duration::from_secs(4);

async fn slow_gateway() -> TestGateway {
    TestGateway::spawn_with(&[
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("REQUEST_HEADER_TIMEOUT_SECS", "1"),
        ("REQUEST_BODY_TIMEOUT_SECS", "1"),
    ])
    .await
}

/// Writes `bytes`, sends nothing more, and returns what came back before the gateway
/// closed the connection, and when it closed; panics if it stays open for `limit`.
async fn stall_after(port: u16, bytes: &[u8], limit: Duration) -> (String, Duration) {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(bytes).await.expect("write");
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), s.read(&mut buf)).await {
            Err(_) => panic!(
                "connection still open after {limit:?}; got {:?}",
                String::from_utf8_lossy(&out)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

const LOGIN_HEAD: &str = "POST /api/user/login HTTP/1.1\r\nHost: gw\r\n\
    Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_body_that_stops_short_gets_408_and_the_connection_closes() {
    let gw = slow_gateway().await;
    let request = format!("{LOGIN_HEAD}{{\"username\":\"adm");
    let (answer, took) = stall_after(gw.port, request.as_bytes(), SLACK).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""success":false"#), "{answer}");
    assert!(
        took >= Duration::from_millis(900),
        "answered before the deadline: {took:?}"
    );
    // The gateway is fine afterwards.
    gw.admin().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_that_stalls_gets_408_and_the_connection_closes() {
    let gw = slow_gateway().await;
    let request = "POST /api/user/login HTTP/1.1\r\nHost: gw\r\n\
        Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"use\r\n";
    let (answer, _) = stall_after(gw.port, request.as_bytes(), SLACK).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_byte_by_byte_is_cut_at_the_deadline() {
    let gw = slow_gateway().await;
    let mut s = TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect");
    s.write_all(LOGIN_HEAD.as_bytes()).await.expect("head");
    let started = Instant::now();
    let mut answer = Vec::new();
    // One byte every 200 ms never lets the connection go idle, yet the body is late.
    for _ in 0..100 {
        if s.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.ends_with(b"}") {
                break;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < SLACK, "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_that_stops_short_gets_408_and_the_connection_closes() {
    let gw = slow_gateway().await;
    let (answer, _) = stall_after(
        gw.port,
        b"POST /api/user/login HTTP/1.1\r\nHost: gw\r\n",
        SLACK,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_request_head_that_stops_short_on_a_kept_alive_connection_is_closed() {
    let gw = slow_gateway().await;
    let mut s = TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .expect("first request");
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.expect("first answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    // The next head starts and stops: actix runs no timer for it; the gateway's
    // watchdog closes the connection after keep-alive (5 s) + the head timeout (1 s) +
    // 10 s for the end of an answer to reach a slow reader.
    s.write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .expect("half a head");
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after 30 s");
    assert!(
        started.elapsed() >= Duration::from_secs(14),
        "{:?}",
        started.elapsed()
    );
    // Busy connections are not touched: a stream longer than the limit is covered by the
    // /v1 streaming tests, and keep-alive reuse by every other test.
    gw.admin().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_stalled_bodies_are_all_closed_within_the_deadline() {
    let gw = slow_gateway().await;
    let request = format!("{LOGIN_HEAD}{{");
    let stalls = (0..100).map(|_| stall_after(gw.port, request.as_bytes(), SLACK));
    let answers = futures_util::future::join_all(stalls).await;
    for (answer, _) in &answers {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    gw.admin().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_arrives_in_time_is_served() {
    let gw = slow_gateway().await;
    let body = format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let head = format!(
        "POST /api/user/login HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut s = TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect");
    s.write_all(head.as_bytes()).await.expect("head");
    // Half now, half after a pause well inside the deadline.
    let (a, b) = body.split_at(10);
    s.write_all(a.as_bytes()).await.expect("first half");
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.write_all(b.as_bytes()).await.expect("second half");
    let mut out = String::new();
    tokio::time::timeout(SLACK, s.read_to_string(&mut out))
        .await
        .expect("answered")
        .expect("read");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_do_not_write_an_error_line_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _lease) = fresh_database(dir.path()).await;
    let gw = GatewayProcess::start(
        dir.path(),
        &db,
        &[
            ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("REQUEST_HEADER_TIMEOUT_SECS", "1"),
        ],
    );
    let port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let garbage: [&[u8]; 4] = [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n",
        b"POST /api/user/login HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET / HTTP/1.1\r\nHost: gw\r\n", // then silence: a head timeout
    ];
    let sends = (0..40).map(|i| stall_after(port, garbage[i % garbage.len()], SLACK));
    for (answer, _) in futures_util::future::join_all(sends).await {
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    // A well-formed request afterwards: its access line shows the log is being written.
    let health = reqwest::get(format!("{}/health", gw.url))
        .await
        .expect("health");
    assert!(health.status().is_success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = gw.log();
    let errors: Vec<&String> = log.iter().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let summaries = log
        .iter()
        .filter(|l| l.contains("malformed, timed-out or broken HTTP connection"))
        .count();
    assert!(summaries <= 1, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("GET /health")), "{log:#?}");
}
