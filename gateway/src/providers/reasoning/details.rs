//! Anthropic's signed and redacted thinking carried through OpenAI-shaped answers.
//!
//! The assistant message (and, in streams, a delta) gets `reasoning_details`, in the
//! format OpenRouter uses: `{"type": "reasoning.text", "text", "signature", "format",
//! "index"}` per thinking block and `{"type": "reasoning.encrypted", "data", …}` per
//! redacted block. A client that sends the message back unchanged (the OpenAI SDKs keep
//! unknown fields) gives an Anthropic channel its blocks again, which multi-turn tool use
//! with thinking requires. In streams each entry arrives whole, when its block ends.

use serde_json::{json, Value};
use shared::anthropic::ContentBlock;

/// The message (and delta) field.
pub const FIELD: &str = "reasoning_details";
/// `format` of entries made from Anthropic blocks.
pub const ANTHROPIC_FORMAT: &str = "anthropic-claude-v1";

/// A signed thinking block as an entry.
pub fn thinking_entry(index: usize, text: &str, signature: &str) -> Value {
    json!({"type": "reasoning.text", "text": text, "signature": signature,
           "format": ANTHROPIC_FORMAT, "index": index})
}

/// A redacted thinking block as an entry.
pub fn redacted_entry(index: usize, data: &str) -> Value {
    json!({"type": "reasoning.encrypted", "data": data, "format": ANTHROPIC_FORMAT,
           "index": index})
}

/// Marks opaque state the gateway packed: Anthropic entries as JSON, handed to
/// clients whose dialect has no place for them but an opaque string the client sends
/// back (Responses `encrypted_content`, Gemini `thoughtSignature`).
pub const PACKED_PREFIX: &str = "gw-anthropic-thinking:";

/// The Anthropic entries of `entries`, packed; `None` when there are none.
pub fn pack(entries: &[Value]) -> Option<String> {
    let anthropic: Vec<Value> = entries
        .iter()
        .filter(|e| !pieces(Some(&json!([e]))).is_empty())
        .cloned()
        .collect();
    (!anthropic.is_empty()).then(|| format!("{PACKED_PREFIX}{}", Value::Array(anthropic)))
}

/// The entries in a string [`pack`] made.
pub fn unpack(packed: &str) -> Option<Vec<Value>> {
    let json = packed.strip_prefix(PACKED_PREFIX)?;
    match serde_json::from_str::<Value>(json).ok()? {
        Value::Array(entries) => Some(entries),
        _ => None,
    }
}

/// One entry read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Thinking { text: String, signature: String },
    Redacted { data: String },
}

/// The Anthropic entries of a `reasoning_details` array (others, e.g. from other
/// providers, are skipped), in order.
pub fn pieces(details: Option<&Value>) -> Vec<Piece> {
    let entries = details.and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .filter(|e| {
            let format = e.get("format").and_then(Value::as_str).unwrap_or("");
            format.is_empty() || format.starts_with("anthropic")
        })
        .filter_map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            match e.get("type").and_then(Value::as_str)? {
                "reasoning.text" => Some(Piece::Thinking {
                    text: s("text"),
                    signature: s("signature"),
                }),
                "reasoning.encrypted" if !s("data").is_empty() => {
                    Some(Piece::Redacted { data: s("data") })
                }
                _ => None,
            }
        })
        .collect()
}

/// The thinking blocks an assistant message replays to Anthropic: signed thinking and
/// redacted thinking only (unsigned reasoning cannot be sent back).
pub fn anthropic_blocks(message: &Value) -> Vec<ContentBlock> {
    pieces(message.get(FIELD))
        .into_iter()
        .filter_map(|p| match p {
            Piece::Thinking { text, signature } if !signature.is_empty() => {
                Some(ContentBlock::Thinking {
                    thinking: text,
                    signature,
                })
            }
            Piece::Redacted { data } => Some(ContentBlock::RedactedThinking { data }),
            Piece::Thinking { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_into_blocks() {
        let msg = json!({"role": "assistant", FIELD: [
            thinking_entry(0, "hm", "sig"),
            redacted_entry(1, "enc"),
            {"type": "reasoning.text", "text": "unsigned", "index": 2},
            {"type": "reasoning.text", "text": "x", "signature": "s", "format": "google-gemini-v1"},
        ]});
        assert_eq!(
            anthropic_blocks(&msg),
            vec![
                ContentBlock::Thinking {
                    thinking: "hm".into(),
                    signature: "sig".into()
                },
                ContentBlock::RedactedThinking { data: "enc".into() },
            ]
        );
        assert_eq!(pieces(msg.get(FIELD)).len(), 3);
        let packed = pack(msg[FIELD].as_array().unwrap()).unwrap();
        assert_eq!(
            unpack(&packed).map(|e| e.len()),
            Some(3),
            "the Gemini entry is left out"
        );
        assert_eq!(
            pack(&[json!({"type": "reasoning.text", "text": "x", "format": "other"})]),
            None
        );
        assert_eq!(unpack("not ours"), None);
        assert!(anthropic_blocks(&json!({"role": "assistant"})).is_empty());
    }
}
