//! Two replicas on one PostgreSQL database sharing limits through Redis, and a private
//! `redis-server` a test may stop and start again.

use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::mock_upstream::{MockOptions, MockUpstream, MockUsage};
use integration_tests::replica_support::chat_body;
use integration_tests::{needs, test_db};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Pair {
    pub a: TestGateway,
    pub b: TestGateway,
    pub mock: MockUpstream,
    pub jwt: String,
    /// Cost (= reservation) of one `chat_body()` request.
    pub cost: i64,
    /// The replicas' environment, for starting another one later.
    pub vars: Vec<(String, String)>,
}

impl Pair {
    /// A third replica on the same database and Redis prefix, started now.
    pub async fn another(&self) -> TestGateway {
        let vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let gw = TestGateway::spawn_with(&vars).await;
        wait_for_redis(&gw, "ok", Duration::from_secs(10)).await;
        gw
    }
}

/// `REDIS_URL`, or a panic saying how to provide it.
pub fn redis_url() -> String {
    needs::env(
        "REDIS_URL",
        "a Redis server (REDIS_URL=redis://127.0.0.1:6379)",
    )
}

/// Both replicas on a fresh PostgreSQL schema and `redis_url` under a key prefix of their
/// own; returns once both use Redis.
pub async fn pair(redis_url: &str) -> Pair {
    needs::postgres_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = test_db::fresh_database_url(dir.path()).await;
    let prefix = format!("gwtest-{}", uuid::Uuid::new_v4().simple());
    let vars = [
        ("DATABASE_URL", db.as_str()),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("REDIS_URL", redis_url),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let a = TestGateway::spawn_with(&vars).await;
    let parsed = gateway::services::dispatch::request::parse(
        gateway::providers::Endpoint::Chat,
        bytes::Bytes::from(chat_body().to_string()),
    )
    .expect("parse");
    let mock = MockUpstream::start_with(MockOptions {
        usage: Some(MockUsage {
            prompt_tokens: parsed.prompt.estimate(),
            completion_tokens: parsed.completion_reserve,
            ..MockUsage::default()
        }),
        ..MockOptions::default()
    })
    .await;
    let jwt = a.admin().await;
    // Completion ratio 1: cost = prompt + completion = the reservation. Set before b
    // starts, so b reads it at start.
    a.set_options(&jwt, json!({"default_completion_ratio": 1}))
        .await;
    a.create_channel(
        &jwt,
        json!({"name": "mock", "type": 1, "key": "sk-upstream-key-0000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;
    let r = a
        .put("/api/user/1", Some(&jwt), json!({"quota": 1_000_000_000}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = TestGateway::spawn_with(&vars).await;
    let cost = i64::try_from(parsed.prompt.estimate() + parsed.completion_reserve).expect("cost");
    let p = Pair {
        a,
        b,
        mock,
        jwt,
        cost,
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    for gw in [&p.a, &p.b] {
        wait_for_redis(gw, "ok", Duration::from_secs(10)).await;
    }
    p
}

pub async fn health(gw: &TestGateway) -> (StatusCode, Value) {
    let r = gw.get("/health", None).await;
    (r.status, r.body)
}

/// Waits until `/health` reports `redis: want` (always with a 200).
pub async fn wait_for_redis(gw: &TestGateway, want: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let (status, body) = health(gw).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["redis"] == want {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "/health still says {body} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One chat request with `key` to `gw`: (status, body text).
pub async fn chat(gw: &TestGateway, key: &str) -> (StatusCode, String) {
    let r = gw
        .client
        .post(format!("{}/v1/chat/completions", gw.url))
        .bearer_auth(key)
        .json(&chat_body())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("response");
    (r.status(), r.text().await.unwrap_or_default())
}

/// A `redis-server` of the test's own on a free port, killed on drop.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut r = OwnRedis { port, child: None };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
