//! Storage: one `Store` trait (split by resource) that handlers and services use, with one
//! SQL implementation running on SQLite, PostgreSQL (sqlx) and D1 (HTTP).

pub mod channel_type;
pub mod channels;
pub mod d1_backend;
mod holder;
pub mod ledger;
pub mod limits;
pub mod logs;
pub mod models;
pub mod options;
pub mod owner_runtime;
pub mod reachability;
pub mod replicas;
pub mod responses;
pub mod retention;
pub mod sql;
pub mod sql_store;
// The one module with `unsafe`: SQLite's C API, to bind texts without copying them.
#[allow(unsafe_code)]
mod sqlite_statements;
mod sqlite_writer;
pub mod sqlx_backend;
pub mod tokens;
pub mod users;

pub use channel_type::ChannelType;
pub use models::*;
pub use sql::DbError;

use std::sync::Arc;

pub type StoreResult<T> = Result<T, DbError>;

/// Everything the gateway persists.
pub trait Store:
    users::UserStore
    + tokens::TokenStore
    + channels::ChannelStore
    + options::OptionStore
    + ledger::LedgerStore
    + replicas::ReplicaStore
    + logs::LogStore
    + responses::ResponseStore
    + retention::RetentionStore
    + Send
    + Sync
{
}
impl<T> Store for T where
    T: users::UserStore
        + tokens::TokenStore
        + channels::ChannelStore
        + options::OptionStore
        + ledger::LedgerStore
        + replicas::ReplicaStore
        + logs::LogStore
        + responses::ResponseStore
        + retention::RetentionStore
        + Send
        + Sync
{
}

/// Opens the backend named by the URL scheme and applies its migrations.
/// Whether `DATABASE_URL` names a Cloudflare D1 database (reached over its HTTP API).
pub fn is_d1(url: &str) -> bool {
    url.starts_with("d1://")
}

pub async fn connect(settings: &crate::settings::Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url.as_str();
    let (backend, bind_limit): (Arc<dyn sql::SqlBackend>, usize) = if is_d1(url) {
        let d1 = d1_backend::D1Backend::connect(
            url,
            &settings.d1_api_base,
            settings.cloudflare_api_token.as_deref(),
            settings.database_max_connections,
        )
        .await?;
        (Arc::new(d1), sql_store::D1_BIND_LIMIT)
    } else {
        let sqlx =
            sqlx_backend::SqlxBackend::connect(url, settings.database_max_connections).await?;
        (Arc::new(sqlx), sql_store::SQL_BIND_LIMIT)
    };
    let backend = Arc::new(owner_runtime::OwnerRuntime::new(backend));
    let backend = Arc::new(reachability::Reachability::new(backend));
    let replica = settings
        .replica_id
        .clone()
        .unwrap_or_else(|| crate::util::new_id().to_string());
    Ok(Arc::new(sql_store::SqlStore::new(
        backend, replica, bind_limit,
    )))
}
