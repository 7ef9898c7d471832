//! A real Prometheus scrapes the gateway and the relay after a known workload, and PromQL
//! over its HTTP API returns the request and token counts the gateway's log rows show.

use integration_tests::prometheus_support::{Prometheus, Target};
use integration_tests::relay_support::{spawn_relay, TEST_PROXY_KEY};
use integration_tests::v1_support::{chat_body, stream_body, V1World, MODEL};
use std::time::Duration;

const TOKEN: &str = "scrape-token-for-tests-0123456789";

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the prometheus binary (apt-get install -y prometheus, or PROMETHEUS_BIN=/path)"]
async fn prometheus_scrapes_the_gateway_and_the_relay() {
    let relay = spawn_relay(|s| s.metrics_token = Some(TOKEN.into())).await;
    let relay_url = relay.url("");
    let w = V1World::with_env(&[
        ("RELAY_PROXY_URL", relay_url.as_str()),
        ("RELAY_PROXY_KEY", TEST_PROXY_KEY),
        ("METRICS_TOKEN", TOKEN),
    ])
    .await;
    let prom = Prometheus::start(&[
        Target {
            job: "gateway",
            address: host_port(&w.gw.url),
            token: Some(TOKEN),
        },
        Target {
            job: "relay",
            address: host_port(&relay_url),
            token: Some(TOKEN),
        },
    ])
    .await;

    for i in 0..5 {
        let r = w.chat(chat_body(&format!("scraped {i}"))).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for i in 0..2 {
        let rec = w
            .stream("/v1/chat/completions", stream_body(&format!("s{i}")))
            .await;
        assert!(!rec.events().is_empty());
    }
    let logs = w.wait_for_logs(7, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 7);
    let sum = |field: &str| -> f64 {
        logs.iter()
            .map(|l| l[field].as_i64().expect("count"))
            .sum::<i64>() as f64
    };
    let (prompt, completion) = (sum("prompt_tokens"), sum("completion_tokens"));
    assert!(prompt > 0.0 && completion > 0.0);

    let requests = format!(
        r#"sum(gateway_requests_total{{job="gateway",model="{MODEL}",channel="primary",status_class="2xx"}})"#
    );
    assert_eq!(
        prom.wait_for(&requests, 7.0).await,
        Some(7.0),
        "{:?}",
        prom.target_health().await
    );
    let tokens = |kind: &str| {
        format!(r#"sum(gateway_tokens_total{{job="gateway",model="{MODEL}",kind="{kind}"}})"#)
    };
    assert_eq!(prom.wait_for(&tokens("prompt"), prompt).await, Some(prompt));
    assert_eq!(
        prom.wait_for(&tokens("completion"), completion).await,
        Some(completion)
    );
    assert_eq!(
        prom.wait_for(
            r#"sum(relay_requests_total{job="relay",outcome="complete"})"#,
            7.0
        )
        .await,
        Some(7.0),
        "{:?}",
        prom.target_health().await
    );
    let bytes = prom
        .query(r#"sum(relay_bytes_relayed_total{job="relay"})"#)
        .await
        .expect("bytes relayed are scraped");
    assert!(bytes > 0.0, "{bytes}");
    assert_eq!(
        prom.wait_for(
            r#"sum(relay_upstream_first_byte_seconds_count{job="relay"})"#,
            7.0
        )
        .await,
        Some(7.0)
    );
    let connects = prom
        .query(r#"sum(relay_upstream_connect_seconds_count{job="relay"})"#)
        .await
        .expect("connects are scraped");
    assert!(connects >= 1.0, "{connects}");
    dashboard_queries_are_valid(&prom).await;
    relay.stop().await;
}

/// Every query in docs/grafana-dashboard.json parses and runs against the scraped data,
/// and the main panels have data after the workload.
async fn dashboard_queries_are_valid(prom: &Prometheus) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana-dashboard.json"
    );
    let text = std::fs::read_to_string(path).expect("dashboard file");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    // rate() needs two samples of a series; give Prometheus a few more scrapes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let panels = dash["panels"].as_array().expect("panels");
    let mut with_data = 0;
    let mut total = 0;
    let mut empty = Vec::new();
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("expr");
            let concrete = expr
                .replace("$__rate_interval", "1m")
                .replace("$__range", "1h")
                .replace("$relay_job", ".*")
                .replace("$job", ".*")
                .replace("$model", ".*");
            total += 1;
            // `query` asserts that Prometheus accepted the expression.
            match prom.query(&concrete).await {
                Some(_) => with_data += 1,
                None => empty.push(concrete),
            }
        }
    }
    assert!(total >= 20, "{total} dashboard queries");
    // What this workload cannot produce: failovers, refusals, database errors, a
    // disabled channel.
    let may_be_empty = [
        "gateway_failovers_total",
        "gateway_rate_limit_refusals_total",
        "gateway_database_errors_total",
        "state!=",
        "relay_refusals_total",
    ];
    let unexpected: Vec<_> = empty
        .iter()
        .filter(|q| !may_be_empty.iter().any(|m| q.contains(m)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{with_data} of {total} dashboard queries have data; empty: {unexpected:#?}"
    );
}
