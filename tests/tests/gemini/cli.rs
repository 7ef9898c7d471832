//! The real Gemini CLI (`gemini -p`), pinned in tests/clients/gemini, against the
//! gateway and the mock upstream: on a Gemini channel (pass-through) and on an OpenAI
//! channel (conversion). Needs `GEMINI_CLI_BIN`.

use integration_tests::gemini_support::run_gemini_cli;
use integration_tests::mock_upstream::{RecordedRequest, THOUGHT_SIGNATURE};
use integration_tests::provider_support::{world, GEMINI, OPENAI};
use serde_json::json;
use std::time::Duration;

/// The model the CLI is asked for, and the smaller ones it may call on its own (for
/// routing, next-speaker checks, summaries): the test channels serve all of them.
const CLI_MODEL: &str = "gemini-2.5-flash";
const HELPER_MODELS: &[&str] = &[
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-3-flash-preview",
];

fn channel_models() -> Vec<&'static str> {
    let mut m = vec![CLI_MODEL];
    m.extend_from_slice(HELPER_MODELS);
    m
}

fn describe(requests: &[RecordedRequest]) -> String {
    requests
        .iter()
        .map(|r| {
            let body: String = r.body_text().chars().take(4000).collect();
            format!(
                "{} {}?{} {body}",
                r.method,
                r.path,
                r.query.clone().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn cli_against(channel_type: i64, upstream_path: &str) {
    let w = world(channel_type, json!({"models": channel_models()})).await;
    let run = run_gemini_cli(&w.gw.url, &w.key, CLI_MODEL, "say hello to the gateway").await;
    let requests = w.mock.requests();
    let seen = describe(&requests);
    if std::env::var("GEMINI_CLI_DEBUG").is_ok() {
        for r in &requests {
            let mut b = r.json().clone();
            if let Some(o) = b.as_object_mut() {
                o.remove("systemInstruction");
                o.remove("contents");
                o.remove("messages");
            }
            eprintln!("{} {:?} {:?}\n{}", r.path, r.query, r.headers, b);
        }
    }
    assert!(
        run.success && !run.timed_out,
        "the CLI failed:\nstdout: {}\nstderr: {}\nupstream saw:\n{seen}",
        run.stdout,
        run.stderr
    );
    // The mock answers the first turn by calling the first tool the CLI offers; the CLI
    // runs it and sends the result back, which the mock answers with "Tool result: …".
    assert!(
        run.stdout.contains("Tool result: "),
        "stdout: {}\nstderr: {}\nupstream saw:\n{seen}",
        run.stdout,
        run.stderr
    );
    let main: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path.contains(upstream_path))
        .collect();
    assert!(
        main.len() >= 2,
        "no function-call round trip upstream:\n{seen}"
    );
    let first = main[0].json();
    let replay = main[main.len() - 1].json();
    if channel_type == GEMINI {
        // The CLI's own body, thinking settings included, and the signed call replayed.
        assert_eq!(
            first["generationConfig"]["thinkingConfig"]["includeThoughts"], true,
            "{seen}"
        );
        let history = replay["contents"].to_string();
        assert!(history.contains(THOUGHT_SIGNATURE), "{history}");
        assert!(history.contains("functionResponse"), "{history}");
    } else {
        let messages = replay["messages"].as_array().expect("messages");
        let call = messages
            .iter()
            .find_map(|m| m["tool_calls"][0]["id"].as_str())
            .expect("the call replayed");
        assert!(
            messages
                .iter()
                .any(|m| m["role"] == "tool" && m["tool_call_id"] == call),
            "{replay}"
        );
        assert!(first["messages"][0]["role"] == "system", "{first}");
    }
    // Every upstream call is one billed log row for the CLI's key.
    let logs = w
        .wait_for_logs(requests.len(), Duration::from_secs(10))
        .await;
    assert_eq!(logs.len(), requests.len(), "{logs:?}\n{seen}");
    for l in &logs {
        assert_eq!(l["status_code"], 200, "{l}");
        assert_eq!(l["token_id"], w.token_id);
        assert!(l["quota"].as_i64() > Some(0), "{l}");
        assert!(
            channel_models().contains(&l["model_name"].as_str().unwrap_or_default()),
            "{l}"
        );
    }
    assert!(
        logs.iter()
            .any(|l| l["model_name"] == CLI_MODEL && l["is_stream"] == true),
        "{logs:?}"
    );
    w.assert_ledger(integration_tests::v1_support::USER_QUOTA)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GEMINI_CLI_BIN (npm ci in tests/clients/gemini; see .ci/run)"]
async fn gemini_cli_works_through_a_gemini_channel() {
    cli_against(GEMINI, ":streamGenerateContent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GEMINI_CLI_BIN (npm ci in tests/clients/gemini; see .ci/run)"]
async fn gemini_cli_works_through_an_openai_channel() {
    cli_against(OPENAI, "/v1/chat/completions").await;
}
