//! Operator limits (issue 17): per-replica refusals without Redis (`local`), and the
//! shared behaviour across two replicas on Redis and PostgreSQL (`shared`, ignored unless
//! `REDIS_URL` and `TEST_DATABASE_URL` are provided).

mod health;
mod local;
mod refusals;
mod shared;
mod shared_support;
