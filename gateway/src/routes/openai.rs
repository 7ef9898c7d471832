//! `/v1/*`: the OpenAI-compatible API for `sk-` keys; `configure` mounts the whole `/v1`
//! scope, the other dialects' routes included.

use super::v1_call::{relay, visible_models};
use crate::providers::Endpoint;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        // Static paths first: actix tries resources in order, and each pattern with a
        // parameter is a regex match, paid by every request that passes it.
        web::scope("/v1")
            .route("/chat/completions", web::post().to(chat))
            .route("/messages", web::post().to(super::anthropic::messages))
            .route("/completions", web::post().to(completions))
            .route("/embeddings", web::post().to(embeddings))
            .route(
                "/messages/count_tokens",
                web::post().to(super::anthropic::count_tokens),
            )
            .route("/models", web::get().to(list_models))
            .configure(super::responses::configure)
            .route("/models/{id:.*}", web::get().to(get_model))
            .route(
                "/models/{tail:.*}",
                web::post().to(super::gemini::model_action),
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
