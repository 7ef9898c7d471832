//! An OpenAI client on an Anthropic channel (type 14): what the upstream receives and
//! what the client gets back (non-streaming; streams are in `streaming.rs`).

use integration_tests::mock_upstream::{Reply, TOOL_ARGUMENTS};
use integration_tests::provider_support::{cache_usage, world, ANTHROPIC, CLAUDE};
use integration_tests::v1_support::CHANNEL_KEY;
use serde_json::{json, Value};

const PNG_B64: &str = "iVBORw0KGgo=";

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_chat_request_becomes_an_anthropic_messages_call() {
    let w = world(ANTHROPIC, json!({})).await;
    let body = json!({
        "model": CLAUDE,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "first"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_B64}")}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21°C"},
            {"role": "user", "content": "and tomorrow?"}
        ],
        "tools": [weather_tool()],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "stop": "END",
        "temperature": 0.5,
    });
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let req = w.mock.last_request().expect("the mock was called");
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some(CHANNEL_KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.header("authorization"), None, "no OpenAI auth header");
    let b = req.json();
    assert_eq!(b["model"], CLAUDE);
    assert_eq!(
        b["max_tokens"], 32_000,
        "the model's default (services/model_catalog.rs) when the client sets none"
    );
    assert_eq!(b["stop_sequences"], json!(["END"]));
    assert_eq!(b["temperature"], 0.5);
    assert!(b.get("stream").is_none_or(|s| s == false), "{b}");
    let system = match &b["system"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks.iter().filter_map(|x| x["text"].as_str()).collect(),
        other => panic!("no system: {other}"),
    };
    assert!(system.contains("You are terse.") && system.contains("Answer in French."));

    let msgs = b["messages"].as_array().expect("messages");
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user"],
        "alternating turns: {b}"
    );
    let first: Vec<&Value> = msgs[0]["content"].as_array().unwrap().iter().collect();
    assert_eq!(first[0], &json!({"type": "text", "text": "first"}));
    assert_eq!(first[1], &json!({"type": "text", "text": "what is this?"}));
    assert_eq!(
        first[2],
        &json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}})
    );
    assert_eq!(
        first[3],
        &json!({"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}})
    );
    let call = msgs[1]["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "tool_use")
        .expect("tool_use block");
    assert_eq!(call["id"], "call_1");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["input"], json!({"city": "Paris"}));
    let last: &Vec<Value> = msgs[2]["content"].as_array().unwrap();
    assert_eq!(
        last[0]["type"], "tool_result",
        "tool results open the turn: {b}"
    );
    assert_eq!(last[0]["tool_use_id"], "call_1");
    let result_text = match &last[0]["content"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().filter_map(|x| x["text"].as_str()).collect(),
        other => panic!("tool_result content: {other}"),
    };
    assert_eq!(result_text, "sunny, 21°C");
    assert_eq!(last[1], json!({"type": "text", "text": "and tomorrow?"}));

    assert_eq!(b["tools"][0]["name"], "get_weather");
    assert_eq!(b["tools"][0]["description"], "Weather in a city");
    assert_eq!(b["tools"][0]["input_schema"]["required"], json!(["city"]));
    assert_eq!(b["tool_choice"]["type"], "tool");
    assert_eq!(b["tool_choice"]["name"], "get_weather");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_tokens_top_p_and_required_tool_choice_are_carried_over() {
    let w = world(ANTHROPIC, json!({})).await;
    let r = w
        .chat(
            json!({"model": CLAUDE, "max_completion_tokens": 77, "top_p": 0.9,
                     "stop": ["A", "B"], "tools": [weather_tool()], "tool_choice": "required",
                     "messages": [{"role": "assistant", "content": "Hi there"},
                                  {"role": "user", "content": "hello"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = w.mock.last_request().unwrap().json().clone();
    assert_eq!(b["max_tokens"], 77);
    assert_eq!(b["top_p"], 0.9);
    assert_eq!(b["stop_sequences"], json!(["A", "B"]));
    assert_eq!(b["tool_choice"]["type"], "any");
    assert_eq!(
        b["messages"][0]["role"], "user",
        "Anthropic needs a user turn first"
    );
    let roles: Vec<&str> = b["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_answer_comes_back_in_openai_shape_with_cache_usage() {
    let w = world(ANTHROPIC, json!({})).await;
    w.mock.update_options(|o| o.usage = Some(cache_usage()));
    let r = w
        .chat(json!({"model": CLAUDE, "messages": [{"role": "user", "content": "héllo 日本"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["object"], "chat.completion");
    assert!(b["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(b["created"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(b["model"], CLAUDE);
    let choice = &b["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Echo: héllo 日本");
    assert!(choice["message"]
        .get("tool_calls")
        .is_none_or(Value::is_null));
    assert_eq!(choice["finish_reason"], "stop");
    // OpenAI's prompt_tokens includes cached input: 20 + 5 read + 3 written.
    assert_eq!(b["usage"]["prompt_tokens"], 28);
    assert_eq!(b["usage"]["completion_tokens"], 9);
    assert_eq!(b["usage"]["total_tokens"], 37);
    assert_eq!(b["usage"]["prompt_tokens_details"]["cached_tokens"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_use_answer_becomes_tool_calls_with_json_string_arguments() {
    let w = world(ANTHROPIC, json!({})).await;
    let r = w
        .chat(json!({"model": CLAUDE, "tools": [weather_tool()],
                     "messages": [{"role": "user", "content": "weather?"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let choice = &r.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let calls = choice["message"]["tool_calls"]
        .as_array()
        .expect("tool_calls");
    assert_eq!(calls.len(), 1);
    assert!(calls[0]["id"]
        .as_str()
        .is_some_and(|s| s.starts_with("toolu_")));
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args = calls[0]["function"]["arguments"]
        .as_str()
        .expect("arguments are a JSON string");
    let parsed: Value = serde_json::from_str(args).unwrap();
    assert_eq!(
        parsed,
        serde_json::from_str::<Value>(TOOL_ARGUMENTS).unwrap()
    );

    // The follow-up with the tool's result goes back as a tool_result block.
    let id = calls[0]["id"].as_str().unwrap();
    let r = w
        .chat(
            json!({"model": CLAUDE, "tools": [weather_tool()], "messages": [
            {"role": "user", "content": "weather?"},
            choice["message"].clone(),
            {"role": "tool", "tool_call_id": id, "content": "21 degrees"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "Tool result: 21 degrees"
    );
    assert_eq!(r.body["choices"][0]["finish_reason"], "stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_reasons_map_to_openai_finish_reasons() {
    let w = world(ANTHROPIC, json!({})).await;
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
    ] {
        let mut content = vec![json!({"type": "text", "text": "partial"})];
        if stop == "tool_use" {
            content.push(json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}));
        }
        w.mock.push_reply(Reply::json(
            200,
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": CLAUDE,
                   "content": content, "stop_reason": stop, "stop_sequence": null,
                   "usage": {"input_tokens": 3, "output_tokens": 2}}),
        ));
        let r = w
            .chat(json!({"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["choices"][0]["finish_reason"], finish, "{stop}");
        if stop == "tool_use" {
            assert_eq!(
                r.body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
                "{}"
            );
        }
    }
}
