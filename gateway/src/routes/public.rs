//! Unauthenticated endpoints: service info, health and public status.

use super::api_route::ApiRoute;
use crate::api_schema::Envelope;
use crate::error::ok;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn configure_root(cfg: &mut web::ServiceConfig) {
    // HEAD too: uptime checkers and load balancers often probe with it.
    cfg.route("/", web::get().to(root))
        .route("/", web::head().to(root))
        .route("/health", web::get().to(health))
        .route("/health", web::head().to(health));
}

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::get("/status", status)]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(status))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// What the console shows before sign-in.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PublicStatus {
    pub system_name: String,
    pub register_enabled: bool,
    pub quota_per_unit: i64,
    pub version: String,
}

/// Browsers (`Accept` preferring `text/html`) get the web console; every other client
/// gets the service info as JSON.
async fn root(state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if super::console::wants_html(&req) {
        return super::console::index();
    }
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::VARY, "Accept"))
        .json(json!({
            "name": state.options.get().text("system_name"),
            "service": "llm-gateway",
            "version": VERSION,
            "api": {"openai": "/v1", "management": "/api", "health": "/health"},
        }))
}

/// 503 when the database is unreachable; the relay's state is reported, not fatal,
/// since channels that do not use it keep working.
async fn health(state: web::Data<AppState>, client: web::Data<UpstreamClient>) -> HttpResponse {
    let relay = match client.relay_health().await {
        None => "not_configured",
        Some(true) => "ok",
        Some(false) => "unreachable",
    };
    let redis = state.limits.status().unwrap_or("not_configured");
    // A database that does not answer within a second is as good as down for a probe.
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), state.store.ping())
        .await
        .unwrap_or_else(|_| {
            Err(crate::store::DbError::Unavailable(
                "no answer within 1 s".into(),
            ))
        });
    match ping {
        Ok(()) => HttpResponse::Ok()
            .json(json!({"status": "ok", "database": "ok", "relay": relay, "redis": redis})),
        Err(e) => {
            // Probed every few seconds: the outage itself is logged once by the store.
            log::debug!("health check: database unreachable: {e}");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "error", "database": "unreachable", "relay": relay, "redis": redis}))
        }
    }
}

/// Public facts about this gateway (no sign-in).
#[utoipa::path(get, path = "/api/status", tag = "meta",
    responses((status = 200, description = "Status", body = Envelope<PublicStatus>)))]
async fn status(state: web::Data<AppState>) -> HttpResponse {
    let o = state.options.get();
    ok(PublicStatus {
        system_name: o.text("system_name"),
        register_enabled: o.bool("register_enabled"),
        quota_per_unit: o.i64("quota_per_unit"),
        version: VERSION.to_string(),
    })
}
