//! A fresh database for each spawned gateway: a SQLite file in the test's temp dir; when
//! `TEST_DATABASE_URL` names a PostgreSQL server, a new schema on it; when `TEST_D1_URL` is
//! set, a wiped D1 database leased from the local test Worker (`tests/d1`).
//!
//! D1 variables: `TEST_D1_URL=d1://<account>` (any account id), `TEST_D1_API_BASE` (the
//! Worker's `http://127.0.0.1:<port>/client/v4`) and optionally `TEST_D1_API_TOKEN` (default:
//! the token in `tests/d1/wrangler.toml`). The Worker binds a pool of databases; a lease
//! hands out the free one released longest ago, wiped, and is given back when dropped.

use sqlx::Connection;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Prefix of the schemas tests create; `.ci/run` drops leftovers before a run.
pub const SCHEMA_PREFIX: &str = "gw_t_";
/// The bearer token `tests/d1/wrangler.toml` gives the test Worker.
pub const DEFAULT_D1_API_TOKEN: &str = "local-d1-test-token";

/// The backend the suite runs against, for skip messages and logs.
pub fn backend() -> &'static str {
    if d1_config().is_some() {
        return "d1";
    }
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => "postgres",
        _ => "sqlite",
    }
}

/// Where the test Worker is, from the `TEST_D1_*` variables.
#[derive(Debug, Clone)]
pub struct D1Config {
    pub account: String,
    pub api_base: String,
    pub token: String,
}

/// `Some` when the suite runs on D1 (`TEST_D1_URL` and `TEST_D1_API_BASE` set).
pub fn d1_config() -> Option<D1Config> {
    let url = std::env::var("TEST_D1_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let account = url
        .strip_prefix("d1://")
        .expect("TEST_D1_URL must look like d1://<account>")
        .split('/')
        .next()
        .filter(|a| !a.is_empty())
        .unwrap_or("test-account")
        .to_string();
    let api_base = std::env::var("TEST_D1_API_BASE")
        .expect("TEST_D1_API_BASE must be set with TEST_D1_URL")
        .trim_end_matches('/')
        .to_string();
    let token = std::env::var("TEST_D1_API_TOKEN").unwrap_or_else(|_| DEFAULT_D1_API_TOKEN.into());
    Some(D1Config {
        account,
        api_base,
        token,
    })
}

/// Extra gateway environment the backend needs (`CLOUDFLARE_API_TOKEN`, `D1_API_BASE` on D1).
pub fn database_env() -> Vec<(String, String)> {
    match d1_config() {
        Some(c) => vec![
            ("CLOUDFLARE_API_TOKEN".into(), c.token),
            ("D1_API_BASE".into(), c.api_base),
        ],
        None => Vec::new(),
    }
}

/// A `DATABASE_URL` for an empty database, and the D1 lease to keep while it is in use.
pub async fn fresh_database(dir: &Path) -> (String, Option<D1Lease>) {
    if let Some(config) = d1_config() {
        let lease = D1Lease::acquire(&config).await;
        return (lease.database_url(), Some(lease));
    }
    let url = match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => fresh_postgres_schema(&base).await,
        _ => format!("sqlite://{}", dir.join("gateway.db").display()),
    };
    (url, None)
}

/// A `DATABASE_URL` pointing at an empty database. On D1 the lease is never given back
/// (the Worker reclaims it after 20 minutes): prefer `fresh_database` there.
pub async fn fresh_database_url(dir: &Path) -> String {
    let (url, lease) = fresh_database(dir).await;
    std::mem::forget(lease);
    url
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

/// One database of the test Worker's pool, wiped when leased, given back on drop.
#[derive(Debug)]
pub struct D1Lease {
    /// The database's name in the query path (`db7`); its binding is the upper case (`DB7`).
    pub name: String,
    config: D1Config,
}

impl D1Lease {
    /// Leases a wiped database, waiting up to a minute while every one is in use.
    pub async fn acquire(config: &D1Config) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let res = client
                .post(format!("{}/__test/pool/acquire", config.api_base))
                .bearer_auth(&config.token)
                .send()
                .await
                .expect("TEST_D1_API_BASE: the D1 test Worker does not answer");
            let status = res.status();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            if status.is_success() {
                let name = body["result"]["name"].as_str().expect("lease name");
                return D1Lease {
                    name: name.to_string(),
                    config: config.clone(),
                };
            }
            assert!(
                status == reqwest::StatusCode::SERVICE_UNAVAILABLE && Instant::now() < deadline,
                "cannot lease a D1 test database: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub fn database_url(&self) -> String {
        format!("d1://{}/{}", self.config.account, self.name)
    }

    /// The Worker's binding name, for `wrangler d1 … --local` commands.
    pub fn binding(&self) -> String {
        self.name.to_uppercase()
    }

    /// Gives the database back with a plain blocking HTTP/1.1 request (drop cannot await).
    fn release(&self) -> std::io::Result<()> {
        let url = reqwest::Url::parse(&self.config.api_base)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let host = url.host_str().unwrap_or_default();
        if url.scheme() != "http" || !(host.starts_with("127.") || host == "localhost") {
            return Ok(()); // tests only talk to this machine; the Worker reclaims it later
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let mut stream = std::net::TcpStream::connect((host, port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        let path = format!(
            "{}/__test/pool/release/{}",
            url.path().trim_end_matches('/'),
            self.name
        );
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.config.token
        )?;
        // The answer's head means the Worker has handled it (it may keep the socket open).
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        Ok(())
    }
}

impl Drop for D1Lease {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            eprintln!("could not release D1 test database {}: {e}", self.name);
        }
    }
}
