//! Recording one settled `/v1` request.

use super::handles::Labels;
use super::names::NO_CHANNEL;
use super::{status_class, Metrics};
use shared::openai::Usage;

/// What a settlement knows about a finished request.
pub struct Settled<'a> {
    pub endpoint: &'a str,
    pub model: &'a str,
    /// The channel's name; empty when no channel was reached.
    pub channel: &'a str,
    pub status: u16,
    pub usage: &'a Usage,
    pub latency_ms: i64,
    /// For answered streams: when the upstream's answer began.
    pub first_byte_ms: Option<i64>,
    pub quota: i64,
    /// Channels tried (0 or 1: no failover).
    pub attempts: u32,
}

fn secs(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

fn detail(v: Option<&serde_json::Value>, keys: &[&str]) -> u64 {
    let Some(v) = v else { return 0 };
    keys.iter()
        .find_map(|k| v.get(*k).and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

impl Metrics {
    pub fn record(&self, s: &Settled<'_>) {
        let routed = !s.channel.is_empty();
        let model = self.model_label(s.model, routed);
        let labels = Labels {
            endpoint: s.endpoint,
            model,
            channel: if routed { s.channel } else { NO_CHANNEL },
            status_class: status_class(s.status),
        };
        let f = self.families();
        let h = self.handles.get(&f, &labels);
        h.requests.inc();
        h.latency.observe(secs(s.latency_ms));
        if let Some(ms) = s.first_byte_ms {
            h.first_token(&f).observe(secs(ms));
        }
        if s.attempts > 1 {
            h.failovers(&f).inc_by(u64::from(s.attempts - 1));
        }
        if let Ok(q) = u64::try_from(s.quota) {
            if q > 0 {
                h.quota(&f).inc_by(q);
            }
        }
        let u = s.usage;
        let prompt_details = u.prompt_tokens_details.as_ref();
        // In the order of `TOKEN_KINDS`.
        let counts = [
            u.prompt_tokens,
            u.completion_tokens,
            u.cached_tokens(),
            detail(
                prompt_details,
                &["cache_creation_tokens", "cache_write_tokens"],
            ),
            detail(u.completion_tokens_details.as_ref(), &["reasoning_tokens"]),
        ];
        for (kind, n) in counts.into_iter().enumerate() {
            if n > 0 {
                h.tokens(&f, kind).inc_by(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled<'a>(model: &'a str, channel: &'a str, usage: &'a Usage) -> Settled<'a> {
        Settled {
            endpoint: "chat",
            model,
            channel,
            status: 200,
            usage,
            latency_ms: 120,
            first_byte_ms: Some(40),
            quota: 30,
            attempts: 2,
        }
    }

    #[test]
    fn unknown_models_are_labelled_other_and_ids_never_appear() {
        let m = Metrics::new();
        let usage = Usage::new(10, 5);
        m.record(&settled("made-up-model-123", "", &usage));
        m.record(&settled("gpt-4o", "main", &usage));
        let text = m.render().unwrap();
        assert!(text.contains(r#"model="other""#), "{text}");
        assert!(!text.contains("made-up-model-123"), "{text}");
        assert!(
            text.contains(r#"gateway_tokens_total{kind="prompt",model="gpt-4o"} 10"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gateway_failovers_total{endpoint="chat",model="gpt-4o"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn remembered_handles_count_into_the_series_of_their_own_labels() {
        let m = Metrics::new();
        let usage = Usage::new(10, 5);
        let mut s = settled("gpt-4o", "main", &usage);
        s.attempts = 1;
        s.first_byte_ms = None;
        m.record(&s);
        m.record(&s);
        s.status = 502;
        m.record(&s);
        let text = m.render().unwrap();
        let ok = r#"gateway_requests_total{channel="main",endpoint="chat",model="gpt-4o",status_class="2xx"} 2"#;
        let failed = r#"gateway_requests_total{channel="main",endpoint="chat",model="gpt-4o",status_class="5xx"} 1"#;
        assert!(text.contains(ok), "{text}");
        assert!(text.contains(failed), "{text}");
        assert!(
            text.contains(r#"gateway_tokens_total{kind="prompt",model="gpt-4o"} 30"#),
            "{text}"
        );
        // Families never asked for a child still have no series.
        assert!(!text.contains("gateway_failovers_total{"), "{text}");
        assert!(
            !text.contains("gateway_time_to_first_token_seconds_count{"),
            "{text}"
        );
        assert!(!text.contains(r#"kind="reasoning""#), "{text}");
    }

    #[test]
    fn configured_models_keep_their_name_before_routing() {
        let m = Metrics::new();
        let mut ch = crate::providers::anthropic::testkit::channel("http://127.0.0.1:9");
        ch.name = "c1".into();
        ch.models = vec!["m-known".into()];
        ch.status = crate::store::CHANNEL_ENABLED;
        m.channels_loaded(&[std::sync::Arc::new(ch)]);
        let usage = Usage::default();
        let mut s = settled("m-known", "", &usage);
        s.status = 429;
        m.record(&s);
        let text = m.render().unwrap();
        assert!(
            text.contains(r#"channel="none",endpoint="chat",model="m-known",status_class="4xx""#),
            "{text}"
        );
        assert!(
            text.contains(r#"gateway_channel_state{channel="c1",state="enabled"} 1"#),
            "{text}"
        );
    }
}
