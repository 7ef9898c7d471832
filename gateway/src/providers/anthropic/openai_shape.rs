//! OpenAI-side pieces every converting provider needs: reading data URLs and message
//! text out of the client's request, and writing `chat.completion` bodies and chunks (or
//! their legacy `text_completion` forms). Shared by the Anthropic and Gemini modules; it
//! lives here only because `providers/mod.rs` is kept to one line per provider.

use crate::providers::Endpoint;
use crate::v1_core::error::V1Error;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::openai::Usage;
use shared::sse::encode_data;

/// Splits `data:<mime>;base64,<payload>` into mime type and payload.
pub(crate) fn parse_data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    let mime = if mime.is_empty() { "image/png" } else { mime };
    Some((mime.to_string(), data.to_string()))
}

/// The URL of an `image_url` part (an object with `url`, or a bare string some clients send).
pub(crate) fn image_url_of(part: &Value) -> Option<&str> {
    let iu = part.get("image_url")?;
    iu.get("url")
        .and_then(Value::as_str)
        .or_else(|| iu.as_str())
}

pub(crate) fn unsupported(what: impl std::fmt::Display) -> V1Error {
    V1Error::bad_request(format!("{what} is not supported by this channel"))
}

/// Text of a system/tool/assistant `content`: a string, or the text (and refusal) parts of
/// an array joined together; other part types are refused rather than silently dropped.
pub(crate) fn plain_text(content: Option<&Value>) -> Result<String, V1Error> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for p in parts {
                let kind = p.get("type").and_then(Value::as_str).unwrap_or("text");
                match kind {
                    "text" | "refusal" => {
                        let t = p.get(kind).and_then(Value::as_str).unwrap_or_default();
                        out.push_str(t);
                    }
                    other => return Err(unsupported(format!("a '{other}' part here"))),
                }
            }
            Ok(out)
        }
        Some(_) => Err(
            V1Error::bad_request("message content must be a string or an array").param("messages"),
        ),
    }
}

/// The legacy completions `prompt` (a string or an array of strings) as one text.
pub(crate) fn prompt_text(body: &Value) -> Result<String, V1Error> {
    match body.get("prompt") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n")),
        _ => Err(unsupported("a prompt of token ids").param("prompt")),
    }
}

/// `stop` as a list: a string or an array of strings; blank entries dropped (providers
/// reject whitespace-only stop sequences).
pub(crate) fn stop_list(body: &Value) -> Option<Vec<String>> {
    let list: Vec<String> = match body.get("stop")? {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => return None,
    };
    let list: Vec<String> = list.into_iter().filter(|s| !s.trim().is_empty()).collect();
    (!list.is_empty()).then_some(list)
}

/// `max_completion_tokens`, else `max_tokens`, when a positive integer.
pub(crate) fn max_tokens(body: &Value) -> Option<u64> {
    ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64).filter(|n| *n > 0))
}

/// One answer choice, provider-neutral.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Choice {
    pub index: u64,
    pub content: String,
    pub reasoning: String,
    /// Signed and redacted thinking (see `reasoning::details`).
    pub reasoning_details: Vec<Value>,
    /// OpenAI `tool_calls` entries (`{id, type, function: {name, arguments}}`).
    pub tool_calls: Vec<Value>,
    pub finish_reason: Option<String>,
}

impl Choice {
    /// The generated text, for estimating usage when none was reported.
    pub fn generated_text(&self, out: &mut String) {
        out.push_str(&self.reasoning);
        out.push_str(&self.content);
        for c in &self.tool_calls {
            for k in ["name", "arguments"] {
                if let Some(s) = c.pointer(&format!("/function/{k}")).and_then(Value::as_str) {
                    out.push_str(s);
                }
            }
        }
    }
}

/// A complete `chat.completion` (or `text_completion` for the legacy endpoint).
pub(crate) fn response_body(
    ep: Endpoint,
    id: &str,
    model: &str,
    choices: &[Choice],
    usage: Option<&Usage>,
) -> Value {
    let legacy = ep == Endpoint::Completions;
    let choices: Vec<Value> = choices
        .iter()
        .map(|c| {
            if legacy {
                return json!({"index": c.index, "text": c.content, "logprobs": null,
                              "finish_reason": c.finish_reason});
            }
            let mut msg = json!({"role": "assistant", "content": c.content});
            if c.content.is_empty() && !c.tool_calls.is_empty() {
                msg["content"] = Value::Null;
            }
            if !c.reasoning.is_empty() {
                msg["reasoning_content"] = json!(c.reasoning);
            }
            if !c.reasoning_details.is_empty() {
                msg[crate::providers::reasoning::details::FIELD] = json!(c.reasoning_details);
            }
            if !c.tool_calls.is_empty() {
                msg["tool_calls"] = json!(c.tool_calls);
            }
            json!({"index": c.index, "message": msg, "logprobs": null,
                   "finish_reason": c.finish_reason})
        })
        .collect();
    let mut body = json!({
        "id": id,
        "object": if legacy { "text_completion" } else { "chat.completion" },
        "created": crate::util::now(),
        "model": model,
        "choices": choices,
    });
    if let Some(u) = usage {
        body["usage"] = json!(u);
    }
    body
}

/// Writes stream chunks with one id, creation time and model.
pub(crate) struct ChunkWriter {
    pub id: String,
    pub created: i64,
    pub model: String,
    /// Legacy `/v1/completions` clients get `text_completion` chunks.
    pub legacy: bool,
}

impl ChunkWriter {
    pub fn new(id: String, model: &str) -> Self {
        ChunkWriter {
            id,
            created: crate::util::now(),
            model: model.to_string(),
            legacy: false,
        }
    }

    fn object(&self) -> &'static str {
        if self.legacy {
            "text_completion"
        } else {
            "chat.completion.chunk"
        }
    }

    /// One choice's delta (`{"content": …}`, `{"tool_calls": …}`, …) and finish reason.
    pub fn delta(&self, out: &mut Vec<Bytes>, index: u64, delta: Value, finish: Option<&str>) {
        let choice = if self.legacy {
            let text = delta.get("content").and_then(Value::as_str).unwrap_or("");
            // Role and tool-call deltas have no legacy form.
            if text.is_empty() && finish.is_none() {
                return;
            }
            json!({"index": index, "text": text, "logprobs": null, "finish_reason": finish})
        } else {
            json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish})
        };
        let chunk = json!({"id": self.id, "object": self.object(), "created": self.created,
                           "model": self.model, "choices": [choice]});
        out.push(encode_data(&chunk.to_string()));
    }

    /// The usage-only chunk (`choices: []`) sent when the client asked for usage.
    pub fn usage(&self, out: &mut Vec<Bytes>, usage: &Usage) {
        let chunk = json!({"id": self.id, "object": self.object(), "created": self.created,
                           "model": self.model, "choices": [], "usage": usage});
        out.push(encode_data(&chunk.to_string()));
    }
}

/// An OpenAI-shaped error event, for failures after the stream started.
pub(crate) use crate::providers::openai::error_event;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_and_stop_lists() {
        assert_eq!(
            parse_data_url("data:image/jpeg;base64,AAAA"),
            Some(("image/jpeg".into(), "AAAA".into()))
        );
        assert_eq!(parse_data_url("data:image/png,rawtext"), None);
        assert_eq!(parse_data_url("https://x/y.png"), None);
        assert_eq!(stop_list(&json!({"stop": "END"})), Some(vec!["END".into()]));
        assert_eq!(
            stop_list(&json!({"stop": ["a", " ", "b"]})),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(stop_list(&json!({"stop": null})), None);
        assert_eq!(
            max_tokens(&json!({"max_tokens": 5, "max_completion_tokens": 9})),
            Some(9)
        );
    }

    #[test]
    fn legacy_chunks_carry_text_only() {
        let mut w = ChunkWriter::new("x".into(), "m");
        w.legacy = true;
        let mut out = Vec::new();
        w.delta(&mut out, 0, json!({"role": "assistant"}), None);
        assert!(out.is_empty());
        w.delta(&mut out, 0, json!({"content": "hi"}), None);
        let s = String::from_utf8(out[0].to_vec()).unwrap();
        assert!(
            s.contains("\"text\":\"hi\"") && s.contains("text_completion"),
            "{s}"
        );
    }

    #[test]
    fn plain_text_refuses_images() {
        let c = json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]);
        assert_eq!(plain_text(Some(&c)).unwrap(), "ab");
        let c = json!([{"type": "image_url", "image_url": {"url": "x"}}]);
        assert!(plain_text(Some(&c)).is_err());
    }
}
