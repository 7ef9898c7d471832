//! Two gateway replicas on one PostgreSQL database (ignored by default: needs `TEST_DATABASE_URL`).

use integration_tests::replica_support::{
    an_idle_lease_returns_to_the_shared_balance, budget_for_ten_admits_exactly_ten,
    disabled_key_is_refused_by_the_other_replica_within_five_seconds, two_replicas,
};
use integration_tests::test_db;

/// A fresh schema's URL for both replicas.
async fn shared_database() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    test_db::fresh_database_url(dir.path()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn a_budget_for_ten_admits_exactly_ten_requests_across_two_replicas() {
    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    budget_for_ten_admits_exactly_ten(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn a_key_disabled_through_one_replica_is_refused_by_the_other_within_five_seconds() {
    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    disabled_key_is_refused_by_the_other_replica_within_five_seconds(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn an_idle_lease_on_one_replica_returns_to_the_balance_the_other_reads() {
    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    an_idle_lease_returns_to_the_shared_balance(&r).await;
}
