//! `/api/option` (root): runtime settings.

use super::api_route::ApiRoute;
use crate::api_schema::{Envelope, OptionValues, SessionErrors};
use crate::auth::session::Session;
use crate::error::{ok, ApiResult};
use crate::services::dispatch::price_list::{price_list, PriceRow};
use crate::state::AppState;
use actix_web::web;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/option", get),
        ApiRoute::put("/option", update),
        ApiRoute::get("/option/prices", prices),
    ]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get, update, prices))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// Every runtime option (root).
#[utoipa::path(get, path = "/api/option", tag = "option", security(("session" = [])),
    responses((status = 200, description = "All options", body = Envelope<OptionValues>), SessionErrors))]
async fn get(state: web::Data<AppState>, s: Session) -> ApiResult {
    s.require_root()?;
    Ok(ok(state.options.get().as_json()))
}

/// Changes some options (root); unknown keys and wrong types are refused, nothing changes.
#[utoipa::path(put, path = "/api/option", tag = "option", security(("session" = [])), request_body = OptionValues,
    responses((status = 200, description = "All options after the change", body = Envelope<OptionValues>), SessionErrors))]
async fn update(
    state: web::Data<AppState>,
    s: Session,
    body: web::Json<serde_json::Value>,
) -> ApiResult {
    s.require_root()?;
    let snapshot = state.options.update(&body).await?;
    state.limits.publish("options".into());
    Ok(ok(snapshot.as_json()))
}

/// The built-in price table (root): list prices, the ratios they stand for, and the
/// ratios in force for each model once the operator's own ratios are applied.
#[utoipa::path(get, path = "/api/option/prices", tag = "option", security(("session" = [])),
    responses((status = 200, description = "The built-in price table", body = Envelope<Vec<PriceRow>>), SessionErrors))]
async fn prices(state: web::Data<AppState>, s: Session) -> ApiResult {
    s.require_root()?;
    Ok(ok(price_list(&state.options.get())))
}
