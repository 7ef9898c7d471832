//! The OpenAI Agents SDK's default model (the Responses API) running a tool loop through
//! the gateway, plain and streamed, on an OpenAI channel (pass-through) and an Anthropic
//! channel (conversion). Needs SDK_PYTHON with `openai-agents` installed.

use integration_tests::provider_support::run_sdk_script;
use integration_tests::provider_support::{model_for, world, ANTHROPIC, OPENAI};
use integration_tests::responses_support::DEFAULT_QUOTA;
use serde_json::json;
use std::time::Duration;

async fn agent_tool_loop(channel_type: i64) {
    let w = world(channel_type, json!({})).await;
    let args = vec![
        format!("{}/v1", w.gw.url),
        w.key.clone(),
        model_for(channel_type).to_string(),
    ];
    let c = run_sdk_script("openai_agents_sdk.py", args).await;
    let out = format!("{c:?}");
    let paris = json!([{"city": "Paris", "unit": "celsius"}]);
    for check in ["run", "streamed"] {
        assert_eq!(c[check]["calls"], paris, "the tool ran once: {out}");
        let final_output = c[check]["final"].as_str().unwrap_or_default();
        assert!(
            final_output.starts_with("Tool result: ")
                && final_output.contains("22 degrees celsius in Paris"),
            "{out}"
        );
    }
    assert_eq!(c["run"]["responses"], 2, "{out}");
    let items = c["streamed"]["items"].as_array().unwrap();
    for kind in [
        "tool_call_item",
        "tool_call_output_item",
        "message_output_item",
    ] {
        assert!(items.iter().any(|i| i == kind), "{kind} missing: {out}");
    }
    // Two model calls per run, each billed once.
    let logs = w.wait_for_logs(4, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 4, "{logs:?}");
    assert!(
        logs.iter().all(|l| l["endpoint"] == "responses"
            && l["status_code"] == 200
            && l["quota"] == DEFAULT_QUOTA),
        "{logs:?}"
    );
    assert_eq!(w.user().await.used_quota, 4 * DEFAULT_QUOTA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with `pip install openai-agents`; .ci/run provides it)"]
async fn the_agents_sdk_runs_a_tool_loop_on_an_openai_channel() {
    agent_tool_loop(OPENAI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with `pip install openai-agents`; .ci/run provides it)"]
async fn the_agents_sdk_runs_a_tool_loop_on_an_anthropic_channel() {
    agent_tool_loop(ANTHROPIC).await;
}
