//! Tests of the mock upstream itself, read through `shared::sse::SseDecoder`.

use std::time::Duration;

use futures_util::StreamExt;
use integration_tests::mock_upstream::{MockUpstream, Reply};
use serde_json::{json, Value};
use shared::sse::{SseDecoder, SseEvent};

#[path = "mock_upstream_selftest/openai.rs"]
mod openai;
#[path = "mock_upstream_selftest/providers.rs"]
mod providers;

const TEXT: &str = "héllo 你好 🎉";

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "stream": stream,
           "stream_options": {"include_usage": true},
           "messages": [{"role": "system", "content": "be brief"},
                        {"role": "user", "content": TEXT}]})
}

async fn post(mock: &MockUpstream, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", mock.url()))
        .header("authorization", "Bearer sk-upstream")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Decodes the whole body; also returns whether the body ended with a transport error.
async fn events(response: reqwest::Response) -> (Vec<SseEvent>, bool) {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => events.extend(decoder.push(&bytes).unwrap()),
            Err(_) => return (events, true),
        }
    }
    events.extend(decoder.finish().unwrap());
    (events, false)
}

fn json_of(events: &[SseEvent]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| !e.is_done())
        .map(|e| e.json().unwrap())
        .collect()
}

fn openai_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_errors_use_each_providers_shape() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::error(429, "slow down"));
    mock.push_reply(Reply::error(529, "busy"));
    mock.push_reply(Reply::error(500, "boom"));
    mock.push_reply(Reply::json(401, json!({"custom": true})));
    let response = post(&mock, "/v1/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limit_exceeded"
    );
    let response = post(&mock, "/v1/messages", &json!({})).await;
    assert_eq!(response.status(), 529);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["type"],
        "overloaded_error"
    );
    let response = post(
        &mock,
        "/v1beta/models/gemini-2.0-flash:generateContent",
        &json!({}),
    )
    .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["status"],
        "INTERNAL"
    );
    let response = post(&mock, "/v1/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"custom": true})
    );
    // Queue drained: back to the default reply.
    assert_eq!(
        post(&mock, "/v1/chat/completions", &chat(false))
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_after_n_events_cuts_the_stream() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::DropAfter(2));
    let (events, broken) = events(post(&mock, "/v1/chat/completions", &chat(true)).await).await;
    assert!(broken, "the body must end with a transport error");
    assert_eq!(events.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_error_ends_with_the_providers_error_event() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::StreamError { after: 3 });
    let request = json!({"model": "claude", "max_tokens": 10, "stream": true,
                         "messages": [{"role": "user", "content": "hi"}]});
    let (events, broken) = events(post(&mock, "/v1/messages", &request).await).await;
    assert!(!broken);
    assert_eq!(events.len(), 4);
    assert_eq!(events[3].event.as_deref(), Some("error"));
    assert_eq!(
        events[3].json::<Value>().unwrap()["error"]["type"],
        "overloaded_error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_giving_up_on_a_slow_stream_is_seen_as_a_disconnect() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Slow(Duration::from_millis(200)));
    let response = post(&mock, "/v1/chat/completions", &chat(true)).await;
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();
    assert_eq!(mock.active_streams(), 1);
    drop(body);
    assert!(mock.wait_for_disconnects(1, Duration::from_secs(5)).await);
    assert!(mock.wait_for_idle(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn hang_never_answers_until_the_client_times_out() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Hang);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let result = client
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat(false))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert!(mock.wait_for_disconnects(1, Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_recorded_including_chunked_bodies() {
    let mock = MockUpstream::start().await;
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(r#"{"model":"#.as_bytes().to_vec()),
        Ok(r#""gpt-4o-mini","messages":[]}"#.as_bytes().to_vec()),
    ]));
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions?trace=1", mock.url()))
        .header("X-Custom", "Yes")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request = mock.last_request().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.query_param("trace"), Some("1"));
    assert_eq!(request.header("x-custom"), Some("Yes"));
    assert_eq!(request.header("transfer-encoding"), Some("chunked"));
    assert_eq!(request.json()["model"], "gpt-4o-mini");
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_alive_serves_pipelined_requests_and_drop_stops_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = MockUpstream::start().await;
    let body = r#"{"messages":[{"role":"user","content":"x"}]}"#;
    // Two requests in one write: Content-Length, then chunked with Connection: close.
    let requests = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: m\r\ncontent-length: {}\r\n\r\n{body}\
         POST /v1/chat/completions HTTP/1.1\r\nhost: m\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len(),
        body.len()
    );
    let mut socket = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    socket.write_all(requests.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2);
    assert_eq!(answer.matches("Echo: x").count(), 2);
    assert_eq!((mock.connections(), mock.request_count()), (1, 2));

    let mut idle = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    // Wait until the idle connection is accepted, so the drop must close a live one.
    while mock.connections() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(mock);
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut [0; 16])).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "server must close on drop"
    );
}

#[actix_web::test]
async fn works_under_the_actix_runtime_and_serves_raw_bytes() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Raw(
        b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ));
    let response = post(&mock, "/anything", &json!({})).await;
    assert_eq!(response.status(), 418);
    assert_eq!(post(&mock, "/nope", &json!({})).await.status(), 404);
}
