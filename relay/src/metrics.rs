//! Prometheus metrics for the relay (its own registry). Recorded by the access log, which
//! already sees every proxied request from start to end. Labels are fixed strings: the
//! outcome or refusal code, never a host, URL or key.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

const LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

pub struct RelayMetrics {
    registry: Registry,
    pub open_streams: IntGauge,
    pub requests: IntCounterVec,
    pub refusals: IntCounterVec,
    pub bytes: IntCounter,
    pub first_byte: Histogram,
    pub connect: Histogram,
}

impl Default for RelayMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayMetrics {
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let m = RelayMetrics {
            registry: Registry::new(),
            open_streams: IntGauge::new(
                "relay_open_streams",
                "Proxied requests in flight (a streaming answer counts until it ends)",
            )
            .expect("valid metric definition"),
            requests: IntCounterVec::new(
                Opts::new(
                    "relay_requests_total",
                    "Proxied requests by how they ended (complete, client_closed, upstream_error, idle_timeout, or the refusal code)",
                ),
                &["outcome"],
            )
            .expect("valid metric definition"),
            refusals: IntCounterVec::new(
                Opts::new(
                    "relay_refusals_total",
                    "Requests the relay answered itself, by X-Relay-Error code",
                ),
                &["reason"],
            )
            .expect("valid metric definition"),
            bytes: IntCounter::new(
                "relay_bytes_relayed_total",
                "Response body bytes streamed from upstreams to callers",
            )
            .expect("valid metric definition"),
            first_byte: Histogram::with_opts(
                HistogramOpts::new(
                    "relay_upstream_first_byte_seconds",
                    "Connect, send and wait for the upstream's response head",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )
            .expect("valid metric definition"),
            connect: Histogram::with_opts(
                HistogramOpts::new(
                    "relay_upstream_connect_seconds",
                    "Resolve and TCP connect of each new upstream connection (before TLS)",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )
            .expect("valid metric definition"),
        };
        let all: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.open_streams.clone()),
            Box::new(m.requests.clone()),
            Box::new(m.refusals.clone()),
            Box::new(m.bytes.clone()),
            Box::new(m.first_byte.clone()),
            Box::new(m.connect.clone()),
        ];
        for c in all {
            m.registry.register(c).expect("metric names are unique");
        }
        m
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
