//! CORS from `ALLOWED_ORIGINS`: `*` allows any origin without credentials.
//!
//! actix-cors decides everything; [`ForBrowsers`] only keeps the requests CORS cannot
//! concern away from it. Every SDK and CLI calls without an `Origin`, and actix-cors would
//! still box each call's future and add its `Vary` and `Access-Control-Expose-Headers`
//! to the answer (~1k instructions a request). Those headers matter only for an answer a
//! cache may store and later serve to a browser: a GET or HEAD. So a request with an
//! `Origin`, and every GET and HEAD, still goes through actix-cors exactly as before.

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{header, Method};
use actix_web::Error;
use futures_util::future::{Either, LocalBoxFuture, MapOk, TryFutureExt};
use std::rc::Rc;

pub fn build(origins: &[String]) -> ForBrowsers {
    let base = Cors::default()
        .allow_any_method()
        .allow_any_header()
        .expose_headers(["x-request-id"])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return ForBrowsers(base.allow_any_origin().send_wildcard());
    }
    ForBrowsers(origins.iter().fold(base, |c, o| c.allowed_origin(o)))
}

/// `Cors` for the requests it can concern (see the module's note).
pub struct ForBrowsers(Cors);

/// Whether CORS has nothing to add: no browser sent it, and its answer is not cacheable.
fn outside_cors(req: &ServiceRequest) -> bool {
    let method = req.method();
    method != Method::GET && method != Method::HEAD && !req.headers().contains_key(header::ORIGIN)
}

impl<S, B> Transform<S, ServiceRequest> for ForBrowsers
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type InitError = ();
    type Transform = ForBrowsersService<S>;
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let plain = Rc::new(service);
        let cors = self.0.new_transform(plain.clone());
        Box::pin(async move {
            Ok(ForBrowsersService {
                plain,
                cors: cors.await?,
            })
        })
    }
}

pub struct ForBrowsersService<S> {
    plain: Rc<S>,
    cors: actix_cors::CorsMiddleware<Rc<S>>,
}

type Plain<S, B> = MapOk<
    <S as Service<ServiceRequest>>::Future,
    fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>,
>;

impl<S, B> Service<ServiceRequest> for ForBrowsersService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<Plain<S, B>, LocalBoxFuture<'static, Result<Self::Response, Error>>>;

    actix_web::dev::forward_ready!(plain);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if outside_cors(&req) {
            let left: fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> =
                ServiceResponse::map_into_left_body;
            return Either::Left(self.plain.call(req).map_ok(left));
        }
        Either::Right(self.cors.call(req))
    }
}
