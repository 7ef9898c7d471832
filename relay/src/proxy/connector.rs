//! The relay's upstream HTTP client, built on the shared guarded connector (the address
//! checked is the address connected to).

use std::time::Duration;

use shared::guarded_connector::GuardedConnector;

use crate::settings::Settings;

/// The upstream HTTP client: guarded connector, no redirects, no default 5 s timeout,
/// no added headers, and a connection limit sized for long-lived streams.
pub fn build_client(settings: &Settings) -> awc::Client {
    let connector = awc::Connector::new()
        .connector(GuardedConnector::new(settings.url_policy()))
        .timeout(settings.connect_timeout)
        .handshake_timeout(settings.connect_timeout)
        .limit(settings.max_concurrent_streams)
        .conn_keep_alive(Duration::from_secs(30));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .disable_timeout()
        .no_default_headers()
        .finish()
}
