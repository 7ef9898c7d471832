//! What every `/v1` route shares, whatever the dialect: the body read within its limit,
//! the hand-over to the call's flow, and the models a key may see. The dialects' route
//! modules all use it; none uses another's.

use crate::providers::Endpoint;
use crate::services::dispatch::{flow, key_auth, routing};
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;

/// Largest request body accepted on `/v1` (images travel inline as base64).
pub const V1_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Authenticates the key before reading the body, so anonymous clients cannot make the
/// gateway buffer large bodies, then hands over to the relay flow; every error comes back
/// in the client's dialect.
pub async fn relay(
    state: &AppState,
    client: &UpstreamClient,
    req: &HttpRequest,
    payload: web::Payload,
    ep: Endpoint,
    dialect: Dialect,
) -> Result<HttpResponse, V1Error> {
    // Only identified here: refusals of a known key (disabled, exhausted, …) are decided
    // inside the flow, so they get a log row like every other refusal.
    let caller = key_auth::identify(state, req)
        .await
        .map_err(|e| e.dialect(dialect))?;
    let body = read_limited_body(req, payload)
        .await
        .map_err(|e| e.dialect(dialect))?;
    let call = flow::Call {
        state,
        client,
        req,
        caller,
        ep,
        dialect,
        request_id: crate::util::request_id(req),
    };
    flow::handle(call, body).await
}

/// The body, refusing at once a declared length over the limit.
pub async fn read_limited_body(req: &HttpRequest, payload: web::Payload) -> Result<Bytes, V1Error> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > V1_BODY_LIMIT as u64) {
        return Err(too_large());
    }
    read_body(payload).await
}

fn too_large() -> V1Error {
    V1Error::payload_too_large(format!("request body is larger than {V1_BODY_LIMIT} bytes"))
        .code("request_too_large")
}

/// Collects the body up to the limit, answering 413 in OpenAI's shape beyond it.
pub async fn read_body(mut payload: web::Payload) -> Result<Bytes, V1Error> {
    let mut body = crate::util::Gathered::default();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::body_deadline::is_timeout(&e) {
                V1Error::request_timeout(crate::body_deadline::TIMEOUT_MESSAGE)
                    .code("request_timeout")
            } else {
                V1Error::bad_request("could not read the request body")
            }
        })?;
        if body.len() + chunk.len() > V1_BODY_LIMIT {
            return Err(too_large());
        }
        body.push(chunk);
    }
    Ok(body.finish())
}

/// Models the key may use: its own list (if any) ∩ what enabled channels of the user's
/// group serve.
pub async fn visible_models(state: &AppState, req: &HttpRequest) -> Result<Vec<String>, V1Error> {
    let caller = key_auth::authenticate(state, req).await?;
    let channels = state.channels().await?;
    let mut models = routing::group_models(&channels, &caller.user.group);
    if !caller.token.models.is_empty() {
        models.retain(|m| caller.token.models.contains(m));
    }
    Ok(models)
}
