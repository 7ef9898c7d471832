//! The official `openai` Python SDK against the gateway (needs `SDK_PYTHON`, which
//! `.ci/run` exports; skipped with a note otherwise).

use integration_tests::v1_support::{V1World, MODEL};
use serde_json::{json, Value};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_sdk_works_for_chat_streaming_and_embeddings() {
    let Ok(python) = std::env::var("SDK_PYTHON") else {
        println!("skipped: SDK_PYTHON not set");
        return;
    };
    let w = V1World::new().await;
    w.add_channel(
        &w.mock,
        "embed",
        json!({"models": ["text-embedding-3-small"]}),
    )
    .await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/sdk/openai_sdk.py");
    let args = vec![
        script.to_string(),
        format!("{}/v1", w.gw.url),
        w.key.clone(),
        MODEL.to_string(),
        "text-embedding-3-small".to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(args)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .output()
    })
    .await
    .unwrap()
    .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    let checks: HashMap<String, Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .map(|v| (v["check"].as_str().unwrap().to_string(), v))
        .collect();
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
