//! The official openai Python SDK's `client.responses` (needs SDK_PYTHON): create and
//! stream, with a function tool and a tool-output follow-up, over an OpenAI channel
//! (pass-through) and Anthropic and Gemini channels (conversion); every call billed
//! exactly.

use integration_tests::mock_upstream::TOOL_ARGUMENTS;
use integration_tests::provider_support::run_sdk_script;
use integration_tests::provider_support::{model_for, world, ANTHROPIC, GEMINI, OPENAI};
use integration_tests::responses_support::DEFAULT_QUOTA;
use serde_json::{json, Value};
use std::time::Duration;

fn is_tool_result(v: &Value, result: &str) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with("Tool result: ") && s.contains(result))
}

async fn openai_sdk_responses(channel_type: i64) {
    let w = world(channel_type, json!({})).await;
    let model = model_for(channel_type);
    let args = vec![format!("{}/v1", w.gw.url), w.key.clone(), model.to_string()];
    let c = run_sdk_script("openai_responses_sdk.py", args).await;
    let out = format!("{c:?}");
    let tool_args: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap();
    assert_eq!(c["create"]["text"], "Echo: sdk responses é", "{out}");
    assert_eq!(c["create"]["status"], "completed");
    assert_eq!(c["create"]["object"], "response");
    assert_eq!(c["create"]["input_tokens"], 11);
    assert_eq!(c["create"]["output_tokens"], 7);
    assert_eq!(c["create"]["cached_tokens"], 0);
    assert_eq!(c["tools"]["name"], "get_weather", "{out}");
    assert_eq!(c["tools"]["args"], tool_args);
    // Gemini's mock echoes the functionResponse object, the others its text.
    assert!(
        is_tool_result(&c["tools"]["follow_up"], "22C and sunny"),
        "{out}"
    );
    assert_eq!(c["stream"]["text"], "Echo: sdk stream 日本", "{out}");
    assert_eq!(c["stream"]["final_text"], "Echo: sdk stream 日本");
    assert_eq!(c["stream"]["first"], "response.created");
    assert_eq!(c["stream"]["last"], "response.completed");
    assert_eq!(c["stream"]["input_tokens"], 11);
    assert_eq!(c["stream"]["output_tokens"], 7);
    assert_eq!(c["stream_tools"]["name"], "get_weather", "{out}");
    assert_eq!(c["stream_tools"]["streamed_args"], tool_args);
    assert_eq!(c["stream_tools"]["args"], tool_args);
    assert!(
        is_tool_result(&c["stream_tools"]["follow_up"], "18C"),
        "{out}"
    );

    // Six calls, each billed 11 prompt + 7 completion tokens, once.
    let logs = w.wait_for_logs(6, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 6, "{logs:?}");
    for l in &logs {
        assert_eq!(l["endpoint"], "responses", "{l}");
        assert_eq!(l["status_code"], 200, "{l}");
        assert_eq!(
            (l["prompt_tokens"].as_i64(), l["completion_tokens"].as_i64()),
            (Some(11), Some(7)),
            "{l}"
        );
        assert_eq!(l["quota"], DEFAULT_QUOTA, "{l}");
    }
    assert_eq!(logs.iter().filter(|l| l["is_stream"] == true).count(), 3);
    let user = w.user().await;
    assert_eq!(user.used_quota, 6 * DEFAULT_QUOTA);
    assert_eq!(user.request_count, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with `pip install openai`; .ci/run provides it)"]
async fn the_openai_sdk_responses_api_passes_through_an_openai_channel() {
    openai_sdk_responses(OPENAI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with `pip install openai`; .ci/run provides it)"]
async fn the_openai_sdk_responses_api_works_on_an_anthropic_channel() {
    openai_sdk_responses(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with `pip install openai`; .ci/run provides it)"]
async fn the_openai_sdk_responses_api_works_on_a_gemini_channel() {
    openai_sdk_responses(GEMINI).await;
}
