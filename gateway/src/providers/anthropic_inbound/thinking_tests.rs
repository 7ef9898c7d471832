//! Reasoning, signatures, structured output and usage for `/v1/messages` clients on
//! converting channels.

use super::*;
use crate::providers::anthropic::testkit::{events, split_invariant};
use crate::providers::openai::OpenAiStream;
use crate::providers::reasoning::details;
use crate::providers::{Endpoint, StreamAdapter};

#[test]
fn thinking_effort_format_and_billing_line_convert() {
    let body = json!({"model": "m", "max_tokens": 9000,
        "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=1; cch=ab;"},
                   {"type": "text", "text": "Be terse."}],
        "thinking": {"type": "enabled", "budget_tokens": 5000},
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "messages": [{"role": "user", "content": "hi"}]});
    let o = to_openai(&body).unwrap();
    assert_eq!(
        o["messages"][0],
        json!({"role": "system", "content": "Be terse."})
    );
    assert_eq!(
        o[reasoning::FIELD],
        json!({"effort": "medium", "budget_tokens": 5000})
    );
    assert!(o.get("reasoning_effort").is_none());
    assert_eq!(
        o["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "output", "schema": {"type": "object"}}})
    );
    let beta = json!({"model": "m", "max_tokens": 10, "messages": [],
        "output_format": {"type": "json_schema", "schema": {"type": "object"}},
        "output_config": {"effort": "low"}});
    let o = to_openai(&beta).unwrap();
    assert_eq!(o[reasoning::FIELD], json!({"effort": "low"}));
    assert_eq!(o["response_format"]["type"], "json_schema");
}

#[test]
fn answers_turn_reasoning_into_thinking_blocks() {
    let signed = json!({"choices": [{"message": {"role": "assistant", "content": "ok",
        "reasoning_content": "hm",
        "reasoning_details": [details::redacted_entry(0, "enc"),
                              details::thinking_entry(1, "hm", "sig")]},
        "finish_reason": "stop"}]});
    let a = from_openai_response(&signed, "c");
    assert_eq!(
        a["content"],
        json!([{"type": "redacted_thinking", "data": "enc"},
               {"type": "thinking", "thinking": "hm", "signature": "sig"},
               {"type": "text", "text": "ok"}])
    );
    let plain = json!({"choices": [{"message": {"role": "assistant", "content": "ok",
        "reasoning_content": "hm"}, "finish_reason": "stop"}]});
    assert_eq!(
        from_openai_response(&plain, "c")["content"][0],
        json!({"type": "thinking", "thinking": "hm", "signature": ""})
    );
}

const REASONING_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Let me \"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think.\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"Let me think.\",\"signature\":\"c2ln\",\"format\":\"anthropic-claude-v1\",\"index\":0}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_details\":[{\"type\":\"reasoning.encrypted\",\"data\":\"ZW5j\",\"index\":1}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-r\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn streamed_reasoning_becomes_signed_thinking_and_usage_is_one_set_of_figures() {
    let make = || -> Box<dyn StreamAdapter> {
        let inner = Box::new(OpenAiStream::new(Endpoint::Chat, "m", true));
        Box::new(OpenAiToAnthropicStream::new(inner, "m").with_input_tokens(999))
    };
    let out = split_invariant(&make, REASONING_STREAM.as_bytes());
    let evs: Vec<(String, Value)> = events(&out)
        .into_iter()
        .map(|e| {
            (
                e.event.unwrap_or_default(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect();
    let outline: Vec<String> = evs
        .iter()
        .map(|(n, d)| match d["delta"]["type"].as_str() {
            Some(t) if n == "content_block_delta" => t.to_string(),
            _ => match d["content_block"]["type"].as_str() {
                Some(t) => format!("start {t}"),
                None => n.clone(),
            },
        })
        .collect();
    assert_eq!(
        outline,
        [
            "message_start",
            "start thinking",
            "thinking_delta",
            "thinking_delta",
            "signature_delta",
            "content_block_stop",
            "start redacted_thinking",
            "content_block_stop",
            "start text",
            "text_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(evs[4].1["delta"]["signature"], "c2ln");
    assert_eq!(evs[6].1["content_block"]["data"], "ZW5j");
    assert_eq!(evs[0].1["message"]["usage"]["input_tokens"], 0);
    let md = &evs[evs.len() - 2].1;
    assert_eq!(
        md["usage"]["input_tokens"], 12,
        "the upstream's count, not 999"
    );
    assert_eq!(md["usage"]["output_tokens"], 5);
}
