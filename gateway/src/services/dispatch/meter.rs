//! Tracks one `/v1` request from authentication to settlement, and settles it exactly
//! once: explicitly when the request ends, or from `Drop` when the client went away.

use super::billing::Priced;
use super::key_auth::Caller;
use super::quota_lease::QuotaLeases;
use super::token_usage::TokenUsage;
use crate::metrics::Settled;
use crate::store::ledger::{Holder, Reservation, Settlement};
use crate::store::logs::NewLog;
use crate::store::sql::Text;
use crate::store::Channel;
use shared::openai::Usage;
use std::sync::Arc;
use std::time::Instant;

struct MeterData {
    quota: Arc<QuotaLeases>,
    started: Instant,
    log: NewLog,
    token_id: i64,
    user_id: i64,
    reservation: Reservation,
    /// The request's prices with the log row's JSON of them.
    priced: Option<Priced>,
    usage: Usage,
    /// Channels tried, for the failover count.
    attempts: u32,
    admission: Option<crate::services::limits::Admission>,
    /// Tells a request the shutdown cut from one its client left.
    shutdown: Option<crate::shutdown::ShutdownWatch>,
    /// The call's spans (inert unless tracing is on); ended at settlement.
    trace: crate::tracing_otel::CallTrace,
}

pub struct Meter {
    inner: Option<MeterData>,
}

impl Meter {
    pub fn new(
        quota: Arc<QuotaLeases>,
        caller: &Caller,
        request_id: Arc<str>,
        ip: String,
        started: Instant,
    ) -> Self {
        let log = NewLog {
            created_at: crate::util::now(),
            user_id: caller.user.id,
            username: Text::Name(caller.user.clone()),
            token_id: caller.token.id,
            token_name: Text::Name(caller.token.clone()),
            request_id: Text::Shared(request_id),
            ip,
            ..Default::default()
        };
        Meter {
            inner: Some(MeterData {
                quota,
                started,
                log,
                token_id: caller.token.id,
                user_id: caller.user.id,
                reservation: Reservation::default(),
                priced: None,
                usage: Usage::default(),
                attempts: 0,
                admission: None,
                shutdown: None,
                trace: Default::default(),
            }),
        }
    }

    fn with(&mut self, f: impl FnOnce(&mut MeterData)) {
        if let Some(d) = self.inner.as_mut() {
            f(d);
        }
    }

    pub fn set_model(&mut self, model: &str, stream: bool) {
        self.with(|d| {
            d.log.model_name = model.to_string();
            d.log.is_stream = stream;
        });
    }

    /// A guard counting an open stream for `/metrics` (none once handed over).
    pub fn open_stream(&self) -> Option<crate::metrics::OpenStream> {
        let d = self.inner.as_ref()?;
        Some(crate::metrics::OpenStream::new(d.quota.ledger().metrics()))
    }

    /// The caller's user id (0 once handed over).
    pub fn user_id(&self) -> i64 {
        self.inner.as_ref().map_or(0, |d| d.user_id)
    }

    pub fn set_endpoint(&mut self, endpoint: &'static str) {
        self.with(|d| d.log.endpoint = Text::Static(endpoint));
    }

    pub fn watch_shutdown(&mut self, w: crate::shutdown::ShutdownWatch) {
        self.with(|d| d.shutdown = Some(w));
    }

    pub fn set_warnings(&mut self, warnings: &[String]) {
        self.with(|d| d.log.warnings = warnings.join("; ").chars().take(1000).collect());
    }

    pub fn set_prices(&mut self, p: &Priced) {
        self.with(|d| d.priced = Some(p.clone()));
    }

    pub fn set_reservation(&mut self, r: Reservation) {
        self.with(|d| d.reservation = r);
    }

    pub fn set_admission(&mut self, a: crate::services::limits::Admission) {
        self.with(|d| d.admission = Some(a));
    }

    pub fn set_channel(&mut self, c: &Arc<Channel>, upstream_model: &str) {
        self.with(|d| {
            d.attempts = d.attempts.saturating_add(1);
            d.log.channel_id = c.id;
            d.log.channel_name = Text::Name(c.clone());
            d.log.upstream_model = upstream_model.to_string();
            d.trace.attempt_started(c, upstream_model);
        });
    }

    pub fn set_trace(&mut self, t: crate::tracing_otel::CallTrace) {
        self.with(|d| d.trace = t);
    }

    /// The call's trace, for the dispatch's tracing hooks (none once handed over).
    pub fn trace(&mut self) -> Option<&mut crate::tracing_otel::CallTrace> {
        self.inner.as_mut().map(|d| &mut d.trace)
    }

    pub fn first_byte(&mut self) {
        self.with(|d| d.log.first_byte_ms = elapsed_ms(d.started));
    }

    /// The output limit the gateway lowered the client's to (the log row's `output_cap`).
    pub fn set_output_cap(&mut self, cap: Option<u64>) {
        self.with(|d| {
            d.log.output_cap = cap.map_or(0, |c| i64::try_from(c).unwrap_or(i64::MAX));
        });
    }

    pub fn set_usage(&mut self, u: Usage) {
        self.with(|d| d.usage = u);
    }

    pub fn set_outcome(&mut self, status: u16, error: &str) {
        self.with(|d| {
            d.log.status_code = i64::from(status);
            d.log.error = error.chars().take(500).collect();
        });
    }

    /// Moves the tracking into a new meter (e.g. into a response stream), leaving this
    /// one inert so it does not settle on drop.
    pub fn hand_over(&mut self) -> Meter {
        Meter {
            inner: self.inner.take(),
        }
    }

    /// Settles now: the reservation's unused part returns to the lease at once, and the
    /// writer records the rest in its next batch.
    pub fn finish(mut self) {
        self.settle();
    }

    fn settle(&mut self) {
        if let Some(mut d) = self.inner.take() {
            let quota = d.quota.clone();
            let admission = d.admission.take();
            let (s, tokens) = settlement(&quota, d);
            if let Some(a) = admission {
                a.settle(tokens, s.actual);
            }
            quota.ledger().settle(s);
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.settle();
    }
}

fn elapsed_ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The settlement, and the tokens the call used (for the limits' admission).
fn settlement(quota: &QuotaLeases, mut d: MeterData) -> (Settlement, i64) {
    let tokens = TokenUsage::from_openai(&d.usage);
    let actual = d
        .priced
        .as_ref()
        .and_then(|p| p.prices.quota_for(&tokens))
        .unwrap_or(if d.priced.is_some() {
            d.reservation.user_amount
        } else {
            0
        });
    log_tokens(&mut d.log, &tokens);
    d.log.price = d
        .priced
        .as_ref()
        .map(|p| Text::Shared(p.applied.clone()))
        .unwrap_or_default();
    d.log.latency_ms = elapsed_ms(d.started);
    if d.log.status_code == 0 {
        // Settled from Drop before any outcome was recorded: the client went away, or the
        // shutdown's grace ran out and actix dropped the request.
        match d.shutdown.as_ref().filter(|s| s.is_over()) {
            Some(s) => {
                d.log.status_code = 503;
                d.log.error = s.cut_message();
            }
            None => {
                d.log.status_code = 499;
                d.log.error = "client closed the connection".into();
            }
        }
    }
    let (charged, returns) = charge(quota, &d, actual);
    d.log.quota = charged;
    d.log.unbilled_quota = actual - charged;
    record_metrics(quota, &d);
    d.trace.end(&d.log, &d.usage);
    let tokens = d.log.prompt_tokens + d.log.completion_tokens;
    let settlement = Settlement {
        token_id: d.token_id,
        user_id: d.user_id,
        channel_id: (d.log.channel_id > 0).then_some(d.log.channel_id),
        token_limited: d.reservation.token_limited,
        actual: charged,
        token_return: returns.token_return,
        token_held: returns.token_held,
        user_return: returns.user_return,
        token_generation: returns.token_generation,
        user_generation: returns.user_generation,
        log: d.log.into_row(),
    };
    (settlement, tokens)
}

/// What a settlement gives back to the balances, and the generations it is written under.
#[derive(Default)]
struct Returns {
    token_return: i64,
    token_held: i64,
    user_return: i64,
    token_generation: i64,
    user_generation: i64,
}

/// Charges `actual` to the key (when limited) and the user, but never more than either
/// reserved plus what its lease holds (`QuotaLeases::refund_capped`): a balance never goes
/// below zero, and what could not be charged is the log row's `unbilled_quota`.
fn charge(quota: &QuotaLeases, d: &MeterData, actual: i64) -> (i64, Returns) {
    let r = d.reservation;
    let token = Holder::Token(d.token_id);
    let mut out = Returns {
        token_generation: r.token_generation,
        user_generation: r.user_generation,
        ..Returns::default()
    };
    let mut charged = actual;
    if r.token_limited {
        let t = quota.refund_capped(token, r.token_amount, actual, r.token_generation);
        (charged, out.token_return, out.token_held) = (t.charged, t.give, t.held);
        out.token_generation = t.generation;
    }
    if r.user_amount != 0 || charged != 0 {
        let u = quota.refund_capped(
            Holder::User(d.user_id),
            r.user_amount,
            charged,
            r.user_generation,
        );
        out.user_return = u.give;
        out.user_generation = u.generation;
        if u.charged < charged && r.token_limited {
            // The user could pay less than the key was charged: the key gets the rest back.
            let (give, held) = quota.refund(token, charged - u.charged, out.token_generation);
            out.token_return += give;
            out.token_held = held;
        }
        charged = u.charged;
    }
    (charged, out)
}

/// The token classes on the log row: `prompt_tokens` counts every input token (cached or
/// not), `completion_tokens` every output token (reasoning included).
fn log_tokens(log: &mut NewLog, t: &TokenUsage) {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    log.prompt_tokens = n(t.prompt());
    log.completion_tokens = n(t.output);
    log.cache_read_tokens = n(t.cache_read);
    log.cache_write_tokens = n(t.cache_write());
    log.cache_write_1h_tokens = n(t.cache_write_1h);
    log.reasoning_tokens = n(t.reasoning);
}

/// The request's figures for `/metrics`, in the one place every request passes.
fn record_metrics(quota: &QuotaLeases, d: &MeterData) {
    let status = u16::try_from(d.log.status_code).unwrap_or(0);
    quota.ledger().metrics().record(&Settled {
        endpoint: &d.log.endpoint,
        model: &d.log.model_name,
        channel: if d.log.channel_id > 0 {
            &d.log.channel_name
        } else {
            ""
        },
        status,
        usage: &d.usage,
        latency_ms: d.log.latency_ms,
        // A local upstream can answer within the same millisecond: 0 is a real value.
        first_byte_ms: (d.log.is_stream && status == 200).then_some(d.log.first_byte_ms),
        quota: d.log.quota,
        attempts: d.attempts,
    });
}
