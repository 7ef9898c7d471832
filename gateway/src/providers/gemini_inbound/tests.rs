use super::framing::Framing;
use super::*;
use crate::providers::anthropic::testkit::{json_data, run, split_invariant};
use crate::providers::openai::OpenAiStream;
use crate::providers::reasoning;
use serde_json::json;

#[test]
fn targets_split_on_the_last_colon() {
    assert_eq!(
        split_target("gemini-2.5-flash:generateContent"),
        Some(("gemini-2.5-flash".into(), Method::Generate))
    );
    assert_eq!(
        split_target("models/ft:my:model:streamGenerateContent"),
        Some(("ft:my:model".into(), Method::Stream))
    );
    assert_eq!(split_target("gemini:fly"), None);
    assert_eq!(split_target(":countTokens"), None);
    assert_eq!(split_target("a/b:countTokens"), None);
    assert_eq!(split_target("no-method"), None);
}

#[test]
fn calls_and_results_pair_by_name_in_order() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "two cities"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "w", "args": {"c": "A"}}, "thoughtSignature": "s1"},
            {"functionCall": {"name": "w", "args": {"c": "B"}}},
            {"functionCall": {"id": "given", "name": "t", "args": {}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "w", "response": {"r": "a"}}},
            {"functionResponse": {"name": "w", "response": {"r": "b"}}},
            {"functionResponse": {"id": "given", "name": "t", "response": {"r": "t"}}}]}
    ]});
    let o = to_openai(&body, "m", false).unwrap();
    let m = o["messages"].as_array().unwrap();
    let calls = m[1]["tool_calls"].as_array().unwrap();
    assert_eq!(m[1]["content"], Value::Null);
    assert_eq!(
        calls[0]["extra_content"]["google"]["thought_signature"],
        "s1"
    );
    assert!(calls[1].get("extra_content").is_none());
    assert_eq!(calls[1]["function"]["arguments"], "{\"c\":\"B\"}");
    for (i, id) in [
        (2, &calls[0]["id"]),
        (3, &calls[1]["id"]),
        (4, &json!("given")),
    ] {
        assert_eq!(m[i]["role"], "tool");
        assert_eq!(&m[i]["tool_call_id"], id, "{o}");
    }
    assert_eq!(m[2]["content"], "{\"r\":\"a\"}");
    assert_eq!(m.len(), 5, "no empty user message after the results: {o}");
}

#[test]
fn generation_config_maps_and_bad_values_are_refused() {
    let body = json!({"contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"candidateCount": 2, "seed": 7, "responseMimeType": "application/json",
                             "thinkingConfig": {"thinkingLevel": "HIGH"}}});
    let o = to_openai(&body, "m", true).unwrap();
    assert_eq!(o["n"], 2);
    assert_eq!(o["seed"], 7);
    assert_eq!(o["response_format"], json!({"type": "json_object"}));
    assert_eq!(o[reasoning::FIELD], json!({"effort": "high"}));
    assert_eq!(o["stream_options"]["include_usage"], true);
    assert_eq!(o["messages"][0], json!({"role": "user", "content": "x"}));
    let dynamic = json!({"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": -1},
        "responseJsonSchema": {"type": "object"}, "responseMimeType": "application/json"}});
    let o = to_openai(&dynamic, "m", false).unwrap();
    assert_eq!(
        o[reasoning::FIELD],
        json!({}),
        "a dynamic budget: on, depth left to the model"
    );
    assert_eq!(
        o["response_format"]["json_schema"]["schema"],
        json!({"type": "object"})
    );
    for bad in [
        json!({"contents": "x"}),
        json!({"contents": [{"parts": "x"}]}),
        json!({"contents": [{"role": "system", "parts": []}]}),
        json!({"contents": [{"parts": [{"fileData": {"mimeType": "application/pdf",
                                                      "fileUri": "https://x/f"}}]}]}),
        json!({"contents": [], "generationConfig": {"maxOutputTokens": -3}}),
    ] {
        let e = to_openai(&bad, "m", false).unwrap_err();
        assert_eq!(e.status(), 400, "{bad}");
        assert_eq!(e.body()["error"]["status"], "INVALID_ARGUMENT");
    }
}

#[test]
fn media_parts_become_openai_parts() {
    let body = json!({"contents": [{"parts": [
        {"inlineData": {"mimeType": "audio/mpeg", "data": "QQ=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "UA=="}},
        {"fileData": {"mimeType": "image/png", "fileUri": "https://img/x.png"}},
        {"executableCode": {"code": "print(1)"}}]}]});
    let o = to_openai(&body, "m", false).unwrap();
    let parts = o["messages"][0]["content"].as_array().unwrap();
    assert_eq!(
        parts[0]["input_audio"],
        json!({"data": "QQ==", "format": "mp3"})
    );
    assert_eq!(
        parts[1]["file"]["file_data"],
        "data:application/pdf;base64,UA=="
    );
    assert_eq!(parts[2]["image_url"]["url"], "https://img/x.png");
    assert_eq!(parts.len(), 3, "unknown parts are dropped");
}

#[test]
fn answers_convert_with_thoughts_calls_and_usage() {
    let openai = json!({"id": "chatcmpl-abc", "choices": [{"index": 0, "finish_reason": "length",
        "message": {"role": "assistant", "content": "Hi", "reasoning_content": "Hmm",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w",
                "arguments": "{\"c\":1}"}, "extra_content": {"google": {"thought_signature": "sig"}}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19,
                  "prompt_tokens_details": {"cached_tokens": 4},
                  "completion_tokens_details": {"reasoning_tokens": 3}}});
    let g = from_openai_response(&openai, "client-model");
    let c = &g["candidates"][0];
    assert_eq!(c["finishReason"], "MAX_TOKENS");
    assert_eq!(
        c["content"]["parts"],
        json!([{"text": "Hmm", "thought": true}, {"text": "Hi"},
               {"functionCall": {"id": "call_1", "name": "w", "args": {"c": 1}},
                "thoughtSignature": "sig"}])
    );
    assert_eq!(
        g["usageMetadata"],
        json!({"promptTokenCount": 10, "candidatesTokenCount": 6, "thoughtsTokenCount": 3,
               "cachedContentTokenCount": 4, "totalTokenCount": 19})
    );
    assert_eq!(g["responseId"], "abc");
    assert_eq!(g["modelVersion"], "client-model");
}

/// An OpenAI stream with text, a tool call whose arguments come in pieces, and usage.
const OPENAI_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Think\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo \"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"日本\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_9\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"c\\\":\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"P\\\"}\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-s1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":8,\"total_tokens\":13}}\n\n",
    "data: [DONE]\n\n",
);

fn converted(sse: bool) -> Box<dyn StreamAdapter> {
    let inner = Box::new(OpenAiStream::new(Endpoint::Chat, "m", true));
    Box::new(OpenAiToGeminiStream::new(
        inner,
        "client-m",
        Framing::new(sse),
    ))
}

#[test]
fn openai_streams_become_gemini_events_at_every_split() {
    let out = split_invariant(&|| converted(true), OPENAI_STREAM.as_bytes());
    let events = json_data(&out);
    assert!(!out.contains("[DONE]"));
    assert_eq!(events.len(), 4, "{out}");
    assert_eq!(
        events[0]["candidates"][0]["content"]["parts"][0],
        json!({"text": "Think", "thought": true})
    );
    assert_eq!(
        events[1]["candidates"][0]["content"]["parts"][0]["text"],
        "Héllo "
    );
    assert!(events
        .iter()
        .all(|e| e["responseId"] == "s1" && e["modelVersion"] == "client-m"));
    let last = &events[3];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["candidates"][0]["content"]["parts"][0]["functionCall"],
        json!({"id": "call_9", "name": "w", "args": {"c": "P"}})
    );
    assert_eq!(last["usageMetadata"]["promptTokenCount"], 5);
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 8);
}

#[test]
fn the_json_array_framing_is_one_valid_array() {
    let out = run(&mut *converted(false), [OPENAI_STREAM.as_bytes()]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v.as_array().map(Vec::len), Some(4));
    // An error mid-stream is an element; the array still closes.
    let mut s = converted(false);
    let mut bytes = Vec::new();
    s.on_event(
        &SseEvent::data(r#"{"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}"#),
        &mut bytes,
    );
    bytes.push(s.error_event("upstream went away"));
    s.finish(&mut bytes);
    let v: Value = serde_json::from_slice(&bytes.concat()).unwrap();
    assert_eq!(v[1]["error"]["status"], "INTERNAL");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    assert_eq!(s.content_type(), "application/json");
    // Nothing at all still makes an array.
    let f = Framing::new(false);
    assert_eq!(f.close().as_deref(), Some(&b"[]"[..]));
    assert_eq!(f.close(), None);
}

use shared::sse::SseEvent;

const GEMINI_STREAM: &str = concat!(
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hm\",\"thought\":true}],\"role\":\"model\"},\"index\":0}],",
    "\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4}}\r\n\r\n",
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Yo\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],",
    "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":3,",
    "\"cachedContentTokenCount\":1,\"totalTokenCount\":9}}\r\n\r\n",
);

#[test]
fn passthrough_forwards_events_and_bills_thoughts_as_output() {
    let out = split_invariant(
        &|| Box::new(GeminiPassthrough::new("m", Framing::new(true))),
        GEMINI_STREAM.as_bytes(),
    );
    let events = json_data(&out);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1]["candidates"][0]["content"]["parts"][0]["text"],
        "Yo"
    );
    let mut p = GeminiPassthrough::new("m", Framing::new(false));
    let out = run(&mut p, [GEMINI_STREAM.as_bytes()]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v[1]["usageMetadata"]["thoughtsTokenCount"], 3);
    assert!(p.is_done());
    let u = p.usage().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (4, 5));
    assert_eq!(u.cached_tokens(), 1);
    let parsed = parse_native(Method::Generate, br#"{"candidates":[{"content":{"parts":[{"text":"ok"}]}}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1,"thoughtsTokenCount":4}}"#).unwrap();
    let u = parsed.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (2, 5));
    assert_eq!(parsed.completion_text, "ok");
}

#[test]
fn embeddings_convert_both_ways() {
    let one = embed::to_openai(
        &json!({"content": {"parts": [{"text": "a"}, {"text": "b"}]}, "outputDimensionality": 3}),
        "e",
        Method::Embed,
    )
    .unwrap();
    assert_eq!(one, json!({"model": "e", "input": "a\nb", "dimensions": 3}));
    assert!(embed::to_openai(&json!({"requests": []}), "e", Method::BatchEmbed).is_err());
    let answer = json!({"data": [{"embedding": [0.5, 1.0]}, {"embedding": [2.0]}]});
    assert_eq!(
        embed::from_openai(&answer, Method::BatchEmbed),
        json!({"embeddings": [{"values": [0.5, 1.0]}, {"values": [2.0]}]})
    );
    assert_eq!(
        embed::from_openai(&answer, Method::Embed),
        json!({"embedding": {"values": [0.5, 1.0]}})
    );
}

#[test]
fn sdk_schemas_become_json_schema() {
    let s = schema::openai_schema(&json!({"type": "OBJECT", "propertyOrdering": ["a"],
        "properties": {"a": {"type": "ARRAY", "items": {"type": "INTEGER"}},
                       "b": {"type": "STRING", "nullable": true, "enum": ["x"]}}}));
    assert_eq!(
        s,
        json!({"type": "object", "properties": {
            "a": {"type": "array", "items": {"type": "integer"}},
            "b": {"type": ["string", "null"], "enum": ["x"]}}})
    );
}
