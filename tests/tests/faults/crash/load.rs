//! The world a crash test kills a gateway in: a user with a balance, a limited key, a slow
//! mock upstream (so requests stay in flight), and a mixed load of streaming and
//! non-streaming chats from concurrent clients, over HTTP against gateway processes.

use integration_tests::gateway_support::ADMIN_PASSWORD;
use integration_tests::mock_upstream::{MockOptions, MockUpstream, MockUsage};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const USER_QUOTA: i64 = 50_000_000;
pub const KEY_QUOTA: i64 = 20_000_000;
const MODEL: &str = "gpt-4o-mini";

/// A mock whose answers take a while: 200 ms before the head, then a stream of 8 deltas
/// 100 ms apart, so a client is in flight most of the time.
pub async fn slow_mock() -> MockUpstream {
    MockUpstream::start_with(MockOptions {
        head_delay: Duration::from_millis(200),
        delay: Duration::from_millis(100),
        chunks: 8,
        usage: Some(MockUsage {
            prompt_tokens: 40,
            completion_tokens: 12,
            ..MockUsage::default()
        }),
        ..MockOptions::default()
    })
    .await
}

/// The user, key and channel a test loads the gateway with.
pub struct Account {
    pub user_id: i64,
    pub token_id: i64,
    pub key: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn call(method: reqwest::Method, url: String, jwt: Option<&str>, body: Value) -> Value {
    let mut req = client().request(method, url).json(&body);
    if let Some(t) = jwt {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn login(gateway: &str, username: &str, password: &str) -> String {
    let body = call(
        reqwest::Method::POST,
        format!("{gateway}/api/user/login"),
        None,
        json!({"username": username, "password": password}),
    )
    .await;
    body["data"]["token"].as_str().expect("token").to_string()
}

/// Through the gateway at `gateway` (started with `INITIAL_ADMIN_PASSWORD`): a user with
/// `USER_QUOTA`, a key limited to `KEY_QUOTA`, a channel to `mock`.
pub async fn open_account(gateway: &str, mock: &MockUpstream) -> Account {
    let root = login(gateway, "admin", ADMIN_PASSWORD).await;
    let post = reqwest::Method::POST;
    call(
        post.clone(),
        format!("{gateway}/api/channel"),
        Some(&root),
        json!({"type": 1, "name": "mock", "key": "sk-upstream", "base_url": mock.url(),
               "models": [MODEL]}),
    )
    .await;
    let user = call(
        post.clone(),
        format!("{gateway}/api/user"),
        Some(&root),
        json!({"username": "crash", "password": "crash-password", "role": 1,
               "quota": USER_QUOTA}),
    )
    .await;
    let user_jwt = login(gateway, "crash", "crash-password").await;
    let key = call(
        post,
        format!("{gateway}/api/token"),
        Some(&user_jwt),
        json!({"name": "crash", "remain_quota": KEY_QUOTA, "unlimited_quota": false}),
    )
    .await;
    Account {
        user_id: user["data"]["id"].as_i64().expect("user id"),
        token_id: key["data"]["id"].as_i64().expect("key id"),
        key: key["data"]["key"].as_str().expect("key").to_string(),
    }
}

/// Clients sending chats back to back until stopped; half of them stream.
pub struct Load {
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

/// What the clients saw.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Requests whose complete answer (a JSON body, or a stream up to `[DONE]`) arrived.
    pub answered: usize,
    /// Requests in flight when the load was stopped.
    pub in_flight_at_stop: usize,
}

impl Load {
    /// `clients` clients, client `i` on `gateways[i % len]`.
    pub fn start(gateways: &[String], key: &str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let clients = (0..clients)
            .map(|i| {
                let url = format!("{}/v1/chat/completions", gateways[i % gateways.len()]);
                let key = key.to_string();
                let (stop, in_flight, answered) =
                    (stop.clone(), in_flight.clone(), answered.clone());
                tokio::spawn(async move {
                    let http = client();
                    let stream = i % 4 < 2;
                    while !stop.load(Ordering::SeqCst) {
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let done = one_chat(&http, &url, &key, stream).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        if done {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            in_flight,
            answered,
            clients,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Complete answers so far.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Stops sending new requests; returns how many were in flight then.
    pub fn stop(&self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.in_flight()
    }

    /// Waits for every client to end (after `stop` and the gateway's fate).
    pub async fn finish(self, in_flight_at_stop: usize) -> LoadReport {
        for c in self.clients {
            c.await.expect("client task");
        }
        LoadReport {
            answered: self.answered.load(Ordering::SeqCst),
            in_flight_at_stop,
        }
    }
}

/// One chat; whether its complete answer arrived.
async fn one_chat(http: &reqwest::Client, url: &str, key: &str, stream: bool) -> bool {
    let mut body = json!({
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "a question asked while the gateway dies"}],
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    let Ok(res) = http.post(url).bearer_auth(key).json(&body).send().await else {
        return false;
    };
    if res.status() != StatusCode::OK {
        return false;
    }
    let Ok(text) = res.text().await else {
        return false;
    };
    if stream {
        text.contains("data: [DONE]")
    } else {
        serde_json::from_str::<Value>(&text).is_ok_and(|v| v["choices"].is_array())
    }
}
