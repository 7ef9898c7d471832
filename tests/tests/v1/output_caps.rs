//! Never below zero (docs/reliability.md, "Output caps and balances"): the output limit
//! sent upstream is what the balance can pay for, settlement charges at most what was
//! reserved, the excess is logged as unbilled, and a balance that cannot pay for a
//! minimal answer is refused before any upstream call.

use gateway::providers::Endpoint;
use integration_tests::mock_upstream::MockUsage;
use integration_tests::v1_support::{openai_error, token_row, V1World, MODEL};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Output tokens the mock reports for every answer: far more than any cap below.
const HUGE_OUTPUT: u64 = 50_000;
/// The cost of one such answer at the default ratios (1, completion 3): 11 + 50,000 × 3.
const HUGE_COST: i64 = 11 + 3 * HUGE_OUTPUT as i64;
/// gpt-4o-mini's minimal answer (services/model_catalog.rs `MIN_ANSWER`).
const MIN_ANSWER: i64 = 16;

/// A chat body without `max_tokens`: the model's default (16,384) is planned.
fn open_body(content: &str) -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": content}]})
}

/// The gateway's prompt estimate for `body`, the figure reservations are made from.
fn prompt_estimate(body: &Value) -> i64 {
    let raw = serde_json::to_vec(body).expect("json");
    let cr = gateway::services::dispatch::request::parse(Endpoint::Chat, bytes::Bytes::from(raw))
        .expect("parses");
    i64::try_from(cr.prompt.estimate()).expect("small")
}

fn huge_answers(w: &V1World) {
    w.mock.update_options(|o| {
        o.usage = Some(MockUsage {
            completion_tokens: HUGE_OUTPUT,
            ..MockUsage::default()
        })
    });
}

fn capped_header(r: &integration_tests::gateway_support::Resp) -> Option<i64> {
    r.headers
        .get("x-gateway-output-capped")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_larger_than_the_balance_is_capped_and_the_excess_is_unbilled() {
    const QUOTA: i64 = 3_000;
    let w = V1World::build(&[], QUOTA, json!({"name": "k"})).await;
    huge_answers(&w);
    let body = open_body("tell me everything");
    let prompt = prompt_estimate(&body);
    // The most output the balance pays for after the prompt: prompt + 3 × cap <= 3,000.
    let cap = (QUOTA - prompt) / 3;
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped_header(&r), Some(cap));
    let sent = w.mock.last_request().expect("upstream called");
    assert_eq!(sent.json()["max_tokens"], cap, "{}", sent.json());

    let user = w.user().await;
    let charged = prompt + 3 * cap;
    assert_eq!((user.quota, user.used_quota), (QUOTA - charged, charged));
    assert!(user.quota >= 0);
    let log = &w.logs().await[0];
    assert_eq!(log["quota"], charged, "{log}");
    assert_eq!(log["unbilled_quota"], HUGE_COST - charged, "{log}");
    assert_eq!(log["output_cap"], cap, "{log}");
    w.assert_ledger(QUOTA).await;

    // What is left cannot pay for the prompt and a minimal answer: refused, not sent.
    let e = openai_error(&w.chat(open_body("tell me everything")).await, 429);
    assert_eq!(e["code"], "insufficient_quota");
    assert_eq!(w.mock.request_count(), 1);
    assert_eq!(w.user().await.quota, QUOTA - charged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_answers_far_above_the_estimate_never_take_a_balance_below_zero() {
    // The key pays for three worst cases and a bit; the user has plenty (a lease).
    let body = open_body("concurrent");
    let prompt = prompt_estimate(&body);
    let worst = prompt + 3 * 16_384;
    let key_quota = 3 * worst + 5_000;
    let w = V1World::build(
        &[],
        integration_tests::v1_support::USER_QUOTA,
        json!({"name": "k", "remain_quota": key_quota}),
    )
    .await;
    huge_answers(&w);
    w.mock
        .update_options(|o| o.head_delay = Duration::from_millis(1_000));
    let results = futures_util::future::join_all(
        (0..12).map(|_| w.v1(Method::POST, "/v1/chat/completions", Some(body.clone()))),
    )
    .await;
    let ok: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    let refused = results
        .iter()
        .filter(|r| r.status == 429 && r.body["error"]["code"] == "insufficient_quota")
        .count();
    assert_eq!(
        ok.len() + refused,
        results.len(),
        "only answers and refusals"
    );
    // Three full reservations, and the rest of the key for a fourth (capped) answer.
    assert_eq!(ok.len(), 4, "answered");
    let capped: Vec<i64> = ok.iter().filter_map(|r| capped_header(r)).collect();
    assert_eq!(
        capped,
        vec![(5_000 - prompt) / 3],
        "one answer capped to the rest"
    );
    assert_eq!(
        w.mock.request_count(),
        4,
        "refusals never reach the upstream"
    );

    let t = token_row(&w.gw, w.token_id).await;
    assert!(t.remain_quota >= 0, "key below zero: {}", t.remain_quota);
    assert!(
        t.remain_quota < prompt + 3 * MIN_ANSWER,
        "the key ends with less than a minimal answer: {}",
        t.remain_quota
    );
    assert_eq!(t.remain_quota + t.used_quota, key_quota);
    let exhausted = if t.remain_quota > 0 { 1 } else { 4 };
    assert_eq!(
        t.status, exhausted,
        "exhausted exactly when nothing is left"
    );
    let logs = w.logs().await;
    let unbilled: i64 = logs
        .iter()
        .map(|l| l["unbilled_quota"].as_i64().unwrap_or(0))
        .sum();
    let billed: i64 = logs.iter().map(|l| l["quota"].as_i64().unwrap_or(0)).sum();
    assert_eq!(billed, t.used_quota);
    assert_eq!(
        billed + unbilled,
        4 * HUGE_COST,
        "every answer is charged or unbilled"
    );
    w.assert_ledger(integration_tests::v1_support::USER_QUOTA)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balance_below_the_prompt_and_minimal_answer_is_refused_before_the_upstream() {
    let body = open_body("hello");
    let prompt = prompt_estimate(&body);
    let minimum = prompt + 3 * MIN_ANSWER;
    let w = V1World::build(&[], minimum - 1, json!({"name": "k"})).await;
    let e = openai_error(&w.chat(body.clone()).await, 429);
    assert_eq!(e["code"], "insufficient_quota");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&minimum.to_string()),
        "{e}"
    );
    assert_eq!(w.mock.request_count(), 0);
    assert_eq!(w.user().await.quota, minimum - 1);

    // With exactly the minimum the request goes, capped to the minimal answer.
    let r =
        w.gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&w.root),
            json!({"quota": minimum}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped_header(&r), Some(MIN_ANSWER));
    let sent = w.mock.last_request().expect("upstream called");
    assert_eq!(sent.json()["max_tokens"], MIN_ANSWER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_models_need_a_larger_minimal_answer() {
    // Enough for gpt-4o-mini's minimal answer, not for o4-mini's 1,024 tokens.
    let w = V1World::build_with_channel(
        &[],
        2_000,
        json!({"name": "k"}),
        json!({"models": [MODEL, "o4-mini"]}),
    )
    .await;
    let mut body = open_body("think");
    body["model"] = json!("o4-mini");
    let e = openai_error(&w.chat(body).await, 429);
    assert_eq!(e["code"], "insufficient_quota");
    assert_eq!(w.mock.request_count(), 0);
    let r = w.chat(open_body("think")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(capped_header(&r).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_above_the_models_maximum_is_lowered_and_said_so() {
    let w = V1World::new().await;
    let mut body = open_body("long");
    body["max_tokens"] = json!(100_000);
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped_header(&r), Some(16_384));
    assert_eq!(
        w.mock.last_request().expect("sent").json()["max_tokens"],
        16_384
    );
    let log = &w.logs().await[0];
    assert_eq!(log["output_cap"], 16_384, "{log}");
    assert_eq!(log["unbilled_quota"], 0, "{log}");

    // Within the maximum and the balance: untouched, no header, no cap in the log.
    let mut body = open_body("short");
    body["max_tokens"] = json!(300);
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped_header(&r), None);
    assert_eq!(
        w.mock.last_request().expect("sent").json()["max_tokens"],
        300
    );
    assert_eq!(w.logs().await[0]["output_cap"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_stream_carries_the_header_and_settles_within_the_balance() {
    const QUOTA: i64 = 2_000;
    let w = V1World::build(&[], QUOTA, json!({"name": "k"})).await;
    huge_answers(&w);
    let mut body = open_body("stream it");
    let prompt = prompt_estimate(&body);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let reader = w.open_stream("/v1/chat/completions", body).await;
    let cap = (QUOTA - prompt) / 3;
    assert_eq!(
        reader
            .headers
            .get("x-gateway-output-capped")
            .and_then(|v| v.to_str().ok()),
        Some(cap.to_string().as_str())
    );
    let _ = reader.read_to_end(Duration::from_secs(30)).await;
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert_eq!(logs[0]["quota"], prompt + 3 * cap, "{}", logs[0]);
    assert_eq!(logs[0]["output_cap"], cap);
    assert_eq!(w.user().await.quota, QUOTA - prompt - 3 * cap);
    w.assert_ledger(QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rich_key_of_a_poor_user_is_charged_what_the_user_could_pay() {
    const QUOTA: i64 = 3_000;
    const KEY_QUOTA: i64 = 10_000_000;
    let w = V1World::build(
        &[],
        QUOTA,
        json!({"name": "k", "remain_quota": KEY_QUOTA, "unlimited_quota": false}),
    )
    .await;
    huge_answers(&w);
    let body = open_body("the user is the limit");
    let prompt = prompt_estimate(&body);
    let cap = (QUOTA - prompt) / 3;
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped_header(&r), Some(cap));
    // The key's lease could pay the whole answer, the user could not: both are charged
    // the same, what the user could pay.
    let charged = prompt + 3 * cap;
    let t = w.token().await;
    assert_eq!(
        (t.remain_quota, t.used_quota),
        (KEY_QUOTA - charged, charged)
    );
    let user = w.user().await;
    assert_eq!((user.quota, user.used_quota), (QUOTA - charged, charged));
    let log = &w.logs().await[0];
    assert_eq!(log["unbilled_quota"], HUGE_COST - charged, "{log}");
    w.assert_ledger(QUOTA).await;
}
