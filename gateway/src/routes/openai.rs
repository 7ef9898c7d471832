//! `/v1/*`: the OpenAI-compatible API for `sk-` keys.

use crate::providers::Endpoint;
use crate::services::dispatch::{flow, key_auth, routing};
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

/// Largest request body accepted on `/v1` (images travel inline as base64).
pub const V1_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .route("/models", web::get().to(list_models))
            .route("/models/{id:.*}", web::get().to(get_model))
            .route(
                "/models/{tail:.*}",
                web::post().to(super::gemini::model_action),
            )
            .route("/chat/completions", web::post().to(chat))
            .route("/completions", web::post().to(completions))
            .route("/embeddings", web::post().to(embeddings))
            .route("/messages", web::post().to(super::anthropic::messages))
            .configure(super::responses::configure)
            .route(
                "/messages/count_tokens",
                web::post().to(super::anthropic::count_tokens),
            )
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, V1Error> {
    Err(V1Error::not_found(
        format!("unknown endpoint {} {}", req.method(), req.path()),
        "unknown_url",
    ))
}

async fn chat(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, V1Error> {
    relay(&state, &client, &req, body, Endpoint::Chat, Dialect::OpenAi).await
}

async fn completions(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, V1Error> {
    relay(
        &state,
        &client,
        &req,
        body,
        Endpoint::Completions,
        Dialect::OpenAi,
    )
    .await
}

async fn embeddings(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, V1Error> {
    relay(
        &state,
        &client,
        &req,
        body,
        Endpoint::Embeddings,
        Dialect::OpenAi,
    )
    .await
}

/// Authenticates the key before reading the body, so anonymous clients cannot make the
/// gateway buffer large bodies, then hands over to the relay flow; every error comes back
/// in the client's dialect.
pub(super) async fn relay(
    state: &AppState,
    client: &UpstreamClient,
    req: &HttpRequest,
    payload: web::Payload,
    ep: Endpoint,
    dialect: Dialect,
) -> Result<HttpResponse, V1Error> {
    // Only identified here: refusals of a known key (disabled, exhausted, …) are decided
    // inside the flow, so they get a log row like every other refusal.
    let caller = key_auth::identify(state, req)
        .await
        .map_err(|e| e.dialect(dialect))?;
    let body = read_limited_body(req, payload)
        .await
        .map_err(|e| e.dialect(dialect))?;
    let call = flow::Call {
        state,
        client,
        req,
        caller,
        ep,
        dialect,
        request_id: crate::util::request_id(req),
    };
    flow::handle(call, body).await
}

/// The body, refusing at once a declared length over the limit.
pub(super) async fn read_limited_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Bytes, V1Error> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > V1_BODY_LIMIT as u64) {
        return Err(too_large());
    }
    read_body(payload).await
}

fn too_large() -> V1Error {
    V1Error::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        format!("request body is larger than {V1_BODY_LIMIT} bytes"),
    )
    .code("request_too_large")
}

/// Collects the body up to the limit, answering 413 in OpenAI's shape beyond it.
pub async fn read_body(mut payload: web::Payload) -> Result<Bytes, V1Error> {
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::body_deadline::is_timeout(&e) {
                V1Error::new(
                    actix_web::http::StatusCode::REQUEST_TIMEOUT,
                    "invalid_request_error",
                    crate::body_deadline::TIMEOUT_MESSAGE,
                )
                .code("request_timeout")
            } else {
                V1Error::bad_request("could not read the request body")
            }
        })?;
        if buf.len() + chunk.len() > V1_BODY_LIMIT {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Models the key may use: its own list (if any) ∩ what enabled channels of the user's
/// group serve.
pub(super) async fn visible_models(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Vec<String>, V1Error> {
    let caller = key_auth::authenticate(state, req).await?;
    let channels = state.channels().await?;
    let mut models = routing::group_models(&channels, &caller.user.group);
    if !caller.token.models.is_empty() {
        models.retain(|m| caller.token.models.contains(m));
    }
    Ok(models)
}

fn model_object(id: &str) -> serde_json::Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": "llm-gateway"})
}

async fn list_models(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, V1Error> {
    if let Some(other) = super::gemini::foreign_list(&state, &req).await {
        return other;
    }
    let models = visible_models(&state, &req).await?;
    let data: Vec<_> = models.iter().map(|m| model_object(m)).collect();
    Ok(HttpResponse::Ok().json(json!({"object": "list", "data": data})))
}

async fn get_model(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, V1Error> {
    if let Some(other) = super::gemini::foreign_model(&state, &req, &id).await {
        return other;
    }
    let models = visible_models(&state, &req).await?;
    if models.iter().any(|m| m == id.as_str()) {
        return Ok(HttpResponse::Ok().json(model_object(&id)));
    }
    Err(V1Error::not_found(
        format!("The model '{id}' does not exist or you do not have access to it."),
        "model_not_found",
    ))
}
