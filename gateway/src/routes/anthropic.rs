//! `/v1/messages` and `/v1/messages/count_tokens` for Anthropic-format clients (the
//! `anthropic` SDKs, Claude Code), over any channel; errors in Anthropic's shape.

use super::openai::{read_limited_body, relay};
use crate::providers::anthropic_inbound;
use crate::providers::Endpoint;
use crate::services::dispatch::error::{Dialect, V1Error};
use crate::services::dispatch::key_auth;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
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

/// Answered locally with an estimate; no upstream call and nothing billed.
pub async fn count_tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, V1Error> {
    key_auth::authenticate(&state, &req)
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
    Ok(HttpResponse::Ok()
        .json(json!({"input_tokens": anthropic_inbound::count_tokens_estimate(&v)})))
}
