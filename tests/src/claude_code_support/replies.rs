//! The mock's scripted first answer to Claude Code, in each channel's wire format.

use super::CLAUDE_CODE_MODEL;
use crate::mock_upstream::{MockUsage, Reply};
use crate::provider_support::{ANTHROPIC, GEMINI};
use serde_json::{json, Value};
use shared::sse::encode_event;
use std::path::Path;

/// The mock's first answer, scripted in the channel's wire format: a streamed call of
/// Claude Code's `Read` tool on `file` (the mock's default answer would call the first
/// tool offered with arguments Claude Code rejects). The next turn, carrying the file's
/// content as the tool result, gets the mock's default answer "Tool result: …".
pub fn read_file_call(channel_type: i64, file: &Path) -> Reply {
    let input = json!({ "file_path": file.to_string_lossy() });
    let usage = MockUsage::default();
    let sse = match channel_type {
        ANTHROPIC => anthropic_tool_use(&input, &usage),
        GEMINI => gemini_function_call(&input, &usage),
        _ => openai_tool_call(&input, &usage),
    };
    Reply::Sse(sse)
}

/// The tool call's id in the Anthropic and OpenAI replies.
pub const READ_CALL_ID: &str = "call_read_0";

/// The signature of the thinking block that opens the Anthropic reply. Claude Code asks
/// for thinking, and Anthropic then requires the replayed assistant turn to start with
/// the signed block; this is the value the mock's own thinking blocks carry (the mock
/// checks replayed signatures against it).
pub const THINKING_SIGNATURE: &str = "c2lnbmVkLWJ5LXRoZS1tb2Nr";

fn anthropic_tool_use(input: &Value, usage: &MockUsage) -> String {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_read", "type": "message",
               "role": "assistant", "model": CLAUDE_CODE_MODEL, "content": [],
               "stop_reason": null, "stop_sequence": null,
               "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block":
               {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "thinking_delta", "thinking": "The user wants note.txt."}}),
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "signature_delta", "signature": THINKING_SIGNATURE}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block":
               {"type": "tool_use", "id": READ_CALL_ID, "name": "Read", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1,
               "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
               "usage": {"output_tokens": usage.completion_tokens}}),
        json!({"type": "message_stop"}),
    ];
    events
        .iter()
        .map(|e| {
            let name = e["type"].as_str().unwrap_or_default();
            String::from_utf8_lossy(&encode_event(name, &e.to_string())).into_owned()
        })
        .collect()
}

fn openai_tool_call(input: &Value, usage: &MockUsage) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-read", "object": "chat.completion.chunk", "created": 1,
               "model": crate::v1_support::MODEL, "usage": null,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let call = json!({"index": 0, "id": READ_CALL_ID, "type": "function",
                      "function": {"name": "Read", "arguments": input.to_string()}});
    let usage = json!({"id": "chatcmpl-read", "object": "chat.completion.chunk", "created": 1,
                       "model": crate::v1_support::MODEL, "choices": [],
                       "usage": {"prompt_tokens": usage.prompt_tokens,
                                 "completion_tokens": usage.completion_tokens,
                                 "total_tokens": usage.total()}});
    let chunks = [
        chunk(json!({"role": "assistant", "content": null}), Value::Null),
        chunk(json!({ "tool_calls": [call] }), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        usage,
    ];
    let mut sse: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    sse.push_str("data: [DONE]\n\n");
    sse
}

fn gemini_function_call(input: &Value, usage: &MockUsage) -> String {
    let chunk = json!({"candidates": [{"content": {"role": "model", "parts":
                        [{"functionCall": {"name": "Read", "args": input}}]},
                       "finishReason": "STOP", "index": 0}],
                       "usageMetadata": {"promptTokenCount": usage.prompt_tokens,
                                         "candidatesTokenCount": usage.completion_tokens,
                                         "totalTokenCount": usage.total()},
                       "modelVersion": crate::provider_support::GEMINI_MODEL});
    format!("data: {chunk}\r\n\r\n")
}
