//! `POST /api/channel/{id}/test`: a tiny real chat request through the channel (and the
//! relay when the channel uses it); records the latency.

use crate::error::ApiError;
use crate::providers::{Endpoint, Outbound, Provider};
use crate::services::dispatch::attempt;
use crate::services::dispatch::routing;
use crate::state::AppState;
use crate::store::Channel;
use crate::upstream::UpstreamClient;
use serde::Serialize;
use serde_json::json;
use std::time::Instant;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub success: bool,
    pub latency_ms: i64,
    pub model: String,
    pub message: String,
}

pub async fn run(
    state: &AppState,
    client: &UpstreamClient,
    c: &Channel,
    model: Option<&str>,
) -> Result<TestResult, ApiError> {
    let model = match model {
        Some(m) if c.models.iter().any(|x| x == m) => m.to_string(),
        Some(m) => return Err(ApiError::bad(format!("channel does not serve model {m:?}"))),
        None => c
            .models
            .first()
            .cloned()
            .ok_or_else(|| ApiError::bad("channel has no models"))?,
    };
    let provider =
        Provider::for_channel(c).ok_or_else(|| ApiError::bad("channel type cannot be tested"))?;
    let upstream_model = routing::upstream_model(c, &model);
    let body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 1,
    });
    let started = Instant::now();
    let images = crate::providers::gemini::Images::new();
    let out = Outbound {
        openai: &body,
        anthropic_native: None,
        anthropic_beta: None,
        images: &images,
    };
    let outcome = attempt::send(
        state,
        client,
        c,
        provider,
        Endpoint::Chat,
        &out,
        false,
        &upstream_model,
        "",
    )
    .await;
    let result = match outcome {
        Ok(res) => {
            let ok = res.read_all(1024 * 1024).await.is_ok();
            TestResult {
                success: ok,
                latency_ms: elapsed(started),
                model,
                message: if ok {
                    String::new()
                } else {
                    "response was cut off".into()
                },
            }
        }
        Err(f) => TestResult {
            success: false,
            latency_ms: elapsed(started),
            model,
            message: f.detail,
        },
    };
    if result.success {
        state
            .store
            .record_channel_test(c.id, result.latency_ms)
            .await?;
    }
    Ok(result)
}

fn elapsed(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}
