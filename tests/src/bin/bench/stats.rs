//! Results of one path in one workload, merged over its interleaved blocks.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::Sample;

/// Durations in nanoseconds; percentiles by sorting (a run holds a few million at most).
#[derive(Debug, Default, Clone)]
pub struct Series(Vec<u64>);

impl Series {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_nanos().min(u64::MAX as u128) as u64);
    }

    pub fn extend(&mut self, other: Series) {
        self.0.extend(other.0);
    }

    pub fn sort(&mut self) {
        self.0.sort_unstable();
    }

    /// The `p`-th percentile (nearest rank) of a sorted series.
    pub fn pct(&self, p: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.0.len()) - 1;
        Some(Duration::from_nanos(self.0[i]))
    }

    pub fn max(&self) -> Option<Duration> {
        self.0.iter().max().map(|n| Duration::from_nanos(*n))
    }

    pub fn count_above(&self, limit: Duration) -> usize {
        let limit = limit.as_nanos() as u64;
        self.0.iter().filter(|n| **n > limit).count()
    }
}

/// What one path did in one workload.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub latency: Series,
    pub first_event: Series,
    pub max_gap: Series,
    /// Streams with a wrong event count or no `[DONE]`.
    pub bad_streams: u64,
    /// Event counts seen in bad streams (count → streams).
    pub bad_counts: BTreeMap<u32, u64>,
    /// Time the blocks took, summed.
    pub elapsed: Duration,
}

impl Run {
    pub fn error(&mut self, message: impl Into<String>) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message.into());
        }
    }

    /// Records an answer; `expected` is the SSE event count a stream must carry.
    pub fn record(&mut self, s: &Sample, expected: Option<u32>) {
        if s.status != 200 {
            let body: String = s.error_body.chars().take(200).collect();
            self.error(format!("HTTP {}: {}", s.status, body.trim()));
            return;
        }
        self.ok += 1;
        self.latency.push(s.total);
        if let Some(expected) = expected {
            if let Some(first) = s.first_event {
                self.first_event.push(first);
            }
            self.max_gap.push(s.max_gap);
            if s.events != expected || !s.done {
                self.bad_streams += 1;
                *self.bad_counts.entry(s.events).or_default() += 1;
            }
        }
    }

    pub fn merge(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latency.extend(other.latency);
        self.first_event.extend(other.first_event);
        self.max_gap.extend(other.max_gap);
        self.bad_streams += other.bad_streams;
        for (k, v) in other.bad_counts {
            *self.bad_counts.entry(k).or_default() += v;
        }
        self.elapsed += other.elapsed;
    }

    pub fn sort(&mut self) {
        self.latency.sort();
        self.first_event.sort();
        self.max_gap.sort();
    }

    /// Completed answers per second over the time the blocks took.
    pub fn rate(&self) -> f64 {
        match self.elapsed.as_secs_f64() {
            s if s > 0.0 => self.ok as f64 / s,
            _ => 0.0,
        }
    }
}
