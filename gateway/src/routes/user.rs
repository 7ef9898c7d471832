//! `/api/user/*`: registration, login, self-service and admin user management.

use super::api_route::ApiRoute;
use super::ListQuery;
use crate::api_schema::{Envelope, Failure, Null, SessionErrors};
use crate::auth::session::Session;
use crate::error::{created, ok, ApiError, ApiResult};
use crate::services::accounts::{
    self, AdminUserUpdate, Credentials, LoginResult, NewAccount, SelfUpdate, SelfUpdated,
};
use crate::services::limits::usage::{self as limits_usage, BudgetReport};
use crate::state::AppState;
use crate::store::{Paged, User};
use actix_web::{web, HttpRequest};
use serde_json::json;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::post("/user/register", register),
        ApiRoute::post("/user/login", login),
        ApiRoute::post("/user/logout", logout),
        ApiRoute::get("/user/self", get_self),
        ApiRoute::put("/user/self", update_self),
        ApiRoute::get("/user", list),
        ApiRoute::post("/user", create),
        ApiRoute::get("/user/{id}", get),
        ApiRoute::get("/user/{id}/usage", usage),
        ApiRoute::put("/user/{id}", update),
        ApiRoute::delete("/user/{id}", delete),
    ]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register,
    login,
    logout,
    get_self,
    update_self,
    list,
    create,
    get,
    usage,
    update,
    delete
))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// Creates an account (when the `register_enabled` option allows it).
#[utoipa::path(post, path = "/api/user/register", tag = "user", request_body = Credentials,
    responses(
        (status = 201, description = "Account created", body = Envelope<User>),
        (status = 400, description = "Invalid username or password", body = Failure),
        (status = 403, description = "Registration is closed", body = Failure),
        (status = 409, description = "Username taken", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
    ))]
async fn register(state: web::Data<AppState>, body: web::Json<Credentials>) -> ApiResult {
    Ok(created(
        accounts::register(&state, body.into_inner()).await?,
    ))
}

/// Signs in; the token goes in `Authorization: Bearer`.
#[utoipa::path(post, path = "/api/user/login", tag = "user", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Envelope<LoginResult>),
        (status = 400, description = "Malformed body", body = Failure),
        (status = 401, description = "Wrong username or password", body = Failure),
        (status = 403, description = "User disabled", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
        (status = 429, description = "Too many failed attempts", body = Failure),
    ))]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> ApiResult {
    let ip = crate::util::client_ip(&req);
    Ok(ok(accounts::login(&state, body.into_inner(), &ip).await?))
}

/// Ends every session of the caller.
#[utoipa::path(post, path = "/api/user/logout", tag = "user", security(("session" = [])),
    responses((status = 200, description = "Signed out", body = Envelope<Null>), SessionErrors))]
async fn logout(state: web::Data<AppState>, s: Session) -> ApiResult {
    accounts::logout(&state, &s.user).await?;
    Ok(ok(json!(null)))
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/user/self", tag = "user", security(("session" = [])),
    responses((status = 200, description = "The caller", body = Envelope<User>), SessionErrors))]
async fn get_self(s: Session) -> ApiResult {
    Ok(ok(s.user))
}

/// Changes the caller's profile or password (`current_password` required for the latter,
/// throttled like logins). A password change ends every other session and returns the
/// caller's new `token` and `expires_at` with the user.
#[utoipa::path(put, path = "/api/user/self", tag = "user", security(("session" = [])),
    request_body = SelfUpdate,
    responses((status = 200, description = "Updated", body = Envelope<SelfUpdated>),
        (status = 429, description = "Too many wrong passwords (see Retry-After)", body = Failure),
        SessionErrors))]
async fn update_self(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Session,
    body: web::Json<SelfUpdate>,
) -> ApiResult {
    let ip = crate::util::client_ip(&req);
    Ok(ok(accounts::update_self(
        &state,
        &s.user,
        body.into_inner(),
        &ip,
    )
    .await?))
}

/// Lists users (admin).
#[utoipa::path(get, path = "/api/user", tag = "user", security(("session" = [])), params(ListQuery),
    responses((status = 200, description = "A page of users", body = Envelope<Paged<User>>), SessionErrors))]
async fn list(state: web::Data<AppState>, s: Session, q: web::Query<ListQuery>) -> ApiResult {
    s.require_admin()?;
    let _steady = state.quota.steady().await;
    let page = state.store.list_users(q.keyword(), q.page()).await?;
    Ok(ok(page.map(|u| state.quota.show_user(u))))
}

/// Creates a user (admin; only root may create admins).
#[utoipa::path(post, path = "/api/user", tag = "user", security(("session" = [])),
    request_body = NewAccount,
    responses((status = 201, description = "Created", body = Envelope<User>), SessionErrors))]
async fn create(state: web::Data<AppState>, s: Session, body: web::Json<NewAccount>) -> ApiResult {
    s.require_admin()?;
    Ok(created(
        accounts::create_by_admin(&state, &s.user, body.into_inner()).await?,
    ))
}

/// One user (admin).
#[utoipa::path(get, path = "/api/user/{id}", tag = "user", security(("session" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The user", body = Envelope<User>), SessionErrors))]
async fn get(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    let _steady = state.quota.steady().await;
    let user = state
        .store
        .user_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ok(state.quota.show_user(user)))
}

/// A user's spend against their daily/weekly/monthly budgets (admin).
#[utoipa::path(get, path = "/api/user/{id}/usage", tag = "user", security(("session" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "Spend per budget period", body = Envelope<BudgetReport>), SessionErrors))]
async fn usage(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    let user = state
        .store
        .user_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ok(limits_usage::budgets(
        &state,
        &format!("u:{}", user.id),
        &user.limits,
    )
    .await))
}

/// Changes a user of lower role (admin).
#[utoipa::path(put, path = "/api/user/{id}", tag = "user", security(("session" = [])),
    params(("id" = i64, Path, description = "User id")), request_body = AdminUserUpdate,
    responses((status = 200, description = "Updated", body = Envelope<User>), SessionErrors))]
async fn update(
    state: web::Data<AppState>,
    s: Session,
    id: web::Path<i64>,
    body: web::Json<AdminUserUpdate>,
) -> ApiResult {
    s.require_admin()?;
    let _steady = state.quota.steady().await;
    let user = accounts::admin_update(&state, &s.user, *id, body.into_inner()).await?;
    Ok(ok(state.quota.show_user(user)))
}

/// Deletes a user of lower role and its API keys (admin).
#[utoipa::path(delete, path = "/api/user/{id}", tag = "user", security(("session" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "Deleted", body = Envelope<Null>), SessionErrors))]
async fn delete(state: web::Data<AppState>, s: Session, id: web::Path<i64>) -> ApiResult {
    s.require_admin()?;
    accounts::admin_delete(&state, &s.user, *id).await?;
    Ok(ok(json!(null)))
}
