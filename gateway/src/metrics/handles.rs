//! The metric handles of one settled request's label set, remembered.
//!
//! prometheus's `with_label_values` hashes the label values, takes the family's lock and
//! clones the child on every call; a settlement makes five such calls, ~1k instructions,
//! for label sets that repeat on nearly every request. The handles are the same children
//! the families hold, so what they count is rendered exactly as before; a family that is
//! never asked for a child (no first byte, no failover, a zero count) still gets no series.

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock};

/// Label sets remembered at most; past this the memo starts again (labels are bounded, see
/// the module above, so this is only a guard).
const CAPACITY: usize = 4096;

/// Kinds of tokens counted, in the order of [`Handles::tokens`].
pub const TOKEN_KINDS: [&str; 5] = [
    "prompt",
    "completion",
    "cached_read",
    "cache_write",
    "reasoning",
];

/// What a settlement's metrics are labelled with.
pub struct Labels<'a> {
    pub endpoint: &'a str,
    pub model: &'a str,
    pub channel: &'a str,
    pub status_class: &'a str,
}

impl Labels<'_> {
    fn owned(&self) -> [Box<str>; 4] {
        [
            self.endpoint.into(),
            self.model.into(),
            self.channel.into(),
            self.status_class.into(),
        ]
    }

    fn matches(&self, owned: &[Box<str>; 4]) -> bool {
        *owned[0] == *self.endpoint
            && *owned[1] == *self.model
            && *owned[2] == *self.channel
            && *owned[3] == *self.status_class
    }
}

/// The families a settlement records into.
pub struct Families<'a> {
    pub requests: &'a IntCounterVec,
    pub latency: &'a HistogramVec,
    pub first_token: &'a HistogramVec,
    pub failovers: &'a IntCounterVec,
    pub quota: &'a IntCounterVec,
    pub tokens: &'a IntCounterVec,
}

/// One label set's children, each fetched from its family on first use.
pub struct Handles {
    labels: [Box<str>; 4],
    pub requests: IntCounter,
    pub latency: Histogram,
    first_token: OnceLock<Histogram>,
    failovers: OnceLock<IntCounter>,
    quota: OnceLock<IntCounter>,
    tokens: [OnceLock<IntCounter>; 5],
}

impl Handles {
    fn new(f: &Families<'_>, labels: &Labels<'_>) -> Self {
        Handles {
            labels: labels.owned(),
            requests: f.requests.with_label_values(&[
                labels.endpoint,
                labels.model,
                labels.channel,
                labels.status_class,
            ]),
            latency: f
                .latency
                .with_label_values(&[labels.endpoint, labels.model]),
            first_token: OnceLock::new(),
            failovers: OnceLock::new(),
            quota: OnceLock::new(),
            tokens: Default::default(),
        }
    }

    fn endpoint_model(&self) -> [&str; 2] {
        [&self.labels[0], &self.labels[1]]
    }

    pub fn first_token(&self, f: &Families<'_>) -> &Histogram {
        self.first_token
            .get_or_init(|| f.first_token.with_label_values(&self.endpoint_model()))
    }

    pub fn failovers(&self, f: &Families<'_>) -> &IntCounter {
        self.failovers
            .get_or_init(|| f.failovers.with_label_values(&self.endpoint_model()))
    }

    pub fn quota(&self, f: &Families<'_>) -> &IntCounter {
        self.quota
            .get_or_init(|| f.quota.with_label_values(&[&*self.labels[1]]))
    }

    /// The counter of `TOKEN_KINDS[kind]`.
    pub fn tokens(&self, f: &Families<'_>, kind: usize) -> &IntCounter {
        self.tokens[kind].get_or_init(|| {
            f.tokens
                .with_label_values(&[&*self.labels[1], TOKEN_KINDS[kind]])
        })
    }
}

/// Handles by a hash of their labels; a hash shared by two label sets keeps the first,
/// and the second is served without the memo.
#[derive(Default)]
pub struct HandleMemo {
    by_hash: Mutex<HashMap<u64, Arc<Handles>, crate::util::FastHash>>,
}

impl HandleMemo {
    pub fn get(&self, f: &Families<'_>, labels: &Labels<'_>) -> Arc<Handles> {
        let Ok(mut map) = self.by_hash.lock() else {
            return Arc::new(Handles::new(f, labels));
        };
        let hash = map.hasher().hash_one((
            labels.endpoint,
            labels.model,
            labels.channel,
            labels.status_class,
        ));
        if let Some(h) = map.get(&hash) {
            if labels.matches(&h.labels) {
                return Arc::clone(h);
            }
            return Arc::new(Handles::new(f, labels));
        }
        if map.len() >= CAPACITY {
            map.clear();
        }
        let h = Arc::new(Handles::new(f, labels));
        map.insert(hash, Arc::clone(&h));
        h
    }
}
