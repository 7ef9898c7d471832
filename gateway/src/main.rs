use gateway::settings::Settings;
use gateway::startup::Application;

// A request allocates a few hundred small blocks (headers, JSON fields, log rows); with
// glibc's allocator that bookkeeping was about a fifth of the gateway's CPU per request.
#[global_allocator]
static ALLOCATOR: shared::allocator::Allocator = shared::allocator::Allocator;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    gateway::logging::init();
    let command = std::env::args().nth(1);
    if let Some(other) = command.as_deref().filter(|c| *c != "reset-admin-password") {
        // Before reading settings, which may create the data directory.
        eprintln!("unknown command {other:?}; usage: gateway [reset-admin-password]");
        return std::process::ExitCode::from(2);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if command.is_some() {
        return match gateway::services::root_user::reset_password_command(&settings).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("reset-admin-password failed: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("gateway failed to start: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    log::info!(
        "gateway listening on port {}; web console at {}",
        app.port(),
        app.console_url()
    );
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
