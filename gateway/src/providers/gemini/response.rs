//! Gemini `generateContent` answer → OpenAI `chat.completion` (or `text_completion`).

use crate::providers::anthropic::openai_shape::{response_body, Choice};
use crate::providers::{Endpoint, Parsed};
use bytes::Bytes;
use serde_json::{json, Value};
use shared::gemini::{Candidate, GenerateContentResponse, Part};

/// Gemini `finishReason` → OpenAI `finish_reason`; a candidate that called functions
/// finished with `tool_calls` whatever Gemini says (it reports `STOP`).
pub fn finish_reason(reason: &str, called_functions: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        _ if called_functions => "tool_calls",
        _ => "stop",
    }
}

/// Gemini rarely names its function calls, so ids are made up: a random prefix per
/// answer keeps them unique across turns of one conversation.
pub struct CallIds {
    prefix: String,
    next: u64,
}

impl CallIds {
    pub fn new() -> Self {
        let mut prefix = crate::util::new_id().to_string();
        prefix.truncate(12);
        prefix.push('_');
        CallIds { prefix, next: 0 }
    }

    /// `call_0`, `call_1`, … with no random part, for reproducible test output.
    #[cfg(test)]
    pub fn fixed() -> Self {
        CallIds {
            prefix: String::new(),
            next: 0,
        }
    }

    pub fn id_for(&mut self, given: Option<&str>) -> String {
        if let Some(id) = given.filter(|id| !id.is_empty()) {
            return id.to_string();
        }
        let id = format!("call_{}{}", self.prefix, self.next);
        self.next = self.next.saturating_add(1);
        id
    }
}

/// An OpenAI tool call (without stream `index`) for a `functionCall` part, its thought
/// signature in `extra_content.google` when Gemini gave one.
pub fn tool_call(part: &Part, ids: &mut CallIds) -> Option<Value> {
    let call = part.function_call.as_ref()?;
    let arguments = if call.args.is_null() {
        "{}".to_string()
    } else {
        call.args.to_string()
    };
    let mut out = json!({"id": ids.id_for(call.id.as_deref()), "type": "function",
                         "function": {"name": call.name, "arguments": arguments}});
    // Gemini 3 wants the signature back on replay; OpenAI clients keep it here.
    if let Some(sig) = &part.thought_signature {
        out["extra_content"] = json!({"google": {"thought_signature": sig}});
    }
    Some(out)
}

fn choice(pos: usize, c: &Candidate, ids: &mut CallIds) -> Choice {
    let mut out = Choice {
        index: c.index.map_or(pos as u64, u64::from),
        ..Choice::default()
    };
    for part in c.content.iter().flat_map(|c| &c.parts) {
        if let Some(call) = tool_call(part, ids) {
            out.tool_calls.push(call);
        } else if let Some(t) = &part.text {
            if part.thought == Some(true) {
                out.reasoning.push_str(t);
            } else {
                out.content.push_str(t);
            }
        }
    }
    let reason = c.finish_reason.as_deref().unwrap_or("STOP");
    out.finish_reason = Some(finish_reason(reason, !out.tool_calls.is_empty()).into());
    out
}

/// The error to report when Gemini blocked the prompt instead of answering.
pub fn blocked(r: &GenerateContentResponse) -> Option<String> {
    let reason = r.prompt_feedback.as_ref()?.block_reason.as_deref()?;
    r.candidates
        .is_empty()
        .then(|| format!("the prompt was blocked by Gemini ({reason})"))
}

/// Converts a chat answer; `model` is what the client asked for (empty: Gemini's own).
pub fn parse_chat(ep: Endpoint, raw: &[u8], model: &str) -> Result<Parsed, String> {
    let r: GenerateContentResponse = serde_json::from_slice(raw)
        .map_err(|e| format!("upstream returned an unexpected body: {e}"))?;
    if let Some(msg) = blocked(&r) {
        return Err(msg);
    }
    let mut ids = CallIds::new();
    let choices: Vec<Choice> = r
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| choice(i, c, &mut ids))
        .collect();
    let usage = r.usage_metadata.as_ref().map(|u| u.to_openai());
    let id = match &r.response_id {
        Some(id) => format!("chatcmpl-{id}"),
        None => format!("chatcmpl-{}", crate::util::new_id()),
    };
    let model = if model.is_empty() {
        r.model_version.as_deref().unwrap_or_default()
    } else {
        model
    };
    let body = response_body(ep, &id, model, &choices, usage.as_ref());
    let mut completion_text = String::new();
    choices
        .iter()
        .for_each(|c| c.generated_text(&mut completion_text));
    Ok(Parsed {
        body: Bytes::from(body.to_string()),
        usage,
        completion_text,
    })
}
