//! Helpers for the provider tests (issue 5): worlds whose channel is Anthropic (type 14)
//! or Gemini (type 24), `/v1/messages` requests, billing checks, a tiny image server and
//! a runner for the official-SDK scripts.

use crate::gateway_support::Resp;
use crate::mock_upstream::MockUsage;
use crate::v1_support::{SseReader, SseRecording, V1World, USER_QUOTA};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::sse::SseEvent;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Channel type numbers (new-api's).
pub const OPENAI: i64 = 1;
pub const ANTHROPIC: i64 = 14;
pub const GEMINI: i64 = 24;

/// The model the Anthropic world's channel serves.
pub const CLAUDE: &str = "claude-sonnet-4-5";
/// The model the Gemini world's channel serves.
pub const GEMINI_MODEL: &str = "gemini-2.5-flash";
/// A Gemini embedding model.
pub const GEMINI_EMBED: &str = "text-embedding-004";

/// The model a channel of `channel_type` serves in these tests.
pub fn model_for(channel_type: i64) -> &'static str {
    match channel_type {
        ANTHROPIC => CLAUDE,
        GEMINI => GEMINI_MODEL,
        _ => crate::v1_support::MODEL,
    }
}

/// A world (gateway, mock, funded user, key) whose one channel has `channel_type` and
/// serves [`model_for`] (plus `extra` fields, e.g. more models or a mapping).
pub async fn world(channel_type: i64, extra: Value) -> V1World {
    world_with_env(channel_type, extra, &[]).await
}

/// [`world`] with extra gateway environment variables.
pub async fn world_with_env(channel_type: i64, extra: Value, env: &[(&str, &str)]) -> V1World {
    world_with_quota(channel_type, extra, env, USER_QUOTA).await
}

/// [`world`] whose user has `quota`.
pub async fn world_with_quota(
    channel_type: i64,
    extra: Value,
    env: &[(&str, &str)],
    quota: i64,
) -> V1World {
    let mut fields = json!({"type": channel_type, "models": [model_for(channel_type)]});
    crate::v1_support::merge(&mut fields, extra);
    V1World::build_with_channel(env, quota, json!({"name": "default-key"}), fields).await
}

/// Usage with cache numbers, to see them survive conversions.
pub fn cache_usage() -> MockUsage {
    MockUsage {
        prompt_tokens: 20,
        completion_tokens: 9,
        cache_read_tokens: 5,
        cache_creation_tokens: 3,
    }
}

/// Quota by the default ratios: `ceil(prompt + completion × 3)`.
pub fn expected_quota(prompt: u64, completion: u64) -> i64 {
    (prompt + completion * 3) as i64
}

/// Asserts the newest log row's tokens and quota (waiting up to 10 s for it, as logs
/// may be written in batches); returns it.
pub async fn assert_billed(w: &V1World, prompt: u64, completion: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let newest = w.logs().await.first().cloned();
        let matches = newest
            .as_ref()
            .is_some_and(|l| l["prompt_tokens"] == prompt && l["completion_tokens"] == completion);
        if matches || tokio::time::Instant::now() >= deadline {
            break newest.expect("a log row");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(log["prompt_tokens"], prompt, "prompt tokens: {log}");
    assert_eq!(
        log["completion_tokens"], completion,
        "completion tokens: {log}"
    );
    let quota = expected_quota(prompt, completion);
    assert!(quota > 0);
    assert_eq!(log["quota"], quota, "quota: {log}");
    assert_eq!(log["status_code"], 200, "{log}");
    log
}

/// How a `/v1/messages` client presents its key.
#[derive(Clone, Copy, Debug)]
pub enum KeyIn {
    XApiKey,
    Bearer,
}

/// A `/v1/messages` request builder with `key`.
pub fn messages_builder(
    w: &V1World,
    path: &str,
    key: &str,
    key_in: KeyIn,
) -> reqwest::RequestBuilder {
    let req =
        w.gw.builder(Method::POST, path, None)
            .header("anthropic-version", "2023-06-01")
            .timeout(Duration::from_secs(60));
    match key_in {
        KeyIn::XApiKey => req.header("x-api-key", key),
        KeyIn::Bearer => req.bearer_auth(key),
    }
}

/// `POST /v1/messages` with the world's key in `x-api-key`.
pub async fn messages(w: &V1World, body: Value) -> Resp {
    w.gw.send(messages_builder(w, "/v1/messages", &w.key, KeyIn::XApiKey).json(&body))
        .await
}

/// A streamed `POST /v1/messages`, read to the end.
pub async fn messages_stream(w: &V1World, body: Value) -> SseRecording {
    let req = messages_builder(w, "/v1/messages", &w.key, KeyIn::XApiKey).json(&body);
    SseReader::open(req)
        .await
        .read_to_end(Duration::from_secs(60))
        .await
}

/// A small Anthropic Messages body.
pub fn anthropic_body(model: &str, text: &str) -> Value {
    json!({"model": model, "max_tokens": 64,
           "messages": [{"role": "user", "content": text}]})
}

/// Asserts an Anthropic-shaped error with `status` and `error.type`; returns the error.
pub fn anthropic_error(r: &Resp, status: u16, kind: &str) -> Value {
    assert_eq!(r.status.as_u16(), status, "unexpected status: {}", r.text);
    assert_eq!(
        r.body["type"], "error",
        "not an Anthropic error: {}",
        r.text
    );
    let e = &r.body["error"];
    assert_eq!(e["type"], kind, "{}", r.text);
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.text
    );
    e.clone()
}

/// Event names and parsed payloads of an Anthropic-format stream.
pub fn anthropic_events(rec: &SseRecording) -> Vec<(String, Value)> {
    rec.events()
        .iter()
        .map(|e: &SseEvent| {
            let data: Value = serde_json::from_str(&e.data).expect("JSON event");
            let name = e.event.clone().unwrap_or_default();
            assert_eq!(data["type"], name.as_str(), "event name != type: {e:?}");
            (name, data)
        })
        .collect()
}

/// The concatenated text deltas of an Anthropic-format stream.
pub fn anthropic_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(n, d)| n == "content_block_delta" && d["delta"]["type"] == "text_delta")
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect()
}

/// Event names with consecutive `content_block_delta`s and `ping`s collapsed, for
/// asserting the order of a stream.
pub fn event_outline(events: &[(String, Value)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in events {
        if name == "ping" || (name == "content_block_delta" && out.last() == Some(name)) {
            continue;
        }
        out.push(name.clone());
    }
    out
}

/// A 1×1 PNG.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A tiny HTTP server answering every request with [`PNG_1X1`] as `image/png`.
pub struct ImageServer {
    pub url: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ImageServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind image server");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        PNG_1X1.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(PNG_1X1).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        ImageServer {
            url: format!("http://{addr}/cat.png"),
            hits,
            task,
        }
    }

    /// Requests served so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `tests/sdk/{script}` with `SDK_PYTHON` and the given arguments; returns its
/// JSON-line checks by name. Panics when `SDK_PYTHON` is not set, the script fails or it
/// runs past three minutes. Provider keys and proxy settings of the caller's environment
/// are removed, so a script can only reach the gateway it is given.
pub async fn run_sdk_script(script: &str, args: Vec<String>) -> HashMap<String, Value> {
    let python = crate::needs::sdk_python();
    let path = format!("{}/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(&path)
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("OPENAI_AGENTS_DISABLE_TRACING", "1")
        .kill_on_drop(true);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("SDK script timed out")
        .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK script {script} failed:\n{stdout}\n{stderr}"
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .map(|v| (v["check"].as_str().expect("check").to_string(), v))
        .collect()
}

/// Asserts a `/v1` status (with the body in the message).
pub fn assert_status(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text);
}
