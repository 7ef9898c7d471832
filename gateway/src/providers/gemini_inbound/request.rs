//! Gemini `generateContent` request → OpenAI chat request. Errors are in Google's shape.

use super::bad;
use super::schema::openai_schema;
use crate::providers::reasoning::{self, details};
use crate::v1_core::error::V1Error;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};

/// Gemini `generateContent` body → OpenAI chat body for `model`.
pub fn to_openai(body: &Value, model: &str, stream: bool) -> Result<Value, V1Error> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("contents must be an array"))?;
    let mut c = Converter::default();
    let mut messages = Vec::new();
    if let Some(system) = body.get("systemInstruction").filter(|s| !s.is_null()) {
        let text = system_text(system);
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for content in contents {
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("each content needs a parts array"))?;
        match content
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user")
        {
            "model" => messages.push(c.model_turn(parts)),
            "user" | "function" | "tool" => c.user_turn(parts, &mut messages)?,
            other => return Err(bad(format!("contents: unexpected role '{other}'"))),
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert("messages".into(), Value::Array(messages));
    if stream {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let tools = tools(body.get("tools"));
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = tool_choice(body.get("toolConfig")) {
            out.insert("tool_choice".into(), choice);
        }
    }
    if let Some(g) = body.get("generationConfig").filter(|g| g.is_object()) {
        generation_config(g, &mut out)?;
    }
    Ok(Value::Object(out))
}

/// `systemInstruction` is a Content (or, from some clients, a bare string).
fn system_text(system: &Value) -> String {
    if let Some(s) = system.as_str() {
        return s.to_string();
    }
    let parts = system.get("parts").and_then(Value::as_array);
    let texts: Vec<&str> = parts
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    texts.join("\n")
}

/// Gemini function calls rarely carry ids, while OpenAI needs one on each call and its
/// result: ids are made up per call and handed to the results by function name, in order.
#[derive(Default)]
struct Converter {
    next_id: u64,
    pending: HashMap<String, VecDeque<String>>,
}

impl Converter {
    fn call_id(&mut self, given: Option<&str>, name: &str) -> String {
        let id = match given.filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            None => {
                self.next_id += 1;
                format!("call_{}_{name}", self.next_id)
            }
        };
        self.pending
            .entry(name.to_string())
            .or_default()
            .push_back(id.clone());
        id
    }

    fn result_id(&mut self, given: Option<&str>, name: &str) -> String {
        let queued = self.pending.get_mut(name).and_then(VecDeque::pop_front);
        match (given.filter(|id| !id.is_empty()), queued) {
            (Some(id), _) => id.to_string(),
            (None, Some(id)) => id,
            (None, None) => {
                self.next_id += 1;
                format!("call_{}_{name}", self.next_id)
            }
        }
    }

    /// A model turn: text (thought summaries left out: other providers cannot use them),
    /// and function calls, their thought signatures kept in `extra_content` as Google's
    /// OpenAI-compatible API does.
    fn model_turn(&mut self, parts: &[Value]) -> Value {
        let mut text = String::new();
        let mut calls = Vec::new();
        // Anthropic thinking the gateway packed into a thought part's signature.
        let mut signed = Vec::new();
        for p in parts {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                let sig = p.get("thoughtSignature").and_then(Value::as_str);
                signed.extend(sig.and_then(details::unpack).unwrap_or_default());
            }
            if let Some(fc) = p.get("functionCall") {
                let name = fc.get("name").and_then(Value::as_str).unwrap_or_default();
                let id = self.call_id(fc.get("id").and_then(Value::as_str), name);
                let args = fc.get("args").filter(|a| a.is_object());
                let args = args.map_or_else(|| "{}".to_string(), Value::to_string);
                let mut call = json!({"id": id, "type": "function",
                                      "function": {"name": name, "arguments": args}});
                if let Some(sig) = p.get("thoughtSignature").and_then(Value::as_str) {
                    call["extra_content"] = json!({"google": {"thought_signature": sig}});
                }
                calls.push(call);
            } else if p.get("thought").and_then(Value::as_bool) != Some(true) {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    text.push_str(t);
                }
            }
        }
        let mut m = json!({"role": "assistant", "content": text});
        if !calls.is_empty() {
            if text.is_empty() {
                m["content"] = Value::Null;
            }
            m["tool_calls"] = Value::Array(calls);
        }
        if !signed.is_empty() {
            m[details::FIELD] = Value::Array(signed);
        }
        m
    }

    /// A user turn: function responses become `tool` messages first (they answer the
    /// previous model turn), then the rest one user message.
    fn user_turn(&mut self, parts: &[Value], out: &mut Vec<Value>) -> Result<(), V1Error> {
        let mut content = Vec::new();
        for p in parts {
            if let Some(fr) = p.get("functionResponse") {
                let name = fr.get("name").and_then(Value::as_str).unwrap_or_default();
                let id = self.result_id(fr.get("id").and_then(Value::as_str), name);
                let response = fr.get("response").cloned().unwrap_or(Value::Null);
                let text = match response {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            } else if let Some(t) = p.get("text").and_then(Value::as_str) {
                if !t.is_empty() {
                    content.push(json!({"type": "text", "text": t}));
                }
            } else if let Some(blob) = p.get("inlineData") {
                content.push(inline_part(blob)?);
            } else if let Some(file) = p.get("fileData") {
                content.push(file_part(file)?);
            } else {
                let kind = p.as_object().and_then(|o| o.keys().next().cloned());
                log::warn!(
                    "gemini request: dropped a '{}' part the channel cannot take",
                    kind.unwrap_or_default()
                );
            }
        }
        match content.as_slice() {
            [] => {}
            [only] if only["type"] == "text" => {
                out.push(json!({"role": "user", "content": only["text"]}))
            }
            _ => out.push(json!({"role": "user", "content": content})),
        }
        Ok(())
    }
}

fn inline_part(blob: &Value) -> Result<Value, V1Error> {
    let mime = blob.get("mimeType").and_then(Value::as_str).unwrap_or("");
    let data = blob
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("inlineData needs data"))?;
    let url = format!("data:{mime};base64,{data}");
    Ok(match mime.split('/').next() {
        Some("image") => json!({"type": "image_url", "image_url": {"url": url}}),
        Some("audio") => {
            let format = match mime {
                "audio/mpeg" | "audio/mp3" => "mp3",
                _ => "wav",
            };
            json!({"type": "input_audio", "input_audio": {"data": data, "format": format}})
        }
        _ => json!({"type": "file", "file": {"filename": "file", "file_data": url}}),
    })
}

/// Files by URI: images become image URLs (fetched by whichever side needs the bytes);
/// other uploaded files exist only on Google's side.
fn file_part(file: &Value) -> Result<Value, V1Error> {
    let mime = file.get("mimeType").and_then(Value::as_str).unwrap_or("");
    let uri = file
        .get("fileUri")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("fileData needs a fileUri"))?;
    if mime.starts_with("image/") {
        return Ok(json!({"type": "image_url", "image_url": {"url": uri}}));
    }
    Err(bad(format!(
        "fileData of type '{mime}' can only be used with Gemini channels"
    )))
}

/// Google's built-in tools a converted request leaves out, for the log row and the
/// warnings header.
pub fn dropped(native: &Value) -> Vec<String> {
    let tools = native.get("tools").and_then(Value::as_array);
    tools
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys())
        .filter(|k| *k != "functionDeclarations")
        .map(|k| format!("tool '{k}' dropped: only Gemini channels run it"))
        .collect()
}

/// Function declarations become OpenAI function tools; Google's built-in tools
/// (googleSearch, codeExecution, urlContext, …) have no equivalent and are dropped.
fn tools(tools: Option<&Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for tool in tools.and_then(Value::as_array).into_iter().flatten() {
        let Some(obj) = tool.as_object() else {
            continue;
        };
        for (kind, v) in obj {
            if kind != "functionDeclarations" {
                log::warn!("gemini request: dropped the '{kind}' tool, which the channel lacks");
                continue;
            }
            for d in v.as_array().into_iter().flatten() {
                let Some(name) = d.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let params = d
                    .get("parametersJsonSchema")
                    .filter(|p| p.is_object())
                    .cloned()
                    .or_else(|| {
                        d.get("parameters")
                            .filter(|p| p.is_object())
                            .map(openai_schema)
                    })
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                let mut f = json!({"name": name, "parameters": params});
                if let Some(desc) = d.get("description").and_then(Value::as_str) {
                    f["description"] = json!(desc);
                }
                out.push(json!({"type": "function", "function": f}));
            }
        }
    }
    out
}

fn tool_choice(config: Option<&Value>) -> Option<Value> {
    let fc = config?.get("functionCallingConfig")?;
    let names: Vec<&str> = fc
        .get("allowedFunctionNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match fc.get("mode").and_then(Value::as_str)? {
        "NONE" => Some(json!("none")),
        "ANY" if names.len() == 1 => {
            Some(json!({"type": "function", "function": {"name": names[0]}}))
        }
        "ANY" => Some(json!("required")),
        _ => Some(json!("auto")),
    }
}

fn generation_config(g: &Value, out: &mut Map<String, Value>) -> Result<(), V1Error> {
    for (from, to) in [
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("topK", "top_k"),
        ("maxOutputTokens", "max_tokens"),
        ("presencePenalty", "presence_penalty"),
        ("frequencyPenalty", "frequency_penalty"),
        ("seed", "seed"),
    ] {
        if let Some(v) = g.get(from).filter(|v| v.is_number()) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(n) = g.get("candidateCount").and_then(Value::as_u64) {
        if n > 1 {
            out.insert("n".into(), json!(n));
        }
    }
    if let Some(stop) = g.get("stopSequences").and_then(Value::as_array) {
        if !stop.is_empty() {
            out.insert("stop".into(), Value::Array(stop.clone()));
        }
    }
    let mime = g.get("responseMimeType").and_then(Value::as_str);
    if mime == Some("application/json") {
        let schema = g
            .get("responseJsonSchema")
            .filter(|s| s.is_object())
            .cloned()
            .or_else(|| {
                g.get("responseSchema")
                    .filter(|s| s.is_object())
                    .map(openai_schema)
            });
        let format = match schema {
            Some(schema) => json!({"type": "json_schema",
                                   "json_schema": {"name": "response", "schema": schema}}),
            None => json!({"type": "json_object"}),
        };
        out.insert("response_format".into(), format);
    }
    // Carried in the gateway's own field so an exact budget reaches budget-taking
    // channels; each channel sends what its model takes (`reasoning::families`).
    if let Some(ask) = g.get("thinkingConfig").and_then(reasoning::from_gemini) {
        out.insert(reasoning::FIELD.into(), ask.to_value());
    }
    if g.get("maxOutputTokens")
        .is_some_and(|v| v.as_u64().is_none())
    {
        return Err(bad(
            "generationConfig.maxOutputTokens must be a positive integer",
        ));
    }
    Ok(())
}
