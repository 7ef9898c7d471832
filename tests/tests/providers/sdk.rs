//! The official Python SDKs (needs `SDK_PYTHON`, which `.ci/run` exports; ignored by
//! default): `openai` against Anthropic and Gemini channels, `anthropic` against
//! `/v1/messages` over OpenAI and Anthropic channels.

use integration_tests::mock_upstream::TOOL_ARGUMENTS;
use integration_tests::provider_support::{
    model_for, run_sdk_script, world, ANTHROPIC, GEMINI, OPENAI,
};
use serde_json::{json, Value};

fn tool_args() -> Value {
    serde_json::from_str(TOOL_ARGUMENTS).unwrap()
}

async fn openai_sdk_against(channel_type: i64) {
    integration_tests::needs::sdk_python();
    let w = world(channel_type, json!({})).await;
    let model = model_for(channel_type);
    let args = vec![format!("{}/v1", w.gw.url), w.key.clone(), model.to_string()];
    let c = run_sdk_script("openai_provider_sdk.py", args).await;
    let out = format!("{c:?}");
    assert_eq!(c["chat"]["content"], "Echo: sdk chat é", "{out}");
    assert_eq!(c["chat"]["finish_reason"], "stop");
    assert_eq!(c["chat"]["prompt_tokens"], 11);
    assert_eq!(c["chat"]["completion_tokens"], 7);
    assert_eq!(c["stream"]["content"], "Echo: sdk stream 日本", "{out}");
    assert_eq!(c["stream"]["role"], "assistant");
    assert_eq!(c["stream"]["finish_reason"], "stop");
    assert_eq!(c["stream"]["completion_tokens"], 7);
    assert_eq!(c["tools"]["finish_reason"], "tool_calls", "{out}");
    assert_eq!(c["tools"]["name"], "get_weather");
    assert_eq!(c["tools"]["args"], tool_args());
    assert!(
        c["tools"]["follow_up"]
            .as_str()
            .is_some_and(|s| s.starts_with("Tool result: ")),
        "{out}"
    );
    assert_eq!(c["stream_tools"]["finish_reason"], "tool_calls", "{out}");
    assert_eq!(c["stream_tools"]["count"], 1);
    assert_eq!(c["stream_tools"]["name"], "get_weather");
    assert_eq!(c["stream_tools"]["args"], tool_args());
    let logs = w.wait_for_logs(5, std::time::Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 5);
    assert!(logs.iter().all(|l| l["quota"].as_i64().unwrap() > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON: a venv with the openai and anthropic SDKs (.ci/run sets it)"]
async fn the_openai_sdk_works_against_an_anthropic_channel() {
    openai_sdk_against(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON: a venv with the openai and anthropic SDKs (.ci/run sets it)"]
async fn the_openai_sdk_works_against_a_gemini_channel() {
    openai_sdk_against(GEMINI).await;
}

async fn anthropic_sdk_against(channel_type: i64) {
    integration_tests::needs::sdk_python();
    let w = world(channel_type, json!({})).await;
    let model = model_for(channel_type);
    let args = vec![w.gw.url.clone(), w.key.clone(), model.to_string()];
    let c = run_sdk_script("anthropic_sdk.py", args).await;
    let out = format!("{c:?}");
    assert_eq!(c["create"]["text"], "Echo: sdk messages é", "{out}");
    assert_eq!(c["create"]["stop_reason"], "end_turn");
    assert_eq!(c["create"]["input_tokens"], 11);
    assert_eq!(c["create"]["output_tokens"], 7);
    assert_eq!(c["stream"]["text"], "Echo: sdk stream 日本", "{out}");
    assert_eq!(c["stream"]["stop_reason"], "end_turn");
    assert_eq!(c["stream"]["output_tokens"], 7);
    assert_eq!(c["tools"]["stop_reason"], "tool_use", "{out}");
    assert_eq!(c["tools"]["name"], "get_weather");
    assert_eq!(c["tools"]["input"], tool_args());
    assert!(
        c["tools"]["follow_up"]
            .as_str()
            .is_some_and(|s| s.starts_with("Tool result: ")),
        "{out}"
    );
    assert_eq!(c["stream_tools"]["stop_reason"], "tool_use", "{out}");
    assert_eq!(c["stream_tools"]["name"], "get_weather");
    assert_eq!(c["stream_tools"]["input"], tool_args());
    assert!(c["count_tokens"]["input_tokens"]
        .as_u64()
        .is_some_and(|n| n > 0));
    assert_eq!(c["error"]["raised"], "NotFoundError", "{out}");
    assert_eq!(c["error"]["status"], 404);
    assert_eq!(c["error"]["type"], "not_found_error");
    let logs = w.wait_for_logs(6, std::time::Duration::from_secs(10)).await;
    let billed = logs.iter().filter(|l| l["status_code"] == 200).count();
    assert_eq!(billed, 5, "{logs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON: a venv with the openai and anthropic SDKs (.ci/run sets it)"]
async fn the_anthropic_sdk_works_against_messages_over_an_openai_channel() {
    anthropic_sdk_against(OPENAI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON: a venv with the openai and anthropic SDKs (.ci/run sets it)"]
async fn the_anthropic_sdk_works_against_messages_over_an_anthropic_channel() {
    anthropic_sdk_against(ANTHROPIC).await;
}
