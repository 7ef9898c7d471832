//! Streaming from Anthropic and Gemini channels to OpenAI clients, with the upstream's
//! bytes cut at awkward places (1, 3 and 7 bytes, mid-UTF-8).

use integration_tests::mock_upstream::TOOL_ARGUMENTS;
use integration_tests::provider_support::{
    assert_billed, model_for, world, ANTHROPIC, CLAUDE, GEMINI,
};
use integration_tests::v1_support::{SseRecording, V1World};
use serde_json::{json, Value};

const TEXT: &str = "héllo wörld, 日本語 🎉!";

fn body(model: &str, text: &str, wants_usage: bool) -> Value {
    let mut b = json!({"model": model, "stream": true,
                       "messages": [{"role": "user", "content": text}]});
    if wants_usage {
        b["stream_options"] = json!({"include_usage": true});
    }
    b
}

/// Asserts the OpenAI chunk stream shape; returns the chunks.
fn assert_openai_stream(rec: &SseRecording, model: &str, finish: &str, usage: bool) -> Vec<Value> {
    assert_eq!(rec.status, 200, "{}", String::from_utf8_lossy(&rec.raw));
    let ct = rec.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert!(rec.ends_with_done(), "no [DONE]");
    assert!(
        rec.error_events().is_empty(),
        "error events in a good stream"
    );
    let chunks = rec.json_events();
    assert!(!chunks.is_empty());
    let id = &chunks[0]["id"];
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk", "{c}");
        assert_eq!(&c["id"], id, "one id per stream");
        assert_eq!(c["model"], model);
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["role"], "assistant",
        "role chunk first: {}",
        chunks[0]
    );
    let finishes: Vec<(usize, &Value)> = chunks
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c["choices"][0]["finish_reason"]
                .as_str()
                .map(|_| (i, &c["choices"][0]["finish_reason"]))
        })
        .collect();
    assert_eq!(finishes.len(), 1, "one finish_reason: {chunks:?}");
    assert_eq!(finishes[0].1, finish);
    let last_delta = chunks
        .iter()
        .rposition(|c| {
            let d = &c["choices"][0]["delta"];
            d["content"].as_str().is_some_and(|s| !s.is_empty()) || d.get("tool_calls").is_some()
        })
        .expect("some delta");
    assert!(last_delta <= finishes[0].0, "content after finish_reason");
    let usage_events = rec.usage_events();
    if usage {
        assert_eq!(usage_events.len(), 1, "one usage chunk");
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"], json!([]), "usage chunk comes last: {last}");
        assert_eq!(last["usage"]["prompt_tokens"], 11);
        assert_eq!(last["usage"]["completion_tokens"], 7);
        assert_eq!(last["usage"]["total_tokens"], 18);
    } else {
        assert!(
            usage_events.is_empty(),
            "usage not asked for: {usage_events:?}"
        );
    }
    chunks
}

async fn text_streams_survive_awkward_splits(channel_type: i64) {
    let w = world(channel_type, json!({})).await;
    let model = model_for(channel_type);
    for (i, size) in [1usize, 3, 7].into_iter().enumerate() {
        w.mock.update_options(|o| o.chunk_bytes = Some(size));
        let wants_usage = size != 3;
        let rec = w
            .stream("/v1/chat/completions", body(model, TEXT, wants_usage))
            .await;
        assert_openai_stream(&rec, model, "stop", wants_usage);
        assert_eq!(rec.text(), format!("Echo: {TEXT}"), "chunk_bytes {size}");
        let logs = w
            .wait_for_logs(i + 1, std::time::Duration::from_secs(10))
            .await;
        assert_eq!(logs.len(), i + 1);
    }
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_stream_split_at_awkward_bytes_becomes_openai_chunks() {
    text_streams_survive_awkward_splits(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_stream_split_at_awkward_bytes_becomes_openai_chunks() {
    text_streams_survive_awkward_splits(GEMINI).await;
}

/// Tool-call deltas: the first names the call with an index and id, later ones carry
/// argument pieces with the same index; together they are the mock's arguments.
fn assert_tool_call_deltas(chunks: &[Value]) {
    let mut name = None;
    let mut args = String::new();
    for c in chunks {
        for call in c["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(call["index"], 0, "{call}");
            if let Some(n) = call["function"]["name"].as_str() {
                assert!(name.is_none(), "the name comes once");
                assert!(call["id"].as_str().is_some_and(|s| !s.is_empty()), "{call}");
                assert_eq!(call["type"], "function");
                name = Some(n.to_string());
            }
            args.push_str(call["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    assert_eq!(name.as_deref(), Some("get_weather"));
    let parsed: Value = serde_json::from_str(&args).expect("arguments concatenate to JSON");
    assert_eq!(
        parsed,
        serde_json::from_str::<Value>(TOOL_ARGUMENTS).unwrap()
    );
}

async fn tool_calls_stream(w: &V1World, channel_type: i64) {
    let model = model_for(channel_type);
    w.mock.update_options(|o| o.chunk_bytes = Some(3));
    let mut b = body(model, "weather in Paris?", true);
    b["tools"] = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let rec = w.stream("/v1/chat/completions", b).await;
    let chunks = assert_openai_stream(&rec, model, "tool_calls", true);
    assert_tool_call_deltas(&chunks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_tool_use_stream_becomes_indexed_tool_call_deltas() {
    let w = world(ANTHROPIC, json!({})).await;
    tool_calls_stream(&w, ANTHROPIC).await;
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_function_call_stream_becomes_indexed_tool_call_deltas() {
    let w = world(GEMINI, json!({})).await;
    tool_calls_stream(&w, GEMINI).await;
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_requests_go_to_the_providers_streaming_endpoints() {
    let a = world(ANTHROPIC, json!({})).await;
    let rec = a
        .stream("/v1/chat/completions", body(CLAUDE, "x", false))
        .await;
    assert_eq!(rec.status, 200);
    let req = a.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.json()["stream"], true);
    assert_eq!(req.header("accept"), Some("text/event-stream"));

    let g = world(GEMINI, json!({})).await;
    let rec = g
        .stream("/v1/chat/completions", body(model_for(GEMINI), "x", false))
        .await;
    assert_eq!(rec.status, 200);
    let req = g.mock.last_request().unwrap();
    assert_eq!(
        req.path,
        format!("/v1beta/models/{}:streamGenerateContent", model_for(GEMINI))
    );
    assert_eq!(req.query_param("alt"), Some("sse"));
    assert_eq!(req.query_param("key"), None, "the key goes in a header");
}
