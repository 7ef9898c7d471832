//! `/api/channel/*` (admin): upstream providers.

use super::api_route::ApiRoute;
use super::ListQuery;
use crate::api_schema::{Envelope, Null, SessionErrors};
use crate::auth::session::Session;
use crate::error::{created, ok, ApiError, ApiResult};
use crate::services::channel_models::{self, FetchModelsBody, FetchedModels};
use crate::services::channel_test::{TestAllReport, TestResult};
use crate::services::channels::{self, ChannelBody};
use crate::services::limits::usage::{self, ChannelHealthReport};
use crate::state::AppState;
use crate::store::{Channel, Paged};
use crate::upstream::UpstreamClient;
use actix_web::web;
use serde_json::json;

pub fn routes() -> Vec<ApiRoute> {
    // The fixed paths come before `/channel/{id}` so they are never read as ids.
    vec![
        ApiRoute::post("/channel/test", test_all),
        ApiRoute::post("/channel/fetch_models", fetch_models),
        ApiRoute::get("/channel/health", health),
        ApiRoute::get("/channel", list),
        ApiRoute::post("/channel", create),
        ApiRoute::get("/channel/{id}", get),
        ApiRoute::put("/channel/{id}", update),
        ApiRoute::delete("/channel/{id}", delete),
        ApiRoute::post("/channel/{id}/test", test),
    ]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    test_all,
    fetch_models,
    health,
    list,
    create,
    get,
    update,
    delete,
    test
))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// Every channel's health (admin): cool-downs after 429/5xx/timeouts and each upstream
/// key's state (ok, cooling, disabled after 401/403), as shared between replicas.
#[utoipa::path(get, path = "/api/channel/health", tag = "channel", security(("session" = [])),
    responses((status = 200, description = "Health per channel", body = Envelope<ChannelHealthReport>), SessionErrors))]
async fn health(state: web::Data<AppState>, s: Session) -> ApiResult {
    s.require_admin()?;
    let all = state.channels().await?;
    Ok(ok(usage::channels(&state, &all)))
}

/// Lists channels (admin); keys are shown only as a preview.
#[utoipa::path(get, path = "/api/channel", tag = "channel", security(("session" = [])), params(ListQuery),
    responses((status = 200, description = "A page of channels", body = Envelope<Paged<Channel>>), SessionErrors))]
async fn list(state: web::Data<AppState>, s: Session, q: web::Query<ListQuery>) -> ApiResult {
    s.require_admin()?;
    Ok(ok(state.store.list_channels(q.keyword(), q.page()).await?))
}

/// Adds an upstream provider (admin).
#[utoipa::path(post, path = "/api/channel", tag = "channel", security(("session" = [])), request_body = ChannelBody,
    responses((status = 201, description = "Created", body = Envelope<Channel>), SessionErrors))]
async fn create(state: web::Data<AppState>, s: Session, body: web::Json<ChannelBody>) -> ApiResult {
    s.require_admin()?;
    let fields = channels::build(&state, body.into_inner(), None)?;
    let channel = state.store.create_channel(fields).await?;
    state.channels_changed();
    Ok(created(channel))
}

/// One channel (admin).
#[utoipa::path(get, path = "/api/channel/{id}", tag = "channel", security(("session" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    responses((status = 200, description = "The channel", body = Envelope<Channel>), SessionErrors))]
async fn get(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    let c = state
        .store
        .channel_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    Ok(ok(c))
}

/// Changes a channel (admin); absent fields keep their value.
#[utoipa::path(put, path = "/api/channel/{id}", tag = "channel", security(("session" = [])),
    params(("id" = i64, Path, description = "Channel id")), request_body = ChannelBody,
    responses((status = 200, description = "Updated", body = Envelope<Channel>), SessionErrors))]
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

/// Deletes a channel (admin).
#[utoipa::path(delete, path = "/api/channel/{id}", tag = "channel", security(("session" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    responses((status = 200, description = "Deleted", body = Envelope<Null>), SessionErrors))]
async fn delete(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    if !state.store.delete_channel(*id).await? {
        return Err(ApiError::not_found("channel"));
    }
    state.channels_changed();
    Ok(ok(json!(null)))
}

/// Sends a tiny chat request through the channel (admin); a failure is reported in the
/// result (with its cause), not as an error status.
#[utoipa::path(post, path = "/api/channel/{id}/test", tag = "channel", security(("session" = [])),
    params(("id" = i64, Path, description = "Channel id"), TestQuery),
    responses((status = 200, description = "The test's outcome", body = Envelope<TestResult>), SessionErrors))]
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

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TestQuery {
    /// One of the channel's models (default: its first).
    model: Option<String>,
}

/// Tests every channel that is not manually disabled, a few at a time (admin); each
/// outcome is kept on its channel.
#[utoipa::path(post, path = "/api/channel/test", tag = "channel", security(("session" = [])),
    responses((status = 200, description = "Per-channel outcomes", body = Envelope<TestAllReport>), SessionErrors))]
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

/// The provider's own model list for a saved channel or one being created (admin);
/// nothing is saved.
#[utoipa::path(post, path = "/api/channel/fetch_models", tag = "channel", security(("session" = [])),
    request_body = FetchModelsBody,
    responses((status = 200, description = "The provider's models", body = Envelope<FetchedModels>), SessionErrors))]
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
