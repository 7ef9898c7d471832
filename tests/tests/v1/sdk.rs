//! The official `openai` Python SDK against the gateway (needs `SDK_PYTHON`, which
//! `.ci/run` exports; ignored by default).

use integration_tests::provider_support::run_sdk_script;
use integration_tests::v1_support::{V1World, MODEL};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON: a venv with the openai and anthropic SDKs (.ci/run sets it)"]
async fn the_openai_python_sdk_works_for_chat_streaming_and_embeddings() {
    let w = V1World::new().await;
    w.add_channel(
        &w.mock,
        "embed",
        json!({"models": ["text-embedding-3-small"]}),
    )
    .await;
    let args = vec![
        format!("{}/v1", w.gw.url),
        w.key.clone(),
        MODEL.to_string(),
        "text-embedding-3-small".to_string(),
    ];
    let checks = run_sdk_script("openai_sdk.py", args).await;
    let stdout = format!("{checks:?}");
    assert_eq!(checks["chat"]["content"], "Echo: sdk chat", "{stdout}");
    assert_eq!(checks["chat"]["prompt_tokens"], 11);
    assert_eq!(checks["stream"]["content"], "Echo: sdk stream", "{stdout}");
    assert_eq!(checks["stream"]["completion_tokens"], 7);
    assert_eq!(checks["embeddings"]["count"], 2);
    assert_eq!(checks["embeddings"]["dims"], 8);
    assert_eq!(checks["error"]["raised"], "NotFoundError", "{stdout}");
    assert_eq!(checks["error"]["status"], 404);
    let logs = w.logs().await;
    assert_eq!(logs.len(), 4);
}
