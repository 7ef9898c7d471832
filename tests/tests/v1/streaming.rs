//! The streaming pipeline: split events, immediate forwarding, usage chunk handling,
//! keep-alives, idle timeout, mid-stream failures and client disconnects.

use integration_tests::mock_upstream::Reply;
use integration_tests::v1_support::{stream_body, V1World, MODEL, USER_QUOTA};
use serde_json::json;
use std::time::Duration;

const CHAT: &str = "/v1/chat/completions";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_forwarded_as_sse_and_billed() {
    let w = V1World::new().await;
    let s = w.stream(CHAT, stream_body("stream me")).await;
    assert_eq!(s.status, 200);
    let ct = s.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert!(s.headers.contains_key("x-request-id"));
    assert_eq!(s.text(), "Echo: stream me");
    assert!(s.ends_with_done());
    assert!(s.error_events().is_empty());
    // The gateway asked the upstream for usage even though the client did not.
    let got = w.mock.last_request().unwrap();
    assert_eq!(got.json()["stream_options"]["include_usage"], true);
    assert_eq!(got.json()["stream"], true);
    let log = &w.logs().await[0];
    assert_eq!(log["is_stream"], true);
    assert_eq!(log["quota"], 32);
    assert_eq!(log["status_code"], 200);
    assert!(log["first_byte_ms"].as_i64().unwrap() <= log["latency_ms"].as_i64().unwrap());
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_chunk_reaches_only_clients_that_asked_and_is_billed_either_way() {
    let w = V1World::new().await;
    let hidden = w.stream(CHAT, stream_body("u")).await;
    assert!(hidden.usage_events().is_empty(), "{:?}", hidden.events());
    assert!(hidden.ends_with_done());
    let mut asked = stream_body("u");
    asked["stream_options"] = json!({"include_usage": true});
    let shown = w.stream(CHAT, asked).await;
    let usage = shown.usage_events();
    assert_eq!(usage.len(), 1, "{:?}", shown.events());
    assert_eq!(usage[0]["usage"]["prompt_tokens"], 11);
    assert_eq!(usage[0]["usage"]["completion_tokens"], 7);
    assert!(shown.ends_with_done());
    let logs = w.logs().await;
    assert_eq!(logs.len(), 2);
    assert!(logs.iter().all(|l| l["quota"] == 32), "{logs:?}");
    // Asking explicitly for no usage is also honoured in what the client sees.
    let mut off = stream_body("u");
    off["stream_options"] = json!({"include_usage": false});
    assert!(w.stream(CHAT, off).await.usage_events().is_empty());
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_upstream_usage_is_estimated_and_billed() {
    let w = V1World::new().await;
    w.mock.update_options(|o| o.usage = None);
    let s = w
        .stream(CHAT, stream_body("some words to count for the estimate"))
        .await;
    assert!(s.ends_with_done());
    let log = &w.logs().await[0];
    assert!(log["prompt_tokens"].as_i64().unwrap() > 0, "{log}");
    assert!(log["completion_tokens"].as_i64().unwrap() > 0, "{log}");
    assert!(log["quota"].as_i64().unwrap() > 0, "{log}");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_split_at_awkward_byte_boundaries_arrive_intact() {
    let w = V1World::new().await;
    let text = "héllo wörld — 你好 🎉 ok";
    for size in [1, 3, 7] {
        w.mock.update_options(|o| {
            o.chunk_bytes = Some(size);
            o.chunks = 6;
        });
        let mut body = stream_body(text);
        body["stream_options"] = json!({"include_usage": true});
        let s = w.stream(CHAT, body).await;
        assert_eq!(s.text(), format!("Echo: {text}"), "chunk size {size}");
        assert_eq!(s.usage_events().len(), 1, "chunk size {size}");
        assert!(s.ends_with_done(), "chunk size {size}");
        assert!(s.error_events().is_empty(), "chunk size {size}");
    }
    let logs = w.logs().await;
    assert!(logs
        .iter()
        .all(|l| l["quota"] == 32 && l["status_code"] == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_forwarded_as_soon_as_it_arrives() {
    let w = V1World::new().await;
    w.mock.update_options(|o| {
        o.delay = Duration::from_millis(200);
        o.chunks = 5;
    });
    let mut reader = w
        .open_stream(CHAT, stream_body("one two three four five"))
        .await;
    assert_eq!(reader.status, 200);
    let mut content_times = Vec::new();
    while let Some((at, ev)) = reader.next_event(Duration::from_secs(20)).await {
        if ev.is_done() {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
        if v["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
        {
            content_times.push(at);
        }
    }
    assert_eq!(content_times.len(), 5, "{content_times:?}");
    // The upstream needs ≥ 800 ms between the first and last content event; buffered
    // forwarding would deliver them together.
    let spread = content_times[4] - content_times[0];
    assert!(spread >= Duration::from_millis(500), "{content_times:?}");
    let gaps = content_times
        .windows(2)
        .filter(|p| p[1] - p[0] >= Duration::from_millis(80));
    assert!(
        gaps.count() >= 2,
        "events arrived in bursts: {content_times:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_comments_are_sent_during_silence() {
    let w = V1World::new().await;
    w.set_options(json!({"stream_keepalive_secs": 1})).await;
    w.mock
        .update_options(|o| o.delay = Duration::from_millis(3500));
    let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": "late"}, "finish_reason": null}]});
    w.mock
        .push_reply(Reply::Sse(format!("data: {chunk}\n\ndata: [DONE]\n\n")));
    let s = w.stream(CHAT, stream_body("quiet")).await;
    assert_eq!(s.text(), "late");
    assert!(s.ends_with_done());
    assert!(s.comments() >= 1, "no keep-alive in {:?}", s.frames);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_upstream_ends_the_stream_with_an_error_event() {
    let w = V1World::new().await;
    w.set_options(json!({"stream_keepalive_secs": 1, "stream_idle_timeout_secs": 5}))
        .await;
    w.mock.update_options(|o| o.delay = Duration::from_secs(60));
    let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": "then nothing"}, "finish_reason": null}]});
    w.mock
        .push_reply(Reply::Sse(format!("data: {chunk}\n\ndata: [DONE]\n\n")));
    let started = std::time::Instant::now();
    let s = w
        .open_stream(CHAT, stream_body("idle"))
        .await
        .read_to_end(Duration::from_secs(30))
        .await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(s.text(), "then nothing");
    let errors = s.error_events();
    assert_eq!(errors.len(), 1, "{:?}", s.events());
    assert!(errors[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("idle"));
    // The upstream connection is given up.
    assert!(
        w.mock
            .wait_for_disconnects(1, Duration::from_secs(10))
            .await
    );
    let log = &w.logs().await[0];
    assert!(log["error"].as_str().unwrap().contains("idle"), "{log}");
    assert!(log["quota"].as_i64().unwrap() > 0, "{log}");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mid_stream_drop_ends_with_an_error_event_and_bills_what_was_generated() {
    let w = V1World::new().await;
    w.mock.update_options(|o| o.chunks = 6);
    // Role chunk plus three content chunks, then the connection is cut.
    w.mock.push_reply(Reply::DropAfter(4));
    let s = w
        .stream(CHAT, stream_body("a fairly long sentence to split up"))
        .await;
    assert_eq!(s.status, 200);
    assert!(!s.text().is_empty());
    assert_eq!(s.error_events().len(), 1, "{:?}", s.events());
    assert!(
        !String::from_utf8_lossy(&s.raw).contains("[DONE]"),
        "a cut stream must not end like a complete one"
    );
    let log = &w.logs().await[0];
    assert_eq!(log["status_code"], 502, "{log}");
    assert!(log["error"].as_str().unwrap().contains("upstream"), "{log}");
    assert!(log["completion_tokens"].as_i64().unwrap() > 0, "{log}");
    assert!(log["quota"].as_i64().unwrap() > log["prompt_tokens"].as_i64().unwrap());
    assert!(!log["error"].as_str().unwrap().is_empty(), "{log}");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_stream_error_from_upstream_is_forwarded_and_billed() {
    let w = V1World::new().await;
    w.mock.push_reply(Reply::StreamError { after: 3 });
    let s = w.stream(CHAT, stream_body("partial answer")).await;
    assert_eq!(s.status, 200);
    assert!(!s.error_events().is_empty(), "{:?}", s.events());
    let log = &w.logs().await[0];
    assert!(log["quota"].as_i64().unwrap() > 0, "{log}");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnect_cancels_the_upstream_and_bills_the_partial_answer() {
    let w = V1World::new().await;
    w.mock.update_options(|o| {
        o.delay = Duration::from_millis(200);
        o.chunks = 40;
    });
    let mut reader = w
        .open_stream(
            CHAT,
            stream_body("a long answer that the client will abandon"),
        )
        .await;
    let mut content = 0;
    while content < 3 {
        let (_, ev) = reader
            .next_event(Duration::from_secs(10))
            .await
            .expect("events before the disconnect");
        if ev.data.contains("\"content\":\"") && !ev.data.contains("\"content\":\"\"") {
            content += 1;
        }
    }
    drop(reader);
    assert!(
        w.mock.wait_for_disconnects(1, Duration::from_secs(5)).await,
        "the upstream connection stayed open after the client left"
    );
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log["status_code"], 499, "{log}");
    assert!(log["completion_tokens"].as_i64().unwrap() > 0, "{log}");
    assert!(log["quota"].as_i64().unwrap() > 0, "{log}");
    w.assert_ledger(USER_QUOTA).await;
}
