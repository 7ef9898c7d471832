//! Builds the application: store, state, HTTP server on a bound listener.

use crate::routes;
use crate::services::accounts;
use crate::settings::Settings;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Connects the store, applies migrations, seeds, and binds `HOST:PORT` (port 0 picks one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = crate::store::connect(&settings).await?;
        let state = web::Data::new(AppState::new(settings.clone(), store).await?);
        accounts::seed_admin(&state).await?;
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .wrap(crate::cors::build(&server_state.settings.allowed_origins))
                .wrap(from_fn(crate::middleware::request_id))
                .configure(routes::public::configure_root)
                .configure(routes::configure_api)
        })
        .tcp_nodelay(true)
        .shutdown_timeout(30)
        .client_request_timeout(Duration::from_secs(30))
        .listen(listener)?
        .run();
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
