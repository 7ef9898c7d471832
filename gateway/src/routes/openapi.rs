//! The OpenAPI 3.1 description of `/api/*`, generated from the handlers' annotations and
//! the request and response types, served at `GET /api/openapi.json`.
//!
//! Every route module documents its own handlers (`<module>::doc()`) with the shared
//! shapes of `crate::api_schema`; this module adds the session scheme and assembles them. The integration test
//! `tests/tests/api/openapi.rs` checks the document against `routes::api_routes()`.

use super::api_route::ApiRoute;
use crate::api_schema::Failure;
use actix_web::{HttpResponse, Responder};
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's own route.
pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::get("/openapi.json", openapi_json)]
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
pub fn document() -> &'static serde_json::Value {
    static DOC: LazyLock<serde_json::Value> = LazyLock::new(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = super::public::VERSION.to_string();
        for part in [
            super::public::doc(),
            super::user::doc(),
            super::getting_started::doc(),
            super::token::doc(),
            super::channel::doc(),
            super::option::doc(),
            super::log::doc(),
        ] {
            doc.merge(part);
        }
        let mut doc = serde_json::to_value(doc).unwrap_or_default();
        require_some_option(&mut doc);
        doc
    });
    &DOC
}

/// An option update must name at least one option; the answer has them all. (Patched in
/// here: utoipa 5.5 writes its `min_properties` attribute out as `maxProperties`.)
fn require_some_option(doc: &mut serde_json::Value) {
    let body = doc.pointer_mut("/paths/~1api~1option/put/requestBody/content/application~1json");
    if let Some(content) = body {
        content["schema"] = serde_json::json!({
            "allOf": [{"$ref": "#/components/schemas/OptionValues"}],
            "minProperties": 1,
        });
    }
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
    use crate::api_schema::OptionValues;
    use utoipa::PartialSchema;

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
    fn an_option_update_names_at_least_one_option() {
        let doc = document();
        let body = &doc["paths"]["/api/option"]["put"]["requestBody"]["content"];
        assert_eq!(
            body["application/json"]["schema"]["minProperties"], 1,
            "{body}"
        );
        let text = doc.to_string();
        assert!(
            !text.contains("maxProperties\":1,"),
            "utoipa's min/max mix-up is back"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["components"]["securitySchemes"]["session"].is_object());
    }
}
