//! `GET /api/log/export` (issue 18): CSV and JSON lines over keyset pages, admins get
//! every row, users their own without channel details; the CSV parses back exactly.

use gateway::store::logs::NewLog;
use integration_tests::v1_support::{chat_body, V1World};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// More than two export pages (1000 rows each) so the keyset paging is crossed.
const SYNTHETIC: i64 = 2_345;
const BASE_TS: i64 = 1_700_000_000;

fn synthetic(i: i64, user_id: i64) -> NewLog {
    NewLog {
        created_at: BASE_TS + i,
        user_id,
        username: format!("user-{user_id}").into(),
        token_id: 1,
        token_name: "bulk, \"quoted\" key".into(),
        channel_id: 7,
        channel_name: "bulk-channel".into(),
        model_name: if i % 2 == 0 { "m-even" } else { "m-odd" }.into(),
        upstream_model: "up".into(),
        prompt_tokens: i,
        completion_tokens: 2 * i,
        quota: 3 * i,
        status_code: 200,
        error: if i % 100 == 0 {
            "line one\nline, two"
        } else {
            ""
        }
        .into(),
        request_id: format!("req-{i}").into(),
        endpoint: "chat".into(),
        ..Default::default()
    }
}

async fn export(w: &V1World, jwt: &str, query: &str) -> (StatusCode, String, String) {
    let res =
        w.gw.builder(
            reqwest::Method::GET,
            &format!("/api/log/export?{query}"),
            Some(jwt),
        )
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .expect("export request");
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ctype, res.text().await.expect("export body"))
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r
        .headers()
        .expect("header row")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            rec.expect("valid CSV row")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    (headers, rows)
}

fn col(headers: &[String], name: &str) -> usize {
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {headers:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_stream_every_matching_row_and_parse_back() {
    let w = V1World::new().await;
    for i in 0..3 {
        assert_eq!(w.chat(chat_body(&format!("export {i}"))).await.status, 200);
    }
    let rows: Vec<NewLog> = (0..SYNTHETIC).map(|i| synthetic(i, 999)).collect();
    for chunk in rows.chunks(100) {
        w.gw.state
            .store
            .insert_logs(chunk)
            .await
            .expect("insert logs");
    }

    // Admin, a time range that holds only the synthetic rows (all of them but the first 5).
    let range = format!(
        "start_timestamp={}&end_timestamp={}",
        BASE_TS + 5,
        BASE_TS + SYNTHETIC
    );
    let (status, ctype, text) = export(&w, &w.root, &format!("format=csv&{range}")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let (headers, records) = parse_csv(&text);
    assert_eq!(records.len() as i64, SYNTHETIC - 5);
    let (id, req, err, tok, chan, prompt) = (
        col(&headers, "id"),
        col(&headers, "request_id"),
        col(&headers, "error"),
        col(&headers, "token_name"),
        col(&headers, "channel_name"),
        col(&headers, "prompt_tokens"),
    );
    let mut last_id = 0i64;
    for (n, rec) in records.iter().enumerate() {
        let i = n as i64 + 5;
        let this_id: i64 = rec[id].parse().expect("id");
        assert!(this_id > last_id, "ids ascend");
        last_id = this_id;
        assert_eq!(rec[req], format!("req-{i}"));
        assert_eq!(rec[prompt], i.to_string());
        assert_eq!(rec[tok], "bulk, \"quoted\" key");
        assert_eq!(rec[chan], "bulk-channel");
        let expected = synthetic(i, 999).error;
        assert_eq!(rec[err], expected);
    }

    // A filter on top of the range, as JSON lines.
    let (status, ctype, text) = export(
        &w,
        &w.root,
        &format!("format=jsonl&model_name=m-even&{range}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(ctype, "application/x-ndjson");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let evens = (5..SYNTHETIC).filter(|i| i % 2 == 0).count();
    assert_eq!(lines.len(), evens);
    assert!(lines.iter().all(|l| l["model_name"] == "m-even"));

    // A user gets only their own rows (the three real requests), without channel columns.
    let (status, _, text) = export(&w, &w.user_jwt, "format=csv&username=user-999").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (headers, records) = parse_csv(&text);
    assert_eq!(records.len(), 3, "{text}");
    assert!(!headers
        .iter()
        .any(|h| h.starts_with("channel") || h == "upstream_model"));
    let user = col(&headers, "user_id");
    assert!(records.iter().all(|r| r[user] == w.user_id.to_string()));
    assert!(
        !text.contains("primary"),
        "the channel name is not shown to users"
    );
    let (_, _, jsonl) = export(&w, &w.user_jwt, "format=jsonl").await;
    assert_eq!(jsonl.lines().count(), 3);
    assert!(!jsonl.contains("channel"), "{jsonl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_formats_and_missing_sessions_are_refused() {
    let w = V1World::new().await;
    let (status, _, text) = export(&w, &w.root, "format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json error");
    assert_eq!(body["success"], false);
    let (status, _, _) = export(&w, &w.root, "format=csv&type=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let res =
        w.gw.builder(reqwest::Method::GET, "/api/log/export", None)
            .send()
            .await
            .expect("send");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // An empty range is a header and nothing else.
    let (status, _, text) = export(&w, &w.root, "start_timestamp=1&end_timestamp=2").await;
    assert_eq!(status, StatusCode::OK);
    let (headers, records) = parse_csv(&text);
    assert!(headers.contains(&"request_id".to_string()));
    assert!(records.is_empty());
}
