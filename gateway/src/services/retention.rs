//! The retention job: when the `log_retention_days` option is above 0, log rows older
//! than that many whole days move into the daily rollups (`usage_daily`), in batches small
//! enough that no statement holds the database for long.

use crate::state::AppState;
use std::time::Duration;

/// Rows per batch.
pub const BATCH_ROWS: i64 = 1000;
/// Pause between batches, so a large backlog does not starve requests.
const PAUSE: Duration = Duration::from_millis(50);
/// How often the job looks for expired rows.
pub const EVERY: Duration = Duration::from_secs(3600);
const DAY: i64 = 86_400;

/// The cutoff for `days` of retention at `now`: the start of the UTC day `days` days ago,
/// so only whole days are rolled up.
pub fn cutoff(now: i64, days: i64) -> i64 {
    (now - days * DAY).div_euclid(DAY) * DAY
}

/// One pass: moves every expired row; returns how many. Does nothing when retention is off.
pub async fn run_once(state: &AppState) -> Result<u64, crate::store::DbError> {
    let days = state.options.get().i64("log_retention_days");
    if days <= 0 {
        return Ok(0);
    }
    // Rows of requests that already answered are written before anything is judged expired.
    state.ledger.flush().await;
    let now = crate::util::now();
    let cutoff = cutoff(now, days);
    let mut moved = 0;
    loop {
        let n = state.store.expire_logs(cutoff, BATCH_ROWS, now).await?;
        moved += n;
        if n < BATCH_ROWS as u64 {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    if moved > 0 {
        log::info!("retention: moved {moved} log rows older than {days} days into daily rollups");
    }
    Ok(moved)
}

/// Runs the job every `EVERY`, first a minute after start.
pub fn spawn(state: actix_web::web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&state).await {
                crate::metrics::database_error("retention");
                log::warn!("retention pass failed (retried next hour): {e}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_the_start_of_a_whole_day() {
        let now = 10 * DAY + 3600;
        assert_eq!(cutoff(now, 1), 9 * DAY);
        assert_eq!(cutoff(now, 10), 0);
    }
}
