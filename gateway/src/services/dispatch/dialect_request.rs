//! The Gemini-native and Responses bodies read into the call's [`ClientRequest`]: the
//! dialect's converter reads the call and its OpenAI-format counterpart, and the call
//! keeps both (the OpenAI body prices and routes it, the call passes through).

use super::request::{self, ClientRequest};
use crate::providers::{gemini_inbound, responses_inbound, Endpoint};
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::HttpRequest;
use bytes::Bytes;
use std::sync::Arc;

/// A `models/{model}:{method}` call of Gemini's native API.
pub fn gemini(req: &HttpRequest, raw: &Bytes) -> Result<ClientRequest, V1Error> {
    let (call, openai) = gemini_inbound::read_call(req, raw)?;
    let mut cr = request::from_value(call.method.endpoint(), openai)
        .map_err(|e| e.dialect(Dialect::Gemini))?;
    cr.gemini = Some(call);
    Ok(cr)
}

/// A local estimate for `:countTokens` (`{"totalTokens": n}`): the prompt as the
/// gateway counts it for billing.
pub fn gemini_count_estimate(tail: &str, raw: &[u8]) -> Result<serde_json::Value, V1Error> {
    let openai = gemini_inbound::count_tokens_request(tail, raw)?;
    let cr = request::from_value(Endpoint::Chat, openai).map_err(|e| e.dialect(Dialect::Gemini))?;
    Ok(serde_json::json!({"totalTokens": cr.prompt.tokens()}))
}

/// A `/v1/responses` (or `/compact`) call.
pub fn responses(raw: &Bytes, path: &str) -> Result<ClientRequest, V1Error> {
    let (call, chat) = responses_inbound::read_call(raw, path)?;
    let mut cr = request::from_value(Endpoint::Chat, chat)?;
    cr.responses = Some(Arc::new(call));
    Ok(cr)
}
