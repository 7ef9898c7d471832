//! Thought signatures (Gemini 3 refuses replayed function calls without them) survive
//! an OpenAI client's round trip through a Gemini channel, in `extra_content.google`
//! as Google's OpenAI-compatible API carries them.

use integration_tests::mock_upstream::Reply;
use integration_tests::provider_support::{world, GEMINI, GEMINI_MODEL};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_client_keeps_gemini_thought_signatures_across_turns() {
    let w = world(GEMINI, json!({})).await;
    w.mock.push_reply(Reply::json(
        200,
        json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
             "thoughtSignature": "c2lnLXh5eg=="}]},
            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}),
    ));
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let mut messages = vec![json!({"role": "user", "content": "weather?"})];
    let r = w
        .chat(json!({"model": GEMINI_MODEL, "messages": messages, "tools": tools}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let msg = r.body["choices"][0]["message"].clone();
    let call = &msg["tool_calls"][0];
    assert_eq!(
        call["extra_content"]["google"]["thought_signature"], "c2lnLXh5eg==",
        "{}",
        r.text
    );
    messages.push(msg.clone());
    messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": "sunny"}));
    let r = w
        .chat(json!({"model": GEMINI_MODEL, "messages": messages, "tools": tools}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = w.mock.last_request().unwrap();
    let part = &sent.json()["contents"][1]["parts"][0];
    assert_eq!(
        part["functionCall"]["name"],
        "get_weather",
        "{}",
        sent.body_text()
    );
    assert_eq!(part["thoughtSignature"], "c2lnLXh5eg==");
}
