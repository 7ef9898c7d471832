//! HTTP routes. Each resource module exposes `configure`; handlers extract, call one
//! service and shape the response.

pub mod anthropic;
pub mod channel;
pub mod console;
pub mod gemini;
pub mod getting_started;
pub mod log;
pub mod metrics;
pub mod openai;
pub mod option;
pub mod public;
pub mod responses;
pub mod token;
pub mod user;

use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Largest JSON body the management API accepts.
const API_JSON_LIMIT: usize = 256 * 1024;

/// Mounts `/api/*` with extractor errors mapped to the `{success:false}` shape.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .app_data(json_config())
            .app_data(query_config())
            .app_data(path_config())
            .configure(public::configure_api)
            .configure(getting_started::configure)
            .configure(user::configure)
            .configure(token::configure)
            .configure(channel::configure)
            .configure(option::configure)
            .configure(log::configure)
            .default_service(web::to(api_not_found)),
    );
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
#[derive(Deserialize)]
pub struct ListQuery {
    pub p: Option<i64>,
    pub page_size: Option<i64>,
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
