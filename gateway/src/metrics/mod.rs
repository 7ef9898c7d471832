//! Prometheus metrics for one gateway (its own registry, so several gateways in one
//! process — the tests — do not mix their counts). Per-request figures are recorded in
//! one place, when a request is settled (`record`), so the request flow stays free of
//! metric calls. Labels are bounded: endpoints are a fixed set, models are only those
//! configured on a channel (others are `other`), channels are the admin's channels, and
//! no key or user id is ever a label.

mod handles;
mod names;
mod settle;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, RwLock};

pub use names::{status_class, OTHER_MODEL};
pub use settle::Settled;

/// Seconds; from tens of milliseconds (a cached answer) to a long generation.
const LATENCY_BUCKETS: &[f64] = &[
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
const WRITE_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Database errors happen where no gateway state is at hand (error conversions), so the
/// counter is process-wide; each gateway's registry exposes it.
static DB_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "gateway_database_errors_total",
        "Database calls that failed, by where they failed",
        &["source"],
    )
});

/// Counts one failed database call (`source`: "request", "api", "settlement").
pub fn database_error(source: &'static str) {
    DB_ERRORS.with_label_values(&[source]).inc();
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    first_token: HistogramVec,
    upstream: HistogramVec,
    tokens: IntCounterVec,
    quota: IntCounterVec,
    failovers: IntCounterVec,
    pub rate_limited: IntCounter,
    pub open_streams: IntGauge,
    settlement_queue: IntGauge,
    settlement_lag: prometheus::Gauge,
    settlement_write: Histogram,
    channel_state: IntGaugeVec,
    /// Models configured on some channel: the only model names used as labels.
    known_models: RwLock<Arc<HashSet<String>>>,
    handles: handles::HandleMemo,
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("valid metric definition")
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let m = Metrics {
            registry: Registry::new(),
            requests: counter_vec(
                "gateway_requests_total",
                "Settled /v1 requests by endpoint, model, channel and status class",
                &["endpoint", "model", "channel", "status_class"],
            ),
            latency: histogram_vec(
                "gateway_request_duration_seconds",
                "Whole /v1 request time, to the last byte of the answer",
                &["endpoint", "model"],
                LATENCY_BUCKETS,
            ),
            first_token: histogram_vec(
                "gateway_time_to_first_token_seconds",
                "Streaming requests: time until the upstream's answer began",
                &["endpoint", "model"],
                LATENCY_BUCKETS,
            ),
            upstream: histogram_vec(
                "gateway_upstream_duration_seconds",
                "Time until an upstream answered with its response head, per attempt",
                &["channel", "outcome"],
                LATENCY_BUCKETS,
            ),
            tokens: counter_vec(
                "gateway_tokens_total",
                "Tokens by model and kind (prompt, completion, cached_read, cache_write, reasoning)",
                &["model", "kind"],
            ),
            quota: counter_vec(
                "gateway_quota_spent_total",
                "Quota charged (500000 = 1 USD) by model",
                &["model"],
            ),
            failovers: counter_vec(
                "gateway_failovers_total",
                "Attempts beyond the first (another channel tried after a failure)",
                &["endpoint", "model"],
            ),
            rate_limited: IntCounter::new(
                "gateway_rate_limit_refusals_total",
                "Requests refused by a key's requests-per-minute limit",
            )
            .expect("valid metric definition"),
            open_streams: IntGauge::new(
                "gateway_open_streams",
                "Streaming answers currently being sent",
            )
            .expect("valid metric definition"),
            settlement_queue: IntGauge::new(
                "gateway_settlement_queue_depth",
                "Settlements queued for the ledger writer, not yet written",
            )
            .expect("valid metric definition"),
            settlement_lag: prometheus::Gauge::new(
                "gateway_settlement_lag_seconds",
                "Age of the oldest settlement in the last batch written, when it was written",
            )
            .expect("valid metric definition"),
            settlement_write: Histogram::with_opts(
                HistogramOpts::new(
                    "gateway_settlement_write_seconds",
                    "Time to write one settlement batch (including retries)",
                )
                .buckets(WRITE_BUCKETS.to_vec()),
            )
            .expect("valid metric definition"),
            channel_state: IntGaugeVec::new(
                Opts::new(
                    "gateway_channel_state",
                    "1 for the state each channel is in (enabled, disabled, auto_disabled)",
                ),
                &["channel", "state"],
            )
            .expect("valid metric definition"),
            known_models: RwLock::new(Arc::new(HashSet::new())),
            handles: handles::HandleMemo::default(),
        };
        m.register_all();
        m
    }

    #[allow(clippy::expect_used)]
    fn register_all(&self) {
        let r = &self.registry;
        let all: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.requests.clone()),
            Box::new(self.latency.clone()),
            Box::new(self.first_token.clone()),
            Box::new(self.upstream.clone()),
            Box::new(self.tokens.clone()),
            Box::new(self.quota.clone()),
            Box::new(self.failovers.clone()),
            Box::new(self.rate_limited.clone()),
            Box::new(self.open_streams.clone()),
            Box::new(self.settlement_queue.clone()),
            Box::new(self.settlement_lag.clone()),
            Box::new(self.settlement_write.clone()),
            Box::new(self.channel_state.clone()),
            Box::new(DB_ERRORS.clone()),
        ];
        for c in all {
            r.register(c).expect("metric names are unique");
        }
    }

    /// The Prometheus text exposition of everything registered.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Updates the model allow-list and the channel state gauge from the channel list.
    pub fn channels_loaded(&self, channels: &[Arc<crate::store::Channel>]) {
        let models: HashSet<String> = channels
            .iter()
            .flat_map(|c| c.models.iter().cloned())
            .collect();
        match self.known_models.write() {
            Ok(mut k) => *k = Arc::new(models),
            Err(p) => *p.into_inner() = Arc::new(models),
        }
        self.channel_state.reset();
        for c in channels {
            self.channel_state
                .with_label_values(&[c.name.as_str(), names::channel_state(c.status)])
                .set(1);
        }
    }

    fn families(&self) -> handles::Families<'_> {
        handles::Families {
            requests: &self.requests,
            latency: &self.latency,
            first_token: &self.first_token,
            failovers: &self.failovers,
            quota: &self.quota,
            tokens: &self.tokens,
        }
    }

    /// The label for `model`: itself when a channel serves it, else `other`.
    fn model_label<'a>(&self, model: &'a str, routed: bool) -> &'a str {
        if routed {
            return model;
        }
        let known = match self.known_models.read() {
            Ok(k) => k.contains(model),
            Err(p) => p.into_inner().contains(model),
        };
        if known {
            model
        } else {
            OTHER_MODEL
        }
    }

    /// One upstream attempt answered (or failed) after `seconds`.
    pub fn upstream_attempt(&self, channel: &str, outcome: &'static str, seconds: f64) {
        self.upstream
            .with_label_values(&[channel, outcome])
            .observe(seconds);
    }

    pub fn settlement_queue_depth(&self, depth: usize) {
        self.settlement_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// A settlement batch was written after `write_secs`; its oldest entry waited `lag_secs`.
    pub fn settlement_written(&self, write_secs: f64, lag_secs: f64) {
        self.settlement_write.observe(write_secs);
        self.settlement_lag.set(lag_secs);
    }
}

/// Holds one open stream in the gauge until dropped.
pub struct OpenStream(IntGauge);

impl OpenStream {
    pub fn new(m: &Metrics) -> Self {
        m.open_streams.inc();
        OpenStream(m.open_streams.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}
