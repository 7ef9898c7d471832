//! One table of the `/api` routes: it mounts them, and the OpenAPI test reads it to check
//! that every mounted route is documented (a second, hand-kept list would drift).

use actix_web::dev::Handler;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Responder, Route, Scope};

pub struct ApiRoute {
    pub method: Method,
    /// Below `/api`, in actix's `{param}` syntax (the same as OpenAPI's).
    pub path: &'static str,
    route: Route,
}

impl ApiRoute {
    fn new<F, Args>(method: Method, path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::route().method(method.clone()).to(handler);
        ApiRoute {
            method,
            path,
            route,
        }
    }

    pub fn get<F, Args>(path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::GET, path, handler)
    }

    pub fn post<F, Args>(path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::POST, path, handler)
    }

    pub fn put<F, Args>(path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::PUT, path, handler)
    }

    pub fn delete<F, Args>(path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::DELETE, path, handler)
    }

    /// Mounts the route on `scope`.
    pub fn mount(self, scope: Scope) -> Scope {
        scope.route(self.path, self.route)
    }
}
