//! The real Codex CLI (`codex exec`, from tests/clients' lockfile; needs CODEX_BIN)
//! against the gateway and the mock, on an OpenAI channel (pass-through) and an Anthropic
//! channel (conversion). The mock answers Codex's first turn with a call to its first
//! tool (`exec_command`, with arguments it cannot use), so every run is a tool loop:
//! Codex sends the tool's output back and prints the mock's answer to it.

use integration_tests::provider_support::{model_for, world, ANTHROPIC, OPENAI};
use integration_tests::responses_support::{run_codex, DEFAULT_QUOTA};
use serde_json::{json, Value};
use std::time::Duration;

async fn codex_tool_loop(channel_type: i64, upstream_path: &str) {
    let w = world(channel_type, json!({})).await;
    let run = run_codex(
        &w,
        model_for(channel_type),
        "Say hello from the gateway test",
    )
    .await;
    assert!(
        run.stdout.contains("Tool result: "),
        "codex did not print the final answer:\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let requests = w.mock.requests();
    println!(
        "codex printed:\n{}\nupstream calls: {}",
        run.stdout,
        requests.len()
    );
    assert!(requests.len() >= 2, "a tool loop needs two model calls");
    assert!(
        requests.iter().all(|r| r.path == upstream_path),
        "{:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let first = requests[0].json();
    let prompt_seen = first
        .to_string()
        .contains("Say hello from the gateway test");
    assert!(
        prompt_seen,
        "the prompt did not reach the upstream: {first}"
    );
    if channel_type == OPENAI {
        // What Codex sends passes through untouched.
        assert_eq!(first["store"], false);
        assert_eq!(first["stream"], true);
        assert!(first["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "namespace"));
        let second = requests[1].json();
        let outputs = second["input"].as_array().unwrap();
        assert!(
            outputs.iter().any(|i| i["type"] == "function_call_output"),
            "{second}"
        );
        assert!(
            outputs
                .iter()
                .any(|i| i["type"] == "reasoning" && i["encrypted_content"].is_string()),
            "reasoning state goes back: {second}"
        );
    } else {
        let names: Vec<&str> = first["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert!(names.contains(&"exec_command"), "{names:?}");
        assert!(
            names.iter().any(|n| n.starts_with("multi_agent_v1__")),
            "namespace flattened: {names:?}"
        );
        let second = requests[1].json();
        let results = second.to_string().contains("tool_result");
        assert!(
            results,
            "the tool output goes back as a tool_result: {second}"
        );
    }
    let logs = w
        .wait_for_logs(requests.len(), Duration::from_secs(10))
        .await;
    let rows: Vec<&Value> = logs
        .iter()
        .filter(|l| l["endpoint"] == "responses")
        .collect();
    assert_eq!(rows.len(), requests.len(), "{logs:?}");
    for l in rows {
        assert_eq!(l["status_code"], 200, "{l}");
        assert_eq!(l["is_stream"], true, "{l}");
        assert_eq!(l["channel_id"], w.channel_id, "{l}");
        assert_eq!(l["quota"], DEFAULT_QUOTA, "{l}");
    }
    if channel_type == ANTHROPIC {
        let warned = logs.iter().any(|l| {
            l["warnings"]
                .as_str()
                .is_some_and(|s| s.contains("web_search"))
        });
        assert!(
            warned,
            "the dropped web_search tool is named in the log: {logs:?}"
        );
    }
    assert_eq!(
        w.user().await.used_quota,
        requests.len() as i64 * DEFAULT_QUOTA
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CODEX_BIN (npm ci in tests/clients; CODEX_BIN=tests/clients/node_modules/.bin/codex)"]
async fn codex_exec_runs_a_tool_loop_through_an_openai_channel() {
    codex_tool_loop(OPENAI, "/v1/responses").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CODEX_BIN (npm ci in tests/clients; CODEX_BIN=tests/clients/node_modules/.bin/codex)"]
async fn codex_exec_runs_a_tool_loop_through_an_anthropic_channel() {
    codex_tool_loop(ANTHROPIC, "/v1/messages").await;
}
