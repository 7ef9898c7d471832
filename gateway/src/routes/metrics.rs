//! `GET /metrics`: the Prometheus text exposition. Open unless `METRICS_TOKEN` is set
//! (then `Authorization: Bearer <token>` is required); production deployments should set it.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

/// Whether the request carries `Bearer <expected>` (compared in constant time).
pub fn authorized(req: &HttpRequest, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if !authorized(&req, state.settings.metrics_token.as_deref()) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .body("metrics require Authorization: Bearer <METRICS_TOKEN>\n");
    }
    // Refreshes the channel state gauge and the model allow-list (cached for seconds).
    if let Err(e) = state.channels().await {
        log::warn!("metrics: could not read channels: {e}");
    }
    state.metrics.settlement_queue_depth(state.ledger.pending());
    match state.metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            log::error!("metrics could not be encoded: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}
