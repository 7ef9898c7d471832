//! The official google-genai Python SDK against the gateway: on a Gemini channel
//! (pass-through, `v1beta`) and on OpenAI (`v1`) and Anthropic channels (conversion).
//! Needs `SDK_PYTHON` with `google-genai` installed.

use integration_tests::mock_upstream::TOOL_ARGUMENTS;
use integration_tests::provider_support::run_sdk_script;
use integration_tests::provider_support::{
    expected_quota, model_for, world, ANTHROPIC, GEMINI, GEMINI_EMBED, OPENAI,
};
use integration_tests::v1_support::USER_QUOTA;
use serde_json::{json, Value};
use std::time::Duration;

/// Calls that reach the upstream and are billed: generate, stream, two tool turns, two
/// automatic-function-calling turns (the embedding call comes on top when there is one).
const BILLED_CHATS: usize = 6;

async fn sdk_against(channel_type: i64, embed: Option<&str>, version: &str) {
    let model = model_for(channel_type);
    let mut models = vec![model];
    models.extend(embed);
    let w = world(channel_type, json!({"models": models})).await;
    let args = vec![
        w.gw.url.clone(),
        w.key.clone(),
        model.to_string(),
        embed.unwrap_or("-").to_string(),
        version.to_string(),
    ];
    let c = run_sdk_script("google_genai_sdk.py", args).await;
    let out = format!("{c:?}");
    assert_eq!(c["generate"]["text"], "Echo: sdk generate é", "{out}");
    assert_eq!(c["generate"]["finish_reason"], "STOP");
    assert_eq!(c["generate"]["prompt"], 11, "{out}");
    assert_eq!(c["generate"]["candidates"], 7);
    assert_eq!(c["stream"]["text"], "Echo: sdk stream 日本", "{out}");
    assert_eq!(c["stream"]["finish_reason"], "STOP");
    assert_eq!(c["stream"]["candidates"], 7, "{out}");
    assert!(
        c["count_tokens"]["total"].as_u64().is_some_and(|n| n > 0),
        "{out}"
    );
    let tool_args: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap();
    assert_eq!(c["tools"]["name"], "get_weather", "{out}");
    assert_eq!(c["tools"]["args"], tool_args);
    assert!(
        c["tools"]["follow_up"]
            .as_str()
            .is_some_and(|s| s.starts_with("Tool result: ") && s.contains("sunny")),
        "{out}"
    );
    assert_eq!(
        c["auto_tools"]["calls"],
        json!([["Paris", "celsius"]]),
        "{out}"
    );
    assert!(
        c["auto_tools"]["text"]
            .as_str()
            .is_some_and(|s| s.contains("sunny in Paris")),
        "{out}"
    );
    if embed.is_some() {
        assert_eq!(c["embed"]["count"], 2, "{out}");
        assert!(c["embed"]["dims"].as_u64().is_some_and(|n| n > 0));
    }
    let mut names = vec![format!("models/{model}")];
    names.extend(embed.map(|e| format!("models/{e}")));
    assert_eq!(c["models"]["names"], json!(names), "{out}");
    assert_eq!(c["models"]["get"], format!("models/{model}"));
    assert_eq!(c["error"]["code"], 404, "{out}");
    assert_eq!(c["error"]["status"], "NOT_FOUND");
    // Usage billed exactly: every chat call at the mock's 11 + 7 tokens.
    let billed = BILLED_CHATS + usize::from(embed.is_some());
    let logs = w.wait_for_logs(billed + 1, Duration::from_secs(10)).await;
    let ok: Vec<&Value> = logs.iter().filter(|l| l["status_code"] == 200).collect();
    assert_eq!(ok.len(), billed, "{logs:?}");
    for l in ok.iter().filter(|l| l["model_name"] == model) {
        assert_eq!(
            (l["prompt_tokens"].as_u64(), l["completion_tokens"].as_u64()),
            (Some(11), Some(7)),
            "{l}"
        );
        assert_eq!(l["quota"], expected_quota(11, 7), "{l}");
    }
    let streamed = ok.iter().filter(|l| l["is_stream"] == true).count();
    assert_eq!(streamed, 1, "{logs:?}");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with google-genai installed; see .ci/run)"]
async fn google_genai_works_against_a_gemini_channel() {
    sdk_against(GEMINI, Some(GEMINI_EMBED), "v1beta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with google-genai installed; see .ci/run)"]
async fn google_genai_works_against_an_openai_channel() {
    sdk_against(OPENAI, Some("text-embedding-3-small"), "v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON (a Python with google-genai installed; see .ci/run)"]
async fn google_genai_works_against_an_anthropic_channel() {
    sdk_against(ANTHROPIC, None, "v1beta").await;
}
