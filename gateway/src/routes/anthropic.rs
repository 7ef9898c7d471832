//! `/v1/messages` and `/v1/messages/count_tokens` for Anthropic-format clients (the
//! `anthropic` SDKs, Claude Code), over any channel; errors in Anthropic's shape.

use super::openai::{read_body, too_large, V1_BODY_LIMIT};
use crate::providers::anthropic_inbound;
use crate::providers::Endpoint;
use crate::services::dispatch::error::{Dialect, V1Error};
use crate::services::dispatch::{flow, key_auth};
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

fn anthropic(e: V1Error) -> V1Error {
    e.dialect(Dialect::Anthropic)
}

fn declared_too_large(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > V1_BODY_LIMIT as u64)
}

pub async fn messages(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, V1Error> {
    let caller = key_auth::authenticate(&state, &req)
        .await
        .map_err(anthropic)?;
    if declared_too_large(&req) {
        return Err(anthropic(too_large()));
    }
    let body = read_body(payload).await.map_err(anthropic)?;
    flow::handle(
        &state,
        &client,
        &req,
        caller,
        body,
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
    let body = read_body(payload).await.map_err(anthropic)?;
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
