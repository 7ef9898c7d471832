//! HTTP routes. `/api` routes are one table (`api_routes`: mounted and documented from the
//! same list); handlers extract, call one service and shape the response.

pub mod anthropic;
pub mod api_route;
pub mod channel;
pub mod console;
pub mod gemini;
pub mod getting_started;
pub mod log;
pub mod metrics;
pub mod openai;
pub mod openapi;
pub mod option;
pub mod public;
pub mod responses;
pub mod token;
pub mod user;
pub mod v1_call;

use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Largest JSON body the management API accepts.
const API_JSON_LIMIT: usize = 256 * 1024;

/// Every `/api` route, paths relative to `/api`: what is mounted and what the OpenAPI
/// document must describe.
pub fn api_routes() -> Vec<api_route::ApiRoute> {
    [
        public::routes(),
        openapi::routes(),
        user::routes(),
        getting_started::routes(),
        token::routes(),
        channel::routes(),
        option::routes(),
        log::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Mounts `/api/*` with extractor errors mapped to the `{success:false}` shape; a known
/// path asked with another method gets 405 with `Allow`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/api")
        .app_data(json_config())
        .app_data(query_config())
        .app_data(path_config());
    // Grouped by path, each group closed by its 405, in first-appearance order: so
    // `PUT /user/login` is answered by `/user/login`'s 405 before `/user/{id}` sees it.
    let mut groups: Vec<(&'static str, Vec<api_route::ApiRoute>)> = Vec::new();
    for route in api_routes() {
        match groups.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, routes)) => routes.push(route),
            None => groups.push((route.path, vec![route])),
        }
    }
    for (path, routes) in groups {
        let allow = routes
            .iter()
            .map(|r| r.method.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        for route in routes {
            scope = route.mount(scope);
        }
        scope = scope.route(
            path,
            web::route().to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(allow) }
            }),
        );
    }
    cfg.service(scope.default_service(web::to(api_not_found)));
}

fn method_not_allowed(allow: String) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, allow))
        .json(
            serde_json::json!({"success": false, "message": "method not allowed on this endpoint"}),
        )
}

async fn api_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such API endpoint".into()))
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(API_JSON_LIMIT)
        .error_handler(|err, _req: &HttpRequest| {
            use actix_web::error::JsonPayloadError as E;
            let api = match &err {
                E::OverflowKnownLength { .. } | E::Overflow { .. } => {
                    ApiError::PayloadTooLarge("request body is too large".into())
                }
                E::ContentType => ApiError::bad("Content-Type must be application/json"),
                E::Deserialize(e) => ApiError::bad(format!("invalid JSON body: {e}")),
                E::Payload(p) if crate::body_deadline::is_timeout(p) => {
                    ApiError::RequestTimeout(crate::body_deadline::TIMEOUT_MESSAGE.into())
                }
                _ => ApiError::bad("invalid request body"),
            };
            api.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::bad(format!("invalid query string: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found("resource").into())
}

/// `?p=&page_size=&keyword=` on list endpoints.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1.
    pub p: Option<i64>,
    /// Items per page (at most 100).
    pub page_size: Option<i64>,
    /// Case-insensitive substring filter.
    pub keyword: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> crate::store::sql_store::Page {
        crate::store::sql_store::Page::new(self.p, self.page_size)
    }
    pub fn keyword(&self) -> Option<&str> {
        self.keyword
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }
}
