//! `/api/option` (root): runtime settings.

use crate::auth::session::Session;
use crate::error::{ok, ApiResult};
use crate::state::AppState;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/option", web::get().to(get))
        .route("/option", web::put().to(update));
}

async fn get(state: web::Data<AppState>, s: Session) -> ApiResult {
    s.require_root()?;
    Ok(ok(state.options.get().as_json()))
}

async fn update(
    state: web::Data<AppState>,
    s: Session,
    body: web::Json<serde_json::Value>,
) -> ApiResult {
    s.require_root()?;
    let snapshot = state.options.update(&body).await?;
    Ok(ok(snapshot.as_json()))
}
