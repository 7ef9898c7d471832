//! Relay binary; everything lives in the library so tests can run it in-process.

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    relay::run_from_env().await
}
