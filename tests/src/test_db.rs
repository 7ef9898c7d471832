//! A fresh database for each spawned gateway: a SQLite file in the test's temp dir, or,
//! when `TEST_DATABASE_URL` names a PostgreSQL server, a new schema on it.

use sqlx::Connection;
use std::path::Path;

/// Prefix of the schemas tests create; `.ci/run` drops leftovers before a run.
pub const SCHEMA_PREFIX: &str = "gw_t_";

/// The backend the suite runs against, for skip messages and logs.
pub fn backend() -> &'static str {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => "postgres",
        _ => "sqlite",
    }
}

/// A `DATABASE_URL` pointing at an empty database.
pub async fn fresh_database_url(dir: &Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => fresh_postgres_schema(&base).await,
        _ => format!("sqlite://{}", dir.join("gateway.db").display()),
    }
}

async fn fresh_postgres_schema(base: &str) -> String {
    let schema = format!("{SCHEMA_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("TEST_DATABASE_URL: cannot connect to PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    let _ = conn.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
