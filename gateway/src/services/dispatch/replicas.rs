//! Replica heartbeats and the recovery of dead replicas' quota leases.
//!
//! Each replica has a row in `replicas` refreshed every few seconds. One whose heartbeat
//! is older than `REPLICA_STALE_SECS` is taken for dead: whatever its lease records still
//! say outstanding goes back to the balances (`ReplicaStore::recover_replica`, atomic and
//! exactly once even when several replicas recover it together).
//!
//! A replica recovers others on start, and afterwards only once it has itself reached the
//! database without a break for the stale threshold: after an outage that cut off every
//! replica, all heartbeats are stale at once, and nobody may take the others for dead
//! before they had the chance to beat again.

use super::quota_lease::QuotaLeases;
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How replicas are told apart and when one counts as dead.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    /// A heartbeat older than this marks its replica dead.
    pub stale: Duration,
    /// The replica id is configured (`REPLICA_ID`), so a row with this id is this
    /// replica's previous incarnation, dead by definition once this one starts.
    pub stable_id: bool,
}

impl Liveness {
    pub fn from_settings(s: &crate::settings::Settings) -> Self {
        Liveness {
            stale: Duration::from_secs(s.replica_stale_secs),
            stable_id: s.replica_id.is_some(),
        }
    }

    fn heartbeat_every(&self) -> Duration {
        (self.stale / 3).clamp(Duration::from_secs(1), Duration::from_secs(10))
    }

    fn stale_before(&self, now: i64) -> i64 {
        now.saturating_sub(i64::try_from(self.stale.as_secs()).unwrap_or(i64::MAX))
    }
}

/// Before serving: returns what this replica's previous incarnation held (stable id only),
/// registers this one, and returns the leases of replicas that are already dead.
pub async fn start(store: &dyn Store, liveness: Liveness) -> anyhow::Result<()> {
    let own = store.replica_id().to_string();
    if liveness.stable_id {
        let returned = store.recover_replica(&own, i64::MAX).await?;
        if returned != 0 {
            log::warn!("returned {returned} quota held by this replica's previous run ({own})");
        }
    }
    let now = crate::util::now();
    store.register_replica(now).await?;
    recover_dead(store, liveness.stale_before(now)).await?;
    Ok(())
}

/// Returns the leases of every other replica whose heartbeat is older than `before`.
async fn recover_dead(store: &dyn Store, before: i64) -> Result<(), crate::store::DbError> {
    for replica in store.stale_replicas(before).await? {
        let returned = store.recover_replica(&replica, before).await?;
        log::warn!(
            "replica {replica} stopped sending heartbeats; returned the {returned} quota it held"
        );
    }
    Ok(())
}

/// Beats this replica's heartbeat and returns dead replicas' leases, until aborted.
pub fn spawn(
    store: Arc<dyn Store>,
    quota: Arc<QuotaLeases>,
    liveness: Liveness,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(liveness.heartbeat_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Since when this replica has reached the database without a break.
        let mut connected_since = Some(Instant::now());
        loop {
            tick.tick().await;
            let now = crate::util::now();
            match store.heartbeat(now).await {
                Ok(true) => {}
                Ok(false) => {
                    if let Err(e) = quota.register_again().await {
                        log::warn!("could not register this replica again: {e}");
                        connected_since = None;
                        continue;
                    }
                }
                Err(e) => {
                    log::warn!("replica heartbeat failed: {e}");
                    connected_since = None;
                    continue;
                }
            }
            let since = *connected_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= liveness.stale {
                if let Err(e) = recover_dead(&*store, liveness.stale_before(now)).await {
                    log::warn!("could not return dead replicas' quota leases: {e}");
                }
            }
        }
    })
}

/// After a graceful stop, once every lease was given back and every settlement written:
/// forgets this replica. Anything its records still show outstanding (a take whose answer
/// was lost) goes back to the balances with it.
pub async fn retire(store: &dyn Store) {
    let own = store.replica_id().to_string();
    match store.recover_replica(&own, i64::MAX).await {
        Ok(0) => {}
        Ok(n) => log::warn!("returned {n} quota still recorded for this replica at stop"),
        Err(e) => log::warn!(
            "could not retire replica {own}: {e}; its leases go back once it counts as dead"
        ),
    }
}
