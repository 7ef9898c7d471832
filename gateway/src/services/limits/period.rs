//! Calendar periods for spend budgets, in the `timezone` option (default UTC).

use crate::store::limits::Limits;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Day, Period::Week, Period::Month];

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
        }
    }
}

/// The budget `l` sets for period `p` (0: none).
pub fn budget(l: &Limits, p: Period) -> i64 {
    match p {
        Period::Day => l.daily_budget,
        Period::Week => l.weekly_budget,
        Period::Month => l.monthly_budget,
    }
}

/// The period containing `now`: an id for counter keys and the unix time it ends.
pub fn current(period: Period, tz_name: &str, now_ms: i64) -> (String, i64) {
    let (id, _, end) = bounds(period, tz_name, now_ms);
    (id, end)
}

/// The period containing `now`: its id and the unix times it starts and ends.
pub fn bounds(period: Period, tz_name: &str, now_ms: i64) -> (String, i64, i64) {
    let tz = zone(tz_name);
    let now = Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let today = now.to_zoned_datetime(tz.clone()).date();
    let (id, first, next) = match period {
        Period::Day => (format!("d{today}"), today, today.tomorrow().ok()),
        Period::Week => {
            let back = i64::from(today.weekday().to_monday_zero_offset());
            let monday = today.checked_sub(back.days()).unwrap_or(today);
            (
                format!("w{monday}"),
                monday,
                monday.checked_add(7.days()).ok(),
            )
        }
        Period::Month => {
            let first = today.first_of_month();
            (
                format!("m{first}"),
                first,
                first.checked_add(1.month()).ok(),
            )
        }
    };
    let end = next.map_or(now_ms / 1000 + 86_400, |d| start_of(d, &tz));
    (id, start_of(first, &tz), end)
}

/// A time zone by IANA name; an unknown name falls back to UTC (options refuse them).
pub fn zone(name: &str) -> TimeZone {
    if name.is_empty() || name.eq_ignore_ascii_case("utc") {
        return TimeZone::UTC;
    }
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Whether `name` is a time zone this machine knows.
pub fn known(name: &str) -> bool {
    name.eq_ignore_ascii_case("utc") || TimeZone::get(name).is_ok()
}

fn start_of(d: Date, tz: &TimeZone) -> i64 {
    d.to_zoned_datetime(tz.clone())
        .map_or(0, |z| z.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_the_calendar() {
        // 2026-11-30 06:00 UTC is a Monday.
        let now = 1_796_018_400_000;
        let (day, end) = current(Period::Day, "UTC", now);
        assert_eq!(day, "d2026-11-30");
        assert_eq!(end, 1_796_083_200);
        assert_eq!(bounds(Period::Day, "UTC", now).1, 1_795_996_800);
        let (week, _) = current(Period::Week, "UTC", now);
        assert_eq!(week, "w2026-11-30");
        let (month, end) = current(Period::Month, "UTC", now);
        assert_eq!(month, "m2026-11-01");
        assert_eq!(end, 1_796_083_200);
        // In Los Angeles it is still Sunday the 29th.
        let (day, _) = current(Period::Day, "America/Los_Angeles", now);
        assert_eq!(day, "d2026-11-29");
        let (week, _) = current(Period::Week, "America/Los_Angeles", now);
        assert_eq!(week, "w2026-11-23");
    }
}
