//! OpenAI chunks (from any provider's adapter) → Gemini `streamGenerateContent` events.
//!
//! Text and thought summaries go out as they arrive, one `GenerateContentResponse` per
//! chunk. Gemini sends each function call whole, while OpenAI streams arguments in
//! pieces: calls are collected and sent in the last event, with the finish reason and
//! the usage.

use super::framing::Framing;
use super::response::{
    finish_reason, function_call_part, response_id, thought_part, usage_metadata,
};
use crate::providers::converted_stream::{Conversion, ConvertedStream};
use crate::providers::reasoning::details;
use crate::providers::StreamAdapter;
use crate::v1_core::error::ErrorKind;
use crate::v1_core::prompt::Prompt;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::openai::Usage;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Default)]
struct PendingCall {
    id: String,
    name: String,
    args: String,
    signature: Option<String>,
}

pub type OpenAiToGeminiStream = ConvertedStream<ToGemini>;

pub struct ToGemini {
    framing: Framing,
    model: String,
    id: Option<String>,
    /// The prompt, counted only when the channel reports no usage.
    prompt: Option<Arc<Prompt>>,
    /// (candidate, tool call index) → the call so far.
    calls: BTreeMap<(u64, u64), PendingCall>,
    /// Candidates seen, with their OpenAI finish reason once known.
    finish: BTreeMap<u64, Option<String>>,
}

impl OpenAiToGeminiStream {
    /// Wraps the channel's OpenAI-producing adapter; `model` is the client's model name.
    pub fn new(inner: Box<dyn StreamAdapter>, model: &str, framing: Framing) -> Self {
        let conversion = ToGemini {
            framing,
            model: model.to_string(),
            id: None,
            prompt: None,
            calls: BTreeMap::new(),
            finish: BTreeMap::new(),
        };
        ConvertedStream::wrap(inner, conversion)
    }

    /// The prompt, for the count reported when the channel reports no usage.
    pub fn with_prompt(mut self, prompt: Arc<Prompt>) -> Self {
        self.conversion_mut().prompt = Some(prompt);
        self
    }
}

impl ToGemini {
    fn emit(&mut self, out: &mut Vec<Bytes>, candidates: Vec<Value>, usage: Option<Value>) {
        let id = response_id(self.id.as_deref());
        self.id.get_or_insert_with(|| id.clone());
        let mut body = json!({"candidates": candidates, "modelVersion": self.model,
                              "responseId": id});
        if let Some(u) = usage {
            body["usageMetadata"] = u;
        }
        out.push(self.framing.item(&body.to_string()));
    }

    fn part(&mut self, out: &mut Vec<Bytes>, index: u64, part: Value) {
        let c = json!({"content": {"parts": [part], "role": "model"}, "index": index});
        self.emit(out, vec![c], None);
    }

    fn tool_delta(&mut self, choice: u64, tc: &Value) {
        let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
        let call = self.calls.entry((choice, index)).or_default();
        let s = |p: &str| tc.pointer(p).and_then(Value::as_str).unwrap_or_default();
        if call.id.is_empty() {
            call.id = s("/id").to_string();
        }
        call.name.push_str(s("/function/name"));
        call.args.push_str(s("/function/arguments"));
        if let Some(sig) = tc.pointer("/extra_content/google/thought_signature") {
            call.signature = sig.as_str().map(String::from);
        }
    }

    /// The last event: collected function calls, finish reasons and usage.
    fn final_event(&mut self, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        if self.finish.is_empty() {
            self.finish.insert(0, None);
        }
        let calls = std::mem::take(&mut self.calls);
        let mut candidates = Vec::new();
        for (index, reason) in &self.finish {
            let parts: Vec<Value> = calls
                .iter()
                .filter(|((c, _), _)| c == index)
                .map(|(_, p)| {
                    let mut call = json!({"id": p.id, "function": {"name": p.name,
                                                                   "arguments": p.args}});
                    if let Some(sig) = &p.signature {
                        call["extra_content"] = json!({"google": {"thought_signature": sig}});
                    }
                    function_call_part(&call)
                })
                .collect();
            let mut c = json!({"finishReason": finish_reason(reason.as_deref()), "index": index});
            if !parts.is_empty() {
                c["content"] = json!({"parts": parts, "role": "model"});
            }
            candidates.push(c);
        }
        let usage = match inner.usage() {
            Some(u) if !u.is_empty() => u,
            _ => {
                let prompt = self.prompt.as_ref().map_or(0, |p| p.tokens());
                Usage::new(prompt, inner.generated_tokens())
            }
        };
        self.emit(out, candidates, Some(usage_metadata(&usage)));
    }
}

impl Conversion for ToGemini {
    fn on_chunk(&mut self, chunk: &Value, _inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        if self.id.is_none() {
            self.id = chunk.get("id").and_then(Value::as_str).map(String::from);
        }
        for (pos, choice) in chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = choice
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(pos as u64);
            self.finish.entry(index).or_default();
            let delta = choice.get("delta");
            let text = |k: &str| {
                delta
                    .and_then(|d| d.get(k))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
            };
            if let Some(t) = text("reasoning_content") {
                self.part(out, index, json!({"text": t, "thought": true}));
            }
            let entries = delta
                .and_then(|d| d.get(details::FIELD))
                .and_then(Value::as_array);
            if let Some(packed) = entries.and_then(|e| details::pack(e)) {
                self.part(out, index, thought_part("", Some(&packed)));
            }
            if let Some(t) = text("content") {
                self.part(out, index, json!({ "text": t }));
            }
            let calls = delta
                .and_then(|d| d.get("tool_calls"))
                .and_then(Value::as_array);
            for tc in calls.into_iter().flatten() {
                self.tool_delta(index, tc);
            }
            if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish.insert(index, Some(f.to_string()));
            }
        }
    }

    fn finish(&mut self, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        self.final_event(inner, out);
    }

    fn error_event(&self, message: &str) -> Bytes {
        error_item(&self.framing, message)
    }

    /// The closing bracket of a JSON-array stream, after an error too.
    fn end(&mut self, out: &mut Vec<Bytes>) {
        out.extend(self.framing.close());
    }

    fn content_type(&self) -> &'static str {
        self.framing.content_type()
    }

    fn keep_alive(&self) -> Bytes {
        self.framing.keep_alive()
    }
}

/// Google's error object as a stream element (what a failing Gemini stream ends with).
pub fn error_item(framing: &Framing, message: &str) -> Bytes {
    let kind = ErrorKind::Internal;
    let body = json!({"error": {"code": kind.status().as_u16(), "message": message,
                                "status": kind.google_status()}});
    framing.item(&body.to_string())
}
