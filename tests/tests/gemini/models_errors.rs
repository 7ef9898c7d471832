//! Model lists in three shapes, countTokens, keys in every place Gemini clients put
//! them, and errors in Google's shape (never an empty body).

use integration_tests::gemini_support::{
    action, generate_body, goog_builder, goog_get, goog_post, google_error, GoogKey,
};
use integration_tests::provider_support::{world, GEMINI, GEMINI_EMBED, GEMINI_MODEL, OPENAI};
use integration_tests::v1_support::MODEL;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_lists_take_the_shape_of_the_caller() {
    let w = world(
        GEMINI,
        json!({"models": [GEMINI_MODEL, GEMINI_EMBED, "hidden-model"]}),
    )
    .await;
    // A key limited to two models sees only those.
    let (_, key) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "limited",
                                         "models": [GEMINI_MODEL, GEMINI_EMBED]}),
        )
        .await;
    let send = |path: &str, how: GoogKey| w.gw.send(goog_builder(&w, Method::GET, path, &key, how));
    for (path, how) in [
        ("/v1beta/models", GoogKey::Header),
        ("/v1beta/models", GoogKey::Query),
        ("/v1beta/models", GoogKey::Bearer),
        ("/v1/models", GoogKey::Header),
        ("/v1/models", GoogKey::Query),
    ] {
        let r = send(path, how).await;
        assert_eq!(r.status, 200, "{path} {how:?}: {}", r.text);
        let names: Vec<&str> = r.body["models"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} {how:?}: not Gemini's shape: {}", r.text))
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                format!("models/{GEMINI_MODEL}"),
                format!("models/{GEMINI_EMBED}")
            ],
            "{path} {how:?}"
        );
        let embed = &r.body["models"][1]["supportedGenerationMethods"];
        assert!(embed.as_array().unwrap().contains(&json!("embedContent")));
    }
    // OpenAI's shape with a plain bearer key on /v1.
    let r = send("/v1/models", GoogKey::Bearer).await;
    assert_eq!(r.body["object"], "list", "{}", r.text);
    assert_eq!(r.body["data"][0]["id"], GEMINI_MODEL);
    // Anthropic's with anthropic-version.
    let r =
        w.gw.send(
            w.gw.builder(Method::GET, "/v1/models", None)
                .header("x-api-key", &key)
                .header("anthropic-version", "2023-06-01"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"][0]["type"], "model", "{}", r.text);
    assert_eq!(r.body["has_more"], false);
    assert_eq!(r.body["first_id"], GEMINI_MODEL);
    let r =
        w.gw.send(
            w.gw.builder(Method::GET, &format!("/v1/models/{GEMINI_MODEL}"), None)
                .header("x-api-key", &key)
                .header("anthropic-version", "2023-06-01"),
        )
        .await;
    assert_eq!(r.body["id"], GEMINI_MODEL, "{}", r.text);
    assert_eq!(r.body["type"], "model");
    // One model, by name, under both versions.
    for path in [
        format!("/v1beta/models/{GEMINI_MODEL}"),
        format!("/v1/models/{GEMINI_MODEL}"),
    ] {
        let r = send(&path, GoogKey::Header).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["name"], format!("models/{GEMINI_MODEL}"));
    }
    let r = send("/v1beta/models/hidden-model", GoogKey::Header).await;
    google_error(&r, 404, "NOT_FOUND");
    // Pages.
    let r = send("/v1beta/models?pageSize=1", GoogKey::Header).await;
    assert_eq!(r.body["models"].as_array().unwrap().len(), 1);
    let token = r.body["nextPageToken"]
        .as_str()
        .expect("a next page")
        .to_string();
    let r = send(
        &format!("/v1beta/models?pageSize=1&pageToken={token}"),
        GoogKey::Header,
    )
    .await;
    assert_eq!(
        r.body["models"][0]["name"],
        format!("models/{GEMINI_EMBED}")
    );
    assert!(r.body.get("nextPageToken").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_placement_works_and_v1_serves_the_same_methods() {
    let w = world(OPENAI, json!({})).await;
    for how in [GoogKey::Header, GoogKey::Query, GoogKey::Bearer] {
        for version in ["v1beta", "v1"] {
            let path = format!("/{version}/models/{MODEL}:generateContent");
            let r = w
                .gw
                .send(goog_builder(&w, Method::POST, &path, &w.key, how).json(&generate_body("k")))
                .await;
            assert_eq!(r.status, 200, "{path} {how:?}: {}", r.text);
            assert!(r.body["candidates"].is_array(), "{}", r.text);
        }
    }
    // The client's key never reaches the upstream.
    for req in w.mock.requests() {
        assert!(!req.body_text().contains(&w.key));
        assert!(!req.query.unwrap_or_default().contains(&w.key));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_tokens_is_estimated_locally_where_no_channel_can_count_and_not_billed() {
    // Only an OpenAI channel serves the model (Gemini and Anthropic channels count
    // upstream: providers/count_tokens.rs).
    let w = world(OPENAI, json!({"models": [GEMINI_MODEL]})).await;
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "countTokens"),
        generate_body("count these words please"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let n = r.body["totalTokens"].as_u64().expect("totalTokens");
    assert!(n >= 4, "{n}");
    // The SDKs may wrap the request.
    let r = goog_post(
        &w,
        &format!("/v1/models/{GEMINI_MODEL}:countTokens"),
        json!({"generateContentRequest": generate_body("count these words please")}),
    )
    .await;
    assert_eq!(r.body["totalTokens"], n, "{}", r.text);
    assert_eq!(w.mock.request_count(), 0);
    assert!(w.logs().await.is_empty());
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "countTokens"),
        json!({"contents": 3}),
    )
    .await;
    google_error(&r, 400, "INVALID_ARGUMENT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_googles_shape_and_never_empty() {
    let w = world(GEMINI, json!({})).await;
    let gen = action(GEMINI_MODEL, "generateContent");
    // No key, a wrong key.
    let r =
        w.gw.send(
            w.gw.builder(Method::POST, &gen, None)
                .json(&generate_body("x")),
        )
        .await;
    google_error(&r, 401, "UNAUTHENTICATED");
    let r =
        w.gw.send(
            goog_builder(
                &w,
                Method::POST,
                &gen,
                "sk-not-a-real-key-000000000000000000000000",
                GoogKey::Header,
            )
            .json(&generate_body("x")),
        )
        .await;
    google_error(&r, 401, "UNAUTHENTICATED");
    // Unknown model, bad JSON, bad body.
    let r = goog_post(
        &w,
        &action("no-such-model", "generateContent"),
        generate_body("x"),
    )
    .await;
    google_error(&r, 404, "NOT_FOUND");
    let r =
        w.gw.send(
            goog_builder(&w, Method::POST, &gen, &w.key, GoogKey::Header)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    let r = goog_post(&w, &gen, json!({"contents": "nope"})).await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    // Unknown routes and methods under /v1beta.
    for (method, path) in [
        (Method::GET, "/v1beta/nothing-here"),
        (Method::POST, "/v1beta/models/gemini-2.5-flash:fly"),
        (Method::POST, "/v1beta/cachedContents"),
        (Method::DELETE, "/v1beta/models"),
    ] {
        let r =
            w.gw.send(goog_builder(
                &w,
                method.clone(),
                path,
                &w.key,
                GoogKey::Header,
            ))
            .await;
        google_error(&r, 404, "NOT_FOUND");
    }
    // A key limited to other models.
    let (_, key) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "other", "models": ["other-model"]}),
        )
        .await;
    let r = w
        .gw
        .send(goog_builder(&w, Method::POST, &gen, &key, GoogKey::Header).json(&generate_body("x")))
        .await;
    google_error(&r, 403, "PERMISSION_DENIED");
    assert_eq!(w.mock.request_count(), 0, "nothing reached the upstream");
    let r = goog_get(&w, "/v1beta/models/").await;
    assert!(
        r.status.is_client_error() && r.body["error"]["status"].is_string(),
        "{}",
        r.text
    );
}
