//! OpenAI, Azure and `responses_api` OpenAI-compatible channels: the client's bytes go
//! upstream unchanged and the upstream's answer comes back unchanged, billed from its
//! `usage`.

use integration_tests::mock_upstream::{ENCRYPTED_REASONING, REASONING_TOKENS};
use integration_tests::provider_support::{world, OPENAI};
use integration_tests::responses_support::{
    assert_billed_default, completed, create, post, stream, streamed_text, CUSTOM, DEFAULT_QUOTA,
};
use integration_tests::v1_support::{openai_error, MODEL};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn tool_body(stream: bool) -> Value {
    json!({"model": MODEL, "stream": stream, "store": false,
           "input": [{"role": "user", "content": [{"type": "input_text", "text": "weather?"}]}],
           "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object",
                      "properties": {"zeta": {"type": "string"}, "alpha": {"type": "string"}}}}],
           "reasoning": {"effort": "low", "summary": "auto"},
           "include": ["reasoning.encrypted_content"]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_channel_gets_the_clients_bytes_and_returns_its_answer_unchanged() {
    let w = world(OPENAI, json!({})).await;
    // Written by hand so key order and spacing are the client's own.
    let raw = format!(
        r#"{{"model":"{MODEL}", "input":"hello", "zeta_unknown_field":{{"b":1,"a":2}}, "store":false}}"#
    );
    let r =
        w.gw.send(
            w.gw.builder(reqwest::Method::POST, "/v1/responses", None)
                .bearer_auth(&w.key)
                .header("content-type", "application/json")
                .body(raw.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let up = w.mock.last_request().expect("upstream request");
    assert_eq!(up.path, "/v1/responses");
    assert_eq!(
        up.body_text(),
        raw,
        "the body must pass through byte for byte"
    );
    assert_eq!(r.body["object"], "response");
    assert!(r.body["id"].as_str().unwrap().starts_with("resp_mock"));
    assert_eq!(r.body["output"][0]["content"][0]["text"], "Echo: hello");
    assert_eq!(r.body["usage"]["input_tokens"], 11);
    assert_billed_default(&w).await;
    assert_eq!(w.user().await.used_quota, DEFAULT_QUOTA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_model_is_the_only_change_to_the_body() {
    let w = world(OPENAI, json!({"model_mapping": {MODEL: "gpt-upstream"}})).await;
    let r = create(&w, tool_body(false)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sent = w.mock.last_request().unwrap().json().clone();
    let mut expected = tool_body(false);
    expected["model"] = json!("gpt-upstream");
    assert_eq!(sent, expected);
    assert_eq!(r.body["output"][0]["type"], "reasoning");
    assert_eq!(
        r.body["output"][0]["encrypted_content"],
        ENCRYPTED_REASONING
    );
    assert_eq!(r.body["output"][1]["type"], "function_call");
    assert_eq!(r.body["output"][1]["name"], "get_weather");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_split_at_awkward_bytes_passes_through_and_is_billed_from_completed() {
    let w = world(OPENAI, json!({})).await;
    w.mock.update_options(|o| o.chunk_bytes = Some(3));
    let events = stream(&w, tool_body(true)).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..3],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added"
        ]
    );
    assert!(
        names.contains(&"response.reasoning_summary_text.delta"),
        "{names:?}"
    );
    assert!(
        names.contains(&"response.function_call_arguments.delta"),
        "{names:?}"
    );
    let done = completed(&events);
    assert_eq!(
        done["usage"]["output_tokens_details"]["reasoning_tokens"],
        REASONING_TOKENS
    );
    assert_eq!(done["output"][0]["encrypted_content"], ENCRYPTED_REASONING);
    let log = assert_billed_default(&w).await;
    assert_eq!(log["is_stream"], true);

    let text_events = stream(
        &w,
        json!({"model": MODEL, "stream": true, "input": "split é 日本"}),
    )
    .await;
    assert_eq!(streamed_text(&text_events), "Echo: split é 日本");
    assert_billed_default(&w).await;
    assert_eq!(w.user().await.used_quota, 2 * DEFAULT_QUOTA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_compatible_channel_passes_through_only_when_it_says_so() {
    let chat_only = world(CUSTOM, json!({})).await;
    let r = create(&chat_only, json!({"model": MODEL, "input": "hi"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        chat_only.mock.last_request().unwrap().path,
        "/v1/chat/completions"
    );
    assert!(
        r.body["id"].as_str().unwrap().starts_with("resp_gw"),
        "{}",
        r.text
    );
    assert_eq!(r.body["output"][0]["content"][0]["text"], "Echo: hi");
    assert_billed_default(&chat_only).await;

    let serving = world(CUSTOM, json!({"responses_api": true})).await;
    let r = create(&serving, json!({"model": MODEL, "input": "hi"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(serving.mock.last_request().unwrap().path, "/v1/responses");
    assert!(r.body["id"].as_str().unwrap().starts_with("resp_mock"));
    assert_billed_default(&serving).await;
    let channel = serving.channel(serving.channel_id).await;
    assert!(channel.responses_api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_api_is_refused_on_channel_types_that_always_or_never_have_it() {
    let w = world(OPENAI, json!({})).await;
    let mut body = integration_tests::v1_support::channel_body(&w.mock, "x", json!({"type": 14}));
    body["responses_api"] = json!(true);
    let r = w.gw.post("/api/channel", Some(&w.root), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("responses_api"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_azure_channel_uses_its_v1_responses_path_and_api_key() {
    let w = world(3, json!({"models": [MODEL]})).await;
    let r = create(&w, json!({"model": "gpt-4.1", "input": "hi"})).await;
    // gpt-4.1 is not served: 404 in OpenAI's shape; then the served model.
    openai_error(&r, 404);
    let r = create(&w, json!({"model": MODEL, "input": "hi"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let up = w.mock.last_request().unwrap();
    assert_eq!(up.path, "/openai/v1/responses");
    assert!(up.header("api-key").is_some());
    assert!(up.header("authorization").is_none());
    assert_billed_default(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_passes_through_on_openai_and_is_refused_clearly_elsewhere() {
    let w = world(OPENAI, json!({})).await;
    let body = json!({"model": MODEL, "input": [{"role": "user", "content": "long chat"}],
                      "instructions": "x"});
    let r = post(&w, "/v1/responses/compact", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(w.mock.last_request().unwrap().path, "/v1/responses/compact");
    assert_eq!(r.body["output"][0]["type"], "compaction");
    assert_billed_default(&w).await;

    let a = world(14, json!({})).await;
    let mut body = body;
    body["model"] = json!(integration_tests::provider_support::CLAUDE);
    let r = post(&a, "/v1/responses/compact", body).await;
    let e = openai_error(&r, 400);
    assert_eq!(e["code"], "unsupported_on_channel");
    assert_eq!(a.mock.request_count(), 0);
    assert_eq!(a.user().await.used_quota, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_error_and_bad_input_come_back_in_openai_shape() {
    let w = world(OPENAI, json!({})).await;
    w.mock
        .push_reply(integration_tests::mock_upstream::Reply::error(
            400,
            "bad tool schema",
        ));
    let r = create(&w, json!({"model": MODEL, "input": "hi"})).await;
    let e = openai_error(&r, 400);
    assert!(e["message"].as_str().unwrap().contains("bad tool schema"));
    for (body, status) in [
        (json!({"model": "no-such-model", "input": "x"}), 404),
        (json!({"input": "x"}), 400),
        (json!(["not an object"]), 400),
    ] {
        let r = create(&w, body.clone()).await;
        openai_error(&r, status);
    }
    let r =
        w.gw.send(
            w.gw.builder(reqwest::Method::POST, "/v1/responses", None)
                .bearer_auth(&w.key)
                .body("{not json"),
        )
        .await;
    openai_error(&r, 400);
    let r = w
        .v1_as(
            "sk-wrong",
            reqwest::Method::POST,
            "/v1/responses",
            Some(json!({"model": MODEL, "input": "x"})),
        )
        .await;
    openai_error(&r, 401);
    assert_eq!(w.mock.request_count(), 1);
    assert_eq!(w.user().await.used_quota, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_the_gateway_cannot_convert_still_passes_through_and_is_refused_elsewhere() {
    // `item_reference` needs server-side state: the upstream judges it, not the gateway.
    let body = |model: &str| {
        json!({"model": model, "input": [{"type": "item_reference", "id": "msg_1"},
                                          {"role": "user", "content": "go on"}]})
    };
    let w = world(OPENAI, json!({})).await;
    let r = create(&w, body(MODEL)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(w.mock.last_request().unwrap().json(), &body(MODEL));
    assert_billed_default(&w).await;

    let a = world(14, json!({})).await;
    let claude = integration_tests::provider_support::CLAUDE;
    for bad in [
        body(claude),
        json!({"model": claude}),
        json!({"model": claude, "input": 5}),
        json!({"model": claude, "input": "x", "stream": "yes"}),
        json!({"model": claude, "input": [{"role": "tool", "content": "x"}]}),
    ] {
        let r = create(&a, bad).await;
        openai_error(&r, 400);
    }
    assert_eq!(a.mock.request_count(), 0);
    assert_eq!(a.user().await.used_quota, 0);
}
