//! Channel tests: a tiny real chat request through the channel (and the relay when the
//! channel uses it). Every outcome is stored on the channel so the console can show the
//! last failure, not only the last success.

use crate::error::ApiError;
use crate::providers::{Endpoint, Outbound, Provider};
use crate::services::dispatch::attempt;
use crate::services::dispatch::routing;
use crate::state::AppState;
use crate::store::channels::TestOutcome;
use crate::store::{Channel, CHANNEL_MANUALLY_DISABLED};
use crate::upstream::UpstreamClient;
use futures_util::StreamExt;
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

/// One line of a "test all" run.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelTestLine {
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub result: TestResult,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestAllReport {
    pub tested: usize,
    pub passed: usize,
    pub failed: usize,
    /// Manually disabled channels are left alone.
    pub skipped: usize,
    pub results: Vec<ChannelTestLine>,
}

/// How many channel tests run at once in "test all": enough to finish a few dozen
/// channels quickly, few enough not to look like a burst to any one provider.
const TEST_ALL_CONCURRENCY: usize = 4;

/// The model a test uses: the one asked for (it must be served), else the first.
fn pick_model(c: &Channel, model: Option<&str>) -> Result<String, ApiError> {
    match model {
        Some(m) if c.models.iter().any(|x| x == m) => Ok(m.to_string()),
        Some(m) => Err(ApiError::bad(format!("channel does not serve model {m:?}"))),
        None => c
            .models
            .first()
            .cloned()
            .ok_or_else(|| ApiError::bad("channel has no models")),
    }
}

/// Tests one channel and stores the outcome. A wrong `model` is a 400; an upstream
/// failure is a result with `success: false`.
pub async fn run(
    state: &AppState,
    client: &UpstreamClient,
    c: &Channel,
    model: Option<&str>,
) -> Result<TestResult, ApiError> {
    let model = pick_model(c, model)?;
    let provider = Provider::for_channel(c);
    let result = send_test(state, client, c, provider, model).await;
    record(state, c.id, &result).await?;
    Ok(result)
}

/// Tests every channel that is not manually disabled, a few at a time; a channel that
/// cannot be tested at all (no models) is a failed line, not an error of the whole run.
pub async fn run_all(state: &AppState, client: &UpstreamClient) -> Result<TestAllReport, ApiError> {
    let channels = state.store.all_channels().await?;
    let (todo, skipped): (Vec<_>, Vec<_>) = channels
        .into_iter()
        .partition(|c| c.status != CHANNEL_MANUALLY_DISABLED);
    let mut results: Vec<ChannelTestLine> = futures_util::stream::iter(todo.iter())
        .map(|c| test_line(state, client, c))
        .buffer_unordered(TEST_ALL_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    results.sort_by_key(|l| l.id);
    let passed = results.iter().filter(|l| l.result.success).count();
    Ok(TestAllReport {
        tested: results.len(),
        passed,
        failed: results.len() - passed,
        skipped: skipped.len(),
        results,
    })
}

async fn test_line(
    state: &AppState,
    client: &UpstreamClient,
    c: &Channel,
) -> Result<ChannelTestLine, ApiError> {
    let result = match run(state, client, c, None).await {
        Ok(r) => r,
        Err(ApiError::BadRequest(message)) => {
            let r = TestResult {
                success: false,
                latency_ms: 0,
                model: String::new(),
                message,
            };
            record(state, c.id, &r).await?;
            r
        }
        Err(e) => return Err(e),
    };
    Ok(ChannelTestLine {
        id: c.id,
        name: c.name.clone(),
        result,
    })
}

async fn record(state: &AppState, id: i64, r: &TestResult) -> Result<(), ApiError> {
    let outcome = TestOutcome {
        success: r.success,
        latency_ms: r.latency_ms,
        error: r.message.chars().take(500).collect(),
    };
    state.store.record_channel_test(id, &outcome).await?;
    Ok(())
}

async fn send_test(
    state: &AppState,
    client: &UpstreamClient,
    c: &Channel,
    provider: Provider,
    model: String,
) -> TestResult {
    let upstream_model = routing::upstream_model(c, &model);
    let body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 1,
    });
    let started = Instant::now();
    let images = crate::providers::gemini::Images::new();
    let out = Outbound {
        output_limit: None,
        openai: &body,
        openai_native: None,
        anthropic_native: None,
        anthropic_beta: None,
        forward_headers: &[],
        gemini_native: None,
        images: &images,
        responses: None,
    };
    let attempt = attempt::Attempt {
        channel: c,
        provider,
        ep: Endpoint::Chat,
        stream: false,
        upstream_model,
        request_id: "",
    };
    let outcome = attempt::send(state, client, attempt, &out).await;
    let (success, message) = match outcome {
        Ok(res) => match res.read_all(1024 * 1024).await {
            Ok(_) => (true, String::new()),
            Err(e) => (false, e.to_string()),
        },
        Err(f) => (false, f.detail),
    };
    TestResult {
        success,
        latency_ms: elapsed(started),
        model,
        message,
    }
}

fn elapsed(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}
