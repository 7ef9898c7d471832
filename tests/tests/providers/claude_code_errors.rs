//! The real Claude Code CLI (needs CLAUDE_BIN and strace) when the upstream fails: a
//! refusal it must show, and a stream that breaks after it started, on an Anthropic
//! channel and, through a model mapping, an OpenAI and a Gemini channel.

use integration_tests::claude_code_support::{claude_world, describe, ClaudeAuth, ClaudeCode};
use integration_tests::mock_upstream::Reply;
use integration_tests::provider_support::{ANTHROPIC, GEMINI, OPENAI};
use integration_tests::v1_support::USER_QUOTA;
use serde_json::Value;
use std::time::Duration;

/// An upstream refusal reaches Claude Code as an Anthropic error it can show (its JSON
/// result carries the status and the upstream's message); nothing is billed.
async fn claude_code_shows_an_upstream_refusal(channel_type: i64) {
    let w = claude_world(channel_type).await;
    let refusal = "the mock refuses this request";
    w.mock.push_reply(Reply::error(400, refusal));
    let run = ClaudeCode::new()
        .run(&w.gw.url, &w.key, ClaudeAuth::ApiKey, "hello")
        .await;
    assert!(!run.timed_out, "{run:?}");
    run.assert_loopback_only();
    let result = run.result();
    assert_eq!(result["is_error"], true, "{result}");
    assert_eq!(result["api_error_status"], 400, "{result}");
    let shown = result["result"].as_str().unwrap_or_default();
    assert!(shown.contains(refusal), "{result}");
    assert_eq!(w.mock.request_count(), 1, "no retry of a 400");
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["status_code"], 400, "{}", logs[0]);
    assert_eq!(logs[0]["quota"], 0, "{}", logs[0]);
    assert_eq!(w.user().await.used_quota, 0);
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_shows_an_upstream_refusal_from_an_anthropic_channel() {
    claude_code_shows_an_upstream_refusal(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_shows_an_upstream_refusal_from_an_openai_channel() {
    claude_code_shows_an_upstream_refusal(OPENAI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_shows_an_upstream_refusal_from_a_gemini_channel() {
    claude_code_shows_an_upstream_refusal(GEMINI).await;
}

/// A stream that fails after it started: the gateway passes the upstream's in-stream
/// error on as Anthropic's `event: error`, and Claude Code either shows it or, depending
/// on what had already streamed, retries (as a non-streaming request when it falls back,
/// which the gateway converts too) and prints the next answer. Either way the failed
/// stream's row names the error and every upstream call is one billed row.
async fn claude_code_survives_a_failed_stream(channel_type: i64) {
    let w = claude_world(channel_type).await;
    w.mock.push_reply(Reply::StreamError { after: 3 });
    let run = ClaudeCode::new()
        .run(&w.gw.url, &w.key, ClaudeAuth::ApiKey, "hello")
        .await;
    let requests = w.mock.requests();
    let seen = describe(&requests);
    assert!(!run.timed_out, "{run:?}\nupstream saw:\n{seen}");
    run.assert_loopback_only();
    let result = run.result();
    let shown = result["result"].as_str().unwrap_or_default();
    if result["is_error"] == true {
        assert!(shown.contains("Overloaded"), "{result}\n{seen}");
        assert_eq!(requests.len(), 1, "{seen}");
    } else {
        // The mock's default answer to the retry calls Claude Code's first tool (Agent)
        // with arguments it rejects; Claude Code reports that back and prints the answer.
        assert!(shown.starts_with("Tool result: "), "{result}\n{seen}");
        assert_eq!(requests.len(), 3, "{seen}");
    }
    println!(
        "Claude Code after a failed stream: {shown:?}, upstream calls streamed: {:?}",
        requests
            .iter()
            .map(|r| r.json()["stream"] == true || r.path.contains(":streamGenerateContent"))
            .collect::<Vec<_>>()
    );
    let logs = w
        .wait_for_logs(requests.len(), Duration::from_secs(10))
        .await;
    assert_eq!(logs.len(), requests.len(), "{logs:?}");
    let failed: Vec<&Value> = logs
        .iter()
        .filter(|l| l["error"].as_str().is_some_and(|e| !e.is_empty()))
        .collect();
    assert_eq!(failed.len(), 1, "{logs:?}");
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Overloaded")),
        "{}",
        failed[0]
    );
    assert_eq!(failed[0]["is_stream"], true, "{}", failed[0]);
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_survives_a_failed_stream_on_an_anthropic_channel() {
    claude_code_survives_a_failed_stream(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_survives_a_failed_stream_on_an_openai_channel() {
    claude_code_survives_a_failed_stream(OPENAI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_survives_a_failed_stream_on_a_gemini_channel() {
    claude_code_survives_a_failed_stream(GEMINI).await;
}
