//! Non-streaming chat, legacy completions and embeddings: pass-through of the body,
//! model mapping, Azure URLs and headers, and what the upstream may never see.

use integration_tests::mock_upstream::MockUpstream;
use integration_tests::v1_support::{
    assert_request_id, channel_body, chat_body, V1World, CHANNEL_KEY, MODEL,
};
use reqwest::Method;
use serde_json::{json, Value};

/// `body` without `model`, for comparing what the client sent with what arrived.
fn without_model(body: &Value) -> Value {
    let mut b = body.clone();
    b.as_object_mut().unwrap().remove("model");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_returns_the_upstream_answer_and_bills_its_usage() {
    let w = V1World::new().await;
    let r = w.chat(chat_body("hello")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_request_id(&r);
    assert_eq!(r.body["object"], "chat.completion");
    assert_eq!(r.body["choices"][0]["message"]["content"], "Echo: hello");
    assert_eq!(r.body["usage"]["prompt_tokens"], 11);
    let req = w.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/chat/completions");
    // Default ratios: (11 + 7 × 3) × 1 × 1.
    let user = w.user().await;
    assert_eq!(user.used_quota, 32);
    assert_eq!(user.request_count, 1);
    let logs = w.logs().await;
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log["quota"], 32);
    assert_eq!(log["prompt_tokens"], 11);
    assert_eq!(log["completion_tokens"], 7);
    assert_eq!(log["status_code"], 200);
    assert_eq!(log["is_stream"], false);
    assert_eq!(log["model_name"], MODEL);
    assert_eq!(log["channel_id"], w.channel_id);
    assert_eq!(
        log["request_id"].as_str().unwrap(),
        r.headers["x-request-id"].to_str().unwrap()
    );
    w.assert_ledger(integration_tests::v1_support::USER_QUOTA)
        .await;
    assert_eq!(w.channel(w.channel_id).await.used_quota, 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_openai_field_passes_through_and_only_model_is_mapped() {
    let w = V1World::new().await;
    let mapped = w
        .add_channel(
            &w.mock,
            "mapped",
            json!({"models": ["my-alias"], "model_mapping": {"my-alias": "gpt-4o-2024-08-06"}}),
        )
        .await;
    let body = json!({
        "model": "my-alias",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        "n": 2,
        "logprobs": true,
        "top_logprobs": 3,
        "seed": 42,
        "temperature": 0.25,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "presence_penalty": 0.5,
        "logit_bias": {"50256": -100},
        "user": "end-user-7",
        "parallel_tool_calls": false,
        "max_tokens": 64,
        "metadata": {"k": "v"},
        "x_vendor_extension": {"nested": [1, 2.5, "three", null, true]}
    });
    let r = w.chat(body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The mock calls the offered tool.
    assert_eq!(
        r.body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    let got = w.mock.last_request().unwrap();
    assert_eq!(got.json()["model"], "gpt-4o-2024-08-06");
    assert_eq!(without_model(got.json()), without_model(&body));
    let log = &w.logs().await[0];
    assert_eq!(log["model_name"], "my-alias");
    assert_eq!(log["upstream_model"], "gpt-4o-2024-08-06");
    assert_eq!(log["channel_id"], mapped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_gets_the_channel_key_and_never_the_clients() {
    let w = V1World::new().await;
    let mut seen_keys = Vec::new();
    // Bearer plus x-api-key and other credential-looking headers from the client.
    let req =
        w.gw.builder(Method::POST, "/v1/chat/completions", None)
            .bearer_auth(&w.key)
            .header("x-api-key", &w.key)
            .header("api-key", &w.key)
            .header("cookie", format!("session={}", w.key))
            .header("x-goog-api-key", &w.key)
            .json(&chat_body("hi"));
    let r = w.gw.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    seen_keys.push(w.mock.last_request().unwrap());
    // x-api-key alone also authenticates.
    let req =
        w.gw.builder(Method::POST, "/v1/chat/completions", None)
            .header("x-api-key", &w.key)
            .json(&chat_body("hi"));
    let r = w.gw.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    seen_keys.push(w.mock.last_request().unwrap());
    for got in seen_keys {
        assert_eq!(
            got.header("authorization"),
            Some(format!("Bearer {CHANNEL_KEY}").as_str())
        );
        for name in ["x-api-key", "api-key", "cookie", "x-goog-api-key"] {
            assert!(
                got.header(name).is_none(),
                "{name} forwarded: {:?}",
                got.headers
            );
        }
        for (name, value) in &got.headers {
            assert!(!value.contains(&w.key), "client key in {name}");
        }
        assert!(!got.body_text().contains(&w.key));
        assert!(!got.query.clone().unwrap_or_default().contains(&w.key));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_completions_work_streaming_and_not() {
    let w = V1World::new().await;
    w.add_channel(
        &w.mock,
        "instruct",
        json!({"models": ["gpt-3.5-turbo-instruct"]}),
    )
    .await;
    let body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "say hi", "max_tokens": 8,
                      "echo": false, "best_of": 1, "suffix": "!"});
    let r = w
        .v1(Method::POST, "/v1/completions", Some(body.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["object"], "text_completion");
    assert_eq!(r.body["choices"][0]["text"], "Echo: say hi");
    let got = w.mock.last_request().unwrap();
    assert_eq!(got.path, "/v1/completions");
    assert_eq!(without_model(got.json()), without_model(&body));
    let mut sb = body.clone();
    sb["stream"] = json!(true);
    let s = w.stream("/v1/completions", sb).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.text(), "Echo: say hi");
    assert!(s.ends_with_done());
    let logs = w.logs().await;
    assert_eq!(logs.len(), 2);
    assert!(logs.iter().all(|l| l["quota"].as_i64().unwrap() > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_are_billed_for_the_prompt_only() {
    let w = V1World::new().await;
    w.add_channel(
        &w.mock,
        "embed",
        json!({"models": ["text-embedding-3-small"]}),
    )
    .await;
    let body = json!({"model": "text-embedding-3-small", "input": ["one", "two"],
                      "dimensions": 4, "encoding_format": "float"});
    let r = w
        .v1(Method::POST, "/v1/embeddings", Some(body.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["data"][1]["embedding"].as_array().unwrap().len(), 4);
    let got = w.mock.last_request().unwrap();
    assert_eq!(got.path, "/v1/embeddings");
    assert_eq!(without_model(got.json()), without_model(&body));
    // 11 prompt tokens, no completion.
    assert_eq!(w.user().await.used_quota, 11);
    assert_eq!(w.logs().await[0]["quota"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_channels_use_deployment_urls_api_version_and_api_key() {
    let w = V1World::new().await;
    let azure = MockUpstream::start().await;
    azure.update_options(|o| o.api_key = Some(CHANNEL_KEY.to_string()));
    let mut body = channel_body(
        &azure,
        "azure",
        json!({"type": 3, "models": ["gpt-3.5-turbo"],
        "api_version": "2024-06-01"}),
    );
    body["base_url"] = json!(format!("{}/", azure.url()));
    w.gw.create_channel(&w.root, body).await;
    let r = w
        .chat(
            json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "az"}],
                          "max_tokens": 5}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["choices"][0]["message"]["content"], "Echo: az");
    let got = azure.last_request().unwrap();
    assert_eq!(
        got.path,
        "/openai/deployments/gpt-35-turbo/chat/completions"
    );
    assert_eq!(got.query_param("api-version"), Some("2024-06-01"));
    assert_eq!(got.header("api-key"), Some(CHANNEL_KEY));
    assert!(got.header("authorization").is_none());
    assert_eq!(got.json()["model"], "gpt-3.5-turbo");
    // Streaming through Azure (its first chunk is a content-filter chunk without choices).
    let s = w
        .stream(
            "/v1/chat/completions",
            json!({"model": "gpt-3.5-turbo", "stream": true,
                   "messages": [{"role": "user", "content": "az"}]}),
        )
        .await;
    assert_eq!(s.text(), "Echo: az");
    assert!(s.ends_with_done());
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_uses_the_documented_default_api_version_and_mapped_deployment() {
    let w = V1World::new().await;
    let azure = MockUpstream::start().await;
    w.gw.create_channel(
        &w.root,
        channel_body(
            &azure,
            "azure",
            json!({"type": 3, "models": ["gpt-4.1"],
            "model_mapping": {"gpt-4.1": "prod.gpt-4.1-mini"}}),
        ),
    )
    .await;
    let r = w
        .chat(json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = azure.last_request().unwrap();
    assert_eq!(
        got.path,
        "/openai/deployments/prodgpt-41-mini/chat/completions"
    );
    assert_eq!(
        got.query_param("api-version"),
        Some(gateway::providers::azure::DEFAULT_API_VERSION)
    );
}
