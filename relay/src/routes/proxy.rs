//! `POST|GET|PUT|DELETE /proxy`: extract, hand to the proxy pipeline.

use actix_web::{web, HttpRequest, HttpResponse};
use shared::relay_protocol::PROXY_PATH;

use crate::proxy::{self, ProxyState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PROXY_PATH)
            .route(web::post().to(handle))
            .route(web::get().to(handle))
            .route(web::put().to(handle))
            .route(web::delete().to(handle)),
    );
}

async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ProxyState>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    proxy::relay(&req, payload, &state, &client).await
}
