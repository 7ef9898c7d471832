//! Channel tools of the console: the last test outcome kept on the channel, "test all
//! channels" and "fetch models" from the provider's own model list (mock upstream).

use super::helpers::{fails, ok};
use integration_tests::gateway_support::Resp;
use integration_tests::mock_upstream::{
    MockUpstream, Reply, ANTHROPIC_MODELS, GEMINI_MODELS, OPENAI_MODELS,
};
use integration_tests::v1_support::{V1World, CHANNEL_KEY};
use serde_json::{json, Value};

async fn channel_json(w: &V1World, id: i64) -> Value {
    ok(
        &w.gw.get(&format!("/api/channel/{id}"), Some(&w.root)).await,
        200,
    )
}

async fn test_channel(w: &V1World, id: i64) -> Value {
    ok(
        &w.gw
            .post(&format!("/api/channel/{id}/test"), Some(&w.root), json!({}))
            .await,
        200,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_test_is_kept_on_the_channel_until_the_next_test() {
    let w = V1World::new().await;
    let before = channel_json(&w, w.channel_id).await;
    assert_eq!(
        before["test_success"],
        Value::Null,
        "never tested: {before}"
    );
    assert_eq!(before["test_at"], Value::Null);

    w.mock.push_reply(Reply::error(500, "upstream on fire"));
    assert_eq!(test_channel(&w, w.channel_id).await["success"], false);
    let failed = channel_json(&w, w.channel_id).await;
    assert_eq!(failed["test_success"], false, "{failed}");
    assert!(failed["test_at"].as_i64().is_some(), "{failed}");
    let error = failed["test_error"].as_str().unwrap_or("");
    assert!(
        error.contains("500") && error.contains("upstream on fire"),
        "{failed}"
    );
    assert!(!failed.to_string().contains(CHANNEL_KEY));
    // The list the console shows carries the same fields.
    let list = ok(&w.gw.get("/api/channel", Some(&w.root)).await, 200);
    assert_eq!(list["items"][0]["test_error"], failed["test_error"]);

    assert_eq!(test_channel(&w, w.channel_id).await["success"], true);
    let passed = channel_json(&w, w.channel_id).await;
    assert_eq!(passed["test_success"], true, "{passed}");
    assert_eq!(passed["test_error"], "", "{passed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_all_tests_every_channel_not_manually_disabled() {
    let w = V1World::new().await;
    let broken_mock = MockUpstream::start().await;
    let broken = w.add_channel(&broken_mock, "broken", json!({})).await;
    let off_mock = MockUpstream::start().await;
    let off = w.add_channel(&off_mock, "off", json!({"status": 2})).await;
    broken_mock.push_reply(Reply::error(503, "overloaded for the test"));

    let r =
        w.gw.post("/api/channel/test", Some(&w.user_jwt), json!({}))
            .await;
    fails(&r, 403);
    assert_eq!(w.mock.request_count() + broken_mock.request_count(), 0);

    let report = ok(
        &w.gw
            .post("/api/channel/test", Some(&w.root), json!({}))
            .await,
        200,
    );
    assert_eq!(report["tested"], 2, "{report}");
    assert_eq!(report["passed"], 1, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["skipped"], 1, "{report}");
    let results = report["results"].as_array().cloned().unwrap_or_default();
    let line = |id: i64| {
        results
            .iter()
            .find(|l| l["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no line for channel {id}: {report}"))
    };
    assert_eq!(line(w.channel_id)["success"], true);
    assert_eq!(line(w.channel_id)["name"], "primary");
    assert_eq!(line(broken)["success"], false);
    assert!(
        line(broken)["message"]
            .as_str()
            .unwrap_or("")
            .contains("503"),
        "{report}"
    );
    assert!(results.iter().all(|l| l["id"] != off), "{report}");
    assert_eq!(
        off_mock.request_count(),
        0,
        "a disabled channel is not called"
    );
    assert!(!report.to_string().contains(CHANNEL_KEY));

    assert_eq!(channel_json(&w, broken).await["test_success"], false);
    assert_eq!(channel_json(&w, w.channel_id).await["test_success"], true);
    assert_eq!(channel_json(&w, off).await["test_success"], Value::Null);
}

async fn fetch(w: &V1World, jwt: &str, body: Value) -> Resp {
    w.gw.post("/api/channel/fetch_models", Some(jwt), body)
        .await
}

fn names(data: &Value) -> Vec<String> {
    data["models"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_models_reads_a_saved_channels_openai_list_without_saving() {
    let w = V1World::new().await;
    let before = channel_json(&w, w.channel_id).await;
    let data = ok(&fetch(&w, &w.root, json!({"id": w.channel_id})).await, 200);
    assert_eq!(names(&data), sorted(OPENAI_MODELS), "{data}");
    let got = w.mock.last_request().expect("the mock was asked");
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {CHANNEL_KEY}").as_str())
    );
    assert!(!data.to_string().contains(CHANNEL_KEY));
    assert_eq!(
        channel_json(&w, w.channel_id).await["models"],
        before["models"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_models_follows_anthropic_and_gemini_pages() {
    let w = V1World::new().await;
    let key = "sk-ant-fetch-models-key-0123456789";
    let mock = MockUpstream::start().await;
    mock.update_options(|o| o.api_key = Some(key.to_string()));

    let data = ok(
        &fetch(
            &w,
            &w.root,
            json!({"type": 14, "base_url": mock.url(), "key": key}),
        )
        .await,
        200,
    );
    assert_eq!(names(&data), sorted(ANTHROPIC_MODELS), "{data}");
    let asked = mock.requests();
    assert_eq!(asked.len(), 2, "two pages of two");
    assert!(asked.iter().all(|r| r.path == "/v1/models"
        && r.header("x-api-key") == Some(key)
        && r.header("anthropic-version").is_some()));
    assert_eq!(asked[1].query_param("after_id"), Some(ANTHROPIC_MODELS[1]));

    let data = ok(
        &fetch(
            &w,
            &w.root,
            json!({"type": 24, "base_url": mock.url(), "key": key}),
        )
        .await,
        200,
    );
    let chat_or_embed: Vec<&str> = GEMINI_MODELS
        .iter()
        .filter(|(_, m)| m.contains(&"generateContent") || m.contains(&"embedContent"))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names(&data), sorted(&chat_or_embed), "{data}");
    let gemini: Vec<_> = mock.requests().into_iter().skip(2).collect();
    assert_eq!(gemini.len(), 2, "two pages of two");
    for r in &gemini {
        assert_eq!(r.path, "/v1beta/models");
        assert_eq!(r.header("x-goog-api-key"), Some(key));
        assert!(
            !r.query.clone().unwrap_or_default().contains(key),
            "key in the URL"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_models_failures_are_clear_and_never_show_the_key() {
    let w = V1World::new().await;
    let wrong = "sk-wrong-key-for-fetch-models-0123";
    let r = fetch(
        &w,
        &w.root,
        json!({"type": 1, "base_url": w.mock.url(), "key": wrong}),
    )
    .await;
    fails(&r, 400);
    assert!(r.text.contains("401"), "{}", r.text);
    assert!(
        !r.text.contains(wrong) && !r.text.contains(CHANNEL_KEY),
        "{}",
        r.text
    );

    for (body, says) in [
        (
            json!({"type": 3, "base_url": w.mock.url(), "key": "k-123456"}),
            "deployment",
        ),
        (
            json!({"type": 1, "base_url": w.mock.url()}),
            "key is required",
        ),
        (
            json!({"base_url": w.mock.url(), "key": "k-123456"}),
            "type is required",
        ),
        (
            json!({"type": 99, "key": "k-123456"}),
            "base_url is required",
        ),
        (
            json!({"type": 1, "base_url": "not a url", "key": "k-123456"}),
            "base_url",
        ),
        (json!({"type": 1, "key": "k", "extra": 1}), "unknown field"),
    ] {
        let r = fetch(&w, &w.root, body.clone()).await;
        fails(&r, 400);
        assert!(r.text.contains(says), "{body}: {}", r.text);
    }
    fails(&fetch(&w, &w.root, json!({"id": 999_999})).await, 404);
    fails(
        &fetch(&w, &w.user_jwt, json!({"id": w.channel_id})).await,
        403,
    );
    // Only the wrong-key request reached the upstream.
    assert_eq!(w.mock.request_count(), 1);
}
