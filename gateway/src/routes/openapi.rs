//! The OpenAPI 3.1 description of `/api/*`, generated from the handlers' annotations and
//! the request and response types, served at `GET /api/openapi.json`.
//!
//! Every route module documents its own handlers (`<module>::doc()`); this module adds
//! the shared envelope shapes and the session scheme. The integration test
//! `tests/tests/api/openapi.rs` checks the document against `routes::api_routes()`.

use actix_web::{HttpResponse, Responder};
use serde::Serialize;
use std::sync::LazyLock;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// A successful answer: `{"success": true, "message": "", "data": …}`.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    pub success: bool,
    pub message: String,
    pub data: T,
}

/// A refused or failed request: `{"success": false, "message": "why"}`.
#[derive(Serialize, ToSchema)]
pub struct Failure {
    pub success: bool,
    pub message: String,
}

/// The `data` of answers that have nothing to return: JSON `null`.
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

/// The runtime options (`/api/option`): every key when read, any subset when changed.
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionValues {
    #[schema(nullable = false, max_length = 200)]
    pub system_name: Option<String>,
    #[schema(nullable = false)]
    pub register_enabled: Option<bool>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub new_user_quota: Option<i64>,
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub quota_per_unit: Option<i64>,
    #[schema(nullable = false, minimum = 0, maximum = 10)]
    pub retry_times: Option<i64>,
    #[schema(nullable = false)]
    pub auto_disable_channel: Option<bool>,
    /// Model name → price ratio.
    #[schema(nullable = false, value_type = Option<std::collections::BTreeMap<String, f64>>)]
    pub model_ratio: Option<serde_json::Value>,
    #[schema(nullable = false, value_type = Option<std::collections::BTreeMap<String, f64>>)]
    pub completion_ratio: Option<serde_json::Value>,
    /// Group name → price multiplier.
    #[schema(nullable = false, value_type = Option<std::collections::BTreeMap<String, f64>>)]
    pub group_ratio: Option<serde_json::Value>,
    #[schema(nullable = false, minimum = 0)]
    pub default_model_ratio: Option<f64>,
    #[schema(nullable = false, minimum = 0)]
    pub default_completion_ratio: Option<f64>,
    #[schema(nullable = false, minimum = 5, maximum = 3600)]
    pub stream_idle_timeout_secs: Option<i64>,
    #[schema(nullable = false, minimum = 1, maximum = 600)]
    pub stream_keepalive_secs: Option<i64>,
}

struct SessionScheme;

impl Modify for SessionScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `token` returned by `POST /api/user/login`."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "LLM gateway management API",
        description = "Users, API keys, channels, options and usage logs. Every answer is \
            `{success, message, data}`; sign in with `POST /api/user/login` and send the \
            returned token as `Authorization: Bearer <token>`.",
    ),
    paths(openapi_json),
    components(schemas(Failure)),
    modifiers(&SessionScheme),
)]
struct ApiDoc;

/// The whole document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = super::public::VERSION.to_string();
        for part in [
            super::public::doc(),
            super::user::doc(),
            super::token::doc(),
            super::channel::doc(),
            super::option::doc(),
            super::log::doc(),
        ] {
            doc.merge(part);
        }
        doc
    });
    &DOC
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
)]
pub(super) async fn openapi_json() -> impl Responder {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_schema_names_exactly_the_registry_keys() {
        let doc = serde_json::to_value(OptionValues::schema()).unwrap();
        let mut documented: Vec<&str> = doc["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        documented.sort_unstable();
        let mut known = crate::services::options::known_keys();
        known.sort_unstable();
        assert_eq!(documented, known);
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let doc = serde_json::to_value(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["components"]["securitySchemes"]["session"].is_object());
    }
}

/// What any signed-in endpoint may answer besides success.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum SessionErrors {
    /// Malformed body, query or values.
    #[response(status = 400)]
    BadRequest(#[to_schema] Failure),
    /// Not signed in, or the session ended.
    #[response(status = 401)]
    Unauthorized(#[to_schema] Failure),
    /// Not allowed for this user (role, disabled, or a password change is due first).
    #[response(status = 403)]
    Forbidden(#[to_schema] Failure),
    /// No such resource, or not the caller's.
    #[response(status = 404)]
    NotFound(#[to_schema] Failure),
    /// A name that must be unique is taken.
    #[response(status = 409)]
    Conflict(#[to_schema] Failure),
    /// Body larger than 256 KiB.
    #[response(status = 413)]
    PayloadTooLarge(#[to_schema] Failure),
}
