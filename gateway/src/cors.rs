//! CORS from `ALLOWED_ORIGINS`: `*` allows any origin without credentials.

use actix_cors::Cors;

pub fn build(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allow_any_method()
        .allow_any_header()
        .expose_headers(["x-request-id"])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin().send_wildcard();
    }
    origins.iter().fold(base, |c, o| c.allowed_origin(o))
}
