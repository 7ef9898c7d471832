//! Gemini `streamGenerateContent?alt=sse` → OpenAI `chat.completion.chunk` events.
//!
//! Every event is a whole `GenerateContentResponse` holding only the new parts, with
//! cumulative `usageMetadata`. Gemini sends no `[DONE]`: the stream counts as done once a
//! candidate has finished and usage has been seen.

use super::response::{blocked, finish_reason, tool_call, CallIds};
use crate::providers::anthropic::openai_shape::{error_event, ChunkWriter};
use crate::providers::{Endpoint, StreamAdapter};
use crate::v1_core::tokens::TokenTally;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::gemini::{GenerateContentResponse, UsageMetadata};
use shared::openai::Usage;
use shared::sse::{SseEvent, DONE_EVENT};
use std::collections::HashMap;

#[derive(Default)]
struct CandidateState {
    role_sent: bool,
    tool_calls: u64,
}

pub struct GeminiStream {
    w: ChunkWriter,
    wants_usage: bool,
    usage: Option<UsageMetadata>,
    ids: CallIds,
    candidates: HashMap<u64, CandidateState>,
    emitted: bool,
    finished: bool,
    done: bool,
    closed: bool,
    tokens: TokenTally,
    failure: Option<String>,
}

impl GeminiStream {
    /// `model` is the name the client asked for; `wants_usage` is its
    /// `stream_options.include_usage`.
    pub fn new(model: &str, wants_usage: bool) -> Self {
        let id = format!("chatcmpl-{}", crate::util::new_id());
        GeminiStream {
            w: ChunkWriter::new(id, model),
            wants_usage,
            usage: None,
            ids: CallIds::new(),
            candidates: HashMap::new(),
            emitted: false,
            finished: false,
            done: false,
            closed: false,
            tokens: TokenTally::default(),
            failure: None,
        }
    }

    /// Legacy `/v1/completions` clients get `text_completion` chunks.
    pub fn with_endpoint(mut self, ep: Endpoint) -> Self {
        self.w.legacy = ep == Endpoint::Completions;
        self
    }

    /// Fixed id, time and call ids, so outputs of separate runs compare equal.
    #[cfg(test)]
    pub(crate) fn frozen(mut self) -> Self {
        self.w.id = "chatcmpl-test".into();
        self.w.created = 0;
        self.ids = CallIds::fixed();
        self
    }

    fn count(&mut self, text: &str) {
        self.tokens.push(&self.w.model, text);
    }

    fn delta(&mut self, out: &mut Vec<Bytes>, index: u64, delta: Value, finish: Option<&str>) {
        let state = self.candidates.entry(index).or_default();
        if !state.role_sent {
            state.role_sent = true;
            self.w.delta(
                out,
                index,
                json!({"role": "assistant", "content": ""}),
                None,
            );
        }
        self.emitted = true;
        self.w.delta(out, index, delta, finish);
    }

    fn fail(&mut self, out: &mut Vec<Bytes>, message: &str) {
        self.done = true;
        self.failure = Some(message.to_string());
        out.push(error_event(message));
    }

    fn on_response(&mut self, out: &mut Vec<Bytes>, r: GenerateContentResponse) {
        if let Some(msg) = blocked(&r) {
            return self.fail(out, &msg);
        }
        if let Some(u) = r.usage_metadata {
            self.usage = Some(u);
        }
        if let (false, Some(id)) = (self.emitted, &r.response_id) {
            self.w.id = format!("chatcmpl-{id}");
        }
        for (pos, c) in r.candidates.into_iter().enumerate() {
            let index = c.index.map_or(pos as u64, u64::from);
            for part in c.content.iter().flat_map(|c| &c.parts) {
                if let Some(mut call) = tool_call(part, &mut self.ids) {
                    let state = self.candidates.entry(index).or_default();
                    call["index"] = json!(state.tool_calls);
                    state.tool_calls = state.tool_calls.saturating_add(1);
                    if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
                        let a = a.to_string();
                        self.count(&a);
                    }
                    self.delta(out, index, json!({"tool_calls": [call]}), None);
                } else if let Some(t) = part.text.as_deref().filter(|t| !t.is_empty()) {
                    self.count(t);
                    let key = if part.thought == Some(true) {
                        "reasoning_content"
                    } else {
                        "content"
                    };
                    self.delta(out, index, json!({ key: t }), None);
                }
            }
            if let Some(reason) = c.finish_reason.as_deref() {
                let called = self
                    .candidates
                    .get(&index)
                    .is_some_and(|s| s.tool_calls > 0);
                self.finished = true;
                self.delta(out, index, json!({}), Some(finish_reason(reason, called)));
            }
        }
        if self.finished && self.usage.is_some() {
            self.done = true;
            if let (true, Some(u)) = (self.wants_usage, self.usage()) {
                self.w.usage(out, &u);
            }
        }
    }
}

impl StreamAdapter for GeminiStream {
    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        // Unreadable events carry nothing we could forward faithfully.
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return;
        };
        if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return self.fail(out, msg);
        }
        if let Ok(r) = serde_json::from_value::<GenerateContentResponse>(v) {
            self.on_response(out, r);
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.as_ref().map(UsageMetadata::to_openai)
    }

    fn generated_tokens(&self) -> u64 {
        self.tokens.total(&self.w.model)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn completes_at_eof(&self) -> bool {
        // Gemini has no end marker: a stream whose candidates finished may simply close.
        self.finished
    }

    fn finish(&mut self, out: &mut Vec<Bytes>) {
        if !self.closed {
            self.closed = true;
            out.push(Bytes::from_static(DONE_EVENT));
        }
    }

    fn error_event(&self, message: &str) -> Bytes {
        error_event(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::anthropic::testkit::{concat, json_data, run, split_invariant};

    const STREAM: &str = concat!(
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Planning\",\"thought\":true}],\"role\":\"model\"},\"index\":0}],",
        "\"usageMetadata\":{\"promptTokenCount\":31,\"totalTokenCount\":31},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n",
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Checking the weather\"}],\"role\":\"model\"},\"index\":0}],",
        "\"usageMetadata\":{\"promptTokenCount\":31,\"candidatesTokenCount\":4,\"totalTokenCount\":35}}\r\n\r\n",
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" in Paris… ☀️\"}],\"role\":\"model\"},\"index\":0}],",
        "\"usageMetadata\":{\"promptTokenCount\":31,\"candidatesTokenCount\":9,\"totalTokenCount\":40}}\r\n\r\n",
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}},",
        "{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],",
        "\"usageMetadata\":{\"promptTokenCount\":31,\"candidatesTokenCount\":17,\"thoughtsTokenCount\":5,\"totalTokenCount\":53}}\r\n\r\n",
    );

    #[test]
    fn stream_converts_text_thoughts_calls_and_usage_at_every_split() {
        let out = split_invariant(
            &|| Box::new(GeminiStream::new("my-gemini", true).frozen()),
            STREAM.as_bytes(),
        );
        assert!(out.ends_with("data: [DONE]\n\n") && out.matches("[DONE]").count() == 1);
        let chunks = json_data(&out);
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert!(chunks
            .iter()
            .all(|c| c["id"] == "chatcmpl-r1" && c["model"] == "my-gemini"));
        assert_eq!(
            concat(&chunks, "/choices/0/delta/reasoning_content"),
            "Planning"
        );
        assert_eq!(
            concat(&chunks, "/choices/0/delta/content"),
            "Checking the weather in Paris… ☀️"
        );
        let calls: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c.pointer("/choices/0/delta/tool_calls/0"))
            .collect();
        assert_eq!(
            calls[0],
            &json!({"index": 0, "id": "call_0", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}})
        );
        assert_eq!(
            (calls[1]["index"].as_u64(), calls[1]["id"].as_str()),
            (Some(1), Some("call_1"))
        );
        let n = chunks.len();
        assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[n - 1]["choices"], json!([]));
        assert_eq!(
            (
                chunks[n - 1]["usage"]["prompt_tokens"].as_u64(),
                chunks[n - 1]["usage"]["completion_tokens"].as_u64()
            ),
            (Some(31), Some(22))
        );
    }

    #[test]
    fn stream_is_done_only_after_finish_and_usage() {
        let mut s = GeminiStream::new("g", false);
        let mut out = Vec::new();
        s.on_event(
            &SseEvent::data(
                r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"STOP"}]}"#,
            ),
            &mut out,
        );
        assert!(!s.is_done());
        s.on_event(
            &SseEvent::data(r#"{"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1}}"#),
            &mut out,
        );
        assert!(s.is_done());
        assert_eq!(s.usage().unwrap().total_tokens, 3);
        s.finish(&mut out);
        s.finish(&mut out);
        let text = String::from_utf8(out.concat()).unwrap();
        assert_eq!(text.matches("[DONE]").count(), 1);
        assert!(
            !text.contains("\"usage\""),
            "usage hidden from clients that did not ask"
        );
    }

    #[test]
    fn stream_errors_and_blocked_prompts_end_with_an_openai_error() {
        for (data, needle) in [
            (
                r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
                "overloaded",
            ),
            (
                r#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}"#,
                "PROHIBITED_CONTENT",
            ),
        ] {
            let mut s = GeminiStream::new("g", true);
            let out = run(&mut s, [format!("data: {data}\n\n").as_bytes()]);
            assert!(s.is_done());
            let chunks = json_data(&out);
            assert!(chunks[0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle));
        }
        let mut s = GeminiStream::new("g", true);
        let mut out = Vec::new();
        for d in [
            "",
            "null",
            "[]",
            r#"{"candidates":"x"}"#,
            r#"{"candidates":[{"index":-1}]}"#,
        ] {
            s.on_event(&SseEvent::data(d), &mut out);
        }
        assert!(!s.is_done() && out.is_empty());
    }
}
