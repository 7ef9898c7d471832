//! `/api/token/*`: the caller's own API keys.

use super::api_route::ApiRoute;
use super::ListQuery;
use crate::api_schema::{Envelope, Null, SessionErrors};
use crate::auth::session::Session;
use crate::error::{created, ok, ApiError, ApiResult};
use crate::services::limits::key_limits;
use crate::services::limits::usage::{self, BudgetReport};
use crate::services::tokens::CreatedToken;
use crate::services::tokens::{self, TokenBody};
use crate::state::AppState;
use crate::store::{Paged, Token};
use actix_web::web;
use serde_json::json;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/token", list),
        ApiRoute::post("/token", create),
        ApiRoute::get("/token/{id}", get),
        ApiRoute::get("/token/{id}/usage", usage),
        ApiRoute::put("/token/{id}", update),
        ApiRoute::delete("/token/{id}", delete),
    ]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get, usage, update, delete))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// The caller's API keys.
#[utoipa::path(get, path = "/api/token", tag = "token", security(("session" = [])), params(ListQuery),
    responses((status = 200, description = "A page of keys", body = Envelope<Paged<Token>>), SessionErrors))]
async fn list(state: web::Data<AppState>, s: Session, q: web::Query<ListQuery>) -> ApiResult {
    let _steady = state.quota.steady().await;
    let page = state
        .store
        .list_tokens(s.user.id, q.keyword(), q.page())
        .await?;
    Ok(ok(page.map(|t| state.quota.show_token(t))))
}

/// Creates an API key; the full key is shown only in this answer.
#[utoipa::path(post, path = "/api/token", tag = "token", security(("session" = [])), request_body = TokenBody,
    responses((status = 201, description = "Created", body = Envelope<CreatedToken>), SessionErrors))]
async fn create(state: web::Data<AppState>, s: Session, body: web::Json<TokenBody>) -> ApiResult {
    Ok(created(
        tokens::create(&state, s.user.id, body.into_inner()).await?,
    ))
}

/// One of the caller's keys.
#[utoipa::path(get, path = "/api/token/{id}", tag = "token", security(("session" = [])),
    params(("id" = i64, Path, description = "Key id")),
    responses((status = 200, description = "The key", body = Envelope<Token>), SessionErrors))]
async fn get(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    let _steady = state.quota.steady().await;
    let token = own_token(&state, &s, *id).await?;
    Ok(ok(state.quota.show_token(token)))
}

/// Spend of one of the caller's keys against its daily/weekly/monthly budgets (the key's
/// own, never above the user's).
#[utoipa::path(get, path = "/api/token/{id}/usage", tag = "token", security(("session" = [])),
    params(("id" = i64, Path, description = "Key id")),
    responses((status = 200, description = "Spend per budget period", body = Envelope<BudgetReport>), SessionErrors))]
async fn usage(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    let token = own_token(&state, &s, *id).await?;
    let limits = key_limits(&token.limits, &s.user.limits);
    Ok(ok(usage::budgets(
        &state,
        &format!("k:{}", token.id),
        &limits,
    )
    .await))
}

/// Changes one of the caller's keys.
#[utoipa::path(put, path = "/api/token/{id}", tag = "token", security(("session" = [])),
    params(("id" = i64, Path, description = "Key id")), request_body = TokenBody,
    responses((status = 200, description = "Updated", body = Envelope<Token>), SessionErrors))]
async fn update(
    state: web::Data<AppState>,
    s: Session,
    id: web::Path<i64>,
    body: web::Json<TokenBody>,
) -> ApiResult {
    let _steady = state.quota.steady().await;
    let token = tokens::update(&state, s.user.id, *id, body.into_inner()).await?;
    state.forget_token(&token.key_hash).await;
    Ok(ok(state.quota.show_token(token)))
}

/// Deletes one of the caller's keys.
#[utoipa::path(delete, path = "/api/token/{id}", tag = "token", security(("session" = [])),
    params(("id" = i64, Path, description = "Key id")),
    responses((status = 200, description = "Deleted", body = Envelope<Null>), SessionErrors))]
async fn delete(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    let token = own_token(&state, &s, *id).await?;
    state.store.delete_token(token.id, s.user.id).await?;
    state.forget_token(&token.key_hash).await;
    Ok(ok(json!(null)))
}

/// The caller's key with this id; another user's key is "not found", like a missing one.
async fn own_token(state: &AppState, s: &Session, id: i64) -> Result<Token, ApiError> {
    state
        .store
        .token_by_id(id)
        .await?
        .filter(|t| t.user_id == s.user.id)
        .ok_or_else(|| ApiError::not_found("token"))
}
