//! Admission of one `/v1` request against its key's and user's limits, and the
//! corrections at settlement (actual tokens and spend instead of the estimate).

use super::counters::Counters;
use super::headers::{self, Snapshot};
use super::now_ms;
use super::period::{self, budget, Period};
use crate::services::dispatch::key_auth::Caller;
use crate::state::AppState;
use crate::store::limits::Limits;
use crate::v1_core::error::{Dialect, V1Error};
use std::sync::Arc;

/// What the request is expected to use: tokens (prompt estimate + capped output) and
/// quota (the same, priced).
#[derive(Debug, Clone, Copy)]
pub struct Want {
    pub tokens: i64,
    pub quota: i64,
    pub dialect: Dialect,
}

impl Want {
    pub fn new(tokens: u64, quota: i64, dialect: Dialect) -> Self {
        Want {
            tokens: i64::try_from(tokens).unwrap_or(i64::MAX),
            quota,
            dialect,
        }
    }
}

/// What one admitted request holds; settle it once with the actual use.
pub struct Admission {
    counters: Arc<Counters>,
    /// (key, limit, tokens charged)
    tpm: Vec<(String, i64, i64)>,
    /// (key, ttl ms) of budgets charged `quota`.
    budgets: Vec<(String, i64)>,
    /// (key, slot id, held in Redis)
    slots: Vec<(String, String, bool)>,
    quota: i64,
    pub snapshot: Snapshot,
}

/// A subject's name in counter keys (`k:12`, `u:3`), written only when a limit needs it.
#[derive(Clone, Copy)]
struct Tag {
    key: bool,
    id: i64,
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.key { "k:" } else { "u:" };
        f.write_str(kind)?;
        f.write_str(itoa::Buffer::new().format(self.id))
    }
}

struct Subject {
    tag: Tag,
    limits: Limits,
    what: &'static str,
}

fn subjects(caller: &Caller) -> [Subject; 2] {
    let (k, u) = (caller.token.limits, caller.user.limits);
    [
        Subject {
            tag: Tag {
                key: true,
                id: caller.token.id,
            },
            limits: super::key_limits(&k, &u),
            what: "this API key",
        },
        Subject {
            tag: Tag {
                key: false,
                id: caller.user.id,
            },
            limits: u,
            what: "your account",
        },
    ]
}

fn refusal(adm: Admission, message: String, code: &str, retry_ms: i64, d: Dialect) -> V1Error {
    let mut e = V1Error::rate_limited(message).code(code);
    e.headers = headers::render(&adm.snapshot, d);
    e.headers.push(headers::retry_after(retry_ms));
    adm.settle(0, 0);
    e
}

/// Checks and counts the request; a refusal is a 429 with `Retry-After` and what it held
/// is given back.
pub async fn admit(state: &AppState, caller: &Caller, want: Want) -> Result<Admission, V1Error> {
    let c = state.limits.clone();
    let mut adm = Admission {
        counters: c.clone(),
        tpm: Vec::new(),
        budgets: Vec::new(),
        slots: Vec::new(),
        quota: want.quota,
        snapshot: Snapshot::default(),
    };
    let subjects = subjects(caller);
    let d = want.dialect;
    for s in &subjects {
        let rpm = s.limits.rate_limit_per_minute;
        if rpm > 0 {
            let st = c
                .rate(&c.key(&format!("rpm:{}", s.tag)), rpm, 1, false)
                .await;
            adm.snapshot.requests = headers::tighter(adm.snapshot.requests, st);
            if !st.allowed {
                let msg = format!("{} is over its limit of {rpm} requests per minute", s.what);
                return Err(refusal(
                    adm,
                    msg,
                    "rate_limit_exceeded",
                    st.retry_after_ms,
                    d,
                ));
            }
        }
        let tpm = s.limits.tokens_per_minute;
        if tpm > 0 {
            let key = c.key(&format!("tpm:{}", s.tag));
            let cost = want.tokens.clamp(0, tpm);
            let st = c.rate(&key, tpm, cost, false).await;
            adm.snapshot.tokens = headers::tighter(adm.snapshot.tokens, st);
            if !st.allowed {
                let msg = format!("{} is over its limit of {tpm} tokens per minute", s.what);
                return Err(refusal(
                    adm,
                    msg,
                    "rate_limit_exceeded",
                    st.retry_after_ms,
                    d,
                ));
            }
            adm.tpm.push((key, tpm, cost));
        }
    }
    // Read only when a budget needs it: most keys have none.
    let mut tz: Option<String> = None;
    let mut clock: Option<i64> = None;
    for s in &subjects {
        for p in Period::ALL {
            let limit = budget(&s.limits, p);
            if limit <= 0 {
                continue;
            }
            let tz = tz.get_or_insert_with(|| state.options.get().text("timezone"));
            let now = *clock.get_or_insert_with(now_ms);
            let (id, start, end) = period::bounds(p, tz, now);
            let left_ms = end.saturating_mul(1000).saturating_sub(now);
            let ttl = left_ms.saturating_add(86_400_000);
            let key = c.key(&format!("budget:{}:{id}", s.tag));
            let counted = match c.spend_or_missing(&key, want.quota, limit, ttl, true).await {
                Some(v) => v,
                None => {
                    // Redis lost the counter (restarted, nothing on disk): rebuild it
                    // from the log before counting.
                    let seed = spent_in_db(state, caller, s.tag, start).await;
                    c.seed(&key, seed, ttl).await;
                    c.spend(&key, want.quota, limit, ttl).await
                }
            };
            let (added, spent) = counted;
            if !added {
                let msg = format!(
                    "{} has reached its {} budget ({spent} of {limit} used; this request needs up to {})",
                    s.what,
                    p.name(),
                    want.quota
                );
                return Err(refusal(adm, msg, "budget_exceeded", left_ms, d));
            }
            adm.budgets.push((key, ttl));
        }
    }
    for s in &subjects {
        let limit = s.limits.max_concurrency;
        if limit <= 0 {
            continue;
        }
        let key = c.key(&format!("conc:{}", s.tag));
        let id = uuid::Uuid::new_v4().to_string();
        match c.acquire(&key, limit, &id).await {
            Some(shared) => adm.slots.push((key, id, shared)),
            None => {
                let msg = format!("{} already has {limit} requests in progress", s.what);
                return Err(refusal(adm, msg, "concurrency_limit_exceeded", 1000, d));
            }
        }
    }
    Ok(adm)
}

/// What the subject spent since `start` according to the log (rows and daily rollups).
/// A key is matched by its user and name (the log's filters); 0 when the database fails.
async fn spent_in_db(state: &AppState, caller: &Caller, tag: Tag, start: i64) -> i64 {
    let filter = crate::store::logs::LogFilter {
        user_id: Some(caller.user.id),
        start: Some(start),
        token_name: tag.key.then(|| caller.token.name.clone()),
        ..Default::default()
    };
    match state.store.log_stats(&filter).await {
        Ok(s) => s.total.quota.max(0),
        Err(e) => {
            log::warn!("could not rebuild a budget counter from the log: {e}");
            0
        }
    }
}

impl Admission {
    /// Corrects the counters to the actual use (0, 0 for a request that never ran) and
    /// frees the concurrency slots.
    pub fn settle(mut self, tokens: i64, quota: i64) {
        let tpm = std::mem::take(&mut self.tpm);
        let budgets = std::mem::take(&mut self.budgets);
        let slots = std::mem::take(&mut self.slots);
        let delta = quota - self.quota;
        // A key and user without limits (the common case) have nothing to correct: no
        // task for them.
        if tpm.is_empty() && (delta == 0 || budgets.is_empty()) && slots.is_empty() {
            return;
        }
        let c = self.counters.clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            release_local(&c, &slots);
            return;
        };
        rt.spawn(async move {
            for (key, limit, cost) in tpm {
                let d = tokens.clamp(0, limit) - cost;
                if d != 0 {
                    c.rate(&key, limit, d, true).await;
                }
            }
            if delta != 0 {
                for (key, ttl) in budgets {
                    c.spend(&key, delta, 0, ttl).await;
                }
            }
            for (key, id, shared) in slots {
                c.release(&key, &id, shared).await;
            }
        });
    }
}

fn release_local(c: &Counters, slots: &[(String, String, bool)]) {
    for (key, _, shared) in slots {
        if !shared {
            c.local.release(key);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        // Settled admissions have no slots left; this covers one dropped unsettled.
        if !self.slots.is_empty() {
            let slots = std::mem::take(&mut self.slots);
            let c = self.counters.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move {
                        for (key, id, shared) in slots {
                            c.release(&key, &id, shared).await;
                        }
                    });
                }
                Err(_) => release_local(&c, &slots),
            }
        }
    }
}
