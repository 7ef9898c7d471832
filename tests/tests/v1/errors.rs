//! Bad `/v1` input: a clear 4xx in OpenAI's shape, nothing sent upstream, nothing charged.

use integration_tests::v1_support::{assert_request_id, openai_error, V1World, MODEL, USER_QUOTA};
use reqwest::Method;
use serde_json::json;

async fn assert_untouched(w: &V1World) {
    assert_eq!(w.mock.request_count(), 0, "{:?}", w.mock.requests());
    let user = w.user().await;
    assert_eq!((user.quota, user.used_quota), (USER_QUOTA, 0));
    w.assert_ledger(USER_QUOTA).await;
}

async fn raw(
    w: &V1World,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> integration_tests::gateway_support::Resp {
    let req =
        w.gw.builder(Method::POST, path, None)
            .bearer_auth(&w.key)
            .header("content-type", content_type)
            .body(body);
    w.gw.send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_400_in_openai_shape() {
    let w = V1World::new().await;
    let m = json!([{"role": "user", "content": "x"}]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("/v1/chat/completions", b"{not json".to_vec()),
        ("/v1/chat/completions", b"".to_vec()),
        ("/v1/chat/completions", b"[1,2,3]".to_vec()),
        ("/v1/chat/completions", b"\"just a string\"".to_vec()),
        ("/v1/chat/completions", b"null".to_vec()),
        ("/v1/chat/completions", json!({"messages": m}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": []}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": "hi"}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": [1, 2]}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": 42, "messages": m}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": "", "messages": m}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": m, "stream": "yes"}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": m, "max_tokens": -1}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": m, "max_tokens": "10"}).to_string().into_bytes()),
        ("/v1/chat/completions", json!({"model": MODEL, "messages": m, "n": 100000}).to_string().into_bytes()),
        ("/v1/chat/completions", format!(r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":"x"}}],"max_tokens":1e400}}"#).into_bytes()),
        ("/v1/chat/completions", format!(r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":"x"}}],"max_tokens":18446744073709551616}}"#).into_bytes()),
        ("/v1/chat/completions", format!(r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":"x"}}],"max_tokens":99999999999999}}"#).into_bytes()),
        ("/v1/chat/completions", b"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\xc3\"}]}".to_vec()),
        ("/v1/completions", json!({"model": MODEL}).to_string().into_bytes()),
        ("/v1/embeddings", json!({"model": MODEL}).to_string().into_bytes()),
        ("/v1/embeddings", json!({"model": MODEL, "input": "x", "stream": true}).to_string().into_bytes()),
    ];
    for (path, body) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let r = raw(&w, path, "application/json", body).await;
        assert_eq!(r.status, 400, "{path} {shown}: {}", r.text);
        openai_error(&r, 400);
    }
    assert_untouched(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_32_mib_gets_413() {
    let w = V1World::new().await;
    let filler = "a".repeat(33 * 1024 * 1024);
    let body =
        format!(r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":"{filler}"}}]}}"#);
    let r = raw(
        &w,
        "/v1/chat/completions",
        "application/json",
        body.into_bytes(),
    )
    .await;
    let e = openai_error(&r, 413);
    assert!(e["message"].as_str().unwrap().len() < 500);
    assert_untouched(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_oversized_body_is_refused_without_reading_it() {
    let w = V1World::new().await;
    let body = vec![b' '; 40 * 1024 * 1024];
    let r =
        w.gw.send(
            w.gw.builder(Method::POST, "/v1/chat/completions", None)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    openai_error(&r, 401);
    assert_untouched(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_v1_routes_get_404_in_openai_shape() {
    let w = V1World::new().await;
    for (method, path) in [
        (Method::POST, "/v1/nope"),
        (Method::GET, "/v1/chat/completions/extra"),
        (Method::POST, "/v1/images/unknown"),
        (Method::DELETE, "/v1/whatever"),
    ] {
        let r = w.v1(method.clone(), path, Some(json!({}))).await;
        openai_error(&r, 404);
    }
    assert_untouched(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v1_response_carries_a_request_id() {
    let w = V1World::new().await;
    let ok = w.chat(integration_tests::v1_support::chat_body("x")).await;
    assert_request_id(&ok);
    assert_request_id(&w.v1(Method::GET, "/v1/models", None).await);
    assert_request_id(&w.gw.get("/v1/models", None).await);
    assert_request_id(&w.v1(Method::POST, "/v1/nope", None).await);
    let s = w
        .stream(
            "/v1/chat/completions",
            integration_tests::v1_support::stream_body("x"),
        )
        .await;
    assert!(s.headers.contains_key("x-request-id"));
    let ids: std::collections::HashSet<String> = w
        .logs()
        .await
        .iter()
        .map(|l| l["request_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "request ids must be unique: {ids:?}");
}
