//! `GET /`, `/health`, `/api/status`, unknown routes and the request id on every response.

use crate::helpers::{assert_common, fails, ok};
use integration_tests::gateway_support::TestGateway;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_describes_the_service() {
    let gw = TestGateway::spawn().await;
    let r = gw.get("/", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_common(&r);
    assert!(
        r.body["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{}",
        r.text
    );
    assert!(r.body["name"].is_string(), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_the_database() {
    let gw = TestGateway::spawn().await;
    let r = gw.get("/health", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_common(&r);
    assert_eq!(r.body["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_probes_of_root_and_health_answer_200_without_a_body() {
    let gw = TestGateway::spawn().await;
    for path in ["/", "/health"] {
        let r = gw.request(Method::HEAD, path, None, None).await;
        assert_eq!(r.status, 200, "HEAD {path}");
        assert!(r.text.is_empty(), "HEAD {path} sent a body: {}", r.text);
        assert!(r.headers.contains_key("x-request-id"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_system_name_registration_quota_per_unit_and_version() {
    let gw = TestGateway::spawn().await;
    let d = ok(&gw.get("/api/status", None).await, 200);
    assert!(
        d["system_name"].as_str().is_some_and(|s| !s.is_empty()),
        "{d}"
    );
    assert_eq!(
        d["register_enabled"], true,
        "registration is open by default: {d}"
    );
    assert_eq!(d["quota_per_unit"], 500_000);
    assert!(d["version"].as_str().is_some_and(|v| !v.is_empty()), "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_routes_answer_404_in_the_envelope_shape() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    for path in ["/api/nope", "/api/user/self/extra", "/api/v1/chat", "/api/"] {
        fails(&gw.get(path, None).await, 404);
        fails(&gw.get(path, Some(&root)).await, 404);
    }
    fails(&gw.post("/api/nope", Some(&root), json!({})).await, 404);
    // A known path with a method it does not serve still answers in the envelope.
    for method in [Method::PATCH, Method::DELETE] {
        let r = gw.send(gw.builder(method, "/api/token", Some(&root))).await;
        assert!(r.status == 404 || r.status == 405, "{}", r.text);
        crate::helpers::fails_4xx(&r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let responses = vec![
        gw.get("/", None).await,
        gw.get("/health", None).await,
        gw.get("/api/status", None).await,
        gw.get("/no/such/page", None).await,
        gw.get("/api/user/self", None).await,
        gw.get("/api/user/self", Some("garbage")).await,
        gw.get("/api/option", Some(&root)).await,
        gw.post("/api/token", Some(&root), json!({"name": 5})).await,
        gw.get("/api/token/123456", Some(&root)).await,
        gw.raw(
            Method::POST,
            "/api/token",
            Some(&root),
            "application/json",
            vec![b' '; 300 * 1024],
        )
        .await,
        gw.send(
            gw.builder(Method::OPTIONS, "/api/user/login", None)
                .header("origin", "https://console.example")
                .header("access-control-request-method", "POST"),
        )
        .await,
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses[..10],
        [200, 200, 200, 404, 401, 401, 200, 400, 404, 413]
    );
    for r in &responses {
        assert_common(r);
    }

    // A caller's plain id is echoed; anything odd is replaced.
    let r = gw
        .send(
            gw.builder(Method::GET, "/health", None)
                .header("x-request-id", "abc-123_XYZ"),
        )
        .await;
    assert_eq!(r.headers["x-request-id"], "abc-123_XYZ");
    let r = gw
        .send(
            gw.builder(Method::GET, "/health", None)
                .header("x-request-id", "bad id\twith spaces"),
        )
        .await;
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert!(!id.is_empty() && !id.contains(' '), "{id}");
}
