//! OpenAI chat (or legacy completions) request → Gemini `generateContent` request.

use super::schema;
use super::Images;
use crate::providers::anthropic::openai_shape::{
    image_url_of, max_tokens, parse_data_url, plain_text, prompt_text, stop_list, unsupported,
};
use crate::providers::Endpoint;
use crate::v1_core::error::V1Error;
use serde_json::{json, Value};
use shared::gemini::{
    Blob, Content, FunctionCall, FunctionCallingConfig, FunctionDeclaration, FunctionResponse,
    GenerateContentRequest, GenerationConfig, Part, Tool, ToolConfig,
};
use std::collections::HashMap;

/// Gemini allows at most this many stop sequences.
const MAX_STOP: usize = 5;

/// Google's documented placeholder for replayed function calls whose real thought
/// signature the OpenAI client could not keep; Gemini 3 refuses calls without one.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

pub fn to_gemini(
    body: &Value,
    ep: Endpoint,
    model: &str,
    images: &Images,
) -> Result<GenerateContentRequest, V1Error> {
    if !body.is_object() {
        return Err(V1Error::bad_request("request body must be a JSON object"));
    }
    let mut b = Builder {
        images,
        needs_signature: needs_thought_signature(model),
        system: Vec::new(),
        contents: Vec::new(),
        call_names: HashMap::new(),
    };
    match ep {
        Endpoint::Embeddings => return Err(unsupported("embeddings through generateContent")),
        Endpoint::Completions => b.push("user", vec![Part::text(prompt_text(body)?)]),
        Endpoint::Chat => {
            let messages = body
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    V1Error::bad_request("messages must be an array").param("messages")
                })?;
            for m in messages {
                b.message(m)?;
            }
        }
    }
    let tools = tools(body)?;
    let tool_config = if tools.is_empty() {
        None
    } else {
        tool_config(body)?
    };
    Ok(GenerateContentRequest {
        contents: b.contents,
        system_instruction: (!b.system.is_empty()).then(|| Content {
            role: None,
            parts: vec![Part::text(b.system.join("\n\n"))],
        }),
        tools,
        tool_config,
        generation_config: super::thinking::with_thinking(generation_config(body)?, body, model),
    })
}

/// Gemini 3 and later validate thought signatures on replayed function calls.
fn needs_thought_signature(model: &str) -> bool {
    let rest = model.trim_start_matches("models/");
    let Some(version) = rest.strip_prefix("gemini-") else {
        return false;
    };
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    major.parse::<u32>().is_ok_and(|m| m >= 3)
}

struct Builder<'a> {
    images: &'a Images,
    needs_signature: bool,
    system: Vec<String>,
    contents: Vec<Content>,
    /// tool_call id → function name, for the `functionResponse` that answers it.
    call_names: HashMap<String, String>,
}

impl Builder<'_> {
    /// Appends parts, merging consecutive turns of one role as Gemini expects.
    fn push(&mut self, role: &str, parts: Vec<Part>) {
        if parts.is_empty() {
            return;
        }
        match self.contents.last_mut() {
            Some(c) if c.role.as_deref() == Some(role) => c.parts.extend(parts),
            _ => self.contents.push(Content {
                role: Some(role.to_string()),
                parts,
            }),
        }
    }

    fn message(&mut self, m: &Value) -> Result<(), V1Error> {
        let role = m
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| V1Error::bad_request("each message needs a role").param("messages"))?;
        match role {
            "system" | "developer" => {
                let t = plain_text(m.get("content"))?;
                if !t.trim().is_empty() {
                    self.system.push(t);
                }
            }
            "user" => {
                let parts = self.user_parts(m.get("content"))?;
                self.push("user", parts);
            }
            "assistant" => {
                let mut parts = text_parts(plain_text(m.get("content"))?);
                let calls = m.get("tool_calls").and_then(Value::as_array);
                for (i, call) in calls.into_iter().flatten().enumerate() {
                    let mut part = self.function_call(call)?;
                    if i == 0 && self.needs_signature && part.thought_signature.is_none() {
                        part.thought_signature = Some(SKIP_SIGNATURE.into());
                    }
                    parts.push(part);
                }
                self.push("model", parts);
            }
            "tool" => {
                let part = self.function_response(m)?;
                self.push("user", vec![part]);
            }
            other => {
                return Err(unsupported(format!("the message role '{other}'")).param("messages"))
            }
        }
        Ok(())
    }

    fn user_parts(&self, content: Option<&Value>) -> Result<Vec<Part>, V1Error> {
        let Some(Value::Array(items)) = content else {
            return Ok(text_parts(plain_text(content)?));
        };
        let mut parts = Vec::with_capacity(items.len());
        for p in items {
            match p.get("type").and_then(Value::as_str).unwrap_or("text") {
                "text" => {
                    let t = p.get("text").and_then(Value::as_str).unwrap_or_default();
                    parts.extend(text_parts(t.to_string()));
                }
                "image_url" => {
                    let url = image_url_of(p).ok_or_else(|| {
                        V1Error::bad_request("image_url parts need a url").param("messages")
                    })?;
                    parts.push(inline(self.image(url)?));
                }
                "input_audio" => {
                    let a = p.get("input_audio");
                    let data = a.and_then(|a| a.get("data")).and_then(Value::as_str);
                    let format = a.and_then(|a| a.get("format")).and_then(Value::as_str);
                    let (Some(data), Some(format)) = (data, format) else {
                        return Err(V1Error::bad_request("input_audio needs data and format"));
                    };
                    parts.push(inline((format!("audio/{format}"), data.to_string())));
                }
                "file" => {
                    let url = p.pointer("/file/file_data").and_then(Value::as_str);
                    let blob = url
                        .and_then(parse_data_url)
                        .ok_or_else(|| unsupported("a file part without inline file_data"))?;
                    parts.push(inline(blob));
                }
                other => return Err(unsupported(format!("a '{other}' content part"))),
            }
        }
        Ok(parts)
    }

    /// Data URLs inline directly; http(s) images must have been fetched by the caller.
    fn image(&self, url: &str) -> Result<(String, String), V1Error> {
        if let Some(blob) = parse_data_url(url) {
            return Ok(blob);
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(
                V1Error::bad_request("image URLs must be http(s) or base64 data URLs")
                    .param("messages"),
            );
        }
        self.images.get(url).cloned().ok_or_else(|| {
            let shown: String = url.chars().take(200).collect();
            V1Error::bad_request(format!("could not fetch the image at {shown}"))
                .param("messages")
                .code("image_fetch_failed")
        })
    }

    fn function_call(&mut self, call: &Value) -> Result<Part, V1Error> {
        let f = call.get("function");
        let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
        let (Some(id), Some(name)) = (call.get("id").and_then(Value::as_str), name) else {
            return Err(
                V1Error::bad_request("tool_calls need an id and a function name").param("messages"),
            );
        };
        self.call_names.insert(id.to_string(), name.to_string());
        let args = f.and_then(|f| f.get("arguments")).and_then(Value::as_str);
        let args = args
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        // The signature a Gemini model gave this call, kept by the client in
        // `extra_content` (as Google's OpenAI-compatible API does), goes back with it.
        let signature = call
            .pointer("/extra_content/google/thought_signature")
            .and_then(Value::as_str)
            .map(String::from);
        Ok(Part {
            function_call: Some(FunctionCall {
                id: None,
                name: name.to_string(),
                args,
            }),
            thought_signature: signature,
            ..Part::default()
        })
    }

    fn function_response(&self, m: &Value) -> Result<Part, V1Error> {
        let id = m
            .get("tool_call_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = self
            .call_names
            .get(id)
            .cloned()
            .or_else(|| m.get("name").and_then(Value::as_str).map(String::from))
            .ok_or_else(|| {
                V1Error::bad_request(format!(
                    "tool message answers an unknown tool_call_id '{id}'"
                ))
                .param("messages")
            })?;
        let text = plain_text(m.get("content"))?;
        // `response` must be an object; tools often return plain text or other JSON.
        let response = match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(v) => json!({ "result": v }),
            Err(_) => json!({ "result": text }),
        };
        Ok(Part {
            function_response: Some(FunctionResponse {
                id: None,
                name,
                response,
            }),
            ..Part::default()
        })
    }
}

/// Gemini rejects empty text parts.
fn text_parts(text: String) -> Vec<Part> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![Part::text(text)]
    }
}

fn inline((mime_type, data): (String, String)) -> Part {
    Part {
        inline_data: Some(Blob { mime_type, data }),
        ..Part::default()
    }
}

fn tools(body: &Value) -> Result<Vec<Tool>, V1Error> {
    let mut decls = Vec::new();
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("function");
        if kind != "function" {
            return Err(unsupported(format!("the tool type '{kind}'")).param("tools"));
        }
        let f = t.get("function").unwrap_or(&Value::Null);
        let name = f.get("name").and_then(Value::as_str).ok_or_else(|| {
            V1Error::bad_request("each tool needs a function name").param("tools")
        })?;
        // A parameterless function must omit `parameters`: Gemini refuses empty objects.
        let parameters = f
            .get("parameters")
            .map(schema::clean)
            .filter(|p| p.get("properties").is_some());
        decls.push(FunctionDeclaration {
            name: name.to_string(),
            description: f
                .get("description")
                .and_then(Value::as_str)
                .map(String::from),
            parameters,
        });
    }
    Ok(if decls.is_empty() {
        Vec::new()
    } else {
        vec![Tool {
            function_declarations: decls,
        }]
    })
}

fn tool_config(body: &Value) -> Result<Option<ToolConfig>, V1Error> {
    let (mode, names) = match body.get("tool_choice") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ("AUTO", None),
            "none" => ("NONE", None),
            "required" => ("ANY", None),
            other => return Err(unsupported(format!("tool_choice '{other}'")).param("tool_choice")),
        },
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => ("ANY", Some(vec![name.to_string()])),
            None => {
                return Err(
                    V1Error::bad_request("tool_choice names no function").param("tool_choice")
                )
            }
        },
    };
    Ok(Some(ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode: mode.into(),
            allowed_function_names: names,
        },
    }))
}

fn generation_config(body: &Value) -> Result<Option<GenerationConfig>, V1Error> {
    let f = |k: &str| body.get(k).and_then(Value::as_f64);
    let mut g = GenerationConfig {
        temperature: f("temperature"),
        top_p: f("top_p"),
        top_k: body.get("top_k").and_then(Value::as_u64),
        max_output_tokens: max_tokens(body),
        stop_sequences: stop_list(body).map(|mut s| {
            s.truncate(MAX_STOP);
            s
        }),
        candidate_count: body.get("n").and_then(Value::as_u64).filter(|n| *n > 1),
        presence_penalty: f("presence_penalty"),
        frequency_penalty: f("frequency_penalty"),
        seed: body.get("seed").and_then(Value::as_i64),
        ..GenerationConfig::default()
    };
    if let Some(rf) = body.get("response_format").filter(|v| !v.is_null()) {
        match rf.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some("json_object") => g.response_mime_type = Some("application/json".into()),
            Some("json_schema") => {
                g.response_mime_type = Some("application/json".into());
                g.response_schema = rf.pointer("/json_schema/schema").map(schema::clean);
            }
            _ => {
                return Err(
                    V1Error::bad_request("unknown response_format type").param("response_format")
                )
            }
        }
    }
    Ok((g != GenerationConfig::default()).then_some(g))
}
