//! HTTP routes: `/health`, `/`, and `/proxy`.

mod health;
mod proxy;

use actix_web::web::ServiceConfig;

/// Registers every route.
pub fn configure(cfg: &mut ServiceConfig) {
    health::configure(cfg);
    proxy::configure(cfg);
}
