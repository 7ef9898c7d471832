//! Stored responses: recorded against the channel and user that created them, reachable
//! only by that user, and only on channels that keep them.

use integration_tests::mock_upstream::MockUpstream;
use integration_tests::provider_support::{model_for, world, ANTHROPIC, OPENAI};
use integration_tests::responses_support::{create, stream};
use integration_tests::v1_support::{openai_error, CHANNEL_KEY, MODEL};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_response_is_reachable_by_its_owner_on_its_channel_only() {
    let w = world(OPENAI, json!({})).await;
    // A second channel for the same model, preferred by priority: only ids it created
    // may go to it.
    let other = MockUpstream::start().await;
    other.update_options(|o| o.api_key = Some(CHANNEL_KEY.to_string()));
    let r = create(&w, json!({"model": MODEL, "input": "remember me"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    w.add_channel(&other, "preferred", json!({"priority": 10}))
        .await;

    let got = w
        .v1(Method::GET, &format!("/v1/responses/{id}"), None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["id"], id.as_str());
    assert_eq!(
        w.mock.last_request().unwrap().path,
        format!("/v1/responses/{id}")
    );
    let items = w
        .v1(
            Method::GET,
            &format!("/v1/responses/{id}/input_items?limit=5"),
            None,
        )
        .await;
    assert_eq!(items.status, StatusCode::OK, "{}", items.text);
    assert_eq!(items.body["object"], "list");
    assert_eq!(
        w.mock.last_request().unwrap().query.as_deref(),
        Some("limit=5")
    );

    // A continuation goes to the channel holding the previous response, not the
    // preferred one; streamed continuations too.
    let before = other.request_count();
    let next = json!({"model": MODEL, "input": "and now?", "previous_response_id": id});
    let r = create(&w, next.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        w.mock.last_request().unwrap().json()["previous_response_id"],
        id.as_str()
    );
    let mut streamed = next;
    streamed["stream"] = json!(true);
    let events = stream(&w, streamed).await;
    assert_eq!(events.last().unwrap().0, "response.completed");
    assert_eq!(
        other.request_count(),
        before,
        "nothing may go to the other channel"
    );

    // Another user's key: 404, as for an unknown id.
    let (_, bob_jwt) = w.gw.create_user(&w.root, "bob", 1, 1_000_000).await;
    let (_, bob_key) = w.gw.create_key(&bob_jwt, json!({"name": "bob-key"})).await;
    for (method, path) in [
        (Method::GET, format!("/v1/responses/{id}")),
        (Method::DELETE, format!("/v1/responses/{id}")),
        (Method::GET, format!("/v1/responses/{id}/input_items")),
    ] {
        let r = w.v1_as(&bob_key, method, &path, None).await;
        openai_error(&r, 404);
    }
    let r = w
        .v1_as(
            &bob_key,
            Method::POST,
            "/v1/responses",
            Some(json!({"model": MODEL, "input": "x", "previous_response_id": id})),
        )
        .await;
    openai_error(&r, 404);
    let r = w.v1(Method::GET, "/v1/responses/resp_0123abcd", None).await;
    openai_error(&r, 404);

    let deleted = w
        .v1(Method::DELETE, &format!("/v1/responses/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.body["deleted"], true);
    let gone = w
        .v1(Method::GET, &format!("/v1/responses/{id}"), None)
        .await;
    openai_error(&gone, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_false_records_nothing() {
    let w = world(OPENAI, json!({})).await;
    let r = create(&w, json!({"model": MODEL, "input": "x", "store": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    let got = w
        .v1(Method::GET, &format!("/v1/responses/{id}"), None)
        .await;
    openai_error(&got, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_from_a_converted_channel_gets_a_clear_400() {
    let w = world(ANTHROPIC, json!({})).await;
    let r = create(&w, json!({"model": model_for(ANTHROPIC), "input": "x"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let requests = w.mock.request_count();
    let r = create(
        &w,
        json!({"model": model_for(ANTHROPIC), "input": "y",
                             "previous_response_id": id}),
    )
    .await;
    let e = openai_error(&r, 400);
    assert_eq!(e["code"], "response_not_stored");
    assert!(e["message"].as_str().unwrap().contains("input"), "{e}");
    let r = w
        .v1(Method::GET, &format!("/v1/responses/{id}"), None)
        .await;
    openai_error(&r, 400);
    assert_eq!(w.mock.request_count(), requests);
}
