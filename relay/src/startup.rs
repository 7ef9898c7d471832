//! Builds the HTTP server: binds first (so tests can use port 0), runs later.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};

use crate::proxy::{connector::build_client, ProxyState};
use crate::routes;
use crate::routes::metrics::MetricsToken;
use crate::settings::Settings;

/// A bound, not yet running, relay server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<ProxyState>,
}

impl Application {
    /// Binds `settings.host:settings.port` and prepares the server.
    pub fn build(settings: Settings) -> std::io::Result<Self> {
        // awc's rustls connector needs a process-wide crypto provider; a second install
        // (several relays in one test process) fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if settings.allow_private {
            log::warn!("RELAY_ALLOW_PRIVATE is on: loopback and private targets are reachable");
        }
        if settings.allow_http {
            log::warn!("RELAY_ALLOW_HTTP is on: plain http targets are allowed");
        }
        let listener = TcpListener::bind((settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        log::info!("relay listening on {}:{port}", settings.host);
        let tracing =
            shared::otel::Tracing::start(&settings.otel, crate::proxy::trace::SERVICE_NAME)
                .map_err(|e| {
                    std::io::Error::other(format!("cannot start the trace exporter: {e}"))
                })?;
        let state = web::Data::new(ProxyState::new(&settings, tracing));
        let kept = state.clone();
        let metrics = web::Data::from(state.metrics());
        let token = web::Data::new(MetricsToken(settings.metrics_token.clone()));
        let grace = settings.shutdown_grace.as_secs();
        let server = HttpServer::new(move || {
            // awc clients are per worker (not Send); the stream limit in `state` is global.
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(token.clone())
                .app_data(web::Data::new(build_client(
                    &settings,
                    metrics.connect.clone(),
                )))
                .configure(routes::configure)
        })
        .tcp_nodelay(true)
        // A caller that closes its side is gone: drop the handler (and with it the
        // upstream request) even before the upstream has answered.
        .h1_allow_half_closed(false)
        .shutdown_timeout(grace)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state: kept,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (graceful when asked).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until stopped; SIGTERM/SIGINT trigger a graceful stop that lets in-flight
    /// streams finish for up to `RELAY_SHUTDOWN_GRACE_SECS`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // Every stream is over: export the spans still queued.
        self.state.tracing.shutdown().await;
        result
    }
}
