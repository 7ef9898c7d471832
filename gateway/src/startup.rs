//! Builds the application: store, state, HTTP server on a bound listener.

use crate::routes;
use crate::services::dispatch::ledger::Ledger;
use crate::services::dispatch::quota_lease::IDLE_RETURN;
use crate::services::dispatch::replicas::{self, Liveness};
use crate::services::root_user;
use crate::settings::Settings;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

pub struct Application {
    port: u16,
    host: String,
    /// The password this start generated for a new root user, if it did.
    generated_admin_password: Option<String>,
    server: Server,
    state: web::Data<AppState>,
    ledger_task: tokio::task::JoinHandle<()>,
    refresher: tokio::task::JoinHandle<()>,
    sweeper: tokio::task::JoinHandle<()>,
    /// Heartbeat and recovery of dead replicas' leases.
    heartbeat: tokio::task::JoinHandle<()>,
    retention: tokio::task::JoinHandle<()>,
    /// Redis probe and invalidation listener (none without `REDIS_URL`).
    limit_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Connects the store, applies migrations, seeds, and binds `HOST:PORT` (port 0 picks one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = crate::store::connect(&settings).await?;
        let liveness = Liveness::from_settings(&settings);
        replicas::start(&*store, liveness).await?;
        let gather = std::time::Duration::from_millis(settings.settlement_interval_ms);
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
        let (ledger, ledger_task) = Ledger::spawn(store.clone(), gather, metrics);
        let state = web::Data::new(AppState::new(settings.clone(), store, ledger).await?);
        let generated_admin_password = root_user::seed(&state).await?;
        let refresher = spawn_option_refresher(state.clone());
        let sweeper = spawn_lease_sweeper(state.clone());
        let heartbeat = replicas::spawn(state.store.clone(), state.quota.clone(), liveness);
        let retention = crate::services::retention::spawn(state.clone());
        let limit_tasks: Vec<_> = [
            crate::services::limits::invalidate::spawn_listener(state.clone()),
            crate::services::limits::invalidate::spawn_probe(state.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let listener = TcpListener::bind((settings.host.as_str(), settings.port)).map_err(|e| {
            anyhow::anyhow!("cannot listen on {}:{}: {e}", settings.host, settings.port)
        })?;
        let port = listener.local_addr()?.port();
        let server_state = state.clone();
        let head_limit = crate::conn_watch::KEEP_ALIVE
            + Duration::from_secs(settings.request_header_timeout_secs)
            + crate::conn_watch::WRITE_SLACK;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(web::Data::new(UpstreamClient::new(&server_state.settings)))
                .wrap(crate::cors::build(&server_state.settings.allowed_origins))
                .wrap(from_fn(crate::middleware::edge))
                // The API scopes first: the console's asset route is a regex match that
                // every request placed after it would pay for.
                .configure(routes::openai::configure)
                .configure(routes::gemini::configure)
                .configure(routes::public::configure_root)
                .configure(routes::metrics::configure)
                .configure(routes::configure_api)
                .configure(routes::console::configure)
        })
        .workers(settings.http_workers.unwrap_or_else(default_workers))
        .tcp_nodelay(true)
        // A client that closes its side is gone: drop the handler (and with it the upstream
        // call and its reservation) even before the upstream has answered.
        .h1_allow_half_closed(false)
        // The stop begins on our own signal handler, which records when, so streams can
        // end themselves when the grace is over; actix drops what is left a bit later.
        .shutdown_signal(crate::shutdown::on_signal(state.shutdown.clone()))
        .shutdown_timeout(settings.shutdown_grace_secs + crate::shutdown::FORCED_STOP_MARGIN_SECS)
        .client_request_timeout(Duration::from_secs(settings.request_header_timeout_secs))
        .keep_alive(crate::conn_watch::KEEP_ALIVE)
        // actix times out only a connection's first head; this bounds the later ones.
        .on_connect(move |conn, data| crate::conn_watch::on_connect(conn, data, head_limit))
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            host: settings.host.clone(),
            generated_admin_password,
            server,
            state,
            ledger_task,
            refresher,
            sweeper,
            heartbeat,
            retention,
            limit_tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where a browser on this machine finds the console (a wildcard address becomes
    /// `localhost`, since nobody can browse to `0.0.0.0`).
    pub fn console_url(&self) -> String {
        let host = match self.host.as_str() {
            "0.0.0.0" | "::" | "[::]" => "localhost",
            h => h,
        };
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        format!("http://{host}:{}/", self.port)
    }

    /// The root password generated by this start (also logged once at WARN); lets an
    /// embedding program or a test hand it on without scraping the log.
    pub fn generated_admin_password(&self) -> Option<&str> {
        self.generated_admin_password.as_deref()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Stops the server the way SIGTERM does (`stop(true)`: in-flight requests finish
    /// within `SHUTDOWN_GRACE_SECS`).
    pub fn server_handle(&self) -> crate::shutdown::StopHandle {
        crate::shutdown::StopHandle {
            server: self.server.handle(),
            shutdown: self.state.shutdown.clone(),
        }
    }

    /// Serves until shutdown (SIGTERM/SIGINT finish in-flight requests first), then gives
    /// back every quota lease, drains the settlement writer so no usage is lost, and
    /// retires this replica's heartbeat row.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.refresher.abort();
        self.sweeper.abort();
        self.heartbeat.abort();
        self.retention.abort();
        for t in &self.limit_tasks {
            t.abort();
        }
        self.state.quota.give_back_all().await;
        self.state.ledger.close();
        if let Err(e) = self.ledger_task.await {
            log::error!("settlement writer ended abnormally: {e}");
        }
        replicas::retire(&*self.state.store).await;
        // Every call has settled (and so ended its span): send the last spans.
        self.state.tracing.shutdown().await;
        result
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Gives back quota leases that went idle, so other replicas (and a restart) can use it.
fn spawn_lease_sweeper(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(IDLE_RETURN / 4);
        loop {
            tick.tick().await;
            // Given back while the database takes no settlements, a lease would only wait
            // in the writer's queue; kept, it still pays for requests during an outage.
            // That includes an outage's first seconds, before any query has failed: the
            // requests are then waiting on the database, so the leases look idle.
            if !state.ledger.behind() && !state.store.in_doubt() {
                state.quota.sweep(IDLE_RETURN);
            }
        }
    })
}

/// Re-reads options periodically so a change made through another replica applies here
/// within `CACHE_TTL`.
fn spawn_option_refresher(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::state::CACHE_TTL);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = state.options.refresh().await {
                log::warn!("could not refresh options: {e}");
            }
        }
    })
}
