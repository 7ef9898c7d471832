//! The figures a crash test checks, read straight from the database the gateways share
//! (SQLite or PostgreSQL through sqlx, D1 through the test Worker's query API): a killed
//! gateway cannot be asked, and the restarted one must not be trusted to say it itself.

use integration_tests::test_db::D1Config;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Column, Connection, Row};
use std::collections::HashMap;

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

    /// The books in one statement, so they are one consistent snapshot (a recovery or a
    /// settlement committing between two reads would otherwise show half of its effect).
    pub async fn books(&self, user_id: i64, token_id: i64) -> Books {
        let sum = |what: &str, filter: &str| {
            format!("(SELECT CAST(COALESCE({what}, 0) AS BIGINT) FROM {filter})")
        };
        let sql = format!(
            "SELECT (SELECT quota FROM users WHERE id = {user_id}) AS user_quota, \
             (SELECT remain_quota FROM tokens WHERE id = {token_id}) AS key_quota, \
             {} AS user_logged, {} AS key_logged, {} AS answered_rows, \
             {} AS outstanding, {} AS replicas",
            sum("SUM(quota)", &format!("logs WHERE user_id = {user_id}")),
            sum("SUM(quota)", &format!("logs WHERE token_id = {token_id}")),
            sum(
                "COUNT(*)",
                &format!("logs WHERE token_id = {token_id} AND status_code = 200")
            ),
            sum("SUM(outstanding)", "quota_leases"),
            sum("COUNT(*)", "replicas"),
        );
        let row = self.row(&sql).await;
        let n = |col: &str| -> i64 {
            *row.get(col)
                .unwrap_or_else(|| panic!("{col} missing from {row:?}"))
        };
        Books {
            user_quota: n("user_quota"),
            key_quota: n("key_quota"),
            user_logged: n("user_logged"),
            key_logged: n("key_logged"),
            answered_rows: n("answered_rows"),
            outstanding: n("outstanding"),
            replicas: n("replicas"),
        }
    }

    /// The integer columns of a one-row query.
    async fn row(&self, sql: &str) -> HashMap<String, i64> {
        match self {
            Database::Sql(url) => {
                sqlx::any::install_default_drivers();
                let mut conn = AnyConnection::connect(url).await.expect("test database");
                let row = sqlx::query(sql)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = conn.close().await;
                row.columns()
                    .iter()
                    .map(|c| {
                        let v: i64 = row
                            .try_get(c.ordinal())
                            .unwrap_or_else(|e| panic!("{}: {e}", c.name()));
                        (c.name().to_string(), v)
                    })
                    .collect()
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
                let row = body["result"][0]["results"][0]
                    .as_object()
                    .unwrap_or_else(|| panic!("{sql}: {body}"));
                row.iter()
                    .map(|(k, v)| {
                        let n = v.as_i64().unwrap_or_else(|| panic!("{k}: {body}"));
                        (k.clone(), n)
                    })
                    .collect()
            }
        }
    }
}
