//! CORS as a browser meets it: the preflight, then the call, for `ALLOWED_ORIGINS=*`
//! (the default) and for a list of origins.

use integration_tests::v1_support::{chat_body, V1World};
use reqwest::Method;

const APP: &str = "https://app.example";

/// The preflight a browser sends before a JSON POST with a bearer key.
async fn preflight(w: &V1World, origin: &str) -> integration_tests::gateway_support::Resp {
    w.gw.send(
        w.gw.builder(Method::OPTIONS, "/v1/chat/completions", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            ),
    )
    .await
}

/// The call itself, as the browser sends it after the preflight.
async fn call(w: &V1World, origin: &str) -> integration_tests::gateway_support::Resp {
    w.gw.send(
        w.gw.builder(Method::POST, "/v1/chat/completions", None)
            .header("origin", origin)
            .bearer_auth(&w.key)
            .json(&chat_body("hi")),
    )
    .await
}

fn header<'a>(r: &'a integration_tests::gateway_support::Resp, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_origin_may_call_by_default_and_read_the_request_id() {
    let w = V1World::new().await;
    let pre = preflight(&w, APP).await;
    assert!(pre.status.is_success(), "{} {:?}", pre.status, pre.headers);
    assert_eq!(header(&pre, "access-control-allow-origin"), "*");
    assert!(
        header(&pre, "access-control-allow-methods").contains("POST"),
        "{:?}",
        pre.headers
    );
    let allowed = header(&pre, "access-control-allow-headers").to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert_eq!(header(&pre, "access-control-max-age"), "3600");
    assert_eq!(w.mock.request_count(), 0, "a preflight reaches no upstream");

    let r = call(&w, APP).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    assert!(
        header(&r, "access-control-expose-headers").contains("x-request-id"),
        "{:?}",
        r.headers
    );
    assert!(!header(&r, "x-request-id").is_empty());
    // Not credentialed: a wildcard must never come with credentials.
    assert_eq!(header(&r, "access-control-allow-credentials"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_origins_lets_only_those_call() {
    let w = V1World::with_env(&[("ALLOWED_ORIGINS", APP)]).await;
    let pre = preflight(&w, APP).await;
    assert!(pre.status.is_success(), "{} {:?}", pre.status, pre.headers);
    assert_eq!(header(&pre, "access-control-allow-origin"), APP);
    let r = call(&w, APP).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(header(&r, "access-control-allow-origin"), APP);
    // The answer depends on the origin: caches must keep them apart.
    assert!(header(&r, "vary").contains("Origin"), "{:?}", r.headers);

    let other = "https://elsewhere.example";
    let pre = preflight(&w, other).await;
    assert_eq!(
        header(&pre, "access-control-allow-origin"),
        "",
        "{} {:?}",
        pre.status,
        pre.headers
    );
    assert!(pre.status.is_client_error(), "{}", pre.status);
    // A browser stops at the refused preflight. The call sent anyway (as a script outside
    // a browser can) carries no CORS header, so no page of that origin could read it.
    let r = call(&w, other).await;
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "",
        "{:?}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cacheable_answers_vary_on_the_origin_and_calls_without_one_carry_no_cors() {
    let w = V1World::with_env(&[("ALLOWED_ORIGINS", APP)]).await;
    // A GET answer may be stored by a cache and served to a browser later: even asked
    // without an Origin it says that it depends on one.
    let models =
        w.gw.send(
            w.gw.builder(Method::GET, "/v1/models", None)
                .bearer_auth(&w.key),
        )
        .await;
    assert_eq!(models.status, 200, "{}", models.text);
    assert!(
        header(&models, "vary").contains("Origin"),
        "{:?}",
        models.headers
    );
    assert_eq!(header(&models, "access-control-allow-origin"), "");

    // What SDKs and CLIs send: a POST without an Origin. Its answer is not cacheable and
    // no browser reads it, so it carries no CORS header at all.
    let r =
        w.gw.send(
            w.gw.builder(Method::POST, "/v1/chat/completions", None)
                .bearer_auth(&w.key)
                .json(&chat_body("hi")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for name in [
        "vary",
        "access-control-allow-origin",
        "access-control-expose-headers",
    ] {
        assert_eq!(header(&r, name), "", "{name}: {:?}", r.headers);
    }
    assert!(!header(&r, "x-request-id").is_empty());

    // The same call from a page of the allowed origin still gets its CORS headers.
    let r = call(&w, APP).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(header(&r, "access-control-allow-origin"), APP);
    assert!(header(&r, "vary").contains("Origin"), "{:?}", r.headers);
}
