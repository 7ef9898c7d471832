//! One try against one channel, and how its failure is classified.

use crate::providers::{Endpoint, Outbound, Provider, Target};
use crate::services::limits::channel_events;
use crate::state::AppState;
use crate::store::{Channel, CHANNEL_AUTO_DISABLED};
use crate::upstream::{ReadError, SendError, UpstreamClient, UpstreamResponse};
use crate::v1_core::error::V1Error;
use actix_web::http::StatusCode;

/// A failed try: whether another channel may be tried, and the error the client would
/// get if this was the last one.
pub struct Failure {
    pub retryable: bool,
    pub error: V1Error,
    /// Text for the log row and the admin's view of the channel.
    pub detail: String,
}

const MAX_ERROR_BODY: usize = 64 * 1024;

/// Where one try goes and what it asks for.
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    pub channel: &'a Channel,
    pub provider: Provider,
    pub ep: Endpoint,
    pub stream: bool,
    pub upstream_model: &'a str,
    pub request_id: &'a str,
}

/// Sends the try's request and returns the response when its status is 2xx.
pub async fn send(
    state: &AppState,
    client: &UpstreamClient,
    attempt: Attempt<'_>,
    body: &Outbound<'_>,
) -> Result<UpstreamResponse, Failure> {
    let Attempt {
        channel,
        provider,
        ep,
        stream,
        upstream_model,
        request_id,
    } = attempt;
    let plain = state
        .secret_box
        .open(&channel.key_ciphertext)
        .map_err(|e| Failure {
            retryable: true,
            error: V1Error::bad_gateway("channel is misconfigured"),
            detail: format!("channel key cannot be decrypted: {e}"),
        })?;
    let (key, fp) = state
        .limits
        .health
        .pick_key(channel, &plain)
        .ok_or_else(|| Failure {
            retryable: true,
            error: V1Error::bad_gateway("channel has no usable key"),
            detail: "every upstream key of the channel is disabled".into(),
        })?;
    let target = Target {
        channel,
        key,
        upstream_model,
    };
    let req = provider
        .build(&target, ep, body, stream)
        .map_err(|e| Failure {
            retryable: false,
            detail: e.message.clone(),
            error: e,
        })?;
    let via_relay = channel.use_relay.unwrap_or(client.relay_configured());
    if via_relay && !client.relay_configured() {
        return Err(Failure {
            retryable: true,
            error: V1Error::bad_gateway("channel requires the relay, which is not configured"),
            detail: "channel has use_relay=true but RELAY_PROXY_URL is not set".into(),
        });
    }
    let began = std::time::Instant::now();
    let sent = client.send(req, via_relay, request_id).await;
    let outcome = match &sent {
        Ok(r) if r.status.is_success() => "ok",
        Ok(_) => "error_status",
        Err(_) => "failed",
    };
    state
        .metrics
        .upstream_attempt(&channel.name, outcome, began.elapsed().as_secs_f64());
    let res = sent.map_err(|e| {
        if !matches!(e, SendError::RelayUnreachable { .. }) {
            channel_events::failed(state, channel, &plain, &fp, None);
        }
        send_failure(e)
    })?;
    if res.status.is_success() {
        channel_events::succeeded(state, channel.id, &fp);
        return Ok(res);
    }
    let status = res.status;
    let code = status.as_u16();
    if code == 429 || code == 408 || code >= 500 || status.is_redirection() {
        channel_events::failed(state, channel, &plain, &fp, res.retry_after_ms);
    }
    let last_key = if code == 401 || code == 403 {
        channel_events::rejected(state, channel, &plain, &fp).await
    } else {
        false
    };
    let raw = res.read_all(MAX_ERROR_BODY).await.unwrap_or_default();
    let message = provider.error_message(&raw);
    let mut failure = status_failure(state, channel, status, &message, last_key).await;
    if !failure.retryable {
        // Relayed to the client: keep the upstream's own code and param.
        let (code, param) = provider.error_code_and_param(&raw);
        failure.error.code = code;
        failure.error.param = param;
    }
    Err(failure)
}

/// A 2xx answer whose body could not be read whole (cut off, even by a clean close before
/// its `Content-Length`, or too large): an upstream failure like a 5xx. Nothing of it is
/// billed, and the next channel is tried.
pub fn unreadable_body(e: &ReadError) -> Failure {
    let message = match e {
        ReadError::CutOff(why) => format!("upstream response was cut off ({why})"),
        ReadError::TooLarge(_) => "upstream response was too large".to_string(),
    };
    Failure {
        retryable: true,
        error: V1Error::bad_gateway(message),
        detail: e.to_string(),
    }
}

fn send_failure(e: SendError) -> Failure {
    let detail = e.describe();
    let error = match &e {
        SendError::Timeout => V1Error::gateway_timeout("upstream timed out"),
        SendError::Relay { status, code, .. } => {
            let message = format!("the relay proxy could not reach the upstream ({code})");
            let error = if *status == StatusCode::GATEWAY_TIMEOUT {
                V1Error::gateway_timeout(message)
            } else {
                V1Error::bad_gateway(message)
            };
            error.code("relay_error")
        }
        SendError::RelayUnreachable { cause, .. } => {
            V1Error::bad_gateway(format!("could not reach the relay proxy: {cause}"))
                .code("relay_error")
        }
        // The cause (refused, DNS, TLS, …) tells the caller and the log row what broke,
        // without the host, which stays in `detail` for admins.
        SendError::Failed { cause, .. } => {
            V1Error::bad_gateway(format!("could not reach the upstream provider: {cause}"))
        }
    };
    Failure {
        retryable: true,
        error,
        detail,
    }
}

async fn status_failure(
    state: &AppState,
    channel: &Channel,
    status: StatusCode,
    message: &str,
    last_key: bool,
) -> Failure {
    let detail = format!("upstream answered {}: {message}", status.as_u16());
    match status.as_u16() {
        401 | 403 => {
            if last_key && state.options.get().bool("auto_disable_channel") {
                let reason = format!(
                    "auto-disabled: upstream answered {} ({})",
                    status.as_u16(),
                    truncate(message)
                );
                match state
                    .store
                    .set_channel_status(channel.id, CHANNEL_AUTO_DISABLED, &reason)
                    .await
                {
                    Ok(_) => log::warn!(
                        "channel {} auto-disabled after upstream {}",
                        channel.id,
                        status.as_u16()
                    ),
                    Err(e) => log::error!("could not auto-disable channel {}: {e}", channel.id),
                }
                state.channels_changed();
            }
            Failure {
                retryable: true,
                error: V1Error::bad_gateway(
                    "the upstream provider rejected the channel's credentials",
                ),
                detail,
            }
        }
        429 => Failure {
            retryable: true,
            error: V1Error::rate_limited(format!("upstream rate limit: {}", truncate(message)))
                .code("upstream_rate_limited"),
            detail,
        },
        408 => Failure {
            retryable: true,
            error: V1Error::gateway_timeout("upstream timed out"),
            detail,
        },
        s if s >= 500 => Failure {
            retryable: true,
            error: V1Error::bad_gateway(format!("upstream error ({s})")),
            detail,
        },
        // Redirects are not followed (a channel's key must not go where a redirect says);
        // one means the channel's base URL is wrong, which another channel may not share.
        s if status.is_redirection() => Failure {
            retryable: true,
            error: V1Error::bad_gateway(format!(
                "upstream answered with a redirect ({s}); check the channel's base URL"
            )),
            detail,
        },
        _ => Failure {
            retryable: false,
            error: V1Error::upstream_rejected(status, truncate(message)),
            detail,
        },
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(500).collect()
}
