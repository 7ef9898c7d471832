//! Authenticated streaming forward proxy between the gateway and LLM upstreams.
//! Protocol: [`shared::relay_protocol`] (compatible with the original llm-proxy-relay).

pub mod error;
pub mod metrics;
pub mod proxy;
pub mod routes;
pub mod settings;
pub mod startup;

use std::process::ExitCode;

/// What `main` does: configuration from the environment, logging, serve until stopped.
/// Invalid configuration prints one line naming the variable and exits non-zero.
pub async fn run_from_env() -> ExitCode {
    let _ = dotenvy::dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let settings = match settings::Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("relay: {err}");
            return ExitCode::FAILURE;
        }
    };
    let app = match startup::Application::build(settings) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("relay: cannot listen: {err}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => {
            log::info!("relay stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("relay: server error: {err}");
            ExitCode::FAILURE
        }
    }
}
