//! One log line per proxied request, written when the request is over (however it ended).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::trace::RelayTrace;
use crate::metrics::RelayMetrics;

use actix_web::http::Method;

/// Collects what the log line needs; logs on drop so aborted streams are logged too.
/// Never holds keys, header values other than the request id, URLs or bodies.
pub struct AccessLog {
    request_id: String,
    method: Method,
    host: String,
    started: Instant,
    status: Option<u16>,
    first_byte: Option<Duration>,
    bytes: u64,
    outcome: &'static str,
    /// Also feeds `/metrics`: the request counts as open until this is dropped.
    metrics: Arc<RelayMetrics>,
    /// The request's span (inert unless tracing is on); ended with the log line.
    trace: RelayTrace,
}

impl AccessLog {
    pub fn start(request_id: String, method: Method, metrics: Arc<RelayMetrics>) -> Self {
        metrics.open_streams.inc();
        Self {
            metrics,
            request_id,
            method,
            host: "-".into(),
            started: Instant::now(),
            status: None,
            first_byte: None,
            bytes: 0,
            // Stays this way if the response stream is dropped before it finished.
            outcome: "client_closed",
            trace: RelayTrace::default(),
        }
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn set_trace(&mut self, trace: RelayTrace) {
        self.trace = trace;
    }

    pub fn trace(&mut self) -> &mut RelayTrace {
        &mut self.trace
    }

    pub fn set_host(&mut self, host: &str) {
        self.host = host.to_owned();
    }

    /// The upstream (or the relay itself) answered with `status`.
    pub fn responded(&mut self, status: u16) {
        self.status = Some(status);
        self.first_byte = Some(self.started.elapsed());
    }

    /// The upstream answered with `status` (its response head arrived).
    pub fn upstream_responded(&mut self, status: u16) {
        self.responded(status);
        self.metrics
            .first_byte
            .observe(self.started.elapsed().as_secs_f64());
    }

    pub fn add_bytes(&mut self, count: usize) {
        self.bytes = self.bytes.saturating_add(count as u64);
    }

    pub fn finish(&mut self, outcome: &'static str) {
        self.outcome = outcome;
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.metrics.open_streams.dec();
        self.metrics.bytes.inc_by(self.bytes);
        self.metrics
            .requests
            .with_label_values(&[self.outcome])
            .inc();
        self.trace
            .end(&self.host, self.status, self.bytes, self.outcome);
        let ms = |d: Option<Duration>| d.map_or(-1, |d| d.as_millis() as i64);
        log::info!(
            "proxy request_id={} method={} host={} status={} first_byte_ms={} duration_ms={} bytes={} outcome={}",
            self.request_id,
            self.method,
            self.host,
            self.status.map_or(0, |s| s),
            ms(self.first_byte),
            self.started.elapsed().as_millis(),
            self.bytes,
            self.outcome,
        );
    }
}
