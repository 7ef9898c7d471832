use super::*;
use crate::store::Channel;
use actix_web::http::header::HeaderName;
use serde_json::json;

fn channel() -> Channel {
    let mut c =
        crate::providers::anthropic::testkit::channel("https://generativelanguage.googleapis.com");
    c.channel_type = crate::store::ChannelType::Gemini;
    c
}

fn convert(body: Value) -> Value {
    serde_json::to_value(
        to_gemini(&body, Endpoint::Chat, "gemini-2.5-flash", &Images::new()).unwrap(),
    )
    .unwrap()
}

fn bad(body: Value) -> V1Error {
    match to_gemini(&body, Endpoint::Chat, "gemini-2.5-flash", &Images::new()) {
        Err(e) => e,
        Ok(r) => panic!("expected a 400 for {body}, got {r:?}"),
    }
}

#[test]
fn urls_and_headers_follow_the_endpoint() {
    let ch = channel();
    let t = Target {
        channel: &ch,
        key: "AIza-k",
        upstream_model: "models/gemini-2.0-flash",
    };
    let chat = json!({"model": "g", "messages": [{"role": "user", "content": "hi"}]});
    let base = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash";
    let r = build(&t, Endpoint::Chat, &chat, false).unwrap();
    assert_eq!(r.url, format!("{base}:generateContent"));
    assert!(r
        .headers
        .contains(&(HeaderName::from_static("x-goog-api-key"), "AIza-k".into())));
    assert_eq!(
        build(&t, Endpoint::Chat, &chat, true).unwrap().url,
        format!("{base}:streamGenerateContent?alt=sse")
    );
    let e = build(
        &t,
        Endpoint::Embeddings,
        &json!({"input": ["a", "b"], "dimensions": 8}),
        false,
    )
    .unwrap();
    assert_eq!(e.url, format!("{base}:batchEmbedContents"));
    let sent: Value = serde_json::from_slice(&e.body).unwrap();
    assert_eq!(
        sent["requests"][1],
        json!({"model": "models/gemini-2.0-flash",
        "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 8})
    );
    assert_eq!(
        build(&t, Endpoint::Embeddings, &json!({"input": [[1, 2]]}), false)
            .unwrap_err()
            .status()
            .as_u16(),
        400
    );
}

#[test]
fn system_and_roles_map_to_system_instruction_user_and_model() {
    let v = convert(json!({"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "developer", "content": "Use French."},
        {"role": "user", "content": "Bonjour"}, {"role": "user", "content": [{"type": "text", "text": "ça va ?"}]},
        {"role": "assistant", "content": ""}, {"role": "assistant", "content": "Oui"}]}));
    assert_eq!(
        v["systemInstruction"],
        json!({"parts": [{"text": "Be brief.\n\nUse French."}]})
    );
    assert_eq!(
        v["contents"],
        json!([
        {"role": "user", "parts": [{"text": "Bonjour"}, {"text": "ça va ?"}]},
        {"role": "model", "parts": [{"text": "Oui"}]}])
    );
    assert!(v.get("generationConfig").is_none() && v.get("tools").is_none());
}

#[test]
fn images_inline_data_urls_and_fetched_remote_urls_only() {
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]});
    assert_eq!(remote_image_urls(&body), ["https://example.com/a.png"]);
    let e = bad(body.clone());
    assert!(
        e.message
            .contains("could not fetch the image at https://example.com/a.png"),
        "{}",
        e.message
    );
    let mut images = Images::new();
    images.insert(
        "https://example.com/a.png".into(),
        ("image/png".into(), "iVBO".into()),
    );
    let r = to_gemini(&body, Endpoint::Chat, "gemini-2.5-flash", &images).unwrap();
    let v = serde_json::to_value(r).unwrap();
    assert_eq!(
        v["contents"][0]["parts"][0],
        json!({"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}})
    );
    assert_eq!(
        v["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBO"}})
    );
}

#[test]
fn tools_become_function_declarations_with_clean_schemas_and_tool_config() {
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"$schema": "x", "type": "object", "additionalProperties": false,
                           "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}]);
    let msgs = json!([{"role": "user", "content": "hi"}]);
    let v = convert(json!({"messages": msgs, "tools": tools}));
    assert_eq!(
        v["tools"],
        json!([{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather", "parameters": {"type": "object",
            "propertyOrdering": ["city"],
            "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "now"}]}])
    );
    assert!(v.get("toolConfig").is_none());
    for (choice, expected) in [
        (json!("auto"), json!({"mode": "AUTO"})),
        (json!("none"), json!({"mode": "NONE"})),
        (json!("required"), json!({"mode": "ANY"})),
        (
            json!({"type": "function", "function": {"name": "now"}}),
            json!({"mode": "ANY", "allowedFunctionNames": ["now"]}),
        ),
    ] {
        let v = convert(json!({"messages": msgs, "tools": tools, "tool_choice": choice}));
        assert_eq!(v["toolConfig"]["functionCallingConfig"], expected);
    }
}

#[test]
fn tool_calls_and_results_become_function_call_and_response_parts() {
    let body = json!({"messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":18}"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"}]});
    let v = convert(body.clone());
    assert_eq!(
        v["contents"][1],
        json!({"role": "model", "parts": [
        {"functionCall": {"name": "w", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "t", "args": {}}}]})
    );
    assert_eq!(
        v["contents"][2],
        json!({"role": "user", "parts": [
        {"functionResponse": {"name": "w", "response": {"temp": 18}}},
        {"functionResponse": {"name": "t", "response": {"result": "noon"}}}]})
    );
    let g3 = to_gemini(
        &body,
        Endpoint::Chat,
        "gemini-3-pro-preview",
        &Images::new(),
    )
    .unwrap();
    let parts = &g3.contents[1].parts;
    assert_eq!(
        parts[0].thought_signature.as_deref(),
        Some("skip_thought_signature_validator")
    );
    assert_eq!(parts[1].thought_signature, None);
    let e = bad(json!({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}));
    assert!(e.message.contains("unknown tool_call_id"));
}

#[test]
fn generation_config_collects_sampling_limits_and_json_output() {
    let v = convert(
        json!({"messages": [{"role": "user", "content": "x"}], "temperature": 1.5,
        "top_p": 0.8, "max_tokens": 100, "stop": ["a", "b", "c", "d", "e", "f"], "n": 2, "seed": 7,
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true,
            "schema": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "integer"}}}}}}),
    );
    assert_eq!(
        v["generationConfig"],
        json!({"temperature": 1.5, "topP": 0.8, "maxOutputTokens": 100,
        "stopSequences": ["a", "b", "c", "d", "e"], "candidateCount": 2, "seed": 7,
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "propertyOrdering": ["a"],
            "properties": {"a": {"type": "integer"}}}})
    );
    let v = convert(
        json!({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 9,
        "response_format": {"type": "json_object"}}),
    );
    assert_eq!(
        v["generationConfig"],
        json!({"maxOutputTokens": 9, "responseMimeType": "application/json"})
    );
    for b in [
        json!({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}}),
        json!({"messages": [{"role": "wizard", "content": "x"}]}),
        json!({"messages": {}}),
    ] {
        assert_eq!(bad(b).status().as_u16(), 400);
    }
}

#[test]
fn answers_map_candidates_tool_calls_finish_reasons_and_usage() {
    let raw = json!({"candidates": [
        {"content": {"role": "model", "parts": [{"text": "thinking…", "thought": true}, {"text": "Let me check."},
            {"functionCall": {"name": "w", "args": {"city": "Paris"}}}, {"functionCall": {"name": "t"}}]},
         "finishReason": "STOP", "index": 0},
        {"content": {"role": "model", "parts": [{"text": "Cut"}]}, "finishReason": "MAX_TOKENS", "index": 1}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 30, "thoughtsTokenCount": 8,
                          "totalTokenCount": 50, "cachedContentTokenCount": 4},
        "modelVersion": "gemini-2.5-flash", "responseId": "abc"});
    let p = parse_with(
        Endpoint::Chat,
        Bytes::from(raw.to_string()),
        &json!({"model": "my-gemini"}),
        0,
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&p.body).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["model"].as_str()),
        (Some("chatcmpl-abc"), Some("my-gemini"))
    );
    let m = &v["choices"][0]["message"];
    assert_eq!(
        (m["content"].as_str(), m["reasoning_content"].as_str()),
        (Some("Let me check."), Some("thinking…"))
    );
    assert_eq!(
        m["tool_calls"][0]["function"],
        json!({"name": "w", "arguments": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(m["tool_calls"][1]["function"]["arguments"], "{}");
    let ids: Vec<&str> = (0..2)
        .map(|i| m["tool_calls"][i]["id"].as_str().unwrap())
        .collect();
    assert!(ids[0].starts_with("call_") && ids[0] != ids[1]);
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        (
            v["choices"][1]["finish_reason"].as_str(),
            v["choices"][1]["index"].as_u64()
        ),
        (Some("length"), Some(1))
    );
    let u = p.usage.unwrap();
    assert_eq!(
        (
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens,
            u.cached_tokens()
        ),
        (12, 38, 50, 4)
    );
    for (r, f) in [
        ("STOP", "stop"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
    ] {
        assert_eq!(finish_reason(r, false), f);
    }
    let blocked =
        br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}"#;
    let Err(e) = parse(Endpoint::Chat, Bytes::from_static(blocked)) else {
        panic!("blocked prompt parsed")
    };
    assert!(e.contains("SAFETY"));
    assert!(parse(Endpoint::Chat, Bytes::from_static(b"[1,2]")).is_err());
}

#[test]
fn embeddings_come_back_as_floats_or_base64_with_usage() {
    let raw = Bytes::from_static(br#"{"embeddings":[{"values":[0.5,-1.0]},{"values":[0.25]}]}"#);
    let req = json!({"model": "text-embedding-004", "input": ["hello world", "bye"]});
    let p = parse_with(Endpoint::Embeddings, raw.clone(), &req, 0).unwrap();
    let v: Value = serde_json::from_slice(&p.body).unwrap();
    assert_eq!(
        v["data"][0],
        json!({"object": "embedding", "index": 0, "embedding": [0.5, -1.0]})
    );
    assert_eq!(v["model"], "text-embedding-004");
    let est = p.usage.unwrap().prompt_tokens;
    assert!(est >= 3 && v["usage"]["prompt_tokens"] == est);
    let mut b64 = req.clone();
    b64["encoding_format"] = json!("base64");
    let v: Value = serde_json::from_slice(
        &parse_with(Endpoint::Embeddings, raw, &b64, 42)
            .unwrap()
            .body,
    )
    .unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(floats, [0.5, -1.0]);
    assert_eq!(v["usage"]["prompt_tokens"], 42);
}

#[test]
fn error_bodies_yield_their_message() {
    let one =
        br#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}"#;
    assert_eq!(error_message(one), "API key not valid.");
    assert_eq!(
        error_message(
            br#"[{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}]"#
        ),
        "Quota"
    );
    assert_eq!(error_message(b"oops"), "oops");
}
