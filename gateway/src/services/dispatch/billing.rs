//! Prices and token counts: `quota = ceil((input + cache_read × cache_read_ratio +
//! cache_write × cache_write_ratio + cache_write_1h × cache_write_1h_ratio + output ×
//! completion_ratio) × model_ratio × group_ratio)`, with checked arithmetic throughout.

use super::price_table;
use super::token_usage::TokenUsage;
use crate::services::options::{OptionsSnapshot, BUILTIN_PRICES};
use crate::util::FastMap;
use std::sync::{Arc, RwLock};

/// The prices of one model for one group, with the JSON the log row shows of them.
#[derive(Debug, Clone)]
pub struct Priced {
    pub prices: Prices,
    pub applied: Arc<str>,
}

/// `Prices::lookup` remembered until the options change: a lookup reads six option maps
/// (each a hashed map) and the built-in table and writes the JSON, on every request, for
/// figures that change only with the options.
pub struct PriceMemo {
    state: RwLock<MemoState>,
}

#[derive(Default)]
struct MemoState {
    /// The options snapshot the entries were computed from.
    generation: u64,
    /// Group → model → prices.
    by_group: FastMap<Box<str>, FastMap<Box<str>, Priced>>,
    entries: usize,
}

/// Entries kept before the memo starts over (model names come from clients).
const PRICE_MEMO_LIMIT: usize = 4096;

impl Default for PriceMemo {
    fn default() -> Self {
        PriceMemo {
            state: RwLock::new(MemoState::default()),
        }
    }
}

impl PriceMemo {
    /// `Prices::lookup` for this snapshot, remembered.
    pub fn lookup(&self, o: &OptionsSnapshot, model: &str, group: &str) -> Priced {
        if let Ok(s) = self.state.read() {
            if s.generation == o.generation() {
                if let Some(p) = s.by_group.get(group).and_then(|m| m.get(model)) {
                    return p.clone();
                }
            }
        }
        let prices = Prices::lookup(o, model, group);
        let priced = Priced {
            prices,
            applied: prices.applied().into(),
        };
        if let Ok(mut s) = self.state.write() {
            if s.generation != o.generation() || s.entries >= PRICE_MEMO_LIMIT {
                *s = MemoState {
                    generation: o.generation(),
                    ..MemoState::default()
                };
            }
            s.by_group
                .entry(group.into())
                .or_default()
                .insert(model.into(), priced.clone());
            s.entries += 1;
        }
        priced
    }
}

/// Ratios that apply to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub model_ratio: f64,
    pub completion_ratio: f64,
    pub group_ratio: f64,
    pub cache_read_ratio: f64,
    pub cache_write_ratio: f64,
    pub cache_write_1h_ratio: f64,
    /// The built-in table entry that supplied at least one ratio.
    pub builtin: Option<&'static str>,
}

impl Prices {
    /// Looks the model the client asked for and the user's group up: each ratio comes
    /// from the operator's map for that model, else the built-in table (when on), else
    /// the default (`default_model_ratio`, `default_completion_ratio`, 1 for the cache
    /// ratios: cache tokens then cost what input costs).
    pub fn lookup(o: &OptionsSnapshot, model: &str, group: &str) -> Self {
        let table = o
            .bool(BUILTIN_PRICES)
            .then(|| price_table::find(model))
            .flatten();
        let builtin = table.map(|t| t.ratios());
        let mut used_table = false;
        let mut pick = |key: &str, from_table: Option<f64>, default: f64| {
            if let Some(r) = o.ratio(key, model) {
                return r;
            }
            match from_table {
                Some(r) => {
                    used_table = true;
                    r
                }
                None => default,
            }
        };
        let model_ratio = pick(
            "model_ratio",
            builtin.map(|b| b.model_ratio),
            o.f64("default_model_ratio"),
        );
        let completion_ratio = pick(
            "completion_ratio",
            builtin.map(|b| b.completion_ratio),
            o.f64("default_completion_ratio"),
        );
        let cache_read_ratio = pick("cache_read_ratio", builtin.map(|b| b.cache_read_ratio), 1.0);
        let cache_write_ratio = pick(
            "cache_write_ratio",
            builtin.map(|b| b.cache_write_ratio),
            1.0,
        );
        let cache_write_1h_ratio = pick(
            "cache_write_1h_ratio",
            builtin.map(|b| b.cache_write_1h_ratio),
            1.0,
        );
        Prices {
            model_ratio,
            completion_ratio,
            group_ratio: o.ratio("group_ratio", group).unwrap_or(1.0),
            cache_read_ratio,
            cache_write_ratio,
            cache_write_1h_ratio,
            builtin: table.filter(|_| used_table).map(|t| t.model),
        }
    }

    /// The quota for a prompt and completion with no cache involved (the reservation's
    /// estimate); `None` when the figure cannot be represented.
    pub fn quota(&self, prompt: u64, completion: u64) -> Option<i64> {
        self.quota_for(&TokenUsage {
            input: prompt,
            output: completion,
            ..TokenUsage::default()
        })
    }

    /// The quota for a normalised usage; `None` when the figure cannot be represented.
    pub fn quota_for(&self, u: &TokenUsage) -> Option<i64> {
        let weighted = (u.input as f64)
            + (u.cache_read as f64) * self.cache_read_ratio
            + (u.cache_write_5m as f64) * self.cache_write_ratio
            + (u.cache_write_1h as f64) * self.cache_write_1h_ratio
            + (u.output as f64) * self.completion_ratio;
        let exact = weighted * self.model_ratio * self.group_ratio;
        // Ratios such as 0.1 are not exact in binary: a product meant to be 15 can come
        // out as 15.000000000000002, which must not round up to 16.
        let q = if (exact - exact.round()).abs() < 1e-6 {
            exact.round()
        } else {
            exact.ceil()
        };
        if !q.is_finite() || q < 0.0 || q > (i64::MAX / 4) as f64 {
            return None;
        }
        // In range and integral by the checks above.
        Some(q as i64)
    }

    /// The ratios applied, for the log row: compact JSON, written directly (this runs for
    /// every request; a `Value` tree built and printed cost several times more).
    pub fn applied(&self) -> String {
        let fields = [
            ("model_ratio", self.model_ratio),
            ("completion_ratio", self.completion_ratio),
            ("cache_read_ratio", self.cache_read_ratio),
            ("cache_write_ratio", self.cache_write_ratio),
            ("cache_write_1h_ratio", self.cache_write_1h_ratio),
            ("group_ratio", self.group_ratio),
        ];
        let mut out = Vec::with_capacity(192);
        out.push(b'{');
        for (i, (name, ratio)) in fields.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            // Writing a number into a Vec cannot fail (NaN and infinities become null).
            let _ = serde_json::to_writer(&mut out, &ratio);
        }
        if let Some(name) = self.builtin {
            out.extend_from_slice(b",\"builtin\":");
            let _ = serde_json::to_writer(&mut out, name);
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> OptionsSnapshot {
        let raw = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OptionsSnapshot::from_raw(&raw)
    }

    #[test]
    fn remembered_prices_follow_the_options_and_the_group() {
        let memo = PriceMemo::default();
        let groups = r#"{"vip":0.5}"#;
        let cheap = options(&[("model_ratio", r#"{"m":2}"#), ("group_ratio", groups)]);
        for _ in 0..2 {
            let p = memo.lookup(&cheap, "m", "default");
            assert_eq!((p.prices.model_ratio, p.prices.group_ratio), (2.0, 1.0));
            assert_eq!(&*p.applied, p.prices.applied());
        }
        assert_eq!(memo.lookup(&cheap, "m", "vip").prices.group_ratio, 0.5);
        let dear = options(&[("model_ratio", r#"{"m":3}"#), ("group_ratio", groups)]);
        assert_eq!(memo.lookup(&dear, "m", "default").prices.model_ratio, 3.0);
        assert_eq!(memo.lookup(&dear, "m", "vip").prices.model_ratio, 3.0);
    }

    #[test]
    fn applied_ratios_are_the_json_a_value_would_print() {
        let p = Prices {
            model_ratio: 1.0,
            completion_ratio: 0.25,
            group_ratio: 1.5,
            cache_read_ratio: 0.1,
            cache_write_ratio: 1.25,
            cache_write_1h_ratio: f64::NAN,
            builtin: Some("claude \"x\""),
        };
        let expected = serde_json::json!({
            "model_ratio": 1.0, "completion_ratio": 0.25, "cache_read_ratio": 0.1,
            "cache_write_ratio": 1.25, "cache_write_1h_ratio": f64::NAN, "group_ratio": 1.5,
            "builtin": "claude \"x\"",
        });
        assert_eq!(p.applied(), expected.to_string());
    }

    fn p(m: f64, c: f64, g: f64) -> Prices {
        Prices {
            model_ratio: m,
            completion_ratio: c,
            group_ratio: g,
            cache_read_ratio: 1.0,
            cache_write_ratio: 1.0,
            cache_write_1h_ratio: 1.0,
            builtin: None,
        }
    }

    #[test]
    fn cache_classes_have_their_own_ratios() {
        let claude = Prices {
            cache_read_ratio: 0.1,
            cache_write_ratio: 1.25,
            cache_write_1h_ratio: 2.0,
            ..p(1.5, 5.0, 1.0)
        };
        let u = TokenUsage {
            input: 10,
            cache_read: 1000,
            cache_write_5m: 40,
            cache_write_1h: 20,
            output: 8,
            reasoning: 0,
        };
        // (10 + 100 + 50 + 40 + 40) × 1.5 = 360
        assert_eq!(claude.quota_for(&u), Some(360));
        // 0.1 is inexact in binary: 100 × 0.1 × 0.15 is still 1.5, ceil 2, and 1000 ×
        // 0.1 × 0.15 exactly 15.
        let flash = Prices {
            cache_read_ratio: 0.1,
            ..p(0.15, 1.0, 1.0)
        };
        let reads = |n| TokenUsage {
            cache_read: n,
            ..TokenUsage::default()
        };
        assert_eq!(flash.quota_for(&reads(100)), Some(2));
        assert_eq!(flash.quota_for(&reads(1000)), Some(15));
    }

    #[test]
    fn formula_matches_the_design() {
        assert_eq!(p(1.0, 3.0, 1.0).quota(10, 5), Some(25));
        assert_eq!(p(2.5, 4.0, 1.5).quota(100, 10), Some(525));
        assert_eq!(p(0.1, 1.0, 1.0).quota(1, 0), Some(1));
        assert_eq!(p(0.0, 3.0, 1.0).quota(1000, 1000), Some(0));
    }

    #[test]
    fn absurd_usage_does_not_overflow() {
        assert_eq!(p(1e300, 3.0, 1e300).quota(u64::MAX, u64::MAX), None);
    }
}
