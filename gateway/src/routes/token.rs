//! `/api/token/*`: the caller's own API keys.

use super::ListQuery;
use crate::auth::session::Session;
use crate::error::{created, ok, ApiError, ApiResult};
use crate::services::tokens::{self, TokenBody};
use crate::state::AppState;
use actix_web::web;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/token", web::get().to(list))
        .route("/token", web::post().to(create))
        .route("/token/{id}", web::get().to(get))
        .route("/token/{id}", web::put().to(update))
        .route("/token/{id}", web::delete().to(delete));
}

async fn list(state: web::Data<AppState>, s: Session, q: web::Query<ListQuery>) -> ApiResult {
    let page = state
        .store
        .list_tokens(s.user.id, q.keyword(), q.page())
        .await?;
    Ok(ok(page.map(|t| state.quota.show_token(t))))
}

async fn create(state: web::Data<AppState>, s: Session, body: web::Json<TokenBody>) -> ApiResult {
    Ok(created(
        tokens::create(&state, s.user.id, body.into_inner()).await?,
    ))
}

async fn get(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    let token = state
        .store
        .token_by_id(*id)
        .await?
        .filter(|t| t.user_id == s.user.id)
        .ok_or_else(|| ApiError::not_found("token"))?;
    Ok(ok(state.quota.show_token(token)))
}

async fn update(
    state: web::Data<AppState>,
    s: Session,
    id: web::Path<i64>,
    body: web::Json<TokenBody>,
) -> ApiResult {
    let token = tokens::update(&state, s.user.id, *id, body.into_inner()).await?;
    state.forget_token(&token.key_hash).await;
    Ok(ok(state.quota.show_token(token)))
}

async fn delete(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    let token = state
        .store
        .token_by_id(*id)
        .await?
        .filter(|t| t.user_id == s.user.id)
        .ok_or_else(|| ApiError::not_found("token"))?;
    state.store.delete_token(token.id, s.user.id).await?;
    state.forget_token(&token.key_hash).await;
    Ok(ok(json!(null)))
}
