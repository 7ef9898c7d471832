//! Integration tests of the OpenAI-compatible `/v1` API (issue 3): a real gateway with a
//! fresh SQLite database per test, channels pointing at the scriptable mock upstream.

mod billing;
mod channel_test;
mod chat;
mod concurrency;
mod cors;
mod errors;
mod hardening;
mod keys;
mod leases;
mod logs;
mod models;
mod output_caps;
mod routing;
mod sdk;
mod streaming;
mod upstream_causes;
