//! What the mock answers, derived from the request so tests can see content survive
//! conversions: the reply text and whether to call a tool.

use serde_json::Value;

/// Prefix of the default reply to a user turn.
pub const ECHO_PREFIX: &str = "Echo: ";
/// Prefix of the default reply to a tool-result turn.
pub const TOOL_RESULT_PREFIX: &str = "Tool result: ";

/// The deterministic answer to one request.
pub(crate) struct Intent {
    /// Reply text (always present; also sent alongside a tool call by Anthropic/Gemini).
    pub text: String,
    /// Name of the tool to call, if any.
    pub tool: Option<String>,
}

impl Intent {
    fn new(last_text: String, was_tool_result: bool, tool: Option<String>) -> Self {
        let prefix = match was_tool_result {
            true => TOOL_RESULT_PREFIX,
            false => ECHO_PREFIX,
        };
        // Answering a tool result with another tool call would loop SDK agents forever.
        let tool = tool.filter(|_| !was_tool_result);
        Self {
            text: format!("{prefix}{last_text}"),
            tool,
        }
    }
}

/// OpenAI chat: last message; `tool` role means a tool result.
pub(crate) fn openai_chat(body: &Value) -> Intent {
    let messages = body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let last_is_tool = messages.last().is_some_and(|m| m["role"] == "tool");
    let text = match last_is_tool {
        true => messages.last().map(|m| openai_text(&m["content"])),
        false => messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| openai_text(&m["content"])),
    };
    let tool = match &body["tool_choice"] {
        Value::String(choice) if choice == "none" => None,
        Value::Object(choice) => choice
            .get("function")
            .and_then(|f| f["name"].as_str())
            .map(String::from),
        _ => body["tools"][0]["function"]["name"]
            .as_str()
            .or_else(|| body["functions"][0]["name"].as_str())
            .map(String::from),
    };
    Intent::new(text.unwrap_or_default(), last_is_tool, tool)
}

/// OpenAI legacy completions: the (first) prompt.
pub(crate) fn openai_prompt(body: &Value) -> Intent {
    let text = match &body["prompt"] {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.first().map(plain).unwrap_or_default(),
        other => plain(other),
    };
    Intent::new(text, false, None)
}

fn openai_text(content: &Value) -> String {
    match content {
        Value::Array(parts) => join_texts(parts.iter().filter_map(|p| p["text"].as_str())),
        other => plain(other),
    }
}

/// Anthropic Messages: last user turn; `tool_result` blocks mean a tool result.
pub(crate) fn anthropic(body: &Value) -> Intent {
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
    let blocks: &[Value] = last
        .and_then(|m| m["content"].as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let results: Vec<String> = blocks
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| openai_text(&b["content"]))
        .collect();
    let text = match (last, results.is_empty()) {
        (_, false) => results.join("\n"),
        (Some(m), true) => openai_text(&m["content"]),
        (None, true) => String::new(),
    };
    let tool = match body["tool_choice"]["type"].as_str() {
        Some("none") => None,
        Some("tool") => body["tool_choice"]["name"].as_str().map(String::from),
        _ => body["tools"][0]["name"].as_str().map(String::from),
    };
    Intent::new(text, !results.is_empty(), tool)
}

/// Gemini: last `user` content; `functionResponse` parts mean a tool result.
pub(crate) fn gemini(body: &Value) -> Intent {
    let parts: &[Value] = body["contents"]
        .as_array()
        .and_then(|c| c.iter().rev().find(|c| c["role"] != "model"))
        .and_then(|c| c["parts"].as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let results: Vec<String> = parts
        .iter()
        .filter_map(|p| p.get("functionResponse"))
        .map(|r| r["response"].to_string())
        .collect();
    let text = match results.is_empty() {
        true => join_texts(parts.iter().filter_map(|p| p["text"].as_str())),
        false => results.join("\n"),
    };
    let mode = body["toolConfig"]["functionCallingConfig"]["mode"].as_str();
    let tool = match mode {
        Some("NONE") => None,
        _ => body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|t| t["functionDeclarations"][0]["name"].as_str())
            .map(String::from),
    };
    Intent::new(text, !results.is_empty(), tool)
}

fn join_texts<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    texts.collect::<Vec<_>>().join("\n")
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Splits `text` into exactly `n` pieces of near-equal length in characters (pieces are
/// empty when the text is shorter than `n`), so the chunk count stays predictable.
pub(crate) fn split_text(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = n.max(1);
    (0..n)
        .map(|i| {
            chars[i * chars.len() / n..(i + 1) * chars.len() / n]
                .iter()
                .collect()
        })
        .collect()
}

/// Texts to embed from an OpenAI `input` (string, strings, or token arrays).
pub(crate) fn embedding_inputs(input: &Value) -> Vec<String> {
    match input {
        Value::Array(items) if items.iter().all(Value::is_number) => vec![input.to_string()],
        Value::Array(items) => items.iter().map(plain).collect(),
        other => vec![plain(other)],
    }
}

/// A deterministic unit-ish vector for `text`: FNV-1a per dimension, mapped to [-1, 1].
pub(crate) fn embedding(text: &str, dims: usize) -> Vec<f32> {
    (0..dims.max(1))
        .map(|i| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ i as u64;
            for byte in text.bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
            (hash % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}
