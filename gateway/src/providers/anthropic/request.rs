//! OpenAI chat (or legacy completions) request → Anthropic Messages request.

use super::openai_shape::{
    image_url_of, max_tokens, parse_data_url, plain_text, prompt_text, stop_list, unsupported,
};
use super::thinking::DEFAULT_MAX_TOKENS;
use crate::providers::Endpoint;
use crate::v1_core::error::V1Error;
use serde_json::{json, Value};
use shared::anthropic::{
    Content, ContentBlock, ImageSource, Message, MessagesRequest, Metadata, Tool, ToolChoice,
};

/// Anthropic needs a user turn first; this stands in when the conversation lacks one.
const FILLER_USER_TEXT: &str = ".";

pub fn to_anthropic(
    body: &Value,
    ep: Endpoint,
    model: &str,
    stream: bool,
) -> Result<MessagesRequest, V1Error> {
    if !body.is_object() {
        return Err(V1Error::bad_request("request body must be a JSON object"));
    }
    let mut system: Vec<String> = Vec::new();
    let mut turns = Turns::default();
    match ep {
        Endpoint::Embeddings => return Err(unsupported("the embeddings endpoint")),
        Endpoint::Completions => turns.push("user", vec![text_block(prompt_text(body)?)]),
        Endpoint::Chat => {
            let messages = body
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    V1Error::bad_request("messages must be an array").param("messages")
                })?;
            for m in messages {
                convert_message(m, &mut system, &mut turns)?;
            }
        }
    }
    if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(unsupported("n greater than 1").param("n"));
    }
    let tools = convert_tools(body)?;
    let tool_choice = if tools.is_some() {
        convert_tool_choice(body)?
    } else {
        None
    };
    let temperature = body.get("temperature").and_then(Value::as_f64);
    let mut req = MessagesRequest {
        model: model.to_string(),
        messages: turns.finish(),
        system: (!system.is_empty()).then(|| Content::Text(system.join("\n\n"))),
        max_tokens: Some(max_tokens(body).unwrap_or(DEFAULT_MAX_TOKENS)),
        stop_sequences: stop_list(body),
        // OpenAI allows up to 2, Anthropic up to 1: clamp rather than fail the request.
        temperature: temperature.map(|t| t.clamp(0.0, 1.0)),
        // Recent Claude models refuse temperature and top_p together; temperature wins.
        top_p: body
            .get("top_p")
            .and_then(Value::as_f64)
            .filter(|_| temperature.is_none()),
        top_k: body.get("top_k").and_then(Value::as_u64),
        stream: stream.then_some(true),
        tools,
        tool_choice,
        metadata: body.get("user").and_then(Value::as_str).map(|u| Metadata {
            user_id: Some(u.to_string()),
        }),
        thinking: None,
        output_config: None,
    };
    super::thinking::apply(body, model, &mut req);
    Ok(req)
}

fn text_block(text: String) -> ContentBlock {
    ContentBlock::Text { text }
}

fn convert_message(m: &Value, system: &mut Vec<String>, turns: &mut Turns) -> Result<(), V1Error> {
    let role = m
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| V1Error::bad_request("each message needs a role").param("messages"))?;
    match role {
        "system" | "developer" => {
            let t = plain_text(m.get("content"))?;
            if !t.trim().is_empty() {
                system.push(t);
            }
        }
        "user" => turns.push("user", user_blocks(m.get("content"))?),
        "assistant" => {
            // Signed thinking kept by the client (`reasoning_details`) goes back first.
            let mut blocks = super::thinking::replayed(m);
            blocks.push(text_block(plain_text(m.get("content"))?));
            for call in m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                blocks.push(tool_use(call)?);
            }
            turns.push("assistant", blocks);
        }
        "tool" => {
            let id = m
                .get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    V1Error::bad_request("tool messages need a tool_call_id").param("messages")
                })?;
            let text = plain_text(m.get("content"))?;
            turns.push(
                "user",
                vec![ContentBlock::ToolResult {
                    tool_use_id: id.to_string(),
                    content: (!text.is_empty()).then_some(Content::Text(text)),
                    is_error: None,
                }],
            );
        }
        other => return Err(unsupported(format!("the message role '{other}'")).param("messages")),
    }
    Ok(())
}

fn user_blocks(content: Option<&Value>) -> Result<Vec<ContentBlock>, V1Error> {
    let Some(Value::Array(parts)) = content else {
        return Ok(vec![text_block(plain_text(content)?)]);
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for p in parts {
        match p.get("type").and_then(Value::as_str).unwrap_or("text") {
            "text" => {
                let t = p.get("text").and_then(Value::as_str).unwrap_or_default();
                blocks.push(text_block(t.to_string()));
            }
            "image_url" => {
                let url = image_url_of(p).ok_or_else(|| {
                    V1Error::bad_request("image_url parts need a url").param("messages")
                })?;
                blocks.push(ContentBlock::Image {
                    source: image_source(url)?,
                });
            }
            "file" => blocks.push(pdf_block(p)?),
            other => return Err(unsupported(format!("a '{other}' content part"))),
        }
    }
    Ok(blocks)
}

fn image_source(url: &str) -> Result<ImageSource, V1Error> {
    if let Some((media_type, data)) = parse_data_url(url) {
        return Ok(ImageSource::Base64 { media_type, data });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(ImageSource::Url {
            url: url.to_string(),
        });
    }
    Err(V1Error::bad_request("image URLs must be http(s) or base64 data URLs").param("messages"))
}

/// OpenAI `file` parts with inline PDF data become Anthropic document blocks.
fn pdf_block(p: &Value) -> Result<ContentBlock, V1Error> {
    let data_url = p.pointer("/file/file_data").and_then(Value::as_str);
    match data_url.and_then(parse_data_url) {
        Some((mime, data)) if mime == "application/pdf" => Ok(ContentBlock::Document {
            source: json!({"type": "base64", "media_type": mime, "data": data}),
        }),
        _ => Err(unsupported("a file part other than an inline PDF")),
    }
}

fn tool_use(call: &Value) -> Result<ContentBlock, V1Error> {
    let f = call.get("function");
    let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
    let (Some(id), Some(name)) = (call.get("id").and_then(Value::as_str), name) else {
        return Err(
            V1Error::bad_request("tool_calls need an id and a function name").param("messages"),
        );
    };
    let args = f.and_then(|f| f.get("arguments")).and_then(Value::as_str);
    // Anthropic wants an object; models occasionally emit broken JSON, so fall back to {}.
    let input = args
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    Ok(ContentBlock::ToolUse {
        id: id.to_string(),
        name: name.to_string(),
        input,
    })
}

fn convert_tools(body: &Value) -> Result<Option<Vec<Tool>>, V1Error> {
    let mut out = Vec::new();
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
        out.push(function_tool(t.get("function").unwrap_or(&Value::Null))?);
    }
    // The deprecated `functions` list is the same thing without the wrapper.
    for f in body
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(function_tool(f)?);
    }
    Ok((!out.is_empty()).then_some(out))
}

fn function_tool(f: &Value) -> Result<Tool, V1Error> {
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| V1Error::bad_request("each tool needs a function name").param("tools"))?;
    let schema = f
        .get("parameters")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    Ok(Tool {
        kind: None,
        name: name.to_string(),
        description: f
            .get("description")
            .and_then(Value::as_str)
            .map(String::from),
        input_schema: schema,
    })
}

fn convert_tool_choice(body: &Value) -> Result<Option<ToolChoice>, V1Error> {
    let no_parallel =
        (body.get("parallel_tool_calls") == Some(&Value::Bool(false))).then_some(true);
    let choice = body
        .get("tool_choice")
        .or_else(|| body.get("function_call"));
    let named = |name: &str| ToolChoice::Tool {
        name: name.to_string(),
        disable_parallel_tool_use: no_parallel,
    };
    Ok(Some(match choice {
        None | Some(Value::Null) => ToolChoice::Auto {
            disable_parallel_tool_use: no_parallel,
        },
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto {
                disable_parallel_tool_use: no_parallel,
            },
            "none" => ToolChoice::None,
            "required" => ToolChoice::Any {
                disable_parallel_tool_use: no_parallel,
            },
            other => return Err(unsupported(format!("tool_choice '{other}'")).param("tool_choice")),
        },
        Some(v) => match v
            .pointer("/function/name")
            .or_else(|| v.get("name"))
            .and_then(Value::as_str)
        {
            Some(name) => named(name),
            None => {
                return Err(
                    V1Error::bad_request("tool_choice names no function").param("tool_choice")
                )
            }
        },
    }))
}

/// Turns merged so roles alternate, as Anthropic requires.
#[derive(Default)]
struct Turns(Vec<(&'static str, Vec<ContentBlock>)>);

impl Turns {
    fn push(&mut self, role: &'static str, blocks: Vec<ContentBlock>) {
        // Empty text blocks are rejected upstream.
        let blocks: Vec<ContentBlock> = blocks
            .into_iter()
            .filter(|b| !matches!(b, ContentBlock::Text { text } if text.is_empty()))
            .collect();
        if blocks.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => self.0.push((role, blocks)),
        }
    }

    fn finish(mut self) -> Vec<Message> {
        if self.0.first().is_none_or(|(r, _)| *r != "user") {
            self.0
                .insert(0, ("user", vec![text_block(FILLER_USER_TEXT.into())]));
        }
        // A final assistant turn is a prefill, which may not end in whitespace.
        if let Some(("assistant", blocks)) = self.0.last_mut() {
            if let Some(ContentBlock::Text { text }) = blocks.last_mut() {
                text.truncate(text.trim_end().len());
                if text.is_empty() {
                    blocks.pop();
                }
            }
            if blocks.is_empty() {
                self.0.pop();
            }
        }
        self.0
            .into_iter()
            .map(|(role, mut blocks)| {
                // Tool results must open the user turn that answers the tool calls.
                blocks.sort_by_key(|b| !matches!(b, ContentBlock::ToolResult { .. }));
                Message {
                    role: role.to_string(),
                    content: Content::Blocks(blocks),
                }
            })
            .collect()
    }
}
