//! What `/metrics` shows after a known workload, and that its labels stay bounded.

use integration_tests::v1_support::{chat_body, stream_body, V1World, MODEL};
use serde_json::json;

/// The value of the sample whose line starts with `series` (name and labels as rendered).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub async fn scrape(w: &V1World, token: Option<&str>) -> (u16, String) {
    let mut req = w.gw.client.get(format!("{}/metrics", w.gw.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("GET /metrics");
    let status = res.status().as_u16();
    (status, res.text().await.expect("metrics body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_tokens_and_quota_are_counted_per_model_and_channel() {
    let w = V1World::new().await;
    for i in 0..3 {
        let r = w.chat(chat_body(&format!("hello {i}"))).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let rec = w
        .stream("/v1/chat/completions", stream_body("streamed"))
        .await;
    assert!(!rec.events().is_empty(), "the stream answered");
    let unknown = w
        .chat(json!({"model": "no-such-model-x1", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let logs = w.wait_for_logs(5, std::time::Duration::from_secs(10)).await;
    let served: Vec<_> = logs.iter().filter(|l| l["status_code"] == 200).collect();
    assert_eq!(served.len(), 4);
    let prompt: i64 = served
        .iter()
        .map(|l| l["prompt_tokens"].as_i64().unwrap())
        .sum();
    let completion: i64 = served
        .iter()
        .map(|l| l["completion_tokens"].as_i64().unwrap())
        .sum();
    let quota: i64 = served.iter().map(|l| l["quota"].as_i64().unwrap()).sum();

    let (status, text) = scrape(&w, None).await;
    assert_eq!(status, 200, "open when METRICS_TOKEN is unset");
    let ok = format!(
        r#"gateway_requests_total{{channel="primary",endpoint="chat",model="{MODEL}",status_class="2xx"}}"#
    );
    assert_eq!(sample(&text, &ok), Some(4.0), "{text}");
    let tokens = |kind: &str| {
        sample(
            &text,
            &format!(r#"gateway_tokens_total{{kind="{kind}",model="{MODEL}"}}"#),
        )
    };
    assert_eq!(tokens("prompt"), Some(prompt as f64), "{text}");
    assert_eq!(tokens("completion"), Some(completion as f64), "{text}");
    assert_eq!(
        sample(
            &text,
            &format!(r#"gateway_quota_spent_total{{model="{MODEL}"}}"#)
        ),
        Some(quota as f64),
        "{text}"
    );
    // The streamed request has a time to first token; the others do not.
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"gateway_time_to_first_token_seconds_count{{endpoint="chat",model="{MODEL}"}}"#
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"gateway_upstream_duration_seconds_count{channel="primary",outcome="ok"}"#
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(sample(&text, "gateway_open_streams"), Some(0.0), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"gateway_channel_state{channel="primary",state="enabled"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // An unknown model is `other`, never its own label; no key, user or secret appears.
    let refused = r#"gateway_requests_total{channel="none",endpoint="chat",model="other",status_class="4xx"}"#;
    assert_eq!(sample(&text, refused), Some(1.0), "{text}");
    for secret in [
        "no-such-model-x1",
        w.key.as_str(),
        "alice",
        "default-key",
        "sk-",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_refusals_and_failovers_are_counted() {
    let w = V1World::build(
        &[],
        integration_tests::v1_support::USER_QUOTA,
        json!({"name": "limited", "rate_limit_per_minute": 1}),
    )
    .await;
    assert_eq!(w.chat(chat_body("one")).await.status, 200);
    let r = w.chat(chat_body("two")).await;
    assert_eq!(r.status, 429, "{}", r.text);
    let (_, text) = scrape(&w, None).await;
    assert_eq!(
        sample(&text, "gateway_rate_limit_refusals_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"gateway_requests_total{{channel="none",endpoint="chat",model="{MODEL}",status_class="4xx"}}"#
            )
        ),
        Some(1.0),
        "a configured model keeps its label even when refused before routing: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_counts_once_and_the_failed_attempt_per_channel() {
    use integration_tests::mock_upstream::{MockUpstream, Reply};
    let w = V1World::new().await;
    let r =
        w.gw.put(
            &format!("/api/channel/{}", w.channel_id),
            Some(&w.root),
            json!({"priority": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bad = MockUpstream::start().await;
    w.add_channel(&bad, "preferred", json!({"priority": 10}))
        .await;
    bad.push_reply(Reply::error(500, "boom"));
    let r = w.chat(chat_body("failover")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, text) = scrape(&w, None).await;
    assert_eq!(
        sample(
            &text,
            &format!(r#"gateway_failovers_total{{endpoint="chat",model="{MODEL}"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"gateway_upstream_duration_seconds_count{channel="preferred",outcome="error_status"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"gateway_requests_total{{channel="primary",endpoint="chat",model="{MODEL}",status_class="2xx"}}"#
            )
        ),
        Some(1.0),
        "{text}"
    );
}
