//! Anthropic, Gemini and chat-only channels: the Responses call is converted to chat and
//! the answer (streamed or not) converted back, with tool calls, custom tools and usage.

use integration_tests::mock_upstream::TOOL_ARGUMENTS;
use integration_tests::provider_support::{model_for, world, ANTHROPIC, GEMINI};
use integration_tests::responses_support::{
    assert_billed_default, completed, create, output_text, stream, streamed_text, CUSTOM,
    DEFAULT_QUOTA,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// How the mock answers a tool result.
const TOOL_RESULT_PREFIX: &str = "Tool result: ";

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                          "unit": {"type": "string"}}, "required": ["city"]}})
}

async fn tool_round_trip(channel_type: i64) {
    let w = world(channel_type, json!({})).await;
    let model = model_for(channel_type);
    let first = json!({"model": model, "instructions": "Be brief.", "store": false,
                       "input": "What is the weather in Paris?", "tools": [weather_tool()],
                       "max_output_tokens": 64});
    let r = create(&w, first.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let call = r.body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call")
        .cloned()
        .unwrap_or_else(|| panic!("no function_call: {}", r.text));
    assert_eq!(call["name"], "get_weather");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, serde_json::from_str::<Value>(TOOL_ARGUMENTS).unwrap());
    assert!(r.body["id"].as_str().unwrap().starts_with("resp_gw"));
    assert_eq!(r.body["store"], false);
    assert_billed_default(&w).await;

    // The follow-up carries the previous output items and the tool's result.
    let mut input = vec![json!({"role": "user", "content": "What is the weather in Paris?"})];
    input.extend(r.body["output"].as_array().unwrap().iter().cloned());
    input.push(
        json!({"type": "function_call_output", "call_id": call["call_id"], "output": "22C sunny"}),
    );
    let mut follow = first;
    follow["input"] = Value::Array(input);
    let events = stream(&w, {
        let mut b = follow;
        b["stream"] = json!(true);
        b
    })
    .await;
    let text = streamed_text(&events);
    assert!(
        text.starts_with(TOOL_RESULT_PREFIX) && text.contains("22C sunny"),
        "{text}"
    );
    let done = completed(&events);
    assert_eq!(output_text(&done), text);
    assert_eq!(done["usage"]["input_tokens"], 11);
    assert_eq!(done["usage"]["output_tokens"], 7);
    assert_eq!(done["usage"]["total_tokens"], 18);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ] {
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    let log = assert_billed_default(&w).await;
    assert_eq!(log["is_stream"], true);
    assert_eq!(log["channel_id"], w.channel_id);
    assert_eq!(w.user().await.used_quota, 2 * DEFAULT_QUOTA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_round_trip_works_on_an_anthropic_channel() {
    tool_round_trip(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_round_trip_works_on_a_gemini_channel() {
    tool_round_trip(GEMINI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_round_trip_works_on_a_chat_only_openai_compatible_channel() {
    tool_round_trip(CUSTOM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_tool_call_split_at_awkward_bytes_is_a_function_call_item() {
    for channel_type in [ANTHROPIC, GEMINI] {
        let w = world(channel_type, json!({})).await;
        w.mock.update_options(|o| o.chunk_bytes = Some(3));
        let body = json!({"model": model_for(channel_type), "stream": true, "input": "weather?",
                          "tools": [weather_tool()]});
        let events = stream(&w, body).await;
        let args: String = events
            .iter()
            .filter(|(n, _)| n == "response.function_call_arguments.delta")
            .filter_map(|(_, v)| v["delta"].as_str())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            serde_json::from_str::<Value>(TOOL_ARGUMENTS).unwrap()
        );
        let done = completed(&events);
        let call = done["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == "function_call")
            .cloned()
            .expect("function_call item");
        assert_eq!(call["arguments"].as_str().unwrap(), args);
        assert_billed_default(&w).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_and_namespace_tools_survive_conversion_and_built_ins_are_dropped_visibly() {
    let w = world(ANTHROPIC, json!({})).await;
    let body = json!({"model": model_for(ANTHROPIC), "input": "edit the file",
    "tools": [
        {"type": "custom", "name": "apply_patch", "description": "Edit files.",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
        {"type": "namespace", "name": "agents", "description": "Sub-agents.",
         "tools": [{"type": "function", "name": "spawn", "parameters": {"type": "object"}}]},
        {"type": "web_search", "external_web_access": false}
    ]});
    let r = create(&w, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sent = w.mock.last_request().unwrap().json().clone();
    let names: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apply_patch", "agents__spawn"]);
    assert_eq!(
        sent["tools"][0]["input_schema"]["properties"]["input"]["type"],
        "string"
    );
    let call = &r.body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "custom_tool_call")
        .cloned()
        .unwrap_or_else(|| panic!("no custom_tool_call: {}", r.text));
    assert_eq!(call["name"], "apply_patch");
    // The mock's tool arguments have no `input` field: the raw arguments are the input.
    assert_eq!(call["input"], TOOL_ARGUMENTS);
    let warning = r
        .headers
        .get("x-gateway-warnings")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(warning.contains("web_search"), "{warning:?}");
    let log = assert_billed_default(&w).await;
    assert!(
        log["warnings"].as_str().unwrap().contains("web_search"),
        "{log}"
    );

    // The custom call and a namespaced call go back to the channel as tool calls.
    let follow = json!({"model": model_for(ANTHROPIC), "input": [
        {"role": "user", "content": "edit the file"},
        {"type": "custom_tool_call", "call_id": "toolu_1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "toolu_1", "output": "patched"},
        {"type": "function_call", "call_id": "toolu_2", "namespace": "agents", "name": "spawn", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "toolu_2", "output": "spawned"}
    ]});
    let r = create(&w, follow).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sent = w.mock.last_request().unwrap().json().clone();
    let assistant = &sent["messages"][1]["content"];
    assert_eq!(assistant[0]["type"], "tool_use");
    assert_eq!(assistant[0]["input"], json!({"input": "*** Begin Patch"}));
    assert_eq!(
        sent["messages"][3]["content"][0]["name"], "agents__spawn",
        "{sent}"
    );
    assert!(
        output_text(&r.body).starts_with(TOOL_RESULT_PREFIX),
        "{}",
        r.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_failure_mid_stream_ends_with_response_failed() {
    let w = world(ANTHROPIC, json!({})).await;
    w.mock
        .push_reply(integration_tests::mock_upstream::Reply::StreamError { after: 4 });
    let events = stream(
        &w,
        json!({"model": model_for(ANTHROPIC), "stream": true, "input": "hi"}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"response.failed"), "{names:?}");
    assert!(!names.contains(&"response.completed"));
    let logs = w.wait_for_logs(1, std::time::Duration::from_secs(10)).await;
    assert!(
        !logs[0]["error"].as_str().unwrap().is_empty(),
        "{:?}",
        logs[0]
    );
}
