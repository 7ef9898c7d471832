//! `GET /v1/models` and `GET /v1/models/{id}`: the key's models ∩ what enabled channels
//! of the user's group serve.

use integration_tests::v1_support::{openai_error, V1World, MODEL};
use reqwest::Method;
use serde_json::{json, Value};

fn ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

async fn world_with_channels() -> V1World {
    let w = V1World::new().await;
    w.add_channel(
        &w.mock,
        "second",
        json!({"models": ["gpt-4o", "text-embedding-3-small"]}),
    )
    .await;
    w.add_channel(
        &w.mock,
        "disabled",
        json!({"models": ["disabled-model"], "status": 2}),
    )
    .await;
    w.add_channel(
        &w.mock,
        "vip",
        json!({"models": ["vip-model"], "group": "vip"}),
    )
    .await;
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_what_enabled_channels_of_the_group_serve() {
    let w = world_with_channels().await;
    let r = w.v1(Method::GET, "/v1/models", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["object"], "list");
    assert_eq!(
        ids(&r.body),
        vec!["gpt-4o", MODEL, "text-embedding-3-small"],
        "{}",
        r.text
    );
    for m in r.body["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["owned_by"].is_string() && m["created"].is_number(), "{m}");
    }
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_limited_to_the_keys_allowed_models() {
    let w = world_with_channels().await;
    let (_, key) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "limited", "models": [MODEL, "vip-model", "disabled-model", "nowhere"]}),
        )
        .await;
    let r = w.v1_as(&key, Method::GET, "/v1/models", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), vec![MODEL]);
    let r = w.v1_as(&key, Method::GET, "/v1/models/gpt-4o", None).await;
    assert_eq!(openai_error(&r, 404)["code"], "model_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_model_is_found_only_when_visible() {
    let w = world_with_channels().await;
    let r = w.v1(Method::GET, "/v1/models/gpt-4o", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], "gpt-4o");
    assert_eq!(r.body["object"], "model");
    for hidden in ["vip-model", "disabled-model", "no-such-model"] {
        let r = w
            .v1(Method::GET, &format!("/v1/models/{hidden}"), None)
            .await;
        assert_eq!(openai_error(&r, 404)["code"], "model_not_found", "{hidden}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_need_a_valid_key() {
    let w = V1World::new().await;
    let r = w.gw.get("/v1/models", None).await;
    openai_error(&r, 401);
    let r = w
        .v1_as(
            "sk-000000000000000000000000000000000000000000000000",
            Method::GET,
            "/v1/models",
            None,
        )
        .await;
    openai_error(&r, 401);
}
