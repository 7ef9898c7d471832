//! Every dialect gets the same call span: Messages, Responses, Gemini-native and the
//! OpenAI embeddings endpoint.

use crate::support::*;
use integration_tests::v1_support::MODEL;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_gets_a_call_span_with_its_operation() {
    let (rx, w) = traced_world(&[]).await;
    let cases = [
        (
            "/v1/messages",
            json!({"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi messages"}]}),
            "chat",
            "messages",
        ),
        (
            "/v1/responses",
            json!({"model": MODEL, "input": "hi responses", "max_output_tokens": 16}),
            "chat",
            "responses",
        ),
        (
            &format!("/v1beta/models/{MODEL}:generateContent") as &str,
            json!({"contents": [{"role": "user", "parts": [{"text": "hi gemini"}]}]}),
            "generate_content",
            "gemini",
        ),
        (
            "/v1/embeddings",
            json!({"model": MODEL, "input": "hi embeddings"}),
            "embeddings",
            "embeddings",
        ),
    ];
    for (path, body, operation, endpoint) in cases {
        let trace = trace_id();
        let r = w.gw.send(traced_request(&w, path, &trace, &body)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let (call, tries) = call_spans(&rx, &trace, 1).await;
        assert_eq!(call.str("gen_ai.operation.name"), Some(operation), "{path}");
        assert_eq!(call.str("gateway.endpoint"), Some(endpoint), "{path}");
        assert_eq!(call.str("gen_ai.request.model"), Some(MODEL), "{path}");
        assert!(
            call.int("gen_ai.usage.input_tokens") > Some(0),
            "{path}: {call:#?}"
        );
        assert_eq!(tries[0].str("gen_ai.operation.name"), Some(operation));
        assert_upstream_parent(
            &w.mock.last_request().expect("upstream call"),
            &trace,
            &tries[0],
        );
    }
    assert_not_exported(
        &rx,
        &["hi messages", "hi responses", "hi gemini", "hi embeddings"],
    );
}
