//! Helpers for the Gemini-native API tests (issue 14): requests in Google's format with
//! the key where Gemini clients put it, Google-shaped error checks, and runners for the
//! google-genai SDK script and the real Gemini CLI.

use crate::gateway_support::Resp;
use crate::v1_support::V1World;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// How a Gemini client presents its key.
#[derive(Clone, Copy, Debug)]
pub enum GoogKey {
    /// `x-goog-api-key` (Gemini CLI, google-genai).
    Header,
    /// `?key=` in the URL.
    Query,
    /// `Authorization: Bearer`.
    Bearer,
}

/// A request to the gateway with `key` presented as `how`.
pub fn goog_builder(
    w: &V1World,
    method: Method,
    path: &str,
    key: &str,
    how: GoogKey,
) -> reqwest::RequestBuilder {
    let path = match how {
        GoogKey::Query if path.contains('?') => format!("{path}&key={key}"),
        GoogKey::Query => format!("{path}?key={key}"),
        _ => path.to_string(),
    };
    let req =
        w.gw.builder(method, &path, None)
            .timeout(Duration::from_secs(60));
    match how {
        GoogKey::Header => req.header("x-goog-api-key", key),
        GoogKey::Query => req,
        GoogKey::Bearer => req.bearer_auth(key),
    }
}

/// `POST {path}` with the world's key in `x-goog-api-key`.
pub async fn goog_post(w: &V1World, path: &str, body: Value) -> Resp {
    w.gw.send(goog_builder(w, Method::POST, path, &w.key, GoogKey::Header).json(&body))
        .await
}

/// `GET {path}` with the world's key in `x-goog-api-key`.
pub async fn goog_get(w: &V1World, path: &str) -> Resp {
    w.gw.send(goog_builder(w, Method::GET, path, &w.key, GoogKey::Header))
        .await
}

/// `/v1beta/models/{model}:{method}`.
pub fn action(model: &str, method: &str) -> String {
    format!("/v1beta/models/{model}:{method}")
}

/// A one-turn `generateContent` body.
pub fn generate_body(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

/// A function declaration as the google-genai SDK sends it (upper-case types).
pub fn weather_declaration() -> Value {
    json!({"name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "OBJECT",
                          "properties": {"city": {"type": "STRING"},
                                         "unit": {"type": "STRING", "nullable": true}},
                          "required": ["city"]}})
}

/// Asserts a Google-shaped error with `status` and `error.status`; returns the error.
pub fn google_error(r: &Resp, status: u16, name: &str) -> Value {
    assert_eq!(r.status.as_u16(), status, "unexpected status: {}", r.text);
    let e = &r.body["error"];
    assert_eq!(e["code"], status, "not a Google error: {}", r.text);
    assert_eq!(e["status"], name, "{}", r.text);
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.text
    );
    assert!(
        r.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json")),
        "{r:?}"
    );
    e.clone()
}

/// The concatenated non-thought text of Gemini responses.
pub fn gemini_text(responses: &[Value]) -> String {
    responses
        .iter()
        .flat_map(|r| r["candidates"][0]["content"]["parts"].as_array().cloned())
        .flatten()
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect()
}

/// What one run of the Gemini CLI printed.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real Gemini CLI (`GEMINI_CLI_BIN`, which must be set) non-interactively
/// against `base_url` with `key`, in a throw-away HOME with telemetry, usage statistics
/// and update checks off.
pub async fn run_gemini_cli(base_url: &str, key: &str, model: &str, prompt: &str) -> CliRun {
    let bin = crate::needs::env(
        "GEMINI_CLI_BIN",
        "run `npm ci` in tests/clients/gemini and point it at \
         tests/clients/gemini/node_modules/.bin/gemini (see .ci/run)",
    );
    let home = tempfile::tempdir().expect("temp HOME");
    let settings_dir = home.path().join(".gemini");
    std::fs::create_dir_all(&settings_dir).expect("settings dir");
    let settings = json!({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "general": {"disableAutoUpdate": true, "disableUpdateNag": true},
        "ui": {"hideBanner": true, "hideTips": true},
        "usageStatisticsEnabled": false,
    });
    std::fs::write(settings_dir.join("settings.json"), settings.to_string()).expect("settings");
    let workdir = home.path().join("work");
    std::fs::create_dir_all(&workdir).expect("workdir");
    let (base_url, key, model, prompt) = (
        base_url.to_string(),
        key.to_string(),
        model.to_string(),
        prompt.to_string(),
    );
    let home_path: PathBuf = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let stdout_path = home_path.join("stdout.txt");
        let stderr_path = home_path.join("stderr.txt");
        let mut child = std::process::Command::new(bin)
            .args(["-m", &model, "-p", &prompt])
            .current_dir(&workdir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home_path)
            .env("GOOGLE_GEMINI_BASE_URL", &base_url)
            .env("GEMINI_API_KEY", &key)
            .env("GEMINI_CLI_NO_RELAUNCH", "true")
            .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            .spawn()
            .expect("start the Gemini CLI");
        let deadline = std::time::Instant::now() + CLI_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the Gemini CLI") {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        CliRun {
            success: status.is_some_and(|s| s.success()),
            timed_out: status.is_none(),
            stdout: read(&stdout_path),
            stderr: read(&stderr_path),
        }
    })
    .await
    .expect("join");
    drop(home);
    out
}

/// How long one CLI run may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(180);
