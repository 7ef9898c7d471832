//! HTTP routes: `/health`, `/`, `/metrics` and `/proxy`.

mod health;
pub mod metrics;
mod proxy;

use actix_web::web::ServiceConfig;

/// Registers every route.
pub fn configure(cfg: &mut ServiceConfig) {
    health::configure(cfg);
    metrics::configure(cfg);
    proxy::configure(cfg);
}
