//! OpenAI and Azure OpenAI wire formats.

use futures_util::StreamExt;
use integration_tests::mock_upstream::{MockOptions, MockUpstream, TOOL_ARGUMENTS};
use serde_json::{json, Value};

use super::{chat, events, json_of, openai_text, post, TEXT};

#[tokio::test(flavor = "multi_thread")]
async fn openai_chat_echoes_the_last_user_message_with_usage() {
    let mock = MockUpstream::start().await;
    let body: Value = post(&mock, "/v1/chat/completions", &chat(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        format!("Echo: {TEXT}")
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 11);
    assert_eq!(body["usage"]["total_tokens"], 18);
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_stream_has_role_content_finish_usage_and_done() {
    let mock = MockUpstream::start().await;
    let response = post(&mock, "/v1/chat/completions", &chat(true)).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (events, broken) = events(response).await;
    assert!(!broken);
    assert!(events.last().unwrap().is_done());
    let chunks = json_of(&events);
    // role + 4 content + finish + usage
    assert_eq!(chunks.len(), 7);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(openai_text(&chunks), format!("Echo: {TEXT}"));
    assert_eq!(chunks[5]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[6]["choices"], json!([]));
    assert_eq!(chunks[6]["usage"]["completion_tokens"], 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn tiny_writes_split_mid_utf8_still_decode_to_the_same_stream() {
    let mock = MockUpstream::start().await;
    for size in [1, 3, 7] {
        mock.update_options(|o| o.chunk_bytes = Some(size));
        let response = post(&mock, "/v1/chat/completions", &chat(true)).await;
        let (events, broken) = events(response).await;
        assert!(!broken, "size {size}");
        assert_eq!(
            openai_text(&json_of(&events)),
            format!("Echo: {TEXT}"),
            "size {size}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_write_of_chunk_bytes_arrives_as_its_own_piece() {
    let mock = MockUpstream::start_with(MockOptions {
        chunk_bytes: Some(5),
        ..MockOptions::default()
    })
    .await;
    let response = post(&mock, "/v1/chat/completions", &chat(true)).await;
    let pieces: Vec<_> = response.bytes_stream().map(|b| b.unwrap()).collect().await;
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    assert!(pieces.iter().all(|p| p.len() <= 5));
    assert_eq!(pieces.len(), total.div_ceil(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_can_be_left_out_and_chunk_count_changed() {
    let mock = MockUpstream::start_with(MockOptions {
        usage: None,
        chunks: 2,
        ..MockOptions::default()
    })
    .await;
    let (events, _) = events(post(&mock, "/v1/chat/completions", &chat(true)).await).await;
    let chunks = json_of(&events);
    assert_eq!(chunks.len(), 4);
    assert!(chunks.iter().all(|c| c["usage"].is_null()));
    let body: Value = post(&mock, "/v1/chat/completions", &chat(false))
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("usage").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_in_the_request_produce_a_call_to_the_first_tool() {
    let mock = MockUpstream::start().await;
    let mut request = chat(false);
    request["tools"] = json!([{"type": "function", "function": {"name": "get_weather"}}]);
    let body: Value = post(&mock, "/v1/chat/completions", &request)
        .await
        .json()
        .await
        .unwrap();
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], TOOL_ARGUMENTS);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");

    request["stream"] = json!(true);
    let (events, _) = events(post(&mock, "/v1/chat/completions", &request).await).await;
    let arguments: String = json_of(&events)
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, TOOL_ARGUMENTS);

    // A tool result is answered with text, not another call.
    request["stream"] = json!(false);
    request["messages"] = json!([{"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "x", "content": "sunny"}]);
    let body: Value = post(&mock, "/v1/chat/completions", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Tool result: sunny"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_embeddings_and_models_are_served() {
    let mock = MockUpstream::start().await;
    let request = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "abc"});
    let body: Value = post(&mock, "/v1/completions", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["text"], "Echo: abc");

    let request = json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 4});
    let body: Value = post(&mock, "/v1/embeddings", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][1]["embedding"].as_array().unwrap().len(), 4);
    assert_eq!(body["usage"]["prompt_tokens"], 11);
    let again: Value = post(&mock, "/v1/embeddings", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["data"], body["data"]);

    let request = json!({"model": "m", "input": "a", "encoding_format": "base64"});
    let body: Value = post(&mock, "/v1/embeddings", &request)
        .await
        .json()
        .await
        .unwrap();
    assert!(body["data"][0]["embedding"].is_string());

    let models: Value = reqwest::get(format!("{}/v1/models", mock.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "gpt-4o-mini");
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_routes_by_deployment_and_needs_api_version() {
    let mock = MockUpstream::start_with(MockOptions {
        api_key: Some("azure-key".into()),
        ..MockOptions::default()
    })
    .await;
    let client = reqwest::Client::new();
    let url = format!("{}/openai/deployments/gpt-4o/chat/completions", mock.url());
    let response = client
        .post(format!("{url}?api-version=2024-10-21"))
        .header("api-key", "azure-key")
        .json(&chat(true))
        .send()
        .await
        .unwrap();
    let (events, _) = events(response).await;
    let chunks = json_of(&events);
    // Azure's content-filter chunk comes first, with no choices.
    assert_eq!(chunks[0]["choices"], json!([]));
    assert_eq!(chunks[1]["model"], "gpt-4o");
    assert_eq!(openai_text(&chunks), format!("Echo: {TEXT}"));

    let no_version = client
        .post(&url)
        .header("api-key", "azure-key")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 400);
    let wrong_key = client
        .post(format!("{url}?api-version=1"))
        .header("api-key", "nope")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
    let body: Value = wrong_key.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
}
