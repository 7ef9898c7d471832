//! The one middleware every request passes first: its request id, the body deadline
//! (`body_deadline`) and the access line. They share one layer because each
//! `from_fn` layer boxes the rest of the request's future again (~1k instructions a
//! request for the second layer alone).

use crate::util::RequestId;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use std::time::Instant;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Accepts a caller's id when it is short and plain, otherwise makes one; echoes it back.
/// Puts the body behind its deadline, and writes the access line once answered.
pub async fn edge(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let incoming = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(std::sync::Arc::<str>::from);
    let id = incoming.unwrap_or_else(crate::util::new_id_text);
    let started = Instant::now();
    // The access line is written by hand: through `format_args!` its five pieces cost
    // more than the rest of the line's way to stderr.
    let mut line = String::with_capacity(64 + id.len() + req.path().len());
    for piece in [
        "request_id=",
        &id,
        " ",
        req.method().as_str(),
        " ",
        req.path(),
    ] {
        line.push_str(piece);
    }
    let header = HeaderValue::from_str(&id);
    req.extensions_mut().insert(RequestId(id));
    let armed = crate::body_deadline::arm(&mut req, started);
    let mut res = armed.finish(next.call(req).await?);
    if let Ok(v) = header {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let mut digits = itoa::Buffer::new();
    line.push_str(" status=");
    line.push_str(digits.format(res.status().as_u16()));
    line.push_str(" latency_ms=");
    line.push_str(digits.format(started.elapsed().as_millis()));
    crate::logging::access(&line);
    Ok(res)
}
