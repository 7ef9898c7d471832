//! Validation of the limit fields on `/api/token` and `/api/user` bodies.

use crate::error::ApiError;
use crate::services::validate::MAX_QUOTA;
use crate::store::limits::LimitsPatch;

/// Upper bounds per field; anything above is a typo, not a plan.
const BOUNDS: [(&str, i64); 6] = [
    ("rate_limit_per_minute", 1_000_000_000),
    ("tokens_per_minute", 1_000_000_000_000),
    ("max_concurrency", 1_000_000),
    ("daily_budget", MAX_QUOTA),
    ("weekly_budget", MAX_QUOTA),
    ("monthly_budget", MAX_QUOTA),
];

/// Refuses negative or absurd values (0 means "no limit").
pub fn check(p: &LimitsPatch) -> Result<(), ApiError> {
    for ((name, v), (_, max)) in p.fields().into_iter().zip(BOUNDS) {
        if let Some(v) = v {
            if !(0..=max).contains(&v) {
                return Err(ApiError::bad(format!(
                    "{name} must be between 0 (no limit) and {max}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_negative_and_huge_values() {
        let ok = LimitsPatch {
            max_concurrency: Some(2),
            daily_budget: Some(0),
            ..Default::default()
        };
        assert!(check(&ok).is_ok());
        let neg = LimitsPatch {
            tokens_per_minute: Some(-1),
            ..Default::default()
        };
        assert!(check(&neg).is_err());
        let huge = LimitsPatch {
            max_concurrency: Some(10_000_000),
            ..Default::default()
        };
        assert!(check(&huge).is_err());
    }
}
