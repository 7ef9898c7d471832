//! Helpers for the Responses API tests (issue 13): `/v1/responses` calls, stream reading
//! with event-order checks, and runners for the official SDK scripts and the real Codex
//! CLI. The runners panic when their tool is not provided (the tests using them are
//! `#[ignore]`d with a note saying how to provide it).

use crate::gateway_support::Resp;
use crate::v1_support::{SseReader, V1World};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Channel type of an OpenAI-compatible channel.
pub const CUSTOM: i64 = 99;

/// Quota billed for the mock's default usage (11 prompt, 7 completion) at default ratios.
pub const DEFAULT_QUOTA: i64 = 11 + 7 * 3;

/// `POST /v1/responses` (or another path) with the world's key.
pub async fn post(w: &V1World, path: &str, body: Value) -> Resp {
    w.v1(Method::POST, path, Some(body)).await
}

/// `POST /v1/responses`.
pub async fn create(w: &V1World, body: Value) -> Resp {
    post(w, "/v1/responses", body).await
}

/// A streamed `POST /v1/responses` as (event name, payload) pairs; checks that every
/// event's name matches its `type` and that sequence numbers count up from 0.
pub async fn stream(w: &V1World, body: Value) -> Vec<(String, Value)> {
    let req =
        w.gw.builder(Method::POST, "/v1/responses", None)
            .bearer_auth(&w.key)
            .json(&body);
    let rec = SseReader::open(req)
        .await
        .read_to_end(Duration::from_secs(60))
        .await;
    let events: Vec<(String, Value)> = rec
        .events()
        .into_iter()
        .map(|e| {
            let v: Value = serde_json::from_str(&e.data).expect("JSON event");
            let name = e.event.clone().unwrap_or_default();
            assert_eq!(v["type"], name.as_str(), "event name != type: {e:?}");
            (name, v)
        })
        .collect();
    for (i, (_, v)) in events.iter().enumerate() {
        assert_eq!(
            v["sequence_number"], i as u64,
            "sequence numbers: {events:?}"
        );
    }
    events
}

/// The concatenated `response.output_text.delta`s.
pub fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .filter_map(|(_, v)| v["delta"].as_str())
        .collect()
}

/// The `response` of the final `response.completed` event.
pub fn completed(events: &[(String, Value)]) -> Value {
    let (name, last) = events.last().expect("events");
    assert_eq!(name, "response.completed", "{events:?}");
    last["response"].clone()
}

/// The text of a Response object's message items.
pub fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect()
}

/// Asserts the newest log row is a billed `responses` call with the mock's default usage.
pub async fn assert_billed_default(w: &V1World) -> Value {
    let log = crate::provider_support::assert_billed(w, 11, 7).await;
    assert_eq!(log["endpoint"], "responses", "{log}");
    assert_eq!(log["quota"], DEFAULT_QUOTA, "{log}");
    log
}

/// `CODEX_BIN`, or a panic saying how to provide it.
pub fn codex_bin() -> String {
    std::env::var("CODEX_BIN").unwrap_or_else(|_| {
        panic!(
            "CODEX_BIN is not set: run `npm ci` in tests/clients and set \
             CODEX_BIN=$PWD/tests/clients/node_modules/.bin/codex"
        )
    })
}

/// What a `codex exec` run printed.
pub struct CodexRun {
    pub stdout: String,
    pub stderr: String,
}

/// Writes a Codex config pointing at the gateway: only loopback traffic (no analytics,
/// OTEL, update checks or plugins), no retries so failures show at once.
fn write_codex_config(home: &Path, base_url: &str, model: &str) {
    let config = format!(
        r#"model = "{model}"
model_provider = "gw"
check_for_update_on_startup = false
approval_policy = "never"
sandbox_mode = "read-only"

[model_providers.gw]
name = "gateway"
base_url = "{base_url}/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[otel]
exporter = "none"

[features]
plugins = false
"#
    );
    std::fs::write(home.join("config.toml"), config).expect("write codex config");
}

/// Runs `codex exec --skip-git-repo-check PROMPT` (stdin closed) against the world's
/// gateway with its key; panics if Codex does not exit successfully within 3 minutes.
pub async fn run_codex(w: &V1World, model: &str, prompt: &str) -> CodexRun {
    let bin = codex_bin();
    let dir = tempfile::tempdir().expect("tempdir");
    let codex_home = dir.path().join("codex-home");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&codex_home).expect("mkdir");
    std::fs::create_dir_all(&work).expect("mkdir");
    write_codex_config(&codex_home, &w.gw.url, model);
    let out = tokio::process::Command::new(bin)
        .args(["exec", "--skip-git-repo-check", prompt])
        .current_dir(&work)
        .env("CODEX_HOME", &codex_home)
        .env("HOME", dir.path())
        .env("GATEWAY_API_KEY", &w.key)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_LOG", "error")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), out)
        .await
        .expect("codex exec timed out")
        .expect("run codex");
    let run = CodexRun {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if !out.status.success() {
        let bodies: Vec<String> = w.mock.requests().iter().map(|r| r.body_text()).collect();
        panic!(
            "codex exec failed ({}):\nstdout:\n{}\nstderr:\n{}\nupstream requests:\n{}",
            out.status,
            run.stdout,
            run.stderr,
            bodies.join("\n---\n")
        );
    }
    run
}
