//! The `/v1` call path (docs/architecture.md): authenticate the key, check the model, reserve
//! quota, pick a channel, call the upstream with failover, stream or return the answer,
//! settle and log.

pub mod attempt;
pub mod billing;
pub mod body_read;
pub mod dialect_request;
pub mod flow;
pub mod key_auth;
pub mod ledger;
pub mod meter;
pub mod output_cap;
pub mod price_list;
pub mod price_table;
pub mod quota_lease;
pub mod replicas;
pub mod request;
pub mod routing;
pub mod stream;
pub mod token_usage;
