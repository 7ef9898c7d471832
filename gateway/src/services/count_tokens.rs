//! Token counting (`/v1/messages/count_tokens`, Gemini's `:countTokens`) by the provider
//! that will read the prompt: Anthropic's `count_tokens` endpoint on an Anthropic channel,
//! Gemini's `countTokens` on a Gemini channel. Only when no channel serving the model
//! can count (or the one asked fails) does the caller fall back to its local estimate.
//! Nothing is billed and no log row is written, as the providers do not charge for it.

use crate::providers::{anthropic, anthropic_inbound, gemini, gemini_inbound, Endpoint, Target};
use crate::services::dispatch::key_auth::Caller;
use crate::services::dispatch::routing;
use crate::state::AppState;
use crate::store::{Channel, ChannelType};
use crate::upstream::names;
use crate::upstream::{UpstreamClient, UpstreamRequest};
use crate::v1_core::error::V1Error;
use actix_web::http::Method;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;

/// The client's count request in its own dialect.
pub enum Question<'a> {
    /// A `/v1/messages/count_tokens` body, with the client's `anthropic-beta` header.
    Anthropic {
        raw: &'a Bytes,
        body: &'a Value,
        beta: Option<&'a str>,
    },
    /// A Gemini `countTokens` body (`contents` or a `generateContentRequest`).
    Gemini { body: &'a Value },
}

/// What came back: the provider's count, or its refusal of the request (a 4xx the
/// client must see).
enum Answer {
    Tokens(u64),
    Refused(V1Error),
}

/// Who asks, about which model, and through which client.
pub struct Ask<'a> {
    pub state: &'a AppState,
    pub client: &'a UpstreamClient,
    pub caller: &'a Caller,
    pub model: &'a str,
    pub request_id: &'a str,
}

/// The provider's count, or `None` when no channel of the caller's group that serves
/// the model can count (or counting failed upstream): the caller then estimates. A model
/// the key may not use is refused as `/v1/messages` would refuse it, and a request the
/// provider refuses comes back as that error.
pub async fn count(ask: Ask<'_>, q: Question<'_>) -> Result<Option<u64>, V1Error> {
    let models = &ask.caller.token.models;
    if !models.is_empty() && !models.iter().any(|m| m == ask.model) {
        return Err(V1Error::forbidden(
            format!("this API key may not use the model '{}'", ask.model),
            "model_not_allowed",
        ));
    }
    let channels = ask.state.channels().await?;
    let able: Vec<Arc<Channel>> = routing::candidates(&channels, &ask.caller.user.group, ask.model)
        .into_iter()
        .filter(|c| matches!(c.channel_type, ChannelType::Anthropic | ChannelType::Gemini))
        .collect();
    let able = ask.state.limits.health.prefer_ready(able);
    let Some(channel) = routing::pick(&able, &[], &mut rand::thread_rng()).cloned() else {
        return Ok(None);
    };
    match ask_channel(&ask, &channel, &q).await {
        Ok(Answer::Tokens(n)) => Ok(Some(n)),
        Ok(Answer::Refused(e)) => Err(e),
        Err(why) => {
            log::warn!(
                "request {}: counting tokens on channel {} failed, estimating: {why}",
                ask.request_id,
                channel.id
            );
            Ok(None)
        }
    }
}

async fn ask_channel(ask: &Ask<'_>, channel: &Channel, q: &Question<'_>) -> Result<Answer, String> {
    let plain = ask
        .state
        .secret_box
        .open(&channel.key_ciphertext)
        .map_err(|e| format!("channel key cannot be decrypted: {e}"))?;
    let (key, _) = ask
        .state
        .limits
        .health
        .pick_key(channel, &plain)
        .ok_or("every upstream key of the channel is disabled")?;
    let target = Target {
        channel,
        key,
        upstream_model: routing::upstream_model(channel, ask.model),
    };
    let req = if channel.channel_type == ChannelType::Anthropic {
        anthropic_request(&target, q)?
    } else {
        gemini_request(&target, q)?
    };
    let via_relay = channel.use_relay.unwrap_or(ask.client.relay_configured());
    if via_relay && !ask.client.relay_configured() {
        return Err("channel requires the relay, which is not configured".into());
    }
    let res = ask
        .client
        .send(req, via_relay, ask.request_id)
        .await
        .map_err(|e| e.describe())?;
    let status = res.status;
    let raw = res.read_all(1024 * 1024).await.map_err(|e| e.to_string())?;
    if status.is_success() {
        let v: Value = serde_json::from_slice(&raw).map_err(|e| format!("invalid answer: {e}"))?;
        let n = v
            .get("input_tokens")
            .or_else(|| v.get("totalTokens"))
            .and_then(Value::as_u64)
            .ok_or("the answer holds no count")?;
        return Ok(Answer::Tokens(n));
    }
    let message = if channel.channel_type == ChannelType::Anthropic {
        anthropic::error_message(&raw)
    } else {
        crate::providers::openai::error_message(&raw)
    };
    // The request itself was refused: the client's problem, not the channel's.
    let client_error =
        status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 404 | 408 | 429);
    if client_error {
        let message: String = message.chars().take(500).collect();
        return Ok(Answer::Refused(V1Error::upstream_rejected(status, message)));
    }
    Err(format!("upstream answered {}: {message}", status.as_u16()))
}

/// Fields Anthropic's `count_tokens` accepts; a converted body carries more.
const ANTHROPIC_COUNT_FIELDS: [&str; 7] = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
];

fn anthropic_request(t: &Target<'_>, q: &Question<'_>) -> Result<UpstreamRequest, String> {
    let (body, beta) = match q {
        Question::Anthropic { raw, beta, .. } => {
            let model = serde_json::to_vec(t.upstream_model).map_err(|e| e.to_string())?;
            let body = shared::json_splice::set_field(raw, "model", &model)
                .ok_or("request body must be a JSON object")?;
            (Bytes::from(body), *beta)
        }
        Question::Gemini { body } => {
            let openai = gemini_openai(body, t.upstream_model)?;
            let converted =
                anthropic::to_anthropic(&openai, Endpoint::Chat, t.upstream_model, false)
                    .map_err(|e| e.message)?;
            let mut v = serde_json::to_value(converted).map_err(|e| e.to_string())?;
            if let Some(o) = v.as_object_mut() {
                o.retain(|k, _| ANTHROPIC_COUNT_FIELDS.contains(&k.as_str()));
            }
            (Bytes::from(v.to_string()), None)
        }
    };
    let mut headers = vec![
        (names::X_API_KEY, t.key.to_string().into()),
        (
            names::ANTHROPIC_VERSION,
            shared::anthropic::API_VERSION.into(),
        ),
        (names::CONTENT_TYPE, "application/json".into()),
        (names::ACCEPT, "application/json".into()),
    ];
    headers.extend(beta.map(|b| (names::ANTHROPIC_BETA, b.to_string().into())));
    Ok(UpstreamRequest {
        method: Method::POST,
        url: format!(
            "{}/v1/messages/count_tokens",
            t.channel.base_url.trim_end_matches('/')
        ),
        headers,
        body,
    })
}

fn gemini_request(t: &Target<'_>, q: &Question<'_>) -> Result<UpstreamRequest, String> {
    let model = t.upstream_model.trim_start_matches("models/");
    let body = match q {
        // Gemini's own body goes as it came, with the mapped model where it names one.
        Question::Gemini { body } => {
            let mut body = (*body).clone();
            if let Some(inner) = body.get_mut("generateContentRequest") {
                if inner.get("model").is_some() {
                    inner["model"] = json!(format!("models/{model}"));
                }
            }
            body
        }
        Question::Anthropic { body, .. } => {
            let openai = anthropic_inbound::to_openai(body).map_err(|e| e.message)?;
            let req = gemini::to_gemini(&openai, Endpoint::Chat, model, &gemini::Images::new())
                .map_err(|e| e.message)?;
            let mut inner = serde_json::to_value(req).map_err(|e| e.to_string())?;
            inner["model"] = json!(format!("models/{model}"));
            json!({ "generateContentRequest": inner })
        }
    };
    let segment: String = url::form_urlencoded::byte_serialize(model.as_bytes()).collect();
    let version = match t.channel.api_version.as_str() {
        "" => "v1beta",
        v => v,
    };
    Ok(UpstreamRequest {
        method: Method::POST,
        url: format!(
            "{}/{version}/models/{segment}:countTokens",
            t.channel.base_url.trim_end_matches('/')
        ),
        headers: vec![
            (names::X_GOOG_API_KEY, t.key.to_string().into()),
            (names::CONTENT_TYPE, "application/json".into()),
            (names::ACCEPT, "application/json".into()),
        ],
        body: Bytes::from(body.to_string()),
    })
}

/// A Gemini count body in the OpenAI form (for converting it to Anthropic's).
fn gemini_openai(body: &Value, model: &str) -> Result<Value, String> {
    let inner = body
        .get("generateContentRequest")
        .filter(|v| v.is_object())
        .unwrap_or(body);
    gemini_inbound::to_openai(inner, model, false).map_err(|e| e.message)
}
