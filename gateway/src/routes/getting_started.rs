//! `GET /api/user/self/getting_started`: the console's first-run checklist, each step
//! read from the data (not remembered clicks), so it stays right whoever did the step.

use super::api_route::ApiRoute;
use crate::api_schema::{Envelope, SessionErrors};
use crate::auth::session::Session;
use crate::error::{ok, ApiResult};
use crate::state::AppState;
use crate::store::logs::{LogFilter, LogKind};
use crate::store::sql_store::Page;
use crate::store::CHANNEL_ENABLED;
use actix_web::web;
use serde::Serialize;

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::get("/user/self/getting_started", steps)]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(steps))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

#[derive(Serialize, utoipa::ToSchema)]
struct Steps {
    /// An enabled channel exists (any group: an admin adds them).
    channel: bool,
    /// The caller has (or had) quota to spend.
    quota: bool,
    /// The caller owns an API key.
    key: bool,
    /// One of the caller's requests succeeded: the checklist is done.
    request: bool,
}

/// The caller's first-run checklist, each step read from the data.
#[utoipa::path(get, path = "/api/user/self/getting_started", tag = "user", security(("session" = [])),
    responses((status = 200, description = "Which steps are done", body = Envelope<Steps>), SessionErrors))]
async fn steps(state: web::Data<AppState>, s: Session) -> ApiResult {
    let one = || Page::new(Some(1), Some(1));
    let channel = state
        .channels()
        .await?
        .iter()
        .any(|c| c.status == CHANNEL_ENABLED);
    let user = state.quota.show_user(s.user.clone());
    let keys = state.store.list_tokens(user.id, None, one()).await?;
    let successes = LogFilter {
        user_id: Some(user.id),
        kind: Some(LogKind::Success),
        ..LogFilter::default()
    };
    let requests = state.store.list_logs(&successes, one()).await?;
    Ok(ok(Steps {
        channel,
        quota: user.quota > 0 || user.used_quota > 0,
        key: keys.total > 0,
        request: requests.total > 0,
    }))
}
