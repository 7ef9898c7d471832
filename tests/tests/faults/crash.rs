//! SIGKILL under load: a gateway process killed with 32 requests in flight (half of them
//! streams) loses no quota. Everything it had taken from a balance and not settled (its
//! free leases, its requests in flight, its answered requests whose settlement was still
//! queued) is recorded in `quota_leases` and goes back to the balance: on restart with the
//! same `REPLICA_ID`, or, with a random id, once its heartbeat is stale, by whichever
//! replica is alive. Afterwards, for the user and for the key, balance + logged quota =
//! starting balance, and no lease is outstanding.
//!
//! The single-gateway tests run on the suite's backend (SQLite, PostgreSQL with
//! `TEST_DATABASE_URL`, D1 with `TEST_D1_URL`); the two-replica test needs PostgreSQL.

mod books;
mod cut_off;
mod load;
mod recovery;

use books::{Books, Database};
use integration_tests::gateway_process::GatewayProcess;
use integration_tests::gateway_support::ADMIN_PASSWORD;
use integration_tests::test_db;
use load::{Account, Load, LoadReport, KEY_QUOTA, USER_QUOTA};
use std::time::{Duration, Instant};

const CLIENTS: usize = 32;

/// How a killed gateway comes back.
#[derive(Clone, Copy)]
enum Restart {
    /// With the same `REPLICA_ID`: it returns its previous run's leases before serving.
    SameId,
    /// With a new random id: its heartbeat task returns the dead run's leases once that
    /// run's heartbeat is `REPLICA_STALE_SECS` old.
    NewId,
}

fn gateway_env(leases: &str, restart: Restart) -> Vec<(&str, &str)> {
    let mut env = vec![
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("QUOTA_LEASE_REQUESTS", leases),
        ("REPLICA_STALE_SECS", "2"),
    ];
    if matches!(restart, Restart::SameId) {
        env.push(("REPLICA_ID", "crash-test-replica"));
    }
    env
}

/// Runs the load until every client is in flight, then stops it and SIGKILLs `victim`.
async fn kill_under_load(victim: GatewayProcess, load: Load) -> LoadReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    // Let a round of requests complete (and settle), then wait for a moment with every
    // client in flight.
    while load.answered() < 2 * CLIENTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while load.in_flight() < CLIENTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let in_flight = load.stop();
    let log = victim.log();
    drop(victim); // SIGKILL, then reaped
    print_warnings("killed", &log);
    load.finish(in_flight).await
}

/// A gateway's warnings and errors, for the test output (recoveries are logged at WARN).
fn print_warnings(which: &str, log: &[String]) {
    for line in log
        .iter()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
    {
        eprintln!("{which} gateway: {line}");
    }
}

/// Polls the books until no lease is outstanding (at most 30 s).
async fn settled_books(db: &Database, a: &Account) -> Books {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let books = db.books(a.user_id, a.token_id).await;
        if books.outstanding == 0 || Instant::now() > deadline {
            return books;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn assert_exact(books: &Books) {
    assert_eq!(
        books.outstanding, 0,
        "a lease is still outstanding: {books:?}"
    );
    assert_eq!(
        books.user_quota + books.user_logged,
        USER_QUOTA,
        "user: balance + logged quota must be the starting balance: {books:?}"
    );
    assert_eq!(
        books.key_quota + books.key_logged,
        KEY_QUOTA,
        "key: balance + logged quota must be the starting balance: {books:?}"
    );
}

/// One gateway killed under load and restarted; returns the books after recovery.
async fn sigkill_then_restart(leases: &str, restart: Restart) -> Books {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _d1_lease) = test_db::fresh_database(dir.path()).await;
    let db = Database::new(&url, test_db::d1_config());
    let env = gateway_env(leases, restart);
    let mock = load::slow_mock().await;
    let victim = GatewayProcess::start(dir.path(), &url, &env);
    let account = load::open_account(&victim.url, &mock).await;
    let load = Load::start(std::slice::from_ref(&victim.url), &account.key, CLIENTS);
    let report = kill_under_load(victim, load).await;
    let at_crash = db.books(account.user_id, account.token_id).await;

    let restarted = GatewayProcess::start(dir.path(), &url, &env);
    let books = settled_books(&db, &account).await;
    let lost_answers = i64::try_from(report.answered).expect("count") - books.answered_rows;
    eprintln!(
        "crash figures [{backend}, QUOTA_LEASE_REQUESTS={leases}, restart {how}]: \
         {clients} clients, {in_flight} in flight at SIGKILL, {answered} answered, \
         {rows} log rows, {lost_answers} answered without a log row (returned, not charged); \
         outstanding at the crash {out_user} (user) / {out_key} (key) quota, after recovery \
         {outstanding}; user {user_quota} + logged {user_logged} = {user_total} of {USER_QUOTA}; \
         key {key_quota} + logged {key_logged} = {key_total} of {KEY_QUOTA}",
        backend = test_db::backend(),
        how = if matches!(restart, Restart::SameId) {
            "with the same REPLICA_ID"
        } else {
            "with a new id"
        },
        clients = CLIENTS,
        in_flight = report.in_flight_at_stop,
        answered = report.answered,
        rows = books.answered_rows,
        out_user = USER_QUOTA - at_crash.user_quota - at_crash.user_logged,
        out_key = KEY_QUOTA - at_crash.key_quota - at_crash.key_logged,
        outstanding = books.outstanding,
        user_quota = books.user_quota,
        user_logged = books.user_logged,
        user_total = books.user_quota + books.user_logged,
        key_quota = books.key_quota,
        key_logged = books.key_logged,
        key_total = books.key_quota + books.key_logged,
    );
    assert!(
        report.in_flight_at_stop >= CLIENTS - 2,
        "the kill should hit a full load: {report:?}"
    );
    assert!(
        report.answered > 0,
        "some requests completed before the kill"
    );
    assert!(
        at_crash.outstanding > 0,
        "the crash left quota taken and unsettled (or the test proves nothing): {at_crash:?}"
    );
    assert!(lost_answers >= 0, "more log rows than answers: {books:?}");
    print_warnings("restarted", &restarted.log());
    assert_exact(&books);
    assert_eq!(books.replicas, 1, "only the restarted replica is left");
    drop(restarted);
    books
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_under_load_with_leases_loses_no_quota_after_a_restart_with_the_same_id() {
    sigkill_then_restart("16", Restart::SameId).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_under_load_with_exact_reservations_loses_no_quota_after_a_restart_with_a_new_id()
{
    sigkill_then_restart("0", Restart::NewId).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TEST_DATABASE_URL)"]
async fn a_live_replica_returns_the_leases_of_a_replica_killed_under_load() {
    let pg = integration_tests::needs::postgres_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _) = test_db::fresh_database(dir.path()).await;
    assert!(url.starts_with("postgres"), "{pg} gave {url}");
    let db = Database::new(&url, None);
    let env = gateway_env("16", Restart::NewId);
    let mock = load::slow_mock().await;
    let victim = GatewayProcess::start(dir.path(), &url, &env);
    let survivor = GatewayProcess::start(dir.path(), &url, &env);
    let account = load::open_account(&victim.url, &mock).await;
    let gateways = [victim.url.clone(), survivor.url.clone()];
    let load = Load::start(&gateways, &account.key, CLIENTS);
    let report = kill_under_load(victim, load).await;
    let at_crash = db.books(account.user_id, account.token_id).await;
    assert!(at_crash.outstanding > 0, "{at_crash:?}");

    // The survivor keeps serving meanwhile, and returns the dead replica's leases.
    let again = Load::start(std::slice::from_ref(&survivor.url), &account.key, 2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped = again.stop();
    let again = again.finish(stopped).await;
    assert!(again.answered > 0, "the survivor answers: {again:?}");
    let books = settled_books(&db, &account).await;
    eprintln!(
        "crash figures [two replicas on PostgreSQL, one killed]: {CLIENTS} clients, {} in \
         flight at SIGKILL, {} answered before it, outstanding at the crash {} quota, after \
         recovery by the survivor {}; {books:?}",
        report.in_flight_at_stop, report.answered, at_crash.outstanding, books.outstanding
    );
    print_warnings("surviving", &survivor.log());
    assert_exact(&books);
    assert_eq!(books.replicas, 1, "the dead replica is forgotten");
    assert!(
        survivor
            .log()
            .iter()
            .any(|l| l.contains("stopped sending heartbeats")),
        "the survivor did the recovery"
    );
}
