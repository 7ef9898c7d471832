//! Runtime options: the registry of known keys with their types and defaults, validation
//! of updates, and an in-memory snapshot that routing and billing read without a query.

use crate::error::ApiError;
use crate::store::Store;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    /// Integer within bounds.
    Int(i64, i64),
    Number,
    Text,
    /// Object of name → non-negative number.
    RatioMap,
    /// An IANA time zone name (or UTC).
    TimeZone,
}

/// (key, type, default JSON).
const REGISTRY: &[(&str, Kind, &str)] = &[
    ("system_name", Kind::Text, r#""LLM Gateway""#),
    ("register_enabled", Kind::Bool, "true"),
    (
        "new_user_quota",
        Kind::Int(0, super::validate::MAX_QUOTA),
        "0",
    ),
    ("quota_per_unit", Kind::Int(1, 1_000_000_000_000), "500000"),
    ("retry_times", Kind::Int(0, 10), "2"),
    ("auto_disable_channel", Kind::Bool, "true"),
    ("model_ratio", Kind::RatioMap, "{}"),
    ("completion_ratio", Kind::RatioMap, "{}"),
    // Prompt-cache prices per model, relative to its input price (like completion_ratio).
    ("cache_read_ratio", Kind::RatioMap, "{}"),
    ("cache_write_ratio", Kind::RatioMap, "{}"),
    ("cache_write_1h_ratio", Kind::RatioMap, "{}"),
    // Whether `billing::price_table` prices the models the operator gave no ratio.
    (BUILTIN_PRICES, Kind::Bool, "true"),
    ("group_ratio", Kind::RatioMap, r#"{"default":1}"#),
    ("default_model_ratio", Kind::Number, "1"),
    ("default_completion_ratio", Kind::Number, "3"),
    ("stream_idle_timeout_secs", Kind::Int(5, 3600), "300"),
    ("stream_keepalive_secs", Kind::Int(1, 600), "15"),
    // Days of raw log rows kept; 0 keeps them forever (older rows move to daily rollups).
    ("log_retention_days", Kind::Int(0, 36_500), "0"),
    ("timezone", Kind::TimeZone, r#""UTC""#),
];

/// The option switching the built-in price table on; its first value comes from the
/// `BUILTIN_PRICES` setting.
pub const BUILTIN_PRICES: &str = "builtin_prices";

/// Every option key (for the API description).
pub fn known_keys() -> Vec<&'static str> {
    REGISTRY.iter().map(|(k, _, _)| *k).collect()
}

fn kind_of(key: &str) -> Option<Kind> {
    REGISTRY
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, kind, _)| *kind)
}

/// The largest ratio accepted: a thousand times the base price is already far beyond any
/// real model, and larger figures overflow prices into refusing every request.
const MAX_RATIO: f64 = 1000.0;

fn sane_ratio(n: f64) -> bool {
    n.is_finite() && (0.0..=MAX_RATIO).contains(&n)
}

/// An integer option written as `5.0` is stored as `5` (JSON does not tell them apart).
fn normalise(kind: Kind, v: &Value) -> Value {
    match (kind, v.as_f64()) {
        (Kind::Int(..), Some(f)) if v.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Value::from(f as i64)
        }
        _ => v.clone(),
    }
}

fn validate(key: &str, kind: Kind, v: &Value) -> Result<(), String> {
    let ok = match kind {
        Kind::Bool => v.is_boolean(),
        Kind::Int(min, max) => v.as_i64().is_some_and(|n| n >= min && n <= max),
        Kind::Number => v.as_f64().is_some_and(sane_ratio),
        Kind::Text => v.as_str().is_some_and(|s| s.chars().count() <= 200),
        Kind::TimeZone => v
            .as_str()
            .is_some_and(|s| s.len() <= 64 && crate::services::limits::period::known(s)),
        Kind::RatioMap => v.as_object().is_some_and(|m| {
            m.len() <= 10_000
                && m.iter()
                    .all(|(name, r)| !name.is_empty() && r.as_f64().is_some_and(sane_ratio))
        }),
    };
    if ok {
        return Ok(());
    }
    let expected = match kind {
        Kind::Bool => "a boolean".to_string(),
        Kind::Int(min, max) => format!("an integer between {min} and {max}"),
        Kind::Number => format!("a number from 0 to {MAX_RATIO}"),
        Kind::Text => "a string of at most 200 bytes".into(),
        Kind::RatioMap => {
            format!("an object of model/group name to a number from 0 to {MAX_RATIO}")
        }
        Kind::TimeZone => "an IANA time zone name such as UTC or Europe/Berlin".into(),
    };
    Err(format!("option {key} must be {expected}"))
}

/// A parsed view of every option.
#[derive(Debug, Clone)]
pub struct OptionsSnapshot {
    values: Map<String, Value>,
    /// What every /v1 call reads, read once per snapshot instead of looked up by name.
    pub per_call: PerCall,
    /// Different for every snapshot built, so what is derived from one can be
    /// remembered until the options change.
    generation: u64,
}

/// The options every /v1 call reads.
#[derive(Debug, Clone, Copy)]
pub struct PerCall {
    pub retry_times: i64,
    pub stream_keepalive_secs: i64,
    pub stream_idle_timeout_secs: i64,
}

/// Where the snapshots' generations come from.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl OptionsSnapshot {
    pub(crate) fn from_raw(raw: &HashMap<String, String>) -> Self {
        let mut values = Map::new();
        for (key, kind, default) in REGISTRY {
            let parsed = raw
                .get(*key)
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .filter(|v| validate(key, *kind, v).is_ok())
                .or_else(|| serde_json::from_str(default).ok())
                .unwrap_or(Value::Null);
            values.insert((*key).to_string(), parsed);
        }
        let int = |key: &str| values.get(key).and_then(Value::as_i64).unwrap_or(0);
        let per_call = PerCall {
            retry_times: int("retry_times"),
            stream_keepalive_secs: int("stream_keepalive_secs"),
            stream_idle_timeout_secs: int("stream_idle_timeout_secs"),
        };
        OptionsSnapshot {
            values,
            per_call,
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// This snapshot's generation: equal only for the same snapshot (and its clones).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn as_json(&self) -> Value {
        Value::Object(self.values.clone())
    }
    pub fn bool(&self, key: &str) -> bool {
        self.values
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    pub fn i64(&self, key: &str) -> i64 {
        self.values.get(key).and_then(Value::as_i64).unwrap_or(0)
    }
    pub fn f64(&self, key: &str) -> f64 {
        self.values.get(key).and_then(Value::as_f64).unwrap_or(0.0)
    }
    pub fn text(&self, key: &str) -> String {
        self.values
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
    /// A ratio from one of the map options, if the map names it.
    pub fn ratio(&self, map_key: &str, name: &str) -> Option<f64> {
        self.values.get(map_key)?.get(name)?.as_f64()
    }
}

/// The option service: validated writes, cached reads.
pub struct Options {
    store: Arc<dyn Store>,
    snapshot: RwLock<Arc<OptionsSnapshot>>,
}

impl Options {
    /// Seeds defaults (never overwriting) and loads the snapshot; `builtin_prices` is
    /// the seed of that option.
    pub async fn load(store: Arc<dyn Store>, builtin_prices: bool) -> anyhow::Result<Self> {
        let defaults = REGISTRY
            .iter()
            .map(|(k, _, d)| match *k {
                BUILTIN_PRICES => ((*k).to_string(), builtin_prices.to_string()),
                _ => ((*k).to_string(), (*d).to_string()),
            })
            .collect();
        store.seed_options(defaults).await?;
        let raw = store.all_options().await?;
        Ok(Options {
            store,
            snapshot: RwLock::new(Arc::new(OptionsSnapshot::from_raw(&raw))),
        })
    }

    pub fn get(&self) -> Arc<OptionsSnapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the table (other replicas may have changed it).
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let raw = self.store.all_options().await?;
        self.replace(OptionsSnapshot::from_raw(&raw));
        Ok(())
    }

    fn replace(&self, snap: OptionsSnapshot) {
        match self.snapshot.write() {
            Ok(mut s) => *s = Arc::new(snap),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(snap),
        }
    }

    /// Validates every key and value first, then writes them all in one batch.
    pub async fn update(&self, body: &Value) -> Result<Arc<OptionsSnapshot>, ApiError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ApiError::bad("body must be an object of option keys to values"))?;
        if obj.is_empty() {
            return Err(ApiError::bad("no options given"));
        }
        let mut pairs = Vec::with_capacity(obj.len());
        for (key, value) in obj {
            let kind =
                kind_of(key).ok_or_else(|| ApiError::bad(format!("unknown option {key}")))?;
            let value = normalise(kind, value);
            validate(key, kind, &value).map_err(ApiError::BadRequest)?;
            pairs.push((key.clone(), value.to_string()));
        }
        self.store.set_options(pairs).await?;
        self.refresh().await?;
        Ok(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_rejects_wrong_types() {
        assert!(validate("retry_times", Kind::Int(0, 10), &json!(11)).is_err());
        assert!(validate("retry_times", Kind::Int(0, 10), &json!("2")).is_err());
        assert!(validate("model_ratio", Kind::RatioMap, &json!({"gpt-4o": -1})).is_err());
        assert!(validate("model_ratio", Kind::RatioMap, &json!({"gpt-4o": 2.5})).is_ok());
        assert!(validate("model_ratio", Kind::RatioMap, &json!({"gpt-4o": 1e308})).is_err());
        assert!(validate("default_model_ratio", Kind::Number, &json!(1e308)).is_err());
    }

    #[test]
    fn a_ratio_a_hair_above_the_maximum_is_refused() {
        // Found by schemathesis: without exact float parsing this read as 1000.0.
        let v: Value = serde_json::from_str(r#"{"k": 1000.0000000000001}"#).unwrap();
        assert!(validate("cache_write_ratio", Kind::RatioMap, &v).is_err());
        let v: Value = serde_json::from_str("1000.0000000000001").unwrap();
        assert!(validate("default_model_ratio", Kind::Number, &v).is_err());
    }

    #[test]
    fn snapshot_falls_back_to_defaults_for_garbage() {
        let raw = HashMap::from([("retry_times".to_string(), "\"x\"".to_string())]);
        let s = OptionsSnapshot::from_raw(&raw);
        assert_eq!(s.i64("retry_times"), 2);
        assert_eq!(s.i64("quota_per_unit"), 500_000);
    }
}
