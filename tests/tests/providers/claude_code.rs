//! The real Claude Code CLI (`claude -p` on its default model, pinned in tests/clients;
//! needs CLAUDE_BIN and strace) against the gateway and the mock: an Anthropic channel
//! (pass-through) and, through a model mapping, an OpenAI and a Gemini channel
//! (conversion). The mock's first answer calls Claude Code's `Read` tool on a file in its
//! working directory; Claude Code reads it and sends the content back, and the mock's
//! answer to that ("Tool result: …") is what it prints. Every run must stay on loopback.

use integration_tests::claude_code_support::{
    claude_world, describe, expected_quota, read_file_call, upstream_model, ClaudeAuth, ClaudeCode,
    CLAUDE_CODE_MODEL, READ_CALL_ID, THINKING_SIGNATURE,
};
use integration_tests::mock_upstream::RecordedRequest;
use integration_tests::provider_support::{ANTHROPIC, GEMINI, OPENAI};
use integration_tests::v1_support::{CHANNEL_KEY, MODEL, USER_QUOTA};
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "the secret word is pineapple";

async fn claude_code_reads_a_file(channel_type: i64, upstream_path: &str, auth: ClaudeAuth) {
    let mapped = upstream_model(channel_type);
    let w = claude_world(channel_type).await;
    let claude = ClaudeCode::new();
    let note = claude.work().join("note.txt");
    std::fs::write(&note, format!("{SECRET}\n")).expect("write note.txt");
    w.mock.push_reply(read_file_call(channel_type, &note));

    let run = claude
        .run(&w.gw.url, &w.key, auth, "What does note.txt say?")
        .await;
    let requests = w.mock.requests();
    let seen = describe(&requests);
    if let Ok(dir) = std::env::var("CLAUDE_CODE_DUMP") {
        // Debugging aid: every upstream request, as received, one JSON file each.
        for (i, r) in requests.iter().enumerate() {
            let dump = json!({"method": r.method, "path": r.path, "query": r.query,
                              "headers": r.headers, "body": r.json()});
            let file = format!("{dir}/{channel_type}-{i}.json");
            std::fs::write(file, dump.to_string()).expect("write dump");
        }
    }
    assert!(
        run.success && !run.timed_out,
        "claude failed:\nstdout: {}\nstderr: {}\nupstream saw:\n{seen}",
        run.stdout,
        run.stderr
    );
    // The file's content came back through the tool result and the mock's answer.
    let result = run.result();
    let answer = result["result"].as_str().unwrap_or_default();
    assert!(
        answer.starts_with("Tool result: ") && answer.contains(SECRET),
        "{result}\nstderr: {}\nupstream saw:\n{seen}",
        run.stderr
    );
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["num_turns"], 2, "{result}");
    run.assert_loopback_only();

    assert_eq!(requests.len(), 2, "one tool round trip:\n{seen}");
    assert!(
        requests.iter().all(|r| r.path.contains(upstream_path)),
        "{seen}"
    );
    check_first_turn(channel_type, requests[0].json(), &requests[0]);
    check_replay(channel_type, requests[1].json());

    let logs = w.wait_for_logs(2, Duration::from_secs(10)).await;
    if let Ok(dir) = std::env::var("CLAUDE_CODE_DUMP") {
        let file = format!("{dir}/{channel_type}-logs.json");
        std::fs::write(file, json!(logs).to_string()).expect("write dump");
    }
    assert_eq!(logs.len(), 2, "{logs:?}");
    let (mut prompt, mut completion, mut quota) = (0, 0, 0);
    for l in &logs {
        assert_eq!(l["status_code"], 200, "{l}");
        assert_eq!(l["endpoint"], "messages", "{l}");
        assert_eq!(l["is_stream"], true, "{l}");
        assert_eq!(l["token_id"], w.token_id, "{l}");
        assert_eq!(l["channel_id"], w.channel_id, "{l}");
        assert_eq!(l["model_name"], CLAUDE_CODE_MODEL, "{l}");
        assert_eq!(l["upstream_model"], mapped, "{l}");
        let row_prompt = l["prompt_tokens"].as_i64().expect("prompt_tokens");
        let row_completion = l["completion_tokens"].as_i64().expect("completion_tokens");
        // The mock's counts (11 in, 7 out; more out when it also reasons), not estimates.
        assert_eq!(row_prompt, 11, "the upstream's count: {l}");
        assert!(row_completion >= 7, "{l}");
        assert_eq!(
            l["quota"],
            expected_quota(row_prompt, row_completion),
            "{l}"
        );
        prompt += row_prompt;
        completion += row_completion;
        quota += expected_quota(row_prompt, row_completion);
    }
    // What Claude Code counted from the two streams is what was billed, whatever the
    // converted message_start said before the upstream's figures arrived.
    assert_eq!(result["usage"]["input_tokens"], prompt, "{result}");
    assert_eq!(result["usage"]["output_tokens"], completion, "{result}");
    assert_eq!(w.user().await.used_quota, quota);
    w.assert_ledger(USER_QUOTA).await;
}

/// What Claude Code's first request looks like upstream on each channel type.
fn check_first_turn(channel_type: i64, body: &Value, req: &RecordedRequest) {
    let text = body.to_string();
    assert!(text.contains("What does note.txt say?"), "{text}");
    match channel_type {
        ANTHROPIC => {
            // Claude Code's own body and betas go through; the key is the channel's.
            assert_eq!(body["model"], CLAUDE_CODE_MODEL);
            assert_eq!(body["stream"], true);
            assert!(body["thinking"].is_object(), "{text}");
            assert!(body["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .any(|m| m["role"] == "system"));
            // The betas that make the mid-conversation system message and adaptive
            // thinking valid upstream go along with the body.
            let betas = req.header("anthropic-beta").unwrap_or_default();
            for beta in ["claude-code-", "mid-conversation-system-", "effort-"] {
                assert!(betas.contains(beta), "{beta} missing: {betas}");
            }
            assert_eq!(req.header("x-api-key"), Some(CHANNEL_KEY));
            assert!(req.header("authorization").is_none());
        }
        GEMINI => {
            let names = tool_names(&body["tools"][0]["functionDeclarations"], "name");
            assert!(names.contains(&"Read".to_string()), "{names:?}");
            assert!(body["systemInstruction"].is_object(), "{text}");
        }
        _ => {
            assert_eq!(body["model"], MODEL);
            assert_eq!(body["stream"], true);
            let names: Vec<String> = body["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(String::from))
                .collect();
            assert!(names.contains(&"Read".to_string()), "{names:?}");
            assert_eq!(body["messages"][0]["role"], "system", "{text}");
            // OpenAI refuses a `user` over 64 characters; Claude Code's id is ~150.
            let user = body["user"].as_str().unwrap_or_default();
            assert!(!user.is_empty() && user.len() <= 64, "user: {user}");
        }
    }
}

fn tool_names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t[field].as_str().map(String::from))
        .collect()
}

/// The second request replays the call and carries the file's content as its result.
fn check_replay(channel_type: i64, body: &Value) {
    let text = body.to_string();
    assert!(text.contains(SECRET), "the file content goes back: {text}");
    match channel_type {
        ANTHROPIC => {
            let messages = body["messages"].as_array().expect("messages");
            // The signed thinking block goes back first, byte for byte.
            let turn = messages
                .iter()
                .find(|m| m["role"] == "assistant")
                .expect("the assistant turn replayed");
            assert_eq!(turn["content"][0]["type"], "thinking", "{text}");
            assert_eq!(
                turn["content"][0]["signature"], THINKING_SIGNATURE,
                "{text}"
            );
            assert_eq!(turn["content"][1]["id"], READ_CALL_ID, "{text}");
            let result = messages
                .iter()
                .filter_map(|m| m["content"].as_array())
                .flatten()
                .find(|b| b["type"] == "tool_result")
                .expect("a tool_result");
            assert_eq!(result["tool_use_id"], READ_CALL_ID, "{text}");
        }
        GEMINI => {
            let contents = body["contents"].as_array().expect("contents");
            let call = contents
                .iter()
                .filter_map(|c| c["parts"].as_array())
                .flatten()
                .find_map(|p| p.get("functionCall"))
                .expect("the call replayed");
            assert_eq!(call["name"], "Read", "{text}");
            let answered = contents
                .iter()
                .filter_map(|c| c["parts"].as_array())
                .flatten()
                .any(|p| p["functionResponse"]["name"] == "Read");
            assert!(answered, "{text}");
        }
        _ => {
            let messages = body["messages"].as_array().expect("messages");
            assert!(
                messages
                    .iter()
                    .any(|m| m["tool_calls"][0]["id"] == READ_CALL_ID),
                "{text}"
            );
            assert!(
                messages
                    .iter()
                    .any(|m| m["role"] == "tool" && m["tool_call_id"] == READ_CALL_ID),
                "{text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_reads_a_file_through_an_anthropic_channel() {
    claude_code_reads_a_file(ANTHROPIC, "/v1/messages", ClaudeAuth::AuthToken).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_reads_a_file_through_an_openai_channel_by_model_mapping() {
    claude_code_reads_a_file(OPENAI, "/v1/chat/completions", ClaudeAuth::ApiKey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CLAUDE_BIN and strace (npm ci in tests/clients; see .ci/run)"]
async fn claude_code_reads_a_file_through_a_gemini_channel_by_model_mapping() {
    claude_code_reads_a_file(GEMINI, ":streamGenerateContent", ClaudeAuth::AuthToken).await;
}
