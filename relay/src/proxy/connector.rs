//! The relay's upstream HTTP client, built on the shared guarded connector (the address
//! checked is the address connected to).

use std::time::{Duration, Instant};

use actix_service::{always_ready, Service};
use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use prometheus::Histogram;
use shared::guarded_connector::GuardedConnector;
use tokio::net::TcpStream;

use crate::settings::Settings;

/// The upstream HTTP client: guarded connector, no redirects, no default 5 s timeout,
/// no added headers, and a connection limit sized for long-lived streams. New
/// connections' resolve + TCP connect time goes to `connect_seconds`.
pub fn build_client(settings: &Settings, connect_seconds: Histogram) -> awc::Client {
    let timed = TimedConnector {
        inner: GuardedConnector::new(settings.url_policy()),
        connect_seconds,
    };
    let connector = awc::Connector::new()
        .connector(timed)
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

/// Times each successful connect of the guarded connector (pooled reuse costs nothing).
#[derive(Clone)]
struct TimedConnector {
    inner: GuardedConnector,
    connect_seconds: Histogram,
}

impl Service<ConnectInfo<Uri>> for TimedConnector {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let started = Instant::now();
        let connecting = self.inner.call(req);
        let histogram = self.connect_seconds.clone();
        Box::pin(async move {
            let connection = connecting.await?;
            histogram.observe(started.elapsed().as_secs_f64());
            Ok(connection)
        })
    }
}
