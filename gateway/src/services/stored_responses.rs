//! Server-side state of the Responses API: a stored response lives with the upstream that
//! created it, so `previous_response_id`, `GET`/`DELETE /v1/responses/{id}` and
//! `/input_items` go to that channel, and only for the user who created it.

use crate::providers::responses_inbound::{
    auth_header, bad, serves_responses, upstream_url, Inbound, Op, CONVERTED_ID_PREFIX,
};
use crate::services::dispatch::key_auth::{self, Caller};
use crate::state::AppState;
use crate::store::Channel;
use crate::upstream::names;
use crate::upstream::{UpstreamClient, UpstreamRequest};
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use std::sync::Arc;

/// Largest stored-response body relayed back.
const MAX_BODY: usize = 64 * 1024 * 1024;

fn not_found(id: &str) -> V1Error {
    V1Error::not_found(format!("Response with id '{id}' not found."), "not_found")
        .param("response_id")
        .dialect(Dialect::Responses)
}

/// The serving channel that created `id` for this user.
async fn owned_channel(state: &AppState, user_id: i64, id: &str) -> Result<Arc<Channel>, V1Error> {
    let owner = state.store.response_owner(id).await?;
    let owner = match owner {
        Some(o) if o.user_id == user_id => o,
        Some(_) => return Err(not_found(id)),
        None if id.starts_with(CONVERTED_ID_PREFIX) => {
            return Err(bad(format!(
                "response '{id}' came from a channel that converts the Responses API to \
                 chat completions, where nothing is stored; send the whole conversation in \
                 `input` (with `store: false`) instead of referring to it"
            ))
            .code("response_not_stored"))
        }
        None => return Err(not_found(id)),
    };
    let channels = state.channels().await?;
    let channel = channels
        .iter()
        .find(|c| c.id == owner.channel_id)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    if !serves_responses(&channel) {
        return Err(bad(format!(
            "response '{id}' belongs to a channel that no longer serves the Responses API; \
             send the whole conversation in `input` instead"
        ))
        .code("response_not_stored"));
    }
    Ok(channel)
}

/// Narrows the channels a call may use: compaction needs a serving channel, and a
/// continued response must go to the channel that holds the previous one.
pub async fn restrict(
    state: &AppState,
    caller: &Caller,
    call: &Inbound,
    cands: Vec<Arc<Channel>>,
    model: &str,
) -> Result<Vec<Arc<Channel>>, V1Error> {
    if call.op == Op::Compact {
        let serving: Vec<Arc<Channel>> =
            cands.into_iter().filter(|c| serves_responses(c)).collect();
        if serving.is_empty() {
            return Err(bad(format!(
                "POST /v1/responses/compact needs a channel that serves the Responses API \
                 (OpenAI, Azure, or OpenAI-compatible with responses_api on); no channel for \
                 model '{model}' does"
            ))
            .code("unsupported_on_channel"));
        }
        return Ok(serving);
    }
    let cands = match &call.conversion_error {
        // Only a channel taking the call as it is can serve it.
        Some(e) => {
            let serving: Vec<Arc<Channel>> =
                cands.into_iter().filter(|c| serves_responses(c)).collect();
            if serving.is_empty() {
                return Err(e.clone());
            }
            serving
        }
        None => cands,
    };
    let Some(prev) = call.previous_response_id() else {
        return Ok(cands);
    };
    let channel = owned_channel(state, caller.user.id, prev).await?;
    if !cands.iter().any(|c| c.id == channel.id) {
        return Err(bad(format!(
            "the channel holding response '{prev}' does not serve model '{model}' for you now"
        ))
        .param("previous_response_id"));
    }
    Ok(vec![channel])
}

/// `GET`/`DELETE /v1/responses/{id}`, `GET …/input_items`, `POST …/cancel`: relayed to
/// the owning channel, answered as the upstream answered (nothing is billed).
pub async fn proxy_stored(
    state: &AppState,
    client: &UpstreamClient,
    req: &HttpRequest,
    id: &str,
    suffix: &str,
) -> Result<HttpResponse, V1Error> {
    let caller = key_auth::authenticate(state, req).await?;
    let channel = owned_channel(state, caller.user.id, id).await?;
    let key = state
        .secret_box
        .open(&channel.key_ciphertext)
        .map_err(|e| {
            log::error!("channel {} key cannot be decrypted: {e}", channel.id);
            V1Error::bad_gateway("channel is misconfigured")
        })?;
    let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let mut url = upstream_url(&channel, &format!("/{encoded}{suffix}"));
    if !req.query_string().is_empty() {
        url.push('?');
        url.push_str(req.query_string());
    }
    let up = UpstreamRequest {
        method: req.method().clone(),
        url,
        headers: vec![
            auth_header(&channel, &key),
            (names::ACCEPT, "application/json".into()),
        ],
        body: Bytes::new(),
    };
    let via_relay = channel.use_relay.unwrap_or(client.relay_configured());
    let request_id = crate::util::request_id(req);
    let res = client.send(up, via_relay, &request_id).await.map_err(|e| {
        log::warn!(
            "request_id={request_id} stored response call failed: {}",
            e.describe()
        );
        V1Error::bad_gateway("could not reach the upstream provider")
    })?;
    let status = res.status;
    if matches!(status.as_u16(), 401 | 403) {
        // The upstream's own text may quote part of the channel's key.
        return Err(V1Error::bad_gateway(
            "the upstream provider rejected the channel's credentials",
        ));
    }
    let content_type = res.content_type.clone();
    let body = res.read_all(MAX_BODY).await.map_err(|e| {
        log::warn!("request_id={request_id} stored response body failed: {e}");
        V1Error::bad_gateway("upstream response was cut off")
    })?;
    if req.method() == Method::DELETE && status.is_success() {
        state.store.forget_response(id).await?;
    }
    let mut out = HttpResponse::build(status);
    if !content_type.is_empty() {
        out.content_type(content_type);
    }
    Ok(out.body(body))
}
