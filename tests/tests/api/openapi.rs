//! `GET /api/openapi.json`: an OpenAPI 3.1 document that describes exactly the `/api`
//! routes the gateway mounts (read from the gateway's own route table).

use crate::helpers::assert_common;
use integration_tests::gateway_support::TestGateway;
use serde_json::Value;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_every_mounted_api_route_and_no_other() {
    let gw = TestGateway::spawn().await;
    let r = gw.get("/api/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_common(&r);
    let doc = &r.body;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );

    let mounted: BTreeSet<(String, String)> = gateway::routes::api_routes()
        .iter()
        .map(|route| {
            (
                format!("/api{}", route.path),
                route.method.as_str().to_lowercase(),
            )
        })
        .collect();
    assert!(
        mounted.len() > 20,
        "the route table looks empty: {mounted:?}"
    );
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|k| ["get", "put", "post", "delete", "patch", "head"].contains(&k.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "mounted but not documented: {undocumented:?}"
    );
    let phantom: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        phantom.is_empty(),
        "documented but not mounted: {phantom:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_operations_declare_the_session_and_their_refusals() {
    let gw = TestGateway::spawn().await;
    let doc = gw.get("/api/openapi.json", None).await.body;
    let public = [
        "/api/status",
        "/api/openapi.json",
        "/api/user/login",
        "/api/user/register",
    ];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            let ok = responses.keys().any(|s| s.starts_with('2'));
            assert!(ok, "{method} {path}: no success response");
            if public.contains(&path.as_str()) {
                continue;
            }
            let security = op["security"].as_array().cloned().unwrap_or_default();
            assert!(
                security.iter().any(|s| s.get("session").is_some()),
                "{method} {path}: no session requirement"
            );
            assert!(
                responses.contains_key("401"),
                "{method} {path}: 401 undocumented"
            );
        }
    }
    // A documented path with an undocumented method says which ones it accepts.
    let r = gw
        .raw(
            reqwest::Method::PATCH,
            "/api/user/self",
            None,
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.headers["allow"], "GET, PUT");
    assert_eq!(r.body["success"], Value::Bool(false));
}

/// JSON (and the document's `integer`) does not tell `2` from `2.0`: both are accepted as
/// the integer, anything with a fraction is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_written_with_a_zero_fraction_are_integers() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let body = serde_json::json!({"name": "c", "type": 1.0, "key": "sk-0123456789abcdef",
        "models": ["m"], "priority": -2.0, "weight": 3.0});
    let r = gw.post("/api/channel", Some(&root), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.data()["type"], 1);
    assert_eq!(r.data()["priority"], -2);
    assert_eq!(r.data()["weight"], 3);

    gw.set_options(&root, serde_json::json!({"retry_times": 3.0}))
        .await;
    let options = gw.get("/api/option", Some(&root)).await;
    assert_eq!(options.data()["retry_times"], 3, "{}", options.text);

    let r = gw
        .post(
            "/api/user",
            Some(&root),
            serde_json::json!({"username": "frac", "password": "frac-password", "quota": 2.5}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}
