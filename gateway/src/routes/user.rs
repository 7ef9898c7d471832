//! `/api/user/*`: registration, login, self-service and admin user management.

use super::ListQuery;
use crate::auth::session::Session;
use crate::error::{created, ok, ApiError, ApiResult};
use crate::services::accounts::{self, AdminUserUpdate, Credentials, NewAccount, SelfUpdate};
use crate::state::AppState;
use actix_web::{web, HttpRequest};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/user/register", web::post().to(register))
        .route("/user/login", web::post().to(login))
        .route("/user/logout", web::post().to(logout))
        .route("/user/self", web::get().to(get_self))
        .route("/user/self", web::put().to(update_self))
        .route("/user", web::get().to(list))
        .route("/user", web::post().to(create))
        .route("/user/{id}", web::get().to(get))
        .route("/user/{id}", web::put().to(update))
        .route("/user/{id}", web::delete().to(delete));
}

async fn register(state: web::Data<AppState>, body: web::Json<Credentials>) -> ApiResult {
    Ok(created(
        accounts::register(&state, body.into_inner()).await?,
    ))
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> ApiResult {
    let ip = crate::util::client_ip(&req);
    Ok(ok(accounts::login(&state, body.into_inner(), &ip).await?))
}

async fn logout(state: web::Data<AppState>, s: Session) -> ApiResult {
    accounts::logout(&state, &s.user).await?;
    Ok(ok(json!(null)))
}

async fn get_self(s: Session) -> ApiResult {
    Ok(ok(s.user))
}

async fn update_self(
    state: web::Data<AppState>,
    s: Session,
    body: web::Json<SelfUpdate>,
) -> ApiResult {
    Ok(ok(accounts::update_self(
        &state,
        &s.user,
        body.into_inner(),
    )
    .await?))
}

async fn list(state: web::Data<AppState>, s: Session, q: web::Query<ListQuery>) -> ApiResult {
    s.require_admin()?;
    let page = state.store.list_users(q.keyword(), q.page()).await?;
    Ok(ok(page.map(|u| state.quota.show_user(u))))
}

async fn create(state: web::Data<AppState>, s: Session, body: web::Json<NewAccount>) -> ApiResult {
    s.require_admin()?;
    Ok(created(
        accounts::create_by_admin(&state, &s.user, body.into_inner()).await?,
    ))
}

async fn get(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    let user = state
        .store
        .user_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ok(state.quota.show_user(user)))
}

async fn update(
    state: web::Data<AppState>,
    s: Session,
    id: web::Path<i64>,
    body: web::Json<AdminUserUpdate>,
) -> ApiResult {
    s.require_admin()?;
    let user = accounts::admin_update(&state, &s.user, *id, body.into_inner()).await?;
    Ok(ok(state.quota.show_user(user)))
}

async fn delete(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    accounts::admin_delete(&state, &s.user, *id).await?;
    Ok(ok(json!(null)))
}
