//! `GET /metrics` on the gateway and the relay (issue 18): contents after a known
//! workload, bounded labels, token auth, and a real Prometheus scraping both.

mod auth;
mod contents;
mod scrape;
