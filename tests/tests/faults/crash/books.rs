//! The figures a crash test checks, read straight from the database the gateways share
//! (SQLite or PostgreSQL through sqlx, D1 through the test Worker's query API): a killed
//! gateway cannot be asked, and the restarted one must not be trusted to say it itself.

use integration_tests::test_db::D1Config;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection, Row};

/// Where the books are.
pub enum Database {
    Sql(String),
    D1 { config: D1Config, name: String },
}

/// One user's and one key's money as the database has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Books {
    pub user_quota: i64,
    pub key_quota: i64,
    /// `SUM(logs.quota)` of the user and of the key.
    pub user_logged: i64,
    pub key_logged: i64,
    /// Log rows of the key with status 200.
    pub answered_rows: i64,
    /// What every replica's lease records still say taken and not settled or given back.
    pub outstanding: i64,
    /// Rows in `replicas`.
    pub replicas: i64,
}

impl Database {
    /// The database behind `url` (a `d1://…/<name>` URL names a database of the Worker).
    pub fn new(url: &str, d1: Option<D1Config>) -> Self {
        match d1 {
            Some(config) => Database::D1 {
                config,
                name: url.rsplit('/').next().expect("d1 name").to_string(),
            },
            None => Database::Sql(url.to_string()),
        }
    }

    pub async fn books(&self, user_id: i64, token_id: i64) -> Books {
        Books {
            user_quota: self
                .number(&format!(
                    "SELECT quota AS n FROM users WHERE id = {user_id}"
                ))
                .await,
            key_quota: self
                .number(&format!(
                    "SELECT remain_quota AS n FROM tokens WHERE id = {token_id}"
                ))
                .await,
            user_logged: self
                .number(&format!(
                    "SELECT CAST(COALESCE(SUM(quota), 0) AS BIGINT) AS n FROM logs \
                     WHERE user_id = {user_id}"
                ))
                .await,
            key_logged: self
                .number(&format!(
                    "SELECT CAST(COALESCE(SUM(quota), 0) AS BIGINT) AS n FROM logs \
                     WHERE token_id = {token_id}"
                ))
                .await,
            answered_rows: self
                .number(&format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM logs \
                     WHERE token_id = {token_id} AND status_code = 200"
                ))
                .await,
            outstanding: self
                .number(
                    "SELECT CAST(COALESCE(SUM(outstanding), 0) AS BIGINT) AS n FROM quota_leases",
                )
                .await,
            replicas: self
                .number("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM replicas")
                .await,
        }
    }

    /// The `n` column of a one-row query.
    async fn number(&self, sql: &str) -> i64 {
        match self {
            Database::Sql(url) => {
                sqlx::any::install_default_drivers();
                let mut conn = AnyConnection::connect(url).await.expect("test database");
                let row = sqlx::query(sql)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n: i64 = row.try_get("n").unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = conn.close().await;
                n
            }
            Database::D1 { config, name } => {
                let res = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("client")
                    .post(format!(
                        "{}/accounts/{}/d1/database/{name}/query",
                        config.api_base, config.account
                    ))
                    .bearer_auth(&config.token)
                    .json(&json!({ "sql": sql }))
                    .send()
                    .await
                    .expect("D1 query sent");
                let body: Value = res.json().await.expect("D1 envelope");
                assert_eq!(body["success"], true, "{sql}: {body}");
                body["result"][0]["results"][0]["n"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{sql}: {body}"))
            }
        }
    }
}
