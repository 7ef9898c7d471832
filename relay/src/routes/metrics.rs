//! `GET /metrics`: disabled (404) unless `METRICS_TOKEN` is set, since the relay is a
//! public service; then `Authorization: Bearer <token>` is required.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use crate::metrics::RelayMetrics;

/// The token `/metrics` requires (absent: the endpoint does not exist).
pub struct MetricsToken(pub Option<String>);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(
    req: HttpRequest,
    token: web::Data<MetricsToken>,
    metrics: web::Data<RelayMetrics>,
) -> HttpResponse {
    let Some(expected) = token.0.as_deref() else {
        return HttpResponse::NotFound().finish();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .finish();
    }
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            log::error!("metrics could not be encoded: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}
