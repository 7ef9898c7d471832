//! A database outage under load: the test starts its own database (a PostgreSQL cluster
//! or a local D1 Worker), points a gateway at it, keeps streaming and non-streaming chats
//! and `/api` reads going, kills the database for a minute and starts it again. The
//! gateway is never restarted. What a user sees is asserted: answers from held leases
//! keep coming while the leases last, everything else is a clear 503 within seconds,
//! `/health` says 503 within a second, and after recovery every answered request has its
//! log row and every balance adds up exactly.

mod d1_worker;
mod figures;
mod load;
mod pg_cluster;

use d1_worker::D1Worker;
use figures::{Figures, Monitor};
use integration_tests::v1_support::{V1World, USER_QUOTA};
use load::{Load, Target};
use pg_cluster::PgCluster;
use serde_json::json;
use std::time::Duration;

pub const KEY_QUOTA: i64 = 10_000_000;
/// Load before the outage, so leases are held and caches warm.
const WARM_UP: Duration = Duration::from_secs(5);
/// Load after the database is back, before the accounts are checked.
const AFTER: Duration = Duration::from_secs(15);
/// Blocks of 1000 requests per lease: enough held quota to keep serving for a while
/// without the database.
const LEASE_REQUESTS: &str = "1000";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the PostgreSQL server binaries (initdb, pg_ctl); starts its own cluster"]
async fn a_postgres_outage_under_load_fails_fast_and_loses_no_settlement() {
    let mut pg = tokio::task::spawn_blocking(PgCluster::start)
        .await
        .expect("cluster");
    let url = pg.url();
    let w = world(&[("DATABASE_URL", &url)]).await;
    let measured = outage_under_load(&mut pg, &w).await;
    measured.report("PostgreSQL");
    figures::assert_accounts_add_up(&w, &measured).await;
    measured.assert_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs node and wrangler in tests/d1 (npm ci); starts its own local D1 Worker"]
async fn a_d1_outage_under_load_fails_fast_and_loses_no_settlement() {
    let mut d1 = D1Worker::start().await;
    let (url, base) = (d1.database_url(), d1.api_base());
    let w = world(&[
        ("DATABASE_URL", &url),
        ("D1_API_BASE", &base),
        ("CLOUDFLARE_API_TOKEN", d1_worker::TOKEN),
    ])
    .await;
    let measured = outage_under_load(&mut d1, &w).await;
    measured.report("D1");
    figures::assert_accounts_add_up(&w, &measured).await;
    measured.assert_all();
}

/// A database the test can take away and bring back.
trait Database {
    async fn go_down(&mut self);
    async fn come_back(&mut self);
}

impl Database for PgCluster {
    async fn go_down(&mut self) {
        tokio::task::block_in_place(|| self.kill());
    }
    async fn come_back(&mut self) {
        tokio::task::block_in_place(|| self.resume());
    }
}

impl Database for D1Worker {
    async fn go_down(&mut self) {
        self.kill();
    }
    async fn come_back(&mut self) {
        self.resume().await;
    }
}

/// Warm-up, the outage, recovery; every answer and the leases over time.
async fn outage_under_load(db: &mut impl Database, w: &V1World) -> Figures {
    let load = Load::start(Target {
        url: w.gw.url.clone(),
        key: w.key.clone(),
        user_jwt: w.user_jwt.clone(),
    });
    let monitor = Monitor::start(w, load.started);
    tokio::time::sleep(WARM_UP).await;
    let killed_at = load.now();
    db.go_down().await;
    let down_at = load.now();
    tokio::time::sleep(outage_length()).await;
    let restart_at = load.now();
    db.come_back().await;
    let up_at = load.now();
    tokio::time::sleep(AFTER).await;
    let samples = load.finish().await;
    Figures {
        samples,
        leases: monitor.finish().await,
        killed_at,
        down_at,
        restart_at,
        up_at,
    }
}

/// How long the database stays down: 60 s, or `OUTAGE_SECS` for a quicker local run.
fn outage_length() -> Duration {
    let secs = std::env::var("OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// A gateway on the given database with a funded user and a key with its own budget.
async fn world(env: &[(&str, &str)]) -> V1World {
    // The gateway's log when asked for (`RUST_LOG=warn`): what it said during the outage.
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .is_test(true)
        .try_init();
    let mut vars = env.to_vec();
    vars.push(("QUOTA_LEASE_REQUESTS", LEASE_REQUESTS));
    V1World::build(
        &vars,
        USER_QUOTA,
        json!({"name": "outage", "remain_quota": KEY_QUOTA, "unlimited_quota": false}),
    )
    .await
}

/// A free loopback port (bound and released; nothing else on this machine races for it
/// within the moment it takes to start the server).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
