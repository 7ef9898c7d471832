//! Never below zero: the output a request may produce is planned before the call and
//! paid for in advance.
//!
//! The limit sent upstream is the smallest of the client's own limit (or the model's
//! default from `services/model_catalog.rs`), the model's maximum and, when the balance
//! cannot pay for that, what the balance can pay for after the prompt estimate. The
//! reservation covers the prompt estimate and the planned output (the worst case), so a
//! balance large enough for it is served from the replica's lease in memory as before;
//! only a balance near its end (smaller than the worst case) is read from the database,
//! and then everything it holds, up to the worst case, is reserved at once with the
//! usual conditional UPDATE. Settlement never charges more than the reservation plus
//! what the replica's lease still holds (`QuotaLeases::refund_capped`): both were taken
//! from the balance already, so no request, on any replica, can take a balance below zero.

use super::billing::Prices;
use super::quota_lease::QuotaLeases;
use crate::providers::output_limit::OutputLimit;
use crate::providers::{Endpoint, Provider};
use crate::services::model_catalog::{self, ModelLimits};
use crate::store::ledger::{Holder, Reservation, ReserveError};
use crate::store::{DbError, Store, Token};

/// Attempts at reserving what a balance near its end holds, when other requests take
/// from it at the same moment.
const NEAR_END_TRIES: usize = 3;

/// The output planned for one request.
#[derive(Debug, Clone, Copy)]
pub struct OutputPlan {
    /// The client's own limit per answer.
    pub requested: Option<u64>,
    /// The limit per answer the reservation pays for.
    pub limit: u64,
    /// Answers asked for (`n`); 0 when the call produces no output (embeddings).
    choices: u64,
    /// The requested model's limits (its default when the client set none).
    model: ModelLimits,
}

impl OutputPlan {
    /// `model` is the one the client asked for, `requested` its own limit per answer and
    /// `choices` the answers it asked for (`n`).
    pub fn new(model: &str, requested: Option<u64>, choices: u64, ep: Endpoint) -> Self {
        let model = model_catalog::lookup(model);
        let choices = if ep == Endpoint::Embeddings {
            0
        } else {
            choices.max(1)
        };
        OutputPlan {
            requested,
            limit: model.planned(requested),
            choices,
            model,
        }
    }

    fn produces_output(&self) -> bool {
        self.choices > 0
    }

    /// The quota for the prompt estimate and `per_answer` output tokens per answer.
    fn cost(&self, prices: &Prices, prompt: u64, per_answer: u64) -> Option<i64> {
        prices.quota(prompt, per_answer.saturating_mul(self.choices))
    }

    /// The worst case of the plan as it stands.
    pub fn worst_case(&self, prices: &Prices, prompt: u64) -> Option<i64> {
        self.cost(prices, prompt, self.limit)
    }

    /// The least a balance must hold for this request: the prompt and the minimal answer.
    pub fn minimum(&self, prices: &Prices, prompt: u64) -> Option<i64> {
        self.cost(prices, prompt, self.model.min_answer.min(self.limit))
    }

    /// The most output per answer (up to the plan's limit) that `budget` pays for after
    /// the prompt; `None` when it does not pay for the minimal answer. A binary search
    /// over the price formula, so it holds whatever shape the formula takes.
    fn affordable(&self, prices: &Prices, prompt: u64, budget: i64) -> Option<u64> {
        let floor = self.model.min_answer.min(self.limit);
        if self.cost(prices, prompt, floor)? > budget {
            return None;
        }
        let (mut lo, mut hi) = (floor, self.limit);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            match self.cost(prices, prompt, mid) {
                Some(c) if c <= budget => lo = mid,
                _ => hi = mid - 1,
            }
        }
        Some(lo)
    }

    /// The limit for one attempt on a channel: the plan's, within the upstream model's
    /// maximum, written when the provider requires one (Anthropic) or when it is below
    /// what the client asked for. Also the value of `x-gateway-output-capped`, when the
    /// gateway lowered the client's limit. `mapped` says whether the channel renamed the
    /// model (else the plan's own limits are the upstream model's).
    pub fn for_attempt(&self, provider: Provider, upstream_model: &str, mapped: bool) -> Attempt {
        if !self.produces_output() {
            return Attempt::default();
        }
        let upstream = if mapped {
            model_catalog::lookup(upstream_model)
        } else {
            self.model
        };
        let limit = upstream
            .max_output
            .map_or(self.limit, |max| self.limit.min(max));
        let asked = self.requested.unwrap_or(self.model.default_output);
        let lowered = limit < asked;
        let required = provider == Provider::Anthropic && self.requested.is_none();
        Attempt {
            limit: Some(OutputLimit {
                set: (lowered || required).then_some(limit),
                reasoning: upstream.reasoning,
            }),
            capped: lowered.then_some(limit),
        }
    }
}

/// The output limit of one attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt {
    pub limit: Option<OutputLimit>,
    /// The limit the gateway lowered the client's to.
    pub capped: Option<u64>,
}

/// What reserving for a request needs.
pub struct Reserve<'a> {
    pub quota: &'a QuotaLeases,
    pub store: &'a dyn Store,
    pub token: &'a Token,
    pub user_id: i64,
    pub prices: Prices,
    /// The prompt estimate in tokens.
    pub prompt: u64,
}

/// Reserves the plan's worst case, or, when a balance cannot pay for it, everything the
/// balance holds up to it, lowering the plan's limit to what that pays for. Refused
/// (before any upstream call) when the balance cannot pay for the prompt and the minimal
/// answer.
pub async fn reserve(
    r: &Reserve<'_>,
    plan: &mut OutputPlan,
    worst: i64,
) -> Result<Result<Reservation, Refused>, DbError> {
    let first = r.quota.reserve(r.token, r.user_id, worst).await?;
    let mut refused = match first {
        Ok(reservation) => return Ok(Ok(reservation)),
        Err(which) => Refused { which, token: None },
    };
    if !plan.produces_output() || worst <= 0 {
        return Ok(Err(refused));
    }
    let minimum = plan.minimum(&r.prices, r.prompt).unwrap_or(worst);
    for _ in 0..NEAR_END_TRIES {
        // Quota this replica gave back may still be queued: it is written before reading.
        let steady = r.quota.steady().await;
        let (available, short) = available(r, refused.which, minimum).await?;
        drop(steady);
        refused = short;
        let Some(per_answer) = plan.affordable(&r.prices, r.prompt, available.min(worst)) else {
            return Ok(Err(refused));
        };
        let Some(amount) = plan.cost(&r.prices, r.prompt, per_answer) else {
            return Ok(Err(refused));
        };
        match r.quota.reserve(r.token, r.user_id, amount).await? {
            Ok(reservation) => {
                plan.limit = per_answer;
                return Ok(Ok(reservation));
            }
            Err(which) => refused.which = which,
        }
    }
    Ok(Err(refused))
}

/// Why a reservation was refused, with the key as the refusal read it (if it did), so
/// the caller can tell a key disabled elsewhere without reading it again.
#[derive(Debug)]
pub struct Refused {
    pub which: ReserveError,
    pub token: Option<Token>,
}

/// What the smaller of the key's (when limited) and the user's balance holds, counting
/// this replica's lease, and which of them it is. The balance that refused is read first;
/// when it cannot pay for the minimal answer the other is not read (a refusal near the
/// end of a balance costs one read).
async fn available(
    r: &Reserve<'_>,
    refused: ReserveError,
    minimum: i64,
) -> Result<(i64, Refused), DbError> {
    let limited_token = !r.token.unlimited_quota;
    let first = if limited_token && refused == ReserveError::Token {
        ReserveError::Token
    } else {
        ReserveError::User
    };
    let (first_has, first_token) = balance(r, first).await?;
    let first = Refused {
        which: first,
        token: first_token,
    };
    if first_has < minimum || (first.which == ReserveError::User && !limited_token) {
        return Ok((first_has, first));
    }
    let other = match first.which {
        ReserveError::Token => ReserveError::User,
        ReserveError::User => ReserveError::Token,
    };
    let (other_has, other_token) = balance(r, other).await?;
    Ok(if first_has <= other_has {
        (first_has, first)
    } else {
        let token = other_token.or(first.token);
        (
            other_has,
            Refused {
                which: other,
                token,
            },
        )
    })
}

/// One balance as stored plus what this replica holds of it (0 when not enabled), and
/// the key when it was the one read.
async fn balance(r: &Reserve<'_>, which: ReserveError) -> Result<(i64, Option<Token>), DbError> {
    Ok(match which {
        ReserveError::User => {
            let stored = r
                .store
                .user_by_id(r.user_id)
                .await?
                .filter(|u| u.status == 1)
                .map_or(0, |u| u.quota);
            (
                stored.saturating_add(r.quota.held(Holder::User(r.user_id))),
                None,
            )
        }
        ReserveError::Token => {
            let token = r.store.token_by_id(r.token.id).await?;
            let stored = token
                .as_ref()
                .filter(|t| t.status == 1)
                .map_or(0, |t| t.remain_quota);
            (
                stored.saturating_add(r.quota.held(Holder::Token(r.token.id))),
                token,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(limit: u64, choices: u64, model: &str) -> OutputPlan {
        let model = model_catalog::lookup(model);
        OutputPlan {
            requested: Some(limit),
            limit,
            choices,
            model,
        }
    }

    const PRICES: Prices = Prices {
        model_ratio: 1.0,
        completion_ratio: 3.0,
        group_ratio: 1.0,
        cache_read_ratio: 1.0,
        cache_write_ratio: 1.0,
        cache_write_1h_ratio: 1.0,
        builtin: None,
    };

    #[test]
    fn the_affordable_output_is_the_most_the_budget_pays_for() {
        let p = plan(1000, 1, "gpt-4o-mini");
        // 10 + 3 × 100 = 310
        assert_eq!(p.affordable(&PRICES, 10, 310), Some(100));
        assert_eq!(p.affordable(&PRICES, 10, 312), Some(100));
        assert_eq!(p.affordable(&PRICES, 10, 1_000_000), Some(1000));
        // The floor for gpt-4o-mini is 16 tokens: 10 + 48 = 58.
        assert_eq!(p.affordable(&PRICES, 10, 57), None);
        assert_eq!(p.affordable(&PRICES, 10, 58), Some(16));
        let two = plan(1000, 2, "gpt-4o-mini");
        assert_eq!(two.affordable(&PRICES, 10, 610), Some(100));
    }

    #[test]
    fn reasoning_models_need_a_larger_floor() {
        let p = plan(50_000, 1, "o4-mini");
        assert_eq!(p.affordable(&PRICES, 10, 10 + 3 * 1023), None);
        assert_eq!(p.affordable(&PRICES, 10, 10 + 3 * 1024), Some(1024));
    }

    #[test]
    fn the_attempt_writes_the_limit_only_when_lowered_or_required() {
        let mut p = plan(500, 1, "gpt-4o-mini");
        let a = p.for_attempt(Provider::OpenAi, "gpt-4o-mini", false);
        assert_eq!(a.capped, None);
        assert_eq!(a.limit.and_then(|l| l.set), None);
        p.limit = 100;
        let a = p.for_attempt(Provider::OpenAi, "o3", true);
        assert_eq!(a.capped, Some(100));
        assert_eq!(
            a.limit.map(|l| (l.set, l.reasoning)),
            Some((Some(100), true))
        );
        let mut none = plan(0, 1, "claude-3-5-haiku");
        none.requested = None;
        none.limit = none.model.planned(None);
        let a = none.for_attempt(Provider::Anthropic, "claude-3-5-haiku", false);
        assert_eq!((a.capped, a.limit.and_then(|l| l.set)), (None, Some(8192)));
    }
}
