//! `/api/channel/*` (admin): upstream providers.

use super::ListQuery;
use crate::auth::session::Session;
use crate::error::{created, ok, ApiError, ApiResult};
use crate::services::channel_models::{self, FetchModelsBody};
use crate::services::channels::{self, ChannelBody};
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use actix_web::web;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed paths come before `/channel/{id}` routes so they are never read as ids.
    cfg.route("/channel/test", web::post().to(test_all))
        .route("/channel/fetch_models", web::post().to(fetch_models))
        .route("/channel", web::get().to(list))
        .route("/channel", web::post().to(create))
        .route("/channel/{id}", web::get().to(get))
        .route("/channel/{id}", web::put().to(update))
        .route("/channel/{id}", web::delete().to(delete))
        .route("/channel/{id}/test", web::post().to(test));
}

async fn list(state: web::Data<AppState>, s: Session, q: web::Query<ListQuery>) -> ApiResult {
    s.require_admin()?;
    Ok(ok(state.store.list_channels(q.keyword(), q.page()).await?))
}

async fn create(state: web::Data<AppState>, s: Session, body: web::Json<ChannelBody>) -> ApiResult {
    s.require_admin()?;
    let fields = channels::build(&state, body.into_inner(), None)?;
    let channel = state.store.create_channel(fields).await?;
    state.channels_changed();
    Ok(created(channel))
}

async fn get(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    let c = state
        .store
        .channel_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    Ok(ok(c))
}

async fn update(
    state: web::Data<AppState>,
    s: Session,
    id: web::Path<i64>,
    body: web::Json<ChannelBody>,
) -> ApiResult {
    s.require_admin()?;
    let current = state
        .store
        .channel_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    let fields = channels::build(&state, body.into_inner(), Some(&current))?;
    let channel = state
        .store
        .update_channel(*id, fields)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    state.channels_changed();
    Ok(ok(channel))
}

async fn delete(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    if !state.store.delete_channel(*id).await? {
        return Err(ApiError::not_found("channel"));
    }
    state.channels_changed();
    Ok(ok(json!(null)))
}

async fn test(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    s: Session,
    id: web::Path<i64>,
    q: web::Query<TestQuery>,
) -> ApiResult {
    s.require_admin()?;
    let c = state
        .store
        .channel_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    let result =
        crate::services::channel_test::run(&state, &client, &c, q.model.as_deref()).await?;
    state.channels_changed();
    Ok(ok(result))
}

#[derive(serde::Deserialize)]
struct TestQuery {
    model: Option<String>,
}

/// `POST /api/channel/test`: tests every channel not manually disabled.
async fn test_all(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    s: Session,
) -> ApiResult {
    s.require_admin()?;
    let report = crate::services::channel_test::run_all(&state, &client).await?;
    state.channels_changed();
    Ok(ok(report))
}

/// `POST /api/channel/fetch_models`: the provider's own model list (nothing is saved).
async fn fetch_models(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    s: Session,
    body: web::Json<FetchModelsBody>,
) -> ApiResult {
    s.require_admin()?;
    Ok(ok(channel_models::fetch(
        &state,
        &client,
        body.into_inner(),
    )
    .await?))
}
