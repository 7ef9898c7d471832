//! Helpers for the `/v1` tests: a gateway wired to a mock upstream through one channel,
//! with a funded user and an API key, plus an SSE reader that records arrival times.

use crate::gateway_support::{Resp, TestGateway};
use crate::mock_upstream::MockUpstream;
use bytes::Bytes;
use futures_util::StreamExt;
use gateway::store::{Channel, Token, User};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::sse::{SseDecoder, SseEvent, SseFrame};
use std::time::Duration;
use tokio::time::Instant;

/// The model every default channel serves.
pub const MODEL: &str = "gpt-4o-mini";
/// The provider key stored in default channels (the mock checks it).
pub const CHANNEL_KEY: &str = "sk-upstream-channel-key-0123456789";
/// Quota of the default user.
pub const USER_QUOTA: i64 = 100_000_000;

/// A gateway, a mock upstream behind one OpenAI channel, a funded user and a key.
pub struct V1World {
    pub gw: TestGateway,
    pub mock: MockUpstream,
    pub root: String,
    pub user_id: i64,
    pub user_jwt: String,
    pub username: String,
    pub key: String,
    pub token_id: i64,
    pub channel_id: i64,
}

impl V1World {
    /// The default world: unlimited key, user with `USER_QUOTA`.
    pub async fn new() -> Self {
        Self::build(&[], USER_QUOTA, json!({"name": "default-key"})).await
    }

    /// A world with extra gateway environment variables.
    pub async fn with_env(env: &[(&str, &str)]) -> Self {
        Self::build(env, USER_QUOTA, json!({"name": "default-key"})).await
    }

    /// A world whose user has `quota` and whose key is created from `key_body`.
    pub async fn build(env: &[(&str, &str)], quota: i64, key_body: Value) -> Self {
        Self::build_with_channel(env, quota, key_body, json!({})).await
    }

    /// [`V1World::build`] whose "primary" channel has the fields of `channel` over the
    /// defaults of [`channel_body`].
    pub async fn build_with_channel(
        env: &[(&str, &str)],
        quota: i64,
        key_body: Value,
        channel: Value,
    ) -> Self {
        let mut vars = vec![(
            "INITIAL_ADMIN_PASSWORD",
            crate::gateway_support::ADMIN_PASSWORD,
        )];
        vars.extend_from_slice(env);
        let gw = TestGateway::spawn_with(&vars).await;
        let mock = MockUpstream::start().await;
        mock.update_options(|o| o.api_key = Some(CHANNEL_KEY.to_string()));
        let root = gw.admin().await;
        let username = "alice".to_string();
        let (user_id, user_jwt) = gw.create_user(&root, &username, 1, quota).await;
        let (token_id, key) = gw.create_key(&user_jwt, key_body).await;
        let channel_id = gw
            .create_channel(&root, channel_body(&mock, "primary", channel))
            .await;
        V1World {
            gw,
            mock,
            root,
            user_id,
            user_jwt,
            username,
            key,
            token_id,
            channel_id,
        }
    }

    /// Adds an OpenAI channel pointing at `mock` (fields in `extra` override defaults).
    pub async fn add_channel(&self, mock: &MockUpstream, name: &str, extra: Value) -> i64 {
        self.gw
            .create_channel(&self.root, channel_body(mock, name, extra))
            .await
    }

    /// Sets options as root.
    pub async fn set_options(&self, options: Value) {
        self.gw.set_options(&self.root, options).await;
    }

    /// A `/v1` request with this world's key.
    pub async fn v1(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.v1_as(&self.key, method, path, body).await
    }

    /// A `/v1` request with another key.
    pub async fn v1_as(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .gw
            .builder(method, path, None)
            .bearer_auth(key)
            .timeout(Duration::from_secs(60));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.gw.send(req).await
    }

    /// `POST /v1/chat/completions` with this world's key.
    pub async fn chat(&self, body: Value) -> Resp {
        self.v1(Method::POST, "/v1/chat/completions", Some(body))
            .await
    }

    /// Opens a streaming `POST` and returns the reader once the response head arrived.
    pub async fn open_stream(&self, path: &str, body: Value) -> SseReader {
        SseReader::open(
            self.gw
                .builder(Method::POST, path, None)
                .bearer_auth(&self.key)
                .json(&body),
        )
        .await
    }

    /// A streaming `POST` read to its end (at most 60 s).
    pub async fn stream(&self, path: &str, body: Value) -> SseRecording {
        self.open_stream(path, body)
            .await
            .read_to_end(Duration::from_secs(60))
            .await
    }

    /// The user row as stored (no cache).
    /// The user as the API shows it: settlements written, this replica's lease included.
    pub async fn user(&self) -> User {
        let state = &self.gw.state;
        let _steady = state.quota.steady().await;
        let user = state
            .store
            .user_by_id(self.user_id)
            .await
            .expect("db")
            .expect("user exists");
        state.quota.show_user(user)
    }

    /// The key as the API shows it (no cache).
    pub async fn token(&self) -> Token {
        token_row(&self.gw, self.token_id).await
    }

    /// A channel row as stored, once settlements are written.
    pub async fn channel(&self, id: i64) -> Channel {
        self.gw.state.ledger.flush().await;
        self.gw
            .state
            .store
            .channel_by_id(id)
            .await
            .expect("db")
            .expect("channel exists")
    }

    /// Every log row (admin view), newest first.
    pub async fn logs(&self) -> Vec<Value> {
        let r = self
            .gw
            .get("/api/log?page_size=100", Some(&self.root))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.data()["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until at least `n` log rows exist (settlement from a dropped stream is
    /// asynchronous); returns them.
    pub async fn wait_for_logs(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let logs = self.logs().await;
            if logs.len() >= n || Instant::now() >= deadline {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts the ledger adds up for the user and key: quota + used is what the user was
    /// given, the logs sum to used_quota and count to request_count.
    pub async fn assert_ledger(&self, initial_quota: i64) {
        let user = self.user().await;
        let token = self.token().await;
        let logs = self.logs().await;
        let log_quota: i64 = logs
            .iter()
            .map(|l| l["quota"].as_i64().expect("quota"))
            .sum();
        assert_eq!(
            user.quota + user.used_quota,
            initial_quota,
            "user quota {} + used {} != {initial_quota}",
            user.quota,
            user.used_quota
        );
        assert_eq!(log_quota, user.used_quota, "logs do not sum to used_quota");
        assert_eq!(
            logs.len() as i64,
            user.request_count,
            "request_count != log rows"
        );
        let mine: Vec<&Value> = logs
            .iter()
            .filter(|l| l["token_id"] == self.token_id)
            .collect();
        let mine_quota: i64 = mine
            .iter()
            .map(|l| l["quota"].as_i64().expect("quota"))
            .sum();
        assert_eq!(token.used_quota, mine_quota, "key used != its logs");
        assert_eq!(token.request_count, mine.len() as i64, "key request_count");
    }
}

/// A token row as stored.
/// The key as the API shows it: settlements written, this replica's lease included.
pub async fn token_row(gw: &TestGateway, id: i64) -> Token {
    let _steady = gw.state.quota.steady().await;
    let token = gw
        .state
        .store
        .token_by_id(id)
        .await
        .expect("db")
        .expect("token exists");
    gw.state.quota.show_token(token)
}

/// A channel body of type 1 pointing at `mock`, serving `MODEL`, with `extra` merged in.
pub fn channel_body(mock: &MockUpstream, name: &str, extra: Value) -> Value {
    let mut body = json!({
        "type": 1,
        "name": name,
        "key": CHANNEL_KEY,
        "base_url": mock.url(),
        "models": [MODEL],
    });
    merge(&mut body, extra);
    body
}

/// Shallow-merges the fields of `extra` into `base`.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

/// A small chat body for `MODEL` with a predictable reservation (`max_tokens`).
pub fn chat_body(content: &str) -> Value {
    json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 16,
    })
}

/// The same body with `"stream": true`.
pub fn stream_body(content: &str) -> Value {
    let mut b = chat_body(content);
    b["stream"] = json!(true);
    b
}

/// Asserts an OpenAI-shaped error with `status`; returns the `error` object.
pub fn openai_error(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "unexpected status: {}", r.text);
    let e = &r.body["error"];
    assert!(e.is_object(), "not an OpenAI error body: {}", r.text);
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error without message: {}",
        r.text
    );
    assert!(e["type"].is_string(), "error without type: {}", r.text);
    assert!(
        e.get("param").is_some() && e.get("code").is_some(),
        "{}",
        r.text
    );
    assert_request_id(r);
    e.clone()
}

/// Asserts the response carries a non-empty `X-Request-Id`.
pub fn assert_request_id(r: &Resp) {
    let id = r.headers.get("x-request-id").and_then(|v| v.to_str().ok());
    assert!(
        id.is_some_and(|v| !v.is_empty()),
        "missing X-Request-Id: {r:?}"
    );
}

/// Polls `check` until it is true or `timeout` passes; returns the last result.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One SSE frame (event or comment) with the time it was decoded, since the request
/// was sent.
#[derive(Debug, Clone)]
pub struct Timed {
    pub at: Duration,
    pub frame: SseFrame,
}

/// A streaming response being read frame by frame.
pub struct SseReader {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    started: Instant,
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>,
    decoder: SseDecoder,
    queue: std::collections::VecDeque<Timed>,
    raw: Vec<u8>,
    ended: bool,
    error: Option<String>,
}

impl SseReader {
    /// Sends the request and waits for the response head.
    pub async fn open(req: reqwest::RequestBuilder) -> Self {
        let started = Instant::now();
        let res = req.send().await.expect("stream request sent");
        SseReader {
            status: res.status(),
            headers: res.headers().clone(),
            started,
            body: res.bytes_stream().boxed(),
            decoder: SseDecoder::new(),
            queue: Default::default(),
            raw: Vec::new(),
            ended: false,
            error: None,
        }
    }

    /// The next frame, `None` at the end of the body or after `timeout`.
    pub async fn next_frame(&mut self, timeout: Duration) -> Option<Timed> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(f) = self.queue.pop_front() {
                return Some(f);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(None) => {
                    self.ended = true;
                    if let Ok(Some(ev)) = self.decoder.finish() {
                        self.push(SseFrame::Event(ev));
                    }
                }
                Ok(Some(Err(e))) => {
                    self.ended = true;
                    self.error = Some(e.to_string());
                }
                Ok(Some(Ok(chunk))) => {
                    self.raw.extend_from_slice(&chunk);
                    let frames = self.decoder.push_frames(&chunk).expect("valid SSE");
                    for f in frames {
                        self.push(f);
                    }
                }
            }
        }
    }

    /// The next event (comments skipped).
    pub async fn next_event(&mut self, timeout: Duration) -> Option<(Duration, SseEvent)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await? {
                Timed {
                    at,
                    frame: SseFrame::Event(ev),
                } => return Some((at, ev)),
                _ => continue,
            }
        }
    }

    fn push(&mut self, frame: SseFrame) {
        let at = self.started.elapsed();
        self.queue.push_back(Timed { at, frame });
    }

    /// Reads everything (up to `timeout`) into a recording.
    pub async fn read_to_end(mut self, timeout: Duration) -> SseRecording {
        let deadline = Instant::now() + timeout;
        let mut frames = Vec::new();
        while let Some(f) = self
            .next_frame(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            frames.push(f);
        }
        assert!(self.ended, "stream did not end within {timeout:?}");
        SseRecording {
            status: self.status,
            headers: self.headers,
            frames,
            raw: self.raw,
            error: self.error,
        }
    }
}

/// A whole streamed response.
#[derive(Debug)]
pub struct SseRecording {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub frames: Vec<Timed>,
    pub raw: Vec<u8>,
    /// A transport error that ended the body, if any.
    pub error: Option<String>,
}

impl SseRecording {
    /// Events in order (comments left out).
    pub fn events(&self) -> Vec<SseEvent> {
        self.frames
            .iter()
            .filter_map(|t| match &t.frame {
                SseFrame::Event(e) => Some(e.clone()),
                SseFrame::Comment(_) => None,
            })
            .collect()
    }

    /// JSON payloads of the events, `[DONE]` left out.
    pub fn json_events(&self) -> Vec<Value> {
        self.events()
            .iter()
            .filter(|e| !e.is_done())
            .map(|e| serde_json::from_str(&e.data).expect("JSON event"))
            .collect()
    }

    /// Whether the last event is `[DONE]`.
    pub fn ends_with_done(&self) -> bool {
        self.events().last().is_some_and(SseEvent::is_done)
    }

    /// The concatenated `delta.content` (chat) or `text` (legacy) of every chunk.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for v in self.json_events() {
            for c in v["choices"].as_array().into_iter().flatten() {
                if let Some(s) = c["delta"]["content"].as_str() {
                    out.push_str(s);
                }
                if let Some(s) = c["text"].as_str() {
                    out.push_str(s);
                }
            }
        }
        out
    }

    /// Comment lines (keep-alives).
    pub fn comments(&self) -> usize {
        self.frames
            .iter()
            .filter(|t| matches!(t.frame, SseFrame::Comment(_)))
            .count()
    }

    /// Events that carry a non-null `usage`.
    pub fn usage_events(&self) -> Vec<Value> {
        self.json_events()
            .into_iter()
            .filter(|v| v.get("usage").is_some_and(|u| !u.is_null()))
            .collect()
    }

    /// Events that carry an `error` object.
    pub fn error_events(&self) -> Vec<Value> {
        self.json_events()
            .into_iter()
            .filter(|v| v.get("error").is_some_and(Value::is_object))
            .collect()
    }
}
