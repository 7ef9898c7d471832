//! `/v1/responses…`: OpenAI's Responses API (Codex CLI, `client.responses`, the Agents
//! SDK) over any channel; errors in OpenAI's shape.

use super::v1_call::relay;
use crate::providers::Endpoint;
use crate::services::stored_responses;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::{web, HttpRequest, HttpResponse};

/// Mounted inside the `/v1` scope; `/compact` comes before `/{id}` so it is not read as
/// an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/responses", web::post().to(create))
        .route("/responses/compact", web::post().to(create))
        .route("/responses/{id}", web::get().to(stored))
        .route("/responses/{id}", web::delete().to(stored))
        .route("/responses/{id}/input_items", web::get().to(input_items))
        .route("/responses/{id}/cancel", web::post().to(cancel));
}

/// `POST /v1/responses` and `/v1/responses/compact` (told apart by the path).
async fn create(
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
        Dialect::Responses,
    )
    .await
}

async fn stored(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, V1Error> {
    stored_responses::proxy_stored(&state, &client, &req, &id, "").await
}

async fn input_items(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, V1Error> {
    stored_responses::proxy_stored(&state, &client, &req, &id, "/input_items").await
}

async fn cancel(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, V1Error> {
    stored_responses::proxy_stored(&state, &client, &req, &id, "/cancel").await
}
