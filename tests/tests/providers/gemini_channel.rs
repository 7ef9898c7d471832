//! An OpenAI client on a Gemini channel (type 24): the generateContent request, remote
//! images fetched through the guard, the answer in OpenAI's shape, embeddings.

use integration_tests::mock_upstream::{MockUsage, Reply, TOOL_ARGUMENTS};
use integration_tests::provider_support::{
    assert_billed, world, world_with_env, ImageServer, GEMINI, GEMINI_EMBED, GEMINI_MODEL, PNG_1X1,
};
use integration_tests::v1_support::{openai_error, CHANNEL_KEY};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": false}}})
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_chat_request_becomes_a_gemini_generate_content_call() {
    let w = world(GEMINI, json!({})).await;
    let r = w
        .chat(json!({
            "model": GEMINI_MODEL,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}]},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"},
                {"role": "user", "content": "and tomorrow?"}
            ],
            "tools": [weather_tool()],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "temperature": 0.3, "top_p": 0.8, "max_tokens": 99, "stop": ["END"],
            "response_format": {"type": "json_schema", "json_schema": {"name": "w",
                "schema": {"type": "object", "properties": {"t": {"type": "number"}}}}}
        }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let req = w.mock.last_request().expect("the mock was called");
    assert_eq!(
        req.path,
        format!("/v1beta/models/{GEMINI_MODEL}:generateContent")
    );
    assert_eq!(req.header("x-goog-api-key"), Some(CHANNEL_KEY));
    assert_eq!(req.query_param("key"), None, "no key in the URL");
    assert_eq!(req.header("authorization"), None);
    let b = req.json();
    assert_eq!(
        b["systemInstruction"]["parts"][0]["text"], "You are terse.",
        "{b}"
    );
    let contents = b["contents"].as_array().expect("contents");
    let roles: Vec<&str> = contents
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"], "{b}");
    assert_eq!(contents[0]["parts"][0]["text"], "what is this?");
    assert_eq!(
        contents[0]["parts"][1]["inlineData"],
        json!({"mimeType": "image/jpeg", "data": "AAAA"})
    );
    assert_eq!(contents[1]["parts"][0]["text"], "Let me check.");
    assert_eq!(
        contents[1]["parts"][1]["functionCall"],
        json!({"name": "get_weather", "args": {"city": "Paris"}})
    );
    let reply = &contents[2]["parts"][0]["functionResponse"];
    assert_eq!(reply["name"], "get_weather", "name found from the call id");
    assert_eq!(reply["response"], json!({"temp": 21}));
    assert_eq!(contents[2]["parts"][1]["text"], "and tomorrow?");

    let decl = &b["tools"][0]["functionDeclarations"][0];
    assert_eq!(decl["name"], "get_weather");
    assert_eq!(decl["description"], "Weather in a city");
    assert_eq!(decl["parameters"]["properties"]["city"]["type"], "string");
    assert!(
        decl["parameters"].get("additionalProperties").is_none(),
        "Gemini refuses additionalProperties: {decl}"
    );
    let fcc = &b["toolConfig"]["functionCallingConfig"];
    assert_eq!(fcc["mode"], "ANY");
    assert_eq!(fcc["allowedFunctionNames"], json!(["get_weather"]));

    let g = &b["generationConfig"];
    assert_eq!(g["temperature"], 0.3);
    assert_eq!(g["topP"], 0.8);
    assert_eq!(g["maxOutputTokens"], 99);
    assert_eq!(g["stopSequences"], json!(["END"]));
    assert_eq!(g["responseMimeType"], "application/json");
    let schema = g
        .get("responseSchema")
        .or_else(|| g.get("responseJsonSchema"));
    assert_eq!(
        schema.expect("a response schema")["properties"]["t"]["type"]
            .as_str()
            .map(str::to_ascii_lowercase),
        Some("number".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_answer_comes_back_in_openai_shape() {
    let w = world(GEMINI, json!({})).await;
    w.mock.update_options(|o| {
        o.usage = Some(MockUsage {
            prompt_tokens: 30,
            completion_tokens: 12,
            cache_read_tokens: 10,
            cache_creation_tokens: 0,
        })
    });
    let r = w
        .chat(json!({"model": GEMINI_MODEL, "messages": [{"role": "user", "content": "héllo"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["model"], GEMINI_MODEL);
    assert!(b["id"].as_str().is_some_and(|s| !s.is_empty()));
    let choice = &b["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Echo: héllo");
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(b["usage"]["prompt_tokens"], 30);
    assert_eq!(b["usage"]["completion_tokens"], 12);
    assert_eq!(b["usage"]["total_tokens"], 42);
    assert_eq!(b["usage"]["prompt_tokens_details"]["cached_tokens"], 10);
    assert_billed(&w, 30, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_function_call_becomes_tool_calls_and_its_result_goes_back() {
    let w = world(GEMINI, json!({})).await;
    let r = w
        .chat(json!({"model": GEMINI_MODEL, "tools": [weather_tool()],
                     "messages": [{"role": "user", "content": "weather?"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let choice = &r.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{}", r.text);
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().is_some_and(|s| !s.is_empty()), "{call}");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().expect("string")).unwrap();
    assert_eq!(args, serde_json::from_str::<Value>(TOOL_ARGUMENTS).unwrap());

    let id = call["id"].as_str().unwrap();
    let r = w
        .chat(
            json!({"model": GEMINI_MODEL, "tools": [weather_tool()], "messages": [
            {"role": "user", "content": "weather?"},
            choice["message"].clone(),
            {"role": "tool", "tool_call_id": id, "content": "sunny"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = w.mock.last_request().unwrap().json().clone();
    let parts = &sent["contents"][2]["parts"][0]["functionResponse"];
    assert_eq!(parts["name"], "get_weather");
    assert_eq!(parts["response"], json!({"result": "sunny"}));
    assert!(r.body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("Tool result: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_finish_reasons_map_to_openai_ones() {
    let w = world(GEMINI, json!({})).await;
    for (reason, finish) in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
    ] {
        w.mock.push_reply(Reply::json(
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "abc"}]},
                                   "finishReason": reason, "index": 0}],
                   "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2,
                                     "totalTokenCount": 6}}),
        ));
        let r = w
            .chat(json!({"model": GEMINI_MODEL, "messages": [{"role": "user", "content": "x"}]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["choices"][0]["finish_reason"], finish, "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_image_is_fetched_through_the_guard_when_private_targets_are_allowed() {
    let images = ImageServer::start().await;
    let w = world_with_env(GEMINI, json!({}), &[("IMAGE_FETCH_ALLOW_PRIVATE", "true")]).await;
    let r = w
        .chat(
            json!({"model": GEMINI_MODEL, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "describe"},
            {"type": "image_url", "image_url": {"url": images.url}}]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(images.hits(), 1);
    let sent = w.mock.last_request().unwrap().json().clone();
    assert_eq!(
        sent["contents"][0]["parts"][1]["inlineData"],
        json!({"mimeType": "image/png", "data": base64(PNG_1X1)})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_image_url_is_refused_with_400_by_default() {
    let images = ImageServer::start().await;
    let w = world(GEMINI, json!({})).await;
    let r = w
        .chat(
            json!({"model": GEMINI_MODEL, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "describe"},
            {"type": "image_url", "image_url": {"url": images.url}}]}]}),
        )
        .await;
    let e = openai_error(&r, 400);
    assert!(e["message"].as_str().unwrap().contains("image"), "{e}");
    assert_eq!(images.hits(), 0, "the guard refuses before connecting");
    assert_eq!(w.mock.request_count(), 0);
    let ch = w.channel(w.channel_id).await;
    assert_eq!(
        ch.status, 1,
        "the client's bad URL does not hurt the channel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_embeddings_use_batch_embed_contents() {
    let w = world(GEMINI, json!({"models": [GEMINI_EMBED]})).await;
    let r = w
        .v1(
            reqwest::Method::POST,
            "/v1/embeddings",
            Some(json!({"model": GEMINI_EMBED, "input": ["one", "two", "three"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let req = w.mock.last_request().unwrap();
    assert_eq!(
        req.path,
        format!("/v1beta/models/{GEMINI_EMBED}:batchEmbedContents")
    );
    assert_eq!(req.header("x-goog-api-key"), Some(CHANNEL_KEY));
    let requests = req.json()["requests"].as_array().expect("requests").clone();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0]["model"], format!("models/{GEMINI_EMBED}"));
    assert_eq!(requests[1]["content"]["parts"][0]["text"], "two");

    let b = &r.body;
    assert_eq!(b["object"], "list");
    assert_eq!(b["model"], GEMINI_EMBED);
    let data = b["data"].as_array().expect("data");
    assert_eq!(data.len(), 3);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        assert_eq!(d["embedding"].as_array().map(Vec::len), Some(8));
    }
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    let prompt = b["usage"]["prompt_tokens"].as_u64().expect("usage");
    assert!(prompt > 0, "embeddings are billed: {b}");
    let logs = w.wait_for_logs(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(logs[0]["prompt_tokens"], prompt);
    assert_eq!(logs[0]["completion_tokens"], 0);
    assert_eq!(
        logs[0]["quota"], prompt,
        "embeddings charge the prompt only"
    );

    let r = w
        .v1(
            reqwest::Method::POST,
            "/v1/embeddings",
            Some(json!({"model": GEMINI_EMBED, "input": "one", "dimensions": 4})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = w.mock.last_request().unwrap().json().clone();
    assert_eq!(sent["requests"][0]["outputDimensionality"], 4, "{sent}");
    assert_eq!(
        r.body["data"][0]["embedding"].as_array().map(Vec::len),
        Some(4)
    );
}
