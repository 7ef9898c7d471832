//! Anthropic and Gemini wire formats, and fixture replay.

use integration_tests::mock_upstream::{MockOptions, MockUpstream, Reply, TOOL_ARGUMENTS};
use serde_json::{json, Value};

use super::{events, post, TEXT};

fn anthropic_request(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
           "system": "be brief",
           "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
           "messages": [{"role": "user", "content": [{"type": "text", "text": TEXT}]}]})
}

fn gemini_request() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": TEXT}]}],
           "tools": [{"functionDeclarations": [{"name": "get_weather"}]}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_message_has_text_tool_use_and_usage() {
    let mock = MockUpstream::start().await;
    let body: Value = post(&mock, "/v1/messages", &anthropic_request(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0]["text"], format!("Echo: {TEXT}"));
    assert_eq!(body["content"][1]["type"], "tool_use");
    assert_eq!(body["content"][1]["name"], "get_weather");
    assert_eq!(body["content"][1]["input"]["city"], "Paris");
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(body["usage"]["input_tokens"], 11);
    assert_eq!(body["usage"]["cache_read_input_tokens"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_stream_follows_the_documented_event_order() {
    let mock = MockUpstream::start().await;
    mock.update_options(|o| o.chunk_bytes = Some(3));
    let (events, broken) =
        events(post(&mock, "/v1/messages", &anthropic_request(true)).await).await;
    assert!(!broken);
    let names: Vec<&str> = events.iter().map(|e| e.event_name()).collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(["content_block_delta"; 4]);
    expected.extend(["content_block_stop", "content_block_start"]);
    expected.extend(["content_block_delta"; 2]);
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    let data: Vec<Value> = events.iter().map(|e| e.json().unwrap()).collect();
    assert!(data.iter().zip(&names).all(|(d, n)| d["type"] == *n));
    let text: String = data
        .iter()
        .filter_map(|d| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, format!("Echo: {TEXT}"));
    let json: String = data
        .iter()
        .filter_map(|d| d["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(json, TOOL_ARGUMENTS);
    assert_eq!(data[0]["message"]["usage"]["input_tokens"], 11);
    assert_eq!(data[12]["usage"]["output_tokens"], 7);
    assert_eq!(data[12]["delta"]["stop_reason"], "tool_use");
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_requires_its_version_header_and_key() {
    let mock = MockUpstream::start_with(MockOptions {
        api_key: Some("ant-key".into()),
        ..MockOptions::default()
    })
    .await;
    let url = format!("{}/v1/messages", mock.url());
    let client = reqwest::Client::new();
    let request = anthropic_request(false);
    let no_key = client.post(&url).json(&request).send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    let body: Value = no_key.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    let no_version = client.post(&url).header("x-api-key", "ant-key");
    let no_version = no_version.json(&request).send().await.unwrap();
    assert_eq!(no_version.status(), 400);
    let ok = client.post(&url).header("x-api-key", "ant-key");
    let ok = ok.header("anthropic-version", "2023-06-01");
    assert_eq!(ok.json(&request).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_generate_content_returns_text_function_call_and_usage() {
    let mock = MockUpstream::start().await;
    let path = "/v1beta/models/gemini-2.0-flash:generateContent";
    let body: Value = post(&mock, path, &gemini_request())
        .await
        .json()
        .await
        .unwrap();
    let parts = &body["candidates"][0]["content"]["parts"];
    assert_eq!(parts[0]["text"], format!("Echo: {TEXT}"));
    assert_eq!(parts[1]["functionCall"]["name"], "get_weather");
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    assert_eq!(body["usageMetadata"]["totalTokenCount"], 18);
    assert_eq!(body["modelVersion"], "gemini-2.0-flash");
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_stream_is_crlf_sse_with_cumulative_usage() {
    let mock = MockUpstream::start_with(MockOptions {
        chunk_bytes: Some(1),
        ..MockOptions::default()
    })
    .await;
    let path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=g-key";
    let (events, broken) = events(post(&mock, path, &gemini_request()).await).await;
    assert!(!broken);
    let chunks: Vec<Value> = events.iter().map(|e| e.json().unwrap()).collect();
    assert_eq!(chunks.len(), 5);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, format!("Echo: {TEXT}"));
    let last = &chunks[4];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(last["candidates"][0]["content"]["parts"][0]["functionCall"].is_object());
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 7);
    assert_eq!(
        mock.last_request().unwrap().query_param("key"),
        Some("g-key")
    );

    // Without alt=sse Gemini streams one JSON array.
    let path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent";
    let body: Value = post(&mock, path, &gemini_request())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body.as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_batch_embeddings_are_deterministic() {
    let mock = MockUpstream::start().await;
    let path = "/v1beta/models/text-embedding-004:batchEmbedContents";
    let request = json!({"requests": [
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]},
         "outputDimensionality": 3}]});
    let body: Value = post(&mock, path, &request).await.json().await.unwrap();
    assert_eq!(body["embeddings"][0]["values"].as_array().unwrap().len(), 8);
    assert_eq!(body["embeddings"][1]["values"].as_array().unwrap().len(), 3);
    let again: Value = post(&mock, path, &request).await.json().await.unwrap();
    assert_eq!(again, body);
}

#[tokio::test(flavor = "multi_thread")]
async fn fixtures_replay_byte_for_byte_decodable_streams() {
    let mock = MockUpstream::start().await;
    mock.update_options(|o| o.chunk_bytes = Some(7));
    mock.push_reply(Reply::fixture("anthropic/stream_tool_use.sse"));
    mock.push_reply(Reply::fixture("gemini/stream_function_call.sse"));
    mock.push_reply(Reply::fixture("openai/stream_parallel_tool_calls.sse"));
    mock.push_reply(Reply::Fixture {
        path: "openai/error_insufficient_quota.json".into(),
        status: 429,
    });
    let (got, _) = events(post(&mock, "/v1/messages", &json!({})).await).await;
    assert_eq!(got.len(), 13);
    assert_eq!(got.last().unwrap().event_name(), "message_stop");
    let (got, _) =
        events(post(&mock, "/v1beta/models/g:streamGenerateContent", &json!({})).await).await;
    assert_eq!(got.len(), 3);
    let (got, _) = events(post(&mock, "/v1/chat/completions", &json!({})).await).await;
    assert_eq!(got.len(), 9);
    assert!(got[8].is_done());
    let response = post(&mock, "/v1/chat/completions", &json!({})).await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_quota");
}
