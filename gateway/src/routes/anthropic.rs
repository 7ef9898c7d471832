//! `/v1/messages` and `/v1/messages/count_tokens` for Anthropic-format clients (the
//! `anthropic` SDKs, Claude Code), over any channel; errors in Anthropic's shape.

use super::v1_call::{read_limited_body, relay};
use crate::providers::anthropic_inbound;
use crate::providers::Endpoint;
use crate::services::count_tokens::{self, Ask, Question};
use crate::services::dispatch::key_auth;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

fn anthropic(e: V1Error) -> V1Error {
    e.dialect(Dialect::Anthropic)
}

pub async fn messages(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, V1Error> {
    relay(
        &state,
        &client,
        &req,
        payload,
        Endpoint::Chat,
        Dialect::Anthropic,
    )
    .await
}

/// Counted by an Anthropic or Gemini channel serving the model
/// (`services::count_tokens`), estimated locally when none can; nothing billed.
pub async fn count_tokens(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, V1Error> {
    let caller = key_auth::authenticate(&state, &req)
        .await
        .map_err(anthropic)?;
    let body = read_limited_body(&req, payload).await.map_err(anthropic)?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        anthropic(V1Error::bad_request(format!(
            "request body is not valid JSON: {e}"
        )))
    })?;
    if !v.is_object() || v.get("messages").and_then(Value::as_array).is_none() {
        return Err(anthropic(V1Error::bad_request("messages must be an array")));
    }
    anthropic_inbound::to_openai(&v).map_err(anthropic)?;
    let model = v.get("model").and_then(Value::as_str).unwrap_or_default();
    let beta = req
        .headers()
        .get("anthropic-beta")
        .and_then(|h| h.to_str().ok());
    let question = Question::Anthropic {
        raw: &body,
        body: &v,
        beta,
    };
    let request_id = crate::util::request_id(&req);
    let ask = Ask {
        state: &state,
        client: &client,
        caller: &caller,
        model,
        request_id: &request_id,
    };
    let counted = count_tokens::count(ask, question)
        .await
        .map_err(anthropic)?;
    let (n, source) = match counted {
        Some(n) => (n, "provider"),
        None => (anthropic_inbound::count_tokens_estimate(&v), "estimate"),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("x-gateway-token-count", source))
        .json(json!({ "input_tokens": n })))
}
