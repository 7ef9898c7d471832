//! Helpers for the relay's integration tests: an in-process relay on port 0, a reqwest
//! client that talks to it, raw-tokio upstream servers, and the relay binary as a process.
//! Everything binds and connects on 127.0.0.0/8 only.

pub mod process;
pub mod raw_http;
pub mod upstreams;

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use relay::settings::Settings;
use relay::startup::Application;
use shared::ip_guard::HostAllowList;
use shared::relay_protocol::{HEADER_PROXY_KEY, HEADER_TARGET_URL};

/// The shared key every test relay uses (long enough for the 32-character minimum).
pub const TEST_PROXY_KEY: &str = "relay-test-key-0123456789abcdef-0123456789";

/// Settings for a local test relay: plain http and loopback targets allowed, short but
/// not tight timeouts, port 0.
pub fn test_settings() -> Settings {
    Settings {
        host: "127.0.0.1".parse().expect("loopback"),
        port: 0,
        proxy_key: TEST_PROXY_KEY.to_owned(),
        allowed_hosts: HostAllowList::default(),
        allow_private: true,
        allow_http: true,
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_body_bytes: 32 * 1024 * 1024,
        max_concurrent_streams: 64,
        shutdown_grace: Duration::from_secs(5),
        metrics_token: None,
        otel: Default::default(),
    }
}

/// A relay running inside the test process.
pub struct TestRelay {
    pub addr: SocketAddr,
    handle: ServerHandle,
}

impl TestRelay {
    /// `http://127.0.0.1:<port>/proxy`
    pub fn proxy_url(&self) -> String {
        format!("http://{}/proxy", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request to `/proxy` carrying the right key and `target`.
    pub fn proxied(&self, method: reqwest::Method, target: &str) -> reqwest::RequestBuilder {
        client()
            .request(method, self.proxy_url())
            .header(HEADER_PROXY_KEY, TEST_PROXY_KEY)
            .header(HEADER_TARGET_URL, target)
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Starts a relay with [`test_settings`] adjusted by `adjust`.
pub async fn spawn_relay(adjust: impl FnOnce(&mut Settings)) -> TestRelay {
    let mut settings = test_settings();
    adjust(&mut settings);
    let app = Application::build(settings).expect("relay binds");
    let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestRelay { addr, handle }
}

/// A client that never follows redirects and ignores proxy environment variables.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client")
}

/// 64-bit FNV-1a, enough to compare multi-megabyte bodies without keeping copies.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_update(0xcbf2_9ce4_8422_2325, bytes)
}

/// Continues an FNV-1a hash over another chunk.
pub fn fnv1a_update(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Deterministic, non-repeating-looking test data of `len` bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Polls `check` until it holds or `within` passes; returns whether it held.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
