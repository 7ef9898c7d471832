//! Rate-limit headers: OpenAI's `x-ratelimit-*` on `/v1`, Anthropic's
//! `anthropic-ratelimit-*` on `/v1/messages`. None when no limit applies.

use super::RateState;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};

/// The tightest request and token states of one admission.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub requests: Option<RateState>,
    pub tokens: Option<RateState>,
}

/// Keeps the state with the fewest remaining.
pub fn tighter(a: Option<RateState>, b: RateState) -> Option<RateState> {
    match a {
        Some(a) if a.remaining <= b.remaining => Some(a),
        _ => Some(b),
    }
}

fn secs(ms: i64) -> String {
    let ms = ms.max(0);
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.3}s", ms as f64 / 1000.0)
    }
}

fn rfc3339_in(ms: i64) -> String {
    let at = super::now_ms().saturating_add(ms.max(0)) / 1000;
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

pub fn render(s: &Snapshot, dialect: Dialect) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let pairs = [(s.requests, 0), (s.tokens, 1)];
    for (state, which) in pairs {
        let Some(st) = state else { continue };
        let names: [&'static str; 3] = match (dialect, which) {
            (Dialect::Anthropic, 0) => [
                "anthropic-ratelimit-requests-limit",
                "anthropic-ratelimit-requests-remaining",
                "anthropic-ratelimit-requests-reset",
            ],
            (Dialect::Anthropic, _) => [
                "anthropic-ratelimit-tokens-limit",
                "anthropic-ratelimit-tokens-remaining",
                "anthropic-ratelimit-tokens-reset",
            ],
            (_, 0) => [
                "x-ratelimit-limit-requests",
                "x-ratelimit-remaining-requests",
                "x-ratelimit-reset-requests",
            ],
            _ => [
                "x-ratelimit-limit-tokens",
                "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-tokens",
            ],
        };
        let reset = if dialect == Dialect::Anthropic {
            rfc3339_in(st.reset_ms)
        } else {
            secs(st.reset_ms)
        };
        out.push((names[0], st.limit.to_string()));
        out.push((names[1], st.remaining.to_string()));
        out.push((names[2], reset));
    }
    out
}

/// Adds the admission's limit headers to a successful answer.
pub fn decorate(req: &HttpRequest, res: &mut HttpResponse, dialect: Dialect) {
    let Some(snapshot) = req.extensions().get::<Snapshot>().copied() else {
        return;
    };
    for (name, value) in render(&snapshot, dialect) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
}

/// Adds them to an error answered after admission (a refusal carries its own).
pub fn decorate_error(req: &HttpRequest, mut e: V1Error) -> V1Error {
    if e.headers.is_empty() {
        if let Some(snapshot) = req.extensions().get::<Snapshot>().copied() {
            e.headers = render(&snapshot, e.dialect);
        }
    }
    e
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after(ms: i64) -> (&'static str, String) {
    ("retry-after", ((ms.max(1) + 999) / 1000).to_string())
}
